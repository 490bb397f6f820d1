/**
 * The I/O port address space (0x0000-0xFFFF) as a flat dispatch table, like bhyve's
 * inout.c: each port indexes the registered range that owns it, so a lookup is one array
 * read (called on every port exit: no allocation, no search).
 *
 * register() refuses empty or overflowing ranges and overlaps, naming both owners;
 * unregister()/move() serve PCI I/O BAR reprogramming. An access that no range claims
 * entirely (or that runs past its range's end) is unclaimed: a read returns all-ones of the
 * access size, a write is dropped, both are counted and logged once per port. Strict I/O
 * (`x86.strictio`) is the exit handler's decision, made with claims().
 */
import type { Logger } from '../log.js';
import { OnceLogger } from '../log.js';
import { allOnes, BusError, checkRange, hex, type BusDevice } from './range.js';

export const PORT_SPACE = 0x10000;

interface PortEntry {
  base: number;
  length: number;
  device: BusDevice;
}

export class PortBus {
  private readonly table = new Int32Array(PORT_SPACE).fill(-1);
  private readonly entries: Array<PortEntry | undefined> = [];
  private readonly once: OnceLogger;
  unclaimedReads = 0;
  unclaimedWrites = 0;

  constructor(log: Logger) {
    this.once = new OnceLogger(log);
  }

  register(base: number, length: number, device: BusDevice): void {
    checkRange(base, length, PORT_SPACE, `I/O ports for ${device.name}`);
    for (let p = base; p < base + length; p++) {
      const idx = this.table[p]!;
      if (idx >= 0) {
        const other = this.entries[idx]!;
        throw new BusError(
          `I/O ports ${hex(base)}-${hex(base + length - 1)} of ${device.name} overlap ${hex(other.base)}-${hex(other.base + other.length - 1)} of ${other.device.name}`,
        );
      }
    }
    let slot = this.entries.indexOf(undefined);
    if (slot < 0) slot = this.entries.length;
    this.entries[slot] = { base, length, device };
    this.table.fill(slot, base, base + length);
  }

  /** Removes the range registered at `base`; throws if none starts there. */
  unregister(base: number): BusDevice {
    const idx = base >= 0 && base < PORT_SPACE ? this.table[base]! : -1;
    const e = idx >= 0 ? this.entries[idx] : undefined;
    if (!e || e.base !== base) throw new BusError(`no I/O port range registered at ${hex(base)}`);
    this.table.fill(-1, e.base, e.base + e.length);
    this.entries[idx] = undefined;
    return e.device;
  }

  /** Moves the range at `oldBase` to `newBase` (same length); on conflict nothing changes. */
  move(oldBase: number, newBase: number): void {
    const idx = oldBase >= 0 && oldBase < PORT_SPACE ? this.table[oldBase]! : -1;
    const e = idx >= 0 ? this.entries[idx] : undefined;
    if (!e || e.base !== oldBase) throw new BusError(`no I/O port range registered at ${hex(oldBase)}`);
    this.unregister(oldBase);
    try {
      this.register(newBase, e.length, e.device);
    } catch (err) {
      this.register(oldBase, e.length, e.device);
      throw err;
    }
  }

  /** The name of the device that owns the whole access, if any. */
  owner(port: number, size: number): string | undefined {
    const e = this.lookup(port, size);
    return e?.device.name;
  }

  claims(port: number, size: number): boolean {
    return this.lookup(port, size) !== undefined;
  }

  private lookup(port: number, size: number): PortEntry | undefined {
    if (port < 0 || port >= PORT_SPACE) return undefined;
    const idx = this.table[port]!;
    if (idx < 0) return undefined;
    const e = this.entries[idx]!;
    if (port + size > e.base + e.length) return undefined;
    if (e.device.accepts && !e.device.accepts(port - e.base, size)) return undefined;
    return e;
  }

  read(port: number, size: number): number {
    const e = this.lookup(port, size);
    if (!e) {
      this.unclaimedReads++;
      this.once.warn(`r${port}`, `unhandled read of ${size} byte(s) from I/O port ${hex(port)}`);
      return allOnes(size);
    }
    return (e.device.read(port - e.base, size) & allOnes(size)) >>> 0;
  }

  write(port: number, size: number, value: number): void {
    const e = this.lookup(port, size);
    if (!e) {
      this.unclaimedWrites++;
      this.once.warn(`w${port}`, `unhandled write of ${size} byte(s) to I/O port ${hex(port)}`);
      return;
    }
    e.device.write(port - e.base, size, (value & allOnes(size)) >>> 0);
  }
}
