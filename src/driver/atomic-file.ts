/**
 * Crash-safe file replacement: write to a temporary file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A reader sees the old content or the new
 * content, never a mix; a process killed at any point leaves at most a stray `.tmp-*` file
 * (ignored by every reader and swept by `sweepTempFiles`).
 *
 * What it does not: serialise writers (callers hold the domain lock, lock.ts) or decide
 * what is written (store.ts).
 */

import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Marker that every temporary file name contains. */
export const TEMP_MARKER = '.tmp-';

/**
 * Atomically replace `path` with `data`. `mode` applies to newly created files (default
 * 0o600: state files may hold secrets from the domain XML).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** fsync a directory so a rename or unlink in it is durable. */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (err) {
    // Some file systems refuse fsync on directories (EINVAL); durability is then the
    // file system's business, the rename itself is still atomic.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh?.close();
  }
}

/** Remove a file if present, then fsync its directory. */
export async function unlinkDurable(path: string): Promise<boolean> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await syncDir(dirname(path));
  return true;
}

/** True when a directory entry is a temporary file left by writeFileAtomic. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/**
 * Remove temporary files of writers that no longer run (their pid is part of the name).
 * Files of live writers are left alone.
 */
export async function sweepTempFiles(dir: string, isAlive: (pid: number) => boolean): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isTempName(name)) continue;
    const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (m && isAlive(Number(m[1]))) continue;
    await fsp.rm(join(dir, name), { force: true });
  }
}
