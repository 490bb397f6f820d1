// virtio-blk verified by a guest (fixtures/guests/virtio-blk): modern transport, reads of
// the test's pattern, writes the test finds in the image file afterwards, flush, error
// statuses (read past the end, unknown type), completion by MSI-X, INTx (I/O APIC pin
// from the MP table) and polling, over the modern (virtio 1.x capabilities) and the legacy
// (BAR0 I/O, bhyve's layout) transports. The same ELF runs on QEMU's virtio-blk-pci as reference.
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
  elf = await guestElf('virtio-blk');
  dir = mkdtempSync(join(tmpdir(), 'guest-vblk-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

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

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-blk guest on ${engine.title}`, () => {
    for (const [transport, irq] of ['modern', 'legacy'].flatMap((t) => ['msix', 'intx', 'poll'].map((i) => [t, i] as const))) {
      it(`reads, writes, flushes, reports errors (${transport} transport, irq=${irq})`, async () => {
        const img = image(`${engine.name}-${transport}-${irq}.img`);
        const r = await engine.run(
          elf,
          { qemu: ['-drive', `file=${img},if=none,id=d0,format=raw`, '-device', 'virtio-blk-pci,drive=d0'], tsbhyve: ['-s', `3,virtio-blk,${img}`] },
          { append: `irq=${irq} transport=${transport}` },
        );
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain(`capacity=${SECTORS} sectors`);
        expect(r.stdout).toMatch(/SUMMARY: \d+ tests\n/);
        if (irq !== 'poll') expect(r.stdout).toMatch(/interrupts: [1-9]/);
        if (irq === 'intx' && engine.name !== 'qemu') expect(r.stdout).toMatch(/I\/O APIC pin (1[6-9]|2\d|3[01])\n/);
        expect(r.status).toBe(1);
        checkImage(img);
      }, 60_000);
    }
  });
}

describe('virtio-blk guest on tsbhyve, read-only disk', () => {
  it('refuses the guest\'s writes with an error status and leaves the file untouched', async () => {
    const img = image('ro.img');
    const r = await ENGINES[0]!.run(elf, { qemu: [], tsbhyve: ['-s', `3,virtio-blk,${img},ro`] }, { append: 'irq=msix' });
    expect(r.stdout).toContain('PASS: read sectors 0-7 match the test\'s pattern');
    expect(r.stdout).toContain('FAIL: write sectors 8-15');
    expect(r.status).toBe(3);
    expect(readFileSync(img).equals(patternedImage(SECTORS))).toBe(true);
  }, 60_000);
});
