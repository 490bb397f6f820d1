// NVMe verified by a guest (fixtures/guests/nvme): controller reset/enable, Identify
// Controller and Namespace, I/O queue creation, read of the test's pattern, write the test
// finds in the image afterwards, flush, and the error statuses for an LBA past the end and
// an unknown namespace. QEMU's nvme device runs the same ELF as reference.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskByte, guestByte, mismatch, patternedImage } from './patterns.js';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

const SECTORS = 2048;
let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('nvme');
  dir = mkdtempSync(join(tmpdir(), 'guest-nvme-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`nvme guest on ${engine.title}`, () => {
    it('identifies, reads, writes, flushes and reports errors', async () => {
      const img = join(dir, `${engine.name}.img`);
      writeFileSync(img, patternedImage(SECTORS));
      const r = await engine.run(elf, {
        tsbhyve: ['-s', `4,nvme,${img}`],
        qemu: ['-drive', `file=${img},if=none,id=n0,format=raw`, '-device', 'nvme,serial=deadbeef,drive=n0'],
      });
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).toContain(`namespace 1: ${SECTORS} blocks of 512 bytes`);
      if (engine.name !== 'qemu') expect(r.stdout).toContain('NVMe fb5d:0a0a');
      expect(r.status).toBe(1);
      const data = readFileSync(img);
      expect(mismatch(data, 0, 8, diskByte)).toBeUndefined();
      expect(mismatch(data, 8, 8, guestByte)).toBeUndefined();
      expect(mismatch(data, 16, SECTORS - 16, diskByte)).toBeUndefined();
    }, 60_000);
  });
}
