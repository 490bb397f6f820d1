import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../src/emulator/bus/port-bus.js';
import { BusError, type BusDevice } from '../../../src/emulator/bus/range.js';
import { CollectingLogger } from '../../../src/emulator/log.js';

class Regs implements BusDevice {
  readonly log: string[] = [];
  constructor(readonly name: string) {}
  read(offset: number, size: number): number {
    this.log.push(`r${offset}/${size}`);
    return 0x12345678;
  }
  write(offset: number, size: number, value: number): void {
    this.log.push(`w${offset}/${size}=${value.toString(16)}`);
  }
}

describe('PortBus', () => {
  it('dispatches with device-relative offsets and masks values to the access size', () => {
    const bus = new PortBus(new CollectingLogger());
    const com1 = new Regs('com1');
    bus.register(0x3f8, 8, com1);
    expect(bus.read(0x3fd, 1)).toBe(0x78);
    expect(bus.read(0x3fc, 2)).toBe(0x5678);
    bus.write(0x3f9, 2, 0xabcdef);
    expect(com1.log).toEqual(['r5/1', 'r4/2', 'w1/2=cdef']);
    expect(bus.owner(0x3ff, 1)).toBe('com1');
  });

  it('answers all-ones and drops writes for unclaimed ports, counting and logging once', () => {
    const log = new CollectingLogger();
    const bus = new PortBus(log);
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
    bus.write(0x80, 1, 1);
    bus.write(0x80, 1, 2);
    expect(bus.unclaimedReads).toBe(3);
    expect(bus.unclaimedWrites).toBe(2);
    expect(log.messages).toEqual(['unhandled read of 1 byte(s) from I/O port 0x80', 'unhandled write of 1 byte(s) to I/O port 0x80']);
  });

  it('treats an access running past its range end as unclaimed', () => {
    const bus = new PortBus(new CollectingLogger());
    const d = new Regs('d');
    bus.register(0x100, 4, d);
    expect(bus.read(0x102, 4)).toBe(0xffffffff);
    expect(bus.claims(0x102, 2)).toBe(true);
    expect(bus.claims(0x103, 2)).toBe(false);
    expect(d.log).toEqual([]);
  });

  it('refuses zero length, overflow and overlap naming both owners', () => {
    const bus = new PortBus(new CollectingLogger());
    bus.register(0x3f8, 8, new Regs('com1'));
    expect(() => bus.register(0x10, 0, new Regs('z'))).toThrow(/zero-length/);
    expect(() => bus.register(0xfffe, 4, new Regs('o'))).toThrow(/overflows/);
    expect(() => bus.register(0x3fc, 8, new Regs('late'))).toThrow(
      new BusError('I/O ports 0x3fc-0x403 of late overlap 0x3f8-0x3ff of com1'),
    );
  });

  it('unregisters and moves ranges for BAR reprogramming, restoring on conflict', () => {
    const bus = new PortBus(new CollectingLogger());
    const bar = new Regs('bar0');
    bus.register(0x2000, 0x20, bar);
    bus.register(0x3000, 0x10, new Regs('other'));
    bus.move(0x2000, 0x2040);
    expect(bus.owner(0x2000, 1)).toBeUndefined();
    expect(bus.owner(0x2040, 1)).toBe('bar0');
    expect(() => bus.move(0x2040, 0x2ff8)).toThrow(/overlap/);
    expect(bus.owner(0x2040, 1)).toBe('bar0');
    expect(bus.unregister(0x2040)).toBe(bar);
    expect(() => bus.unregister(0x2040)).toThrow(/no I\/O port range/);
    bus.register(0x2000, 0x20, bar);
    expect(bus.owner(0x201f, 1)).toBe('bar0');
  });
});
