/**
 * ISO 9660 images for the ATAPI guest tests: made with xorriso (Debian package `xorriso`)
 * when it is installed, otherwise written here — a minimal but valid level-1 image (ECMA-119
 * §8.4 primary volume descriptor, §8.3 terminator, §9.1 directory records, §9.4 path
 * tables) whose root directory holds the given files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECTOR = 2048;

function both16(b: Buffer, off: number, v: number): void {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
}
function both32(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
}

function dirRecord(name: Buffer, extent: number, size: number, isDir: boolean): Buffer {
  const len = 33 + name.length + (name.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(r, 2, extent);
  both32(r, 10, size);
  r.set([126, 1, 1, 0, 0, 0, 0], 18); // 2026-01-01 00:00:00 GMT
  r[25] = isDir ? 2 : 0;
  both16(r, 28, 1);
  r[32] = name.length;
  name.copy(r, 33);
  return r;
}

/** Writes a level-1 ISO with `files` (8.3 upper-case names) in its root directory. */
export function writeIso9660(path: string, volumeId: string, files: Record<string, string>): void {
  const names = Object.keys(files).sort();
  const ROOT = 18, LPATH = 19, MPATH = 20, FIRST_FILE = 21;
  let next = FIRST_FILE;
  const extents = names.map((n) => {
    const e = next;
    next += Math.max(1, Math.ceil(Buffer.byteLength(files[n]!) / SECTOR));
    return e;
  });
  const img = Buffer.alloc(next * SECTOR);
  const root = Buffer.alloc(SECTOR);
  let off = 0;
  for (const rec of [
    dirRecord(Buffer.from([0]), ROOT, SECTOR, true),
    dirRecord(Buffer.from([1]), ROOT, SECTOR, true),
    ...names.map((n, k) => dirRecord(Buffer.from(`${n.toUpperCase()};1`), extents[k]!, Buffer.byteLength(files[n]!), false)),
  ]) {
    rec.copy(root, off);
    off += rec.length;
  }
  root.copy(img, ROOT * SECTOR);
  const pvd = Buffer.alloc(SECTOR, 0);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.write(''.padEnd(32), 8, 'latin1');
  pvd.write(volumeId.padEnd(32).slice(0, 32), 40, 'latin1');
  both32(pvd, 80, next);
  both16(pvd, 120, 1);
  both16(pvd, 124, 1);
  both16(pvd, 128, SECTOR);
  both32(pvd, 132, 10);
  pvd.writeUInt32LE(LPATH, 140);
  pvd.writeUInt32BE(MPATH, 148);
  dirRecord(Buffer.from([0]), ROOT, SECTOR, true).copy(pvd, 156);
  pvd.write(''.padEnd(623), 190, 'latin1');
  for (const o of [813, 830, 847, 864]) pvd.write('0000000000000000', o, 'latin1');
  pvd[881] = 1;
  pvd.copy(img, 16 * SECTOR);
  const term = Buffer.alloc(SECTOR);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  term[6] = 1;
  term.copy(img, 17 * SECTOR);
  // Path tables: one entry, the root (name length 1, name 0x00, parent 1).
  img.set([1, 0], LPATH * SECTOR);
  img.writeUInt32LE(ROOT, LPATH * SECTOR + 2);
  img.writeUInt16LE(1, LPATH * SECTOR + 6);
  img.set([1, 0], MPATH * SECTOR);
  img.writeUInt32BE(ROOT, MPATH * SECTOR + 2);
  img.writeUInt16BE(1, MPATH * SECTOR + 6);
  names.forEach((n, k) => img.write(files[n]!, extents[k]! * SECTOR, 'latin1'));
  writeFileSync(path, img);
}

/** xorriso when available (the real tool), else writeIso9660. Returns which made it. */
export function makeIso(path: string, volumeId: string, files: Record<string, string>): 'xorriso' | 'builtin' {
  if (spawnSync('xorriso', ['-version']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'iso-src-'));
    try {
      mkdirSync(dir, { recursive: true });
      for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
      const r = spawnSync('xorriso', ['-as', 'mkisofs', '-V', volumeId, '-o', path, dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
      return 'xorriso';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  writeIso9660(path, volumeId, files);
  return 'builtin';
}
