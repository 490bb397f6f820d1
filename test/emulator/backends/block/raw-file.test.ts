import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawFileBackend, parseSectorSize } from '../../../../src/emulator/backends/block/raw-file.js';
import { BlockError } from '../../../../src/emulator/backends/block/backend.js';

function image(bytes = 64 * 1024): string {
  const dir = mkdtempSync(join(tmpdir(), 'blk-'));
  const p = join(dir, 'disk.img');
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = i & 0xff;
  writeFileSync(p, b);
  return p;
}

describe('raw file block backend', () => {
  it('reads and writes scatter/gather lists at byte offsets', async () => {
    const p = image();
    const be = await RawFileBackend.open(p);
    expect([be.size, be.sectorSize, be.readOnly, be.canDelete]).toEqual([65536, 512, false, false]);
    const a = new Uint8Array(3);
    const b = new Uint8Array(5);
    expect(await be.read(510, [a, b])).toBe(8);
    expect([...a, ...b]).toEqual([254, 255, 0, 1, 2, 3, 4, 5]);
    await be.write(1024, [Uint8Array.of(9, 9), Uint8Array.of(8)]);
    await be.flush();
    await be.close();
    expect([...readFileSync(p).subarray(1023, 1027)]).toEqual([255, 9, 9, 8]);
  });

  it('refuses I/O beyond the end and writes to read-only images', async () => {
    const be = await RawFileBackend.open(image(4096), { readOnly: true });
    await expect(be.read(4000, [new Uint8Array(200)])).rejects.toMatchObject({ kind: 'out-of-range' });
    await expect(be.read(-1, [new Uint8Array(1)])).rejects.toBeInstanceOf(BlockError);
    await expect(be.write(0, [new Uint8Array(1)])).rejects.toMatchObject({ kind: 'read-only' });
    await be.close();
  });

  it('falls back to read-only when the image is not writable', async () => {
    if (process.getuid?.() === 0) return; // root can write anything: nothing to observe
    const p = image(4096);
    chmodSync(p, 0o444);
    const be = await RawFileBackend.open(p);
    expect(be.readOnly).toBe(true);
    await be.close();
  });

  it('opens with O_SYNC for direct, and takes sector sizes', async () => {
    const be = await RawFileBackend.open(image(), { sync: true, sectorSize: '4096/8192' });
    expect([be.sectorSize, be.physSectorSize]).toEqual([4096, 8192]);
    await be.write(0, [new Uint8Array(512)]);
    await be.close();
    expect(parseSectorSize('512')).toEqual({ logical: 512, physical: 512 });
    for (const bad of ['256', '4096/512', '1000', 'x', '512/']) expect(() => parseSectorSize(bad)).toThrow(/Invalid sector size/);
  });

  it('uses O_DIRECT for nocache where the file system allows it, and says so where not', async () => {
    const p = image();
    try {
      const be = await RawFileBackend.open(p, { nocache: true });
      const buf = new Uint8Array(513); // unaligned length: retried through the buffered descriptor
      expect(await be.read(0, [buf])).toBe(513);
      await be.close();
    } catch (e) {
      expect((e as BlockError).message).toMatch(/does not support O_DIRECT/);
    }
  });

  it('reports missing files clearly', async () => {
    await expect(RawFileBackend.open('/nonexistent/disk.img')).rejects.toThrow(/Could not open backing file: \/nonexistent\/disk.img/);
    await expect(RawFileBackend.open(tmpdir())).rejects.toThrow(/EISDIR|neither a regular file/);
  });
});
