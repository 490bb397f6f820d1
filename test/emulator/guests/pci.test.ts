// PCI enumeration by a guest (fixtures/guests/pci): every function's IDs, class and BARs
// as a driver sees them through configuration mechanism 1, compared with what the tsbhyve
// command line must produce (bhyve's hostbridge, LPC 8086:7000 at 31, each -s device with
// bhyve's BAR layout inside bhyve's windows). On QEMU the reference run proves the guest
// reads what QEMU's i440FX and virtio devices expose.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures, guestElf, haveQemu, parsePci, removeBuild, runQemu, runTsbhyve } from './rig.js';

let elf: string;
let dir: string;
beforeAll(async () => {
  elf = await guestElf('pci');
  dir = mkdtempSync(join(tmpdir(), 'guest-pci-'));
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

const VIRTIO_BARS = (io: string) => [`BAR0 io ${io}`, 'BAR1 mem32 0x2000', 'BAR4 mem64 0x4000'];

describe('pci guest on tsbhyve', () => {
  it('sees exactly the functions of the command line, with bhyve IDs and BARs', async () => {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(1 << 20));
    const r = await runTsbhyve(elf, ['-s', `3,virtio-blk,${disk}`, '-s', '4,virtio-rnd', '-s', `5,ahci,hd:${disk}`,
      '-s', '6:0,virtio-net,udp:127.0.0.1:9,local=127.0.0.1:0', '-s', '6:1,virtio-rnd']);
    expect(failures(r.stdout)).toEqual([]);
    expect(r.status).toBe(1);
    const devs = parsePci(r.stdout);
    expect([...devs.keys()]).toEqual(['00:00.0', '00:03.0', '00:04.0', '00:05.0', '00:06.0', '00:06.1', '00:1f.0']);
    expect(devs.get('00:00.0')).toMatchObject({ id: '1275:1275', cls: '060000', bars: [] });
    expect(devs.get('00:03.0')).toMatchObject({ id: '1af4:1001', cls: '010000', bars: VIRTIO_BARS('0x80') });
    expect(devs.get('00:04.0')).toMatchObject({ id: '1af4:1005', cls: '100000', bars: VIRTIO_BARS('0x20') });
    expect(devs.get('00:05.0')).toMatchObject({ id: '8086:2821', cls: '010601', bars: ['BAR5 mem32 0x400'] });
    expect(devs.get('00:06.0')).toMatchObject({ id: '1af4:1000', cls: '020000', bars: VIRTIO_BARS('0x40') });
    expect(devs.get('00:06.1')).toMatchObject({ id: '1af4:1005' });
    expect(devs.get('00:1f.0')).toMatchObject({ id: '8086:7000', cls: '060100', bars: [] });
    for (const bdf of ['00:03.0', '00:04.0', '00:06.0']) {
      expect(devs.get(bdf)!.caps).toContain('0x11'); // MSI-X
      expect(devs.get(bdf)!.caps.filter((c) => c === '0x09').length).toBeGreaterThanOrEqual(4); // virtio caps
    }
    // Memory BARs inside bhyve's 32-bit window, I/O BARs from 0x2000.
    for (const m of r.stdout.matchAll(/BAR\d (io|mem32|mem64) size=\S+ addr=0x([0-9a-f]+)/g)) {
      const addr = parseInt(m[2]!, 16);
      if (m[1] === 'io') expect(addr).toBeGreaterThanOrEqual(0x2000);
      else expect(addr >= 0xc000_0000 && addr < 0xe000_0000).toBe(true);
    }
  }, 60_000);
});

describe.runIf(haveQemu())('pci guest on QEMU TCG (reference)', () => {
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
