import { describe, expect, it } from 'vitest';
import { ConfigTree } from '../../../src/emulator/config/tree.js';
import { DummyDevice } from '../../../src/emulator/pci/dummy.js';
import { HostBridge } from '../../../src/emulator/pci/hostbridge.js';
import { LpcBridge } from '../../../src/emulator/lpc/bridge.js';
import type { PciDeviceOps } from '../../../src/emulator/pci/function.js';
import { pciWorld } from './helpers.js';

function node(path = 'pci.0.0.0') {
  const t = new ConfigTree();
  return t.createNode(path);
}

class Bars implements PciDeviceOps {
  readonly accesses: string[] = [];
  barRead(bar: number, off: number, size: number) {
    this.accesses.push(`r${bar}:${off}/${size}`);
    return 0xa5a5a5a5;
  }
  barWrite(bar: number, off: number, size: number, v: number) {
    this.accesses.push(`w${bar}:${off}/${size}=${v.toString(16)}`);
  }
}

describe('PCI configuration access', () => {
  it('reads IDs of the host bridge through mechanism #1 and ECAM', () => {
    const w = pciWorld();
    new HostBridge(w.host.createFunction(0, 0, 0, 'hostbridge'), node());
    w.host.assignResources();
    expect(w.cfgRead(0, 0, 0, 0)).toBe(0x12751275);
    expect(w.cfgRead(0, 0, 0, 0x08)).toBe(0x06000000);
    expect(w.mmio.read(w.ecamAddr(0, 0, 0, 0x0a), 2)).toBe(0x0600);
    // PCIe capability at 0x40, root port v2
    expect(w.cfgRead(0, 0, 0, 0x34, 1)).toBe(0x40);
    expect(w.cfgRead(0, 0, 0, 0x40)).toBe(0x00420010);
    expect(w.cfgRead(0, 0, 0, 0x06, 2) & 0x10).toBe(0x10);
  });

  it('answers all-ones for absent functions, odd sizes, unaligned and disabled accesses', () => {
    const w = pciWorld();
    new HostBridge(w.host.createFunction(0, 0, 0, 'hostbridge'), node());
    w.host.assignResources();
    expect(w.cfgRead(0, 5, 0, 0)).toBe(0xffffffff);
    expect(w.cfgRead(3, 0, 0, 0)).toBe(0xffffffff);
    expect(w.mmio.read(w.ecamAddr(0, 0, 0, 1), 2)).toBe(0xffff); // unaligned
    expect(w.mmio.read(w.ecamAddr(0, 0, 0, 0x100), 4)).toBe(0); // empty extended cap list
    expect(w.mmio.read(w.ecamAddr(0, 0, 0, 0x104), 4)).toBe(0xffffffff);
    w.ports.write(0xcf8, 4, 0x00000000); // enable bit clear
    expect(w.ports.read(0xcfc, 4)).toBe(0xffffffff);
    expect(w.ports.read(0xcf8, 4)).toBe(0);
    expect(w.ports.read(0xcf8, 2)).toBe(0xffff);
    w.ports.write(0xcf8, 4, 0x8000_fffe);
    expect(w.ports.read(0xcf8, 4)).toBe(0x8000_fffc); // register bits 1:0 dropped
  });

  it('computes the multifunction bit on read', () => {
    const w = pciWorld();
    new HostBridge(w.host.createFunction(0, 3, 0, 'hostbridge'), node());
    expect(w.cfgRead(0, 3, 0, 0x0c) >>> 16 & 0x80).toBe(0);
    new HostBridge(w.host.createFunction(0, 3, 2, 'hostbridge'), node());
    w.host.assignResources();
    expect(w.cfgRead(0, 3, 0, 0x0e, 1)).toBe(0x80);
    expect(w.cfgRead(0, 3, 2, 0x0c) >>> 16).toBe(0x80);
  });

  it('keeps status and reserved command bits read-only', () => {
    const w = pciWorld();
    new HostBridge(w.host.createFunction(0, 0, 0, 'hostbridge'), node());
    w.host.assignResources();
    w.cfgWrite(0, 0, 0, 0x04, 0xffffffff);
    expect(w.cfgRead(0, 0, 0, 0x04)).toBe(0x0010077f);
  });
});

