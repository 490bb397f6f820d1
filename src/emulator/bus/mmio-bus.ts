/**
 * The guest-physical MMIO address space as sorted ranges with binary search (bhyve
 * mem.c; firecracker Bus: greatest base at or below the address, then check its end).
 * Called on every MMIO exit: lookup allocates nothing.
 *
 * register() refuses empty or overflowing ranges and overlaps, naming both owners;
 * unregister()/move() serve PCI memory BAR reprogramming. Fallback ranges (bhyve's "PCI
 * hole" [lowmem, 4 GiB)) make unclaimed accesses benign: reads all-ones, writes dropped,
 * counted, logged once per address. An unclaimed access outside every fallback is
 * reported by `claimedOrFallback()` so the exit handler can stop the VM as bhyve does
 * ("Unhandled memory access", exit 4). 8-byte accesses are split into two 4-byte device
 * accesses, low dword first (pci_emul_mem_handler).
 */
import type { Logger } from '../log.js';
import { OnceLogger } from '../log.js';
import { allOnes, BusError, checkRange, hex, type BusDevice } from './range.js';

/** GPAs are kept as JavaScript numbers: the space ends at 2^53. */
export const MMIO_SPACE = Number.MAX_SAFE_INTEGER;

interface MmioEntry {
  base: number;
  length: number;
  device: BusDevice;
}

export class MmioBus {
  /** Sorted by base; never overlapping. */
  private entries: MmioEntry[] = [];
  private fallbacks: Array<{ base: number; length: number }> = [];
  private readonly once: OnceLogger;
  unclaimedReads = 0;
  unclaimedWrites = 0;

  constructor(log: Logger) {
    this.once = new OnceLogger(log);
  }

  register(base: number, length: number, device: BusDevice): void {
    checkRange(base, length, MMIO_SPACE, `MMIO range of ${device.name}`);
    const i = this.upperBound(base);
    const prev = this.entries[i - 1];
    const next = this.entries[i];
    const clash = prev && prev.base + prev.length > base ? prev : next && next.base < base + length ? next : undefined;
    if (clash) {
      throw new BusError(
        `MMIO range ${hex(base)}-${hex(base + length - 1)} of ${device.name} overlaps ${hex(clash.base)}-${hex(clash.base + clash.length - 1)} of ${clash.device.name}`,
      );
    }
    this.entries.splice(i, 0, { base, length, device });
  }

  unregister(base: number): BusDevice {
    const i = this.upperBound(base) - 1;
    const e = this.entries[i];
    if (!e || e.base !== base) throw new BusError(`no MMIO range registered at ${hex(base)}`);
    this.entries.splice(i, 1);
    return e.device;
  }

  move(oldBase: number, newBase: number): void {
    const i = this.upperBound(oldBase) - 1;
    const e = this.entries[i];
    if (!e || e.base !== oldBase) throw new BusError(`no MMIO range registered at ${hex(oldBase)}`);
    this.unregister(oldBase);
    try {
      this.register(newBase, e.length, e.device);
    } catch (err) {
      this.register(oldBase, e.length, e.device);
      throw err;
    }
  }

  /** Marks a range where unclaimed accesses are benign (the PCI hole). */
  addFallback(base: number, length: number): void {
    checkRange(base, length, MMIO_SPACE, 'MMIO fallback');
    this.fallbacks.push({ base, length });
  }

  /** First index whose base is > addr. */
  private upperBound(addr: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.base <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lookup(addr: number, size: number): MmioEntry | undefined {
    const e = this.entries[this.upperBound(addr) - 1];
    return e && addr + size <= e.base + e.length ? e : undefined;
  }

  owner(addr: number, size: number): string | undefined {
    return this.lookup(addr, size)?.device.name;
  }

  /** Whether an access is claimed by a device or falls in a fallback range. */
  claimedOrFallback(addr: number, size: number): boolean {
    if (this.lookup(addr, size)) return true;
    return this.fallbacks.some((f) => addr >= f.base && addr + size <= f.base + f.length);
  }

  /** Reads 1, 2 or 4 bytes. */
  read(addr: number, size: number): number {
    const e = this.lookup(addr, size);
    if (!e) {
      this.unclaimedReads++;
      this.once.warn(`r${addr}`, `unhandled read of ${size} byte(s) at GPA ${hex(addr)}`);
      return allOnes(size);
    }
    return (e.device.read(addr - e.base, size) & allOnes(size)) >>> 0;
  }

  write(addr: number, size: number, value: number): void {
    const e = this.lookup(addr, size);
    if (!e) {
      this.unclaimedWrites++;
      this.once.warn(`w${addr}`, `unhandled write of ${size} byte(s) at GPA ${hex(addr)}`);
      return;
    }
    e.device.write(addr - e.base, size, (value & allOnes(size)) >>> 0);
  }

  /** An 8-byte read as two 4-byte device reads (low first). */
  read64(addr: number): bigint {
    const lo = this.read(addr, 4);
    const hi = this.read(addr + 4, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  write64(addr: number, value: bigint): void {
    this.write(addr, 4, Number(value & 0xffffffffn));
    this.write(addr + 4, 4, Number((value >> 32n) & 0xffffffffn));
  }
}
