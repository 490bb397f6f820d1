// PCI enumeration by a guest (fixtures/guests/pci): every function's IDs, class and BARs
// as a driver sees them through configuration mechanism 1. On QEMU the reference run
// proves the guest reads what QEMU's i440FX and virtio devices expose.
import { beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, parsePci, runQemu } from './rig.js';

let elf: string;
beforeAll(async () => {
  elf = await guestElf('pci');
}, 120_000);

describe.runIf(haveQemu())('pci guest on QEMU (reference)', () => {
  it('lists the i440FX host bridge, PIIX3 and a virtio-blk with its three BARs', async () => {
    const r = await runQemu(elf, ['-drive', `file=${elf},if=none,id=d0,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=d0']);
    expect(failures(r.stdout)).toEqual([]);
    expect(r.status).toBe(1);
    const devs = parsePci(r.stdout);
    expect(devs.get('00:00.0')).toMatchObject({ id: '8086:1237', cls: '060000' });
    const blk = [...devs.values()].find((d) => d.id === '1af4:1001');
    expect(blk?.bars).toEqual(['BAR0 io 0x80', 'BAR1 mem32 0x1000', 'BAR4 mem64 0x4000']);
    expect(blk?.caps).toContain('0x11');
  });
});