describe('PCI BARs', () => {
  it('assigns largest first in bhyve windows and maps them', () => {
    const w = pciWorld({ highMem: 2 ** 30 });
    const a = new Bars();
    const fa = w.host.createFunction(0, 2, 0, 'a');
    fa.attach(a);
    fa.allocBar(0, 'io', 8);
    fa.allocBar(1, 'mem32', 0x1000);
    fa.allocBar(2, 'mem64', 0x4000); // small MEM64 stays below 4 GiB
    const fb = w.host.createFunction(0, 3, 0, 'b');
    fb.attach(new Bars());
    fb.allocBar(0, 'mem32', 0x100000);
    fb.allocBar(1, 'io', 0x40);
    fb.allocBar(2, 'mem64', 256 * 2 ** 20); // large MEM64 above 4 GiB, prefetchable
    const fc = w.host.createFunction(1, 0, 0, 'c');
    fc.attach(new Bars());
    fc.allocBar(0, 'mem32', 0x1000);
    w.host.assignResources();
    expect(fb.bars[0]).toMatchObject({ type: 'mem32', addr: 0xc000_0000 });
    expect(fa.bars[2]).toMatchObject({ type: 'mem64', addr: 0xc010_0000 });
    expect(fa.bars[1]).toMatchObject({ addr: 0xc010_4000 });
    expect(fb.bars[1]).toMatchObject({ type: 'io', addr: 0x2000 });
    expect(fa.bars[0]).toMatchObject({ addr: 0x2040 });
    expect(fb.bars[2]).toMatchObject({ addr: 32 * 2 ** 30 });
    expect(w.cfgRead(0, 3, 0, 0x18)).toBe(0x0000000c);
    expect(w.cfgRead(0, 3, 0, 0x1c)).toBe(8);
    expect(w.cfgRead(0, 2, 0, 0x18)).toBe(0xc010_0004);
    // bus 1 starts after the slop of bus 0
    expect(w.host.windows.get(0)).toEqual({
      iobase: 0x2000,
      iolimit: 0x2080,
      membase32: 0xc000_0000,
      memlimit32: 0xc030_0000,
      membase64: 32 * 2 ** 30,
      memlimit64: 33 * 2 ** 30,
    });
    expect(fc.bars[0]!.addr).toBe(0xc030_0000);
    expect(w.cfgRead(0, 2, 0, 0x04) & 7).toBe(7); // PORTEN | MEMEN | BUSMASTEREN
    w.ports.write(0x2044, 2, 0xbeef);
    expect(w.mmio.read(0xc010_4010, 4)).toBe(0xa5a5a5a5);
    expect(a.accesses).toEqual(['w0:4/2=beef', 'r1:16/4']);
  });

  it('places I/O BARs around ports platform devices already own', () => {
    const w = pciWorld();
    w.ports.register(0x2000, 32, { name: 'pc-testdev-irq-line', read: () => 0, write: () => {} });
    const f = w.host.createFunction(0, 4, 0, 'd');
    f.attach(new Bars());
    f.allocBar(0, 'io', 0x20);
    w.host.assignResources();
    expect(f.bars[0]!.addr).toBe(0x2020);
    expect(w.ports.owner(0x2020, 1)).toBe('d@pci.0.4.0 BAR0');
  });

  it('sizes BARs with all-ones writes and moves decoding to a new address', () => {
    const w = pciWorld();
    const d = new Bars();
    const f = w.host.createFunction(0, 4, 0, 'd');
    f.attach(d);
    f.allocBar(0, 'io', 0x20);
    f.allocBar(1, 'mem32', 0x2000);
    w.host.assignResources();
    w.cfgWrite(0, 4, 0, 0x04, 0x0004, 2); // decode off
    w.cfgWrite(0, 4, 0, 0x10, 0xffffffff);
    w.cfgWrite(0, 4, 0, 0x14, 0xffffffff);
    expect(w.cfgRead(0, 4, 0, 0x10)).toBe(0x0000ffe1);
    expect(w.cfgRead(0, 4, 0, 0x14)).toBe(0xffffe000);
    w.cfgWrite(0, 4, 0, 0x10, 0x3000);
    w.cfgWrite(0, 4, 0, 0x14, 0xd000_0000);
    expect(w.ports.owner(0x3000, 1)).toBeUndefined(); // decode still off
    w.cfgWrite(0, 4, 0, 0x04, 0x0007, 2);
    expect(w.ports.owner(0x3000, 1)).toBe('d@pci.0.4.0 BAR0');
    expect(w.mmio.owner(0xd000_1ffc, 4)).toBe('d@pci.0.4.0 BAR1');
    // sub-dword BAR writes are ignored
    w.cfgWrite(0, 4, 0, 0x10, 0x40, 1);
    expect(w.cfgRead(0, 4, 0, 0x10)).toBe(0x3001);
  });

  it('sizes a 64-bit BAR as a driver does: the upper dword reads back all ones', () => {
    const w = pciWorld();
    const f = w.host.createFunction(0, 5, 0, 'e');
    f.attach(new Bars());
    f.allocBar(4, 'mem64', 0x4000);
    w.host.assignResources();
    const lo = w.cfgRead(0, 5, 0, 0x20);
    w.cfgWrite(0, 5, 0, 0x04, 0x0000, 2); // decode off while sizing
    w.cfgWrite(0, 5, 0, 0x20, 0xffffffff);
    w.cfgWrite(0, 5, 0, 0x24, 0xffffffff);
    const mask = (BigInt(w.cfgRead(0, 5, 0, 0x24)) << 32n) | BigInt(w.cfgRead(0, 5, 0, 0x20) & ~0xf);
    expect((~mask + 1n) & 0xffff_ffff_ffff_ffffn).toBe(0x4000n);
    // An address beyond any guest-physical one (bit 53 only) must not alias a low one.
    w.cfgWrite(0, 5, 0, 0x20, lo);
    w.cfgWrite(0, 5, 0, 0x24, 0x0020_0000);
    w.cfgWrite(0, 5, 0, 0x04, 0x0006, 2);
    expect(w.cfgRead(0, 5, 0, 0x24)).toBe(0x0020_0000);
    expect(w.mmio.owner((lo & ~0xf) >>> 0, 4)).toBeUndefined();
    w.cfgWrite(0, 5, 0, 0x24, 0);
    expect(w.mmio.owner((lo & ~0xf) >>> 0, 4)).toBe('e@pci.0.5.0 BAR4');
  });

  it('survives a guest moving a BAR onto another device while decoding', () => {
    const w = pciWorld();
    const f1 = w.host.createFunction(0, 1, 0, 'one');
    f1.attach(new Bars());
    f1.allocBar(0, 'mem32', 0x1000);
    const f2 = w.host.createFunction(0, 2, 0, 'two');
    f2.attach(new Bars());
    f2.allocBar(0, 'mem32', 0x1000);
    w.host.assignResources();
    const a1 = f1.bars[0]!.addr;
    w.cfgWrite(0, 2, 0, 0x10, a1);
    expect(w.mmio.owner(a1, 4)).toBe('one@pci.0.1.0 BAR0');
    expect(w.log.messages.some((m) => m.includes('BAR left unmapped'))).toBe(true);
    w.cfgWrite(0, 2, 0, 0x10, 0xd000_0000);
    expect(w.mmio.owner(0xd000_0000, 4)).toBe('two@pci.0.2.0 BAR0');
  });
});

