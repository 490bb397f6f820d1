/**
 * Debian packages as test assets, without installing them: resolve a package (and a
 * metapackage such as linux-image-amd64 to the versioned package it depends on) with
 * apt-cache, fetch the candidate `.deb` with `apt-get download`, and read its data
 * archive through `dpkg-deb --fsys-tarfile` (never `dpkg -i`: nothing lands in the
 * host's /boot or /lib/modules, and no root is needed).
 *
 * Cached results are keyed by `<package>_<version>` so that a new Debian point release
 * produces a new cache entry instead of silently reusing an old kernel. A cache entry is
 * built in a private temporary directory and renamed into place when complete; a lock
 * directory keeps two test workers from downloading the same package at once.
 *
 * Errors are AssetMissing (apt cannot provide the package: no network, no lists) — the
 * tests report them as the reason they cannot run — or AssetError (the package is there
 * but not what the pipeline expects).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';

export class AssetError extends Error {}
/** apt could not provide the package (no network, no package lists, unknown package). */
export class AssetMissing extends Error {}

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Cache root: $TSVIRT_LINUX_CACHE, else node_modules/.cache/tsvirt-linux (ignored by git). */
export function cacheRoot(): string {
  return process.env.TSVIRT_LINUX_CACHE ?? join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-linux');
}

export interface PackageRef {
  name: string;
  version: string;
}

function run(cmd: string, args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) return { status: null, stdout: '', stderr: r.error.message };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface AptRecord {
  version: string;
  depends: string;
}

const shown = new Map<string, AptRecord>();

/**
 * The candidate records of several packages in one apt-cache call (each call costs
 * seconds on a loaded machine), remembered for the life of the process.
 */
export function aptShow(names: string[]): Map<string, AptRecord> {
  const want = names.filter((n) => !shown.has(n));
  if (want.length > 0) {
    const r = run('apt-cache', ['show', '--no-all-versions', ...want]);
    for (const para of r.stdout.split(/\n\n+/)) {
      const name = /^Package: (\S+)$/m.exec(para)?.[1];
      const version = /^Version: (\S+)$/m.exec(para)?.[1];
      if (name && version) shown.set(name, { version, depends: /^Depends: (.*)$/m.exec(para)?.[1] ?? '' });
    }
    const lost = want.filter((n) => !shown.has(n));
    if (lost.length) throw new AssetMissing(`apt-cache knows no candidate for ${lost.join(', ')}${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`);
  }
  return new Map(names.map((n) => [n, shown.get(n)!]));
}

/** The candidate version apt would install. */
export function candidateVersion(name: string): string {
  return aptShow([name]).get(name)!.version;
}

/**
 * The package a metapackage stands for: the first dependency of its candidate that
 * matches `pattern` (linux-image-amd64 → linux-image-6.1.0-NN-amd64), at the version
 * the metapackage pins (`(= V)`), else that package's candidate.
 */
export function resolveDependency(meta: string, pattern: RegExp): PackageRef {
  const deps = aptShow([meta]).get(meta)!.depends.split(/,\s*/).flatMap((alt) => alt.split(/\s*\|\s*/));
  for (const d of deps) {
    const m = /^(\S+)(?:\s*\(\s*=\s*([^)\s]+)\s*\))?/.exec(d.trim());
    if (m && pattern.test(m[1]!)) return { name: m[1]!, version: m[2] ?? candidateVersion(m[1]!) };
  }
  throw new AssetMissing(`${meta} depends on no package matching ${pattern} (Depends: ${deps.join(', ')})`);
}

export function cacheKey(p: PackageRef): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}`;
}

/** Downloads `name=version` into dir with apt-get download; returns the .deb path. */
export function downloadDeb(p: PackageRef, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const r = run('apt-get', ['download', '-q', `${p.name}=${p.version}`], dir);
  const deb = readdirSync(dir).find((f) => f.startsWith(`${p.name}_`) && f.endsWith('.deb'));
  if (r.status !== 0 || !deb) {
    const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => !l.startsWith('W:')).pop() ?? `exit ${r.status}`;
    throw new AssetMissing(`apt-get download ${p.name}=${p.version} failed: ${why}`);
  }
  return join(dir, deb);
}

/** `dpkg-deb --fsys-tarfile deb` as a stream (the caller consumes it with readTar). */
export function dataTarStream(deb: string): { stream: Readable; done: Promise<void> } {
  const child = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((ok, fail) => {
    child.on('error', (e) => fail(new AssetError(`dpkg-deb: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? ok() : fail(new AssetError(`dpkg-deb --fsys-tarfile ${deb} exited ${code}: ${stderr.trim()}`))));
  });
  return { stream: child.stdout, done };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Returns `<root>/<key>` once it holds `marker`, building it with `build(tmpDir)` if
 * needed. Only one process builds a key at a time; others wait (up to `waitMs`).
 */
export async function cachedDir(key: string, marker: string, build: (tmp: string) => Promise<void>, waitMs = 900_000): Promise<string> {
  const root = cacheRoot();
  const final = join(root, key);
  if (existsSync(join(final, marker))) return final;
  mkdirSync(root, { recursive: true });
  const lock = join(root, `${key}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (existsSync(join(final, marker))) return final;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* lock being created or removed */
      }
      if (Number.isInteger(owner) && !pidAlive(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new AssetError(`timed out waiting for another process building ${final} (lock ${lock})`);
      else await sleep(500);
    }
  }
  const tmp = join(root, `${key}.tmp-${process.pid}`);
  try {
    if (existsSync(join(final, marker))) return final;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await build(tmp);
    if (!existsSync(join(tmp, marker))) throw new AssetError(`building ${key} did not produce ${marker}`);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    return final;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(lock, { recursive: true, force: true });
  }
}
