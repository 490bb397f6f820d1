import { describe, expect, it } from 'vitest';
import { VirtioPciTransport, type VirtioTransportMode } from '../../../src/emulator/virtio/pci.js';
import { VirtioRng } from '../../../src/emulator/virtio/rng/index.js';
import * as V from '../../../src/emulator/virtio/regs.js';
import { pciWorld } from '../pci/helpers.js';
import { makeMemory, PciAccess, RingDriver } from './driver.js';

function rig(mode: VirtioTransportMode = 'transitional', msix = true) {
  const w = pciWorld();
  const mem = makeMemory(1 << 22);
  const fn = w.host.createFunction(0, 5, 0, 'virtio-rnd');
  const t = new VirtioPciTransport(fn, new VirtioRng((b) => b.fill(0xab)), { mode, msix, memory: mem, log: w.log });
  w.host.assignResources();
  return { w, mem, fn, t, io: new PciAccess(fn) };
}

function caps(w: ReturnType<typeof pciWorld>): Array<{ off: number; id: number; type?: number; bar?: number; offset?: number; length?: number }> {
  const out = [];
  let p = w.cfgRead(0, 5, 0, 0x34, 1);
  while (p) {
    const id = w.cfgRead(0, 5, 0, p, 1);
    const c: { off: number; id: number; type?: number; bar?: number; offset?: number; length?: number } = { off: p, id };
    if (id === 9) {
      c.type = w.cfgRead(0, 5, 0, p + 3, 1);
      c.bar = w.cfgRead(0, 5, 0, p + 4, 1);
      c.offset = w.cfgRead(0, 5, 0, p + 8);
      c.length = w.cfgRead(0, 5, 0, p + 12);
    }
    out.push(c);
    p = w.cfgRead(0, 5, 0, p + 1, 1);
  }
  return out;
}

