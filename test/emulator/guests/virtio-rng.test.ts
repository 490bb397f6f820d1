// virtio-rng verified by a guest (fixtures/guests/virtio-rng): entropy that is not all
// zeros or equal, two reads that differ, completion by MSI-X or polling.
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, runQemu } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('virtio-rng');
}, 120_000);

describe.runIf(haveQemu())('virtio-rng guest on QEMU (reference)', () => {
  for (const irq of ['msix', 'poll']) {
    it(`reads entropy (irq=${irq})`, async () => {
      const r = await runQemu(elf, ['-device', 'virtio-rng-pci'], { append: `irq=${irq}` });
      expect(failures(r.stdout)).toEqual([]);
      expect(r.stdout).toContain('read 256 and 256 bytes');
      expect(r.status).toBe(1);
    });
  }
});
