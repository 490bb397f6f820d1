import { describe, expect, it } from 'vitest';
import type { PciDeviceOps } from '../../../src/emulator/pci/function.js';
import { pciWorld } from './helpers.js';

class Nop implements PciDeviceOps {
  barRead() {
    return 0x11111111;
  }
  barWrite() {}
}

function setup(vectors = 3) {
  const w = pciWorld();
  const f = w.host.createFunction(0, 4, 0, 'm');
  f.attach(new Nop());
  f.allocBar(0, 'io', 0x40);
  const capoff = f.addMsixCapability(vectors, 1);
  f.requestIntx();
  w.host.assignResources();
  const table = f.bars[1]!.addr;
  return { w, f, capoff, table };
}

describe('MSI-X', () => {
  it('describes the table and PBA in its capability and BAR', () => {
    const { w, f, capoff, table } = setup(3);
    expect(capoff).toBe(0x40);
    expect(w.cfgRead(0, 4, 0, 0x40)).toBe(0x00020011); // table size 3 (N-1 = 2)
    expect(w.cfgRead(0, 4, 0, 0x44)).toBe(1); // table at BAR1 offset 0
    expect(w.cfgRead(0, 4, 0, 0x48)).toBe(0x1001); // PBA at 4 KiB in BAR1
    expect(f.bars[1]!.size).toBe(0x2000);
    expect(w.mmio.read(table + 12, 4)).toBe(1); // vectors start masked
    expect(w.mmio.read(table + 0x1000, 4)).toBe(0); // PBA
    expect(w.mmio.read(table + 0x1008, 4)).toBe(0x11111111); // past the PBA: the device's
    expect(w.mmio.read(table + 2, 2)).toBe(0xffff); // 2-byte table reads are invalid
  });

  it('delivers unmasked vectors, holds masked ones pending until unmasked', () => {
    const { w, f, table } = setup(3);
    w.mmio.write(table + 16, 4, 0xfee0_1000);
    w.mmio.write(table + 20, 4, 0);
    w.mmio.write(table + 24, 4, 0x41);
    w.cfgWrite(0, 4, 0, 0x42, 0x8000, 2); // enable
    f.generateMsix(1);
    expect(w.irq.msis).toEqual([]);
    expect(w.mmio.read(table + 0x1000, 4)).toBe(2); // pending bit 1
    w.mmio.write(table + 28, 4, 0); // unmask vector 1
    expect(w.irq.msis).toEqual([{ addr: 0xfee0_1000, data: 0x41 }]);
    expect(w.mmio.read(table + 0x1000, 4)).toBe(0);
    w.cfgWrite(0, 4, 0, 0x42, 0xc000, 2); // function mask
    f.generateMsix(1);
    expect(w.irq.msis.length).toBe(1);
    w.cfgWrite(0, 4, 0, 0x42, 0x8000, 2);
    expect(w.irq.msis.length).toBe(2);
    f.generateMsix(7); // out of range: ignored
    f.generateMsix(-1);
    expect(w.irq.msis.length).toBe(2);
  });

  it('writes the table through 8-byte accesses, drops unaligned and narrow writes', () => {
    const { w, table } = setup(2);
    w.mmio.write64(table, 0x0000_0000_fee0_2000n);
    expect(w.mmio.read(table, 4)).toBe(0xfee0_2000);
    w.mmio.write(table + 8, 2, 0x55);
    w.mmio.write(table + 9, 1, 0x55);
    expect(w.mmio.read(table + 8, 4)).toBe(0);
    w.mmio.write(table + 0x1000, 4, 0xffffffff); // PBA is read-only
    expect(w.mmio.read(table + 0x1000, 4)).toBe(0);
  });

  it('suppresses INTx while MSI-X is enabled', () => {
    const { w, f } = setup(1);
    f.intxAssert();
    expect(w.irq.events).toEqual(['isa+3/16']);
    w.cfgWrite(0, 4, 0, 0x42, 0x8000, 2);
    expect(w.irq.events).toEqual(['isa+3/16', 'isa-3/16']);
    w.cfgWrite(0, 4, 0, 0x42, 0x0000, 2);
    expect(w.irq.events.at(-1)).toBe('isa+3/16');
  });
});
