import { describe, expect, it } from 'vitest';
import { MmioBus } from '../../../src/emulator/bus/mmio-bus.js';
import type { BusDevice } from '../../../src/emulator/bus/range.js';
import { CollectingLogger } from '../../../src/emulator/log.js';

class Mem implements BusDevice {
  readonly data = new Uint8Array(0x1000);
  constructor(readonly name: string) {}
  read(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.data[offset + i]!;
    return v;
  }
  write(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.data[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}

describe('MmioBus', () => {
  it('finds the owning range by binary search among many', () => {
    const bus = new MmioBus(new CollectingLogger());
    const devs: Mem[] = [];
    for (let i = 0; i < 50; i++) {
      const d = new Mem(`d${i}`);
      devs.push(d);
      bus.register(0xc000_0000 + (49 - i) * 0x2000, 0x1000, d);
    }
    bus.write(0xc000_0000 + 7 * 0x2000 + 0x10, 4, 0xdeadbeef);
    expect(devs[42]!.read(0x10, 4)).toBe(0xdeadbeef);
    expect(bus.read(0xc000_0000 + 7 * 0x2000 + 0x10, 2)).toBe(0xbeef);
    expect(bus.owner(0xc000_0000 + 7 * 0x2000 + 0x1000, 1)).toBeUndefined();
    expect(bus.owner(0xc000_0000 + 7 * 0x2000 + 0xffe, 4)).toBeUndefined();
  });

  it('splits 8-byte accesses into two dword accesses, low first', () => {
    const bus = new MmioBus(new CollectingLogger());
    const d = new Mem('msix');
    bus.register(0xfe00_0000, 0x1000, d);
    bus.write64(0xfe00_0008, 0x1122334455667788n);
    expect(d.read(8, 4)).toBe(0x55667788);
    expect(d.read(12, 4)).toBe(0x11223344);
    expect(bus.read64(0xfe00_0008)).toBe(0x1122334455667788n);
  });

  it('refuses overlaps naming both owners and supports move/unregister', () => {
    const bus = new MmioBus(new CollectingLogger());
    bus.register(0x1000, 0x1000, new Mem('a'));
    bus.register(0x3000, 0x1000, new Mem('c'));
    expect(() => bus.register(0x1800, 0x100, new Mem('b'))).toThrow('MMIO range 0x1800-0x18ff of b overlaps 0x1000-0x1fff of a');
    expect(() => bus.register(0x2800, 0x1000, new Mem('b'))).toThrow(/of c$/);
    expect(() => bus.register(0x0, 0, new Mem('z'))).toThrow(/zero-length/);
    bus.register(0x2000, 0x1000, new Mem('b'));
    bus.move(0x2000, 0x5000);
    expect(bus.owner(0x5800, 4)).toBe('b');
    expect(() => bus.move(0x5000, 0x3800)).toThrow(/overlaps/);
    expect(bus.owner(0x5000, 1)).toBe('b');
    bus.unregister(0x1000);
    expect(bus.owner(0x1000, 1)).toBeUndefined();
  });

  it('reads all-ones in the PCI hole and reports accesses outside it', () => {
    const log = new CollectingLogger();
    const bus = new MmioBus(log);
    bus.addFallback(0x1000_0000, 0x1_0000_0000 - 0x1000_0000);
    expect(bus.claimedOrFallback(0xd000_0000, 4)).toBe(true);
    expect(bus.read(0xd000_0000, 4)).toBe(0xffffffff);
    expect(bus.read(0xd000_0000, 1)).toBe(0xff);
    bus.write(0xd000_0000, 4, 5);
    expect(bus.claimedOrFallback(0x2_0000_0000, 4)).toBe(false);
    expect(bus.unclaimedReads).toBe(2);
    expect(bus.unclaimedWrites).toBe(1);
    expect(log.messages.length).toBe(2);
  });
});
