/**
 * Debian's busybox-static for the guest's initramfs: the candidate `busybox-static`
 * package downloaded with apt-get (so the test does not depend on what the host has
 * installed) and its /bin/busybox cached as `<cache>/busybox-static_<version>/busybox`.
 * The binary must be static (no PT_INTERP): the initramfs has no C library.
 *
 * TSVIRT_BUSYBOX=/path/to/busybox uses a given static binary instead (offline machines).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetError, cacheKey, cachedDir, candidateVersion, dataTarStream, downloadDeb } from './debian-package.js';
import { hasInterpreter } from './elf.js';
import { readTar } from './tar.js';

export interface BusyboxAsset {
  path: string;
  version: string;
}

function checkStatic(path: string): void {
  if (hasInterpreter(readFileSync(path), path)) throw new AssetError(`${path} is dynamically linked; the initramfs needs a static busybox`);
}

export async function debianBusybox(): Promise<BusyboxAsset> {
  const given = process.env.TSVIRT_BUSYBOX;
  if (given) {
    checkStatic(given);
    return { path: given, version: 'local' };
  }
  const ref = { name: 'busybox-static', version: candidateVersion('busybox-static') };
  const dir = await cachedDir(cacheKey(ref), 'busybox', async (tmp) => {
    const deb = downloadDeb(ref, join(tmp, 'download'));
    const { stream, done } = dataTarStream(deb);
    let found = false;
    await Promise.all([
      readTar(
        stream,
        (e) => e.path === 'bin/busybox' || e.path === 'usr/bin/busybox',
        (_e, data) => {
          writeFileSync(join(tmp, 'busybox'), data, { mode: 0o755 });
          found = true;
        },
      ),
      done,
    ]);
    if (!found) throw new AssetError(`${deb} has no bin/busybox`);
    checkStatic(join(tmp, 'busybox'));
    rmSync(join(tmp, 'download'), { recursive: true, force: true });
  });
  return { path: join(dir, 'busybox'), version: ref.version };
}