describe('PCI interrupts', () => {
  it('delivers MSI with the programmed address and data, honouring MME', () => {
    const w = pciWorld();
    const f = w.host.createFunction(0, 5, 0, 'dummy');
    const d = new DummyDevice(f);
    w.host.assignResources();
    expect(w.cfgRead(0, 5, 0, 0x40)).toBe(0x00840005); // MSI, 64-bit, MMC=4 messages
    w.cfgWrite(0, 5, 0, 0x44, 0xfee0_0000);
    w.cfgWrite(0, 5, 0, 0x48, 0);
    w.cfgWrite(0, 5, 0, 0x4c, 0x4040, 2);
    // A dword write at the cap ID is trimmed to its upper half: MME=1 (2 messages), enable.
    w.cfgWrite(0, 5, 0, 0x40, (0x0011 << 16) | 0xffff);
    expect(w.cfgRead(0, 5, 0, 0x40)).toBe(0x00950005);
    const io = f.bars[0]!.addr;
    d.barWrite(0, 4, 4, 3); // message 3 % 2 = 1
    w.ports.write(io + 4, 4, 0xabcdef);
    expect(w.irq.msis.map((m) => m.data)).toEqual([0x4041, 0x4041, 0x4040, 0x4041]);
    expect(w.irq.msis.every((m) => m.addr === 0xfee0_0000)).toBe(true);
  });

  it('routes INTx through PIRQ links and the I/O APIC, pending while disabled', () => {
    const w = pciWorld();
    w.host.pirq.reserve(4);
    w.host.pirq.reserve(3);
    w.host.pirq.use(9);
    const lpcFn = w.host.createFunction(0, 31, 0, 'lpc');
    const lpc = new LpcBridge(lpcFn, undefined, w.host.pirq);
    const f = w.host.createFunction(0, 6, 0, 'x');
    f.attach(new Bars());
    f.requestIntx();
    const g = w.host.createFunction(0, 6, 1, 'y');
    g.attach(new Bars());
    g.requestIntx();
    w.host.assignResources();
    lpc.syncPirqRegisters();
    expect(f.lintr).toMatchObject({ pin: 1, ioapicPin: 16, link: 1 });
    expect(g.lintr).toMatchObject({ pin: 2, ioapicPin: 17, link: 2 });
    expect(w.cfgRead(0, 6, 0, 0x3c)).toBe(0x0105);
    expect(w.cfgRead(0, 6, 1, 0x3c)).toBe(0x0206);
    expect(w.cfgRead(0, 31, 0, 0x60)).toBe(0x80800605);
    f.intxAssert();
    f.intxDeassert();
    // INTx disable: asserting leaves it pending; re-enabling delivers it
    w.cfgWrite(0, 6, 1, 0x04, 0x0404, 2);
    g.intxAssert();
    expect(g.intxAsserted).toBe(false);
    w.cfgWrite(0, 6, 1, 0x04, 0x0004, 2);
    expect(g.intxAsserted).toBe(true);
    // the guest reroutes link B to IRQ 11 while it is asserted
    w.cfgWrite(0, 31, 0, 0x61, 11, 1);
    expect(w.cfgRead(0, 31, 0, 0x61, 1)).toBe(11);
    w.cfgWrite(0, 31, 0, 0x61, 0x8f, 1);
    expect(w.irq.events).toEqual(['isa+5/16', 'isa-5/16', 'isa+6/17', 'isa-6/-1', 'isa+11/-1', 'isa-11/-1']);
    expect(w.host.intxRoutes()).toEqual([
      { bus: 0, slot: 6, pin: 1, link: 1, ioapicPin: 16, isaIrq: 5 },
      { bus: 0, slot: 6, pin: 2, link: 2, ioapicPin: 17, isaIrq: 15 },
    ]);
  });

  it('uses the fixed firmware formula with a boot ROM', () => {
    const w = pciWorld({ bootrom: true });
    const f = w.host.createFunction(0, 3, 0, 'x');
    f.attach(new Bars());
    f.requestIntx();
    w.host.assignResources();
    expect(f.lintr).toMatchObject({ pin: 1, ioapicPin: 16 + ((4 + 3 + 1) % 8), link: ((4 + 3 + 1) % 8) + 1 });
  });
});