describe('virtio PCI transport', () => {
  it('presents transitional IDs, MSI-X, MSI and the five virtio capabilities', () => {
    const { w, fn } = rig();
    expect(w.cfgRead(0, 5, 0, 0)).toBe(0x10051af4);
    expect(w.cfgRead(0, 5, 0, 0x2c)).toBe(0x00041af4);
    expect(w.cfgRead(0, 5, 0, 0x08) >>> 24).toBe(0x10);
    expect(w.cfgRead(0, 5, 0, 0x3d, 1)).toBe(1); // INTA
    const c = caps(w);
    expect(c.map((x) => x.id)).toEqual([0x11, 0x05, 9, 9, 9, 9, 9]);
    expect(c.filter((x) => x.id === 9).map((x) => [x.type, x.bar, x.offset])).toEqual([
      [1, 4, 0],
      [2, 4, 0x3000],
      [3, 4, 0x1000],
      [4, 4, 0x2000],
      [5, 0, 0],
    ]);
    expect(fn.bars[0]).toMatchObject({ type: 'io', size: 32 });
    expect(fn.bars[4]).toMatchObject({ type: 'mem64', size: 0x4000 });
    expect(fn.bars[1]).toMatchObject({ type: 'mem32', size: 0x2000 });
  });

  it('uses the modern device ID and revision 1 in modern-only mode, no I/O BAR in it', () => {
    const { w, fn } = rig('modern');
    expect(w.cfgRead(0, 5, 0, 0)).toBe(0x10441af4);
    expect(w.cfgRead(0, 5, 0, 0x08) & 0xff).toBe(1);
    expect(fn.bars[0]!.type).toBe('none');
  });

  it('has no modern capabilities in legacy mode, no MSI-X with virtio_msix=false', () => {
    const { w, fn } = rig('legacy', false);
    expect(caps(w).map((x) => x.id)).toEqual([0x05]);
    expect(fn.bars[4]!.type).toBe('none');
    expect(fn.bars[1]!.type).toBe('none');
  });

  it('serves entropy to a legacy driver with INTx and ISR', () => {
    const { w, mem, io } = rig('transitional', false);
    expect(io.r(0, V.VIRTIO_PCI_HOST_FEATURES, 4)).toBe(1 << 28); // indirect only, no VERSION_1 here
    expect(io.r(0, V.VIRTIO_PCI_QUEUE_NUM, 2)).toBe(64);
    io.legacyInit(0, [{ index: 0, base: 0x10000 }]);
    const d = RingDriver.legacy(mem, 64, 0x10000);
    d.post([{ addr: 0x80000, len: 32, write: true }]);
    io.notifyLegacy(0);
    expect(d.takeUsed()).toEqual([{ id: 0, len: 32 }]);
    expect([...mem.readBytes(0x80000, 32)].every((b) => b === 0xab)).toBe(true);
    expect(w.irq.events).toEqual(['isa+3/16']);
    expect(io.r(0, V.VIRTIO_PCI_ISR, 1)).toBe(1);
    expect(io.r(0, V.VIRTIO_PCI_ISR, 1)).toBe(0);
    expect(w.irq.events).toEqual(['isa+3/16', 'isa-3/16']);
    expect(io.r(0, V.VIRTIO_PCI_STATUS, 4)).toBe(0xffffffff); // wrong width
  });

  it('negotiates VERSION_1 and serves a modern driver with MSI-X per queue', () => {
    const { w, mem, io } = rig();
    io.w(4, V.COMMON_DFSELECT, 4, 1);
    expect(io.r(4, V.COMMON_DF, 4)).toBe(1); // VERSION_1 (bit 32)
    expect(io.r(4, V.COMMON_NUMQ, 2)).toBe(1);
    // enable MSI-X, program vector 1
    w.cfgWrite(0, 5, 0, 0x42, 0x8000, 2);
    const tbl = (io.fn.bars[1]!.addr);
    w.mmio.write(tbl + 16, 4, 0xfee0_0000);
    w.mmio.write(tbl + 24, 4, 0x31);
    w.mmio.write(tbl + 28, 4, 0);
    const st = io.modernInit(V.bit(V.VIRTIO_F_VERSION_1), [{ index: 0, size: 16, desc: 0x20000, avail: 0x21000, used: 0x22000, vector: 1 }]);
    expect(st & V.VIRTIO_CONFIG_S_FEATURES_OK).toBeTruthy();
    const d = new RingDriver(mem, 16, 0x20000, 0x21000, 0x22000);
    d.post([{ addr: 0x80000, len: 8, write: true }]);
    io.notifyModern(0);
    expect(d.takeUsed()).toEqual([{ id: 0, len: 8 }]);
    expect(w.irq.msis).toEqual([{ addr: 0xfee0_0000, data: 0x31 }]);
    expect(io.r(4, V.COMMON_Q_SIZE, 2)).toBe(16);
  });

  it('refuses FEATURES_OK to a modern driver without VERSION_1 or with unoffered bits', () => {
    const { io } = rig();
    const st = io.modernInit(0n, []);
    expect(st & V.VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    const st2 = io.modernInit(V.bit(V.VIRTIO_F_VERSION_1) | (1n << 5n), []);
    // unoffered bit 5 is dropped on write, so negotiation still succeeds
    expect(st2 & V.VIRTIO_CONFIG_S_FEATURES_OK).toBeTruthy();
    io.w(4, V.COMMON_GFSELECT, 4, 0);
    expect(io.r(4, V.COMMON_GF, 4)).toBe(0);
  });

  it('sets NEEDS_RESET and raises a config interrupt on a corrupt ring, recovers after reset', () => {
    const { w, mem, io } = rig('transitional', false);
    io.legacyInit(0, [{ index: 0, base: 0x10000 }]);
    const d = RingDriver.legacy(mem, 64, 0x10000);
    d.writeDesc(0, 0x80000, 8, V.VRING_DESC_F_WRITE | V.VRING_DESC_F_NEXT, 0);
    d.publish(0);
    io.notifyLegacy(0);
    expect(io.r(0, V.VIRTIO_PCI_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
    expect(io.r(0, V.VIRTIO_PCI_ISR, 1)).toBe(V.VIRTIO_PCI_ISR_CONFIG);
    expect(w.log.messages.at(-1)).toMatch(/descriptor loop.*device needs reset/);
    // further kicks are ignored until reset
    d.post([{ addr: 0x80000, len: 8, write: true }]);
    io.notifyLegacy(0);
    expect(d.takeUsed()).toEqual([]);
    io.legacyInit(0, [{ index: 0, base: 0x10000 }]);
    expect(io.r(0, V.VIRTIO_PCI_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
    const d2 = RingDriver.legacy(mem, 64, 0x10000);
    d2.post([{ addr: 0x80000, len: 8, write: true }]);
    io.notifyLegacy(0);
    expect(d2.takeUsed()).toEqual([{ id: 0, len: 8 }]);
  });

  it('fails a modern queue of invalid size and rings outside guest memory', () => {
    const a = rig();
    a.io.modernInit(V.bit(V.VIRTIO_F_VERSION_1), [{ index: 0, size: 24, desc: 0x20000, avail: 0x21000, used: 0x22000 }]);
    expect(a.io.r(4, V.COMMON_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
    const b = rig();
    b.io.modernInit(V.bit(V.VIRTIO_F_VERSION_1), [{ index: 0, size: 16, desc: 0x7fff_0000, avail: 0x21000, used: 0x22000 }]);
    expect(b.io.r(4, V.COMMON_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
  });

  it('reaches BAR4 through the PCI configuration access capability', () => {
    const { w } = rig();
    const c = caps(w).find((x) => x.type === 5)!;
    w.cfgWrite(0, 5, 0, c.off + 4, 4, 1); // bar 4
    w.cfgWrite(0, 5, 0, c.off + 8, V.COMMON_NUMQ); // offset
    w.cfgWrite(0, 5, 0, c.off + 12, 2); // length
    expect(w.cfgRead(0, 5, 0, c.off + 16) & 0xffff).toBe(1);
    // other virtio capabilities are read-only
    const common = caps(w).find((x) => x.type === 1)!;
    w.cfgWrite(0, 5, 0, common.off + 8, 0x1234);
    expect(w.cfgRead(0, 5, 0, common.off + 8)).toBe(0);
  });
});
