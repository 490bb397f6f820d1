/**
 * A real Linux bzImage for loader tests: Debian's linux-image-amd64 kernel, fetched once
 * with `apt-get download` + `dpkg-deb` and cached under node_modules/.cache (ignored by
 * git). Returns a reason instead of a path when apt cannot provide it (no network).
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './build-cli.js';

export function debianKernel(): { path: string } | { missing: string } {
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-kernels');
  mkdirSync(dir, { recursive: true });
  const cached = readdirSync(dir).find((f) => f.startsWith('vmlinuz-'));
  if (cached) return { path: join(dir, cached) };
  const dep = spawnSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const pkg = /Depends: (linux-image-[0-9][^\s]*)/.exec(dep.stdout ?? '')?.[1];
  if (!pkg) return { missing: 'apt-cache does not know linux-image-amd64' };
  const dl = spawnSync('apt-get', ['download', pkg], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (dl.status !== 0 || !deb) return { missing: `apt-get download ${pkg} failed: ${(dl.stderr ?? '').trim().split('\n').pop()}` };
  try {
    execSync(`dpkg-deb --fsys-tarfile '${deb}' | tar -x --wildcards './boot/vmlinuz-*'`, { cwd: dir });
    const boot = join(dir, 'boot');
    const v = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'))!;
    execSync(`mv '${join(boot, v)}' '${join(dir, v)}'`);
    rmSync(boot, { recursive: true, force: true });
    return { path: join(dir, v) };
  } finally {
    rmSync(join(dir, deb), { force: true });
    if (existsSync(join(dir, 'boot'))) rmSync(join(dir, 'boot'), { recursive: true, force: true });
  }
}
