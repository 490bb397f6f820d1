// virtio-rng verified by a guest (fixtures/guests/virtio-rng): entropy that is not all
// zeros or equal, two reads that differ, used lengths within the buffers, completion by
// MSI-X or polling; on tsbhyve's virtio-rnd and QEMU's virtio-rng-pci (reference).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, failures, guestElf, removeBuild } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('virtio-rng');
}, 120_000);
afterAll(() => removeBuild());

for (const engine of ENGINES) {
  describe.runIf(engine.enabled)(`virtio-rng guest on ${engine.title}`, () => {
    for (const irq of ['msix', 'poll']) {
      it(`reads entropy (irq=${irq})`, async () => {
        const r = await engine.run(elf, { qemu: ['-device', 'virtio-rng-pci'], tsbhyve: ['-s', '3,virtio-rnd'] }, { append: `irq=${irq}` });
        expect(failures(r.stdout)).toEqual([]);
        expect(r.stdout).toContain('read 256 and 256 bytes');
        expect(r.status).toBe(1);
      }, 60_000);
    }
  });
}
