// virtio-blk verified by a guest (fixtures/guests/virtio-blk): modern transport, reads of
// the test's pattern, writes the test finds in the image file afterwards, flush, error
// statuses, completion by MSI-X, INTx and polling. Run on QEMU's virtio-blk-pci (the
// reference that proves the guest right).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskByte, guestByte, mismatch, patternedImage } from './patterns.js';
import { failures, guestElf, haveQemu, runQemu } from './rig.js';

const SECTORS = 2048;
let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('virtio-blk');
  dir = mkdtempSync(join(tmpdir(), 'guest-vblk-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, patternedImage(SECTORS));
  return p;
}

function checkImage(path: string): void {
  const img = readFileSync(path);
  expect(img.length).toBe(SECTORS * 512);
  expect(mismatch(img, 0, 8, diskByte)).toBeUndefined();
  expect(mismatch(img, 8, 8, guestByte)).toBeUndefined();
  expect(mismatch(img, 16, SECTORS - 16, diskByte)).toBeUndefined();
}

describe.runIf(haveQemu())('virtio-blk guest on QEMU (reference)', () => {
  for (const irq of ['msix', 'intx', 'poll']) {
    it(`reads, writes, flushes, reports errors (irq=${irq})`, async () => {
      const img = image(`qemu-${irq}.img`);
      const r = await runQemu(elf, ['-drive', `file=${img},if=none,id=d0,format=raw`, '-device', 'virtio-blk-pci,drive=d0'], {
        append: `irq=${irq}`,
      });
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).toContain(`capacity=${SECTORS} sectors`);
      expect(r.stdout).toMatch(/SUMMARY: \d+ tests\n/);
      expect(r.status).toBe(1);
      checkImage(img);
    });
  }
});
