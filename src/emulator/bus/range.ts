/**
 * Address ranges and the device surface shared by the port and MMIO buses
 * (STYLE.md "Bus"; firecracker vstate/bus.rs BusRange; bhyve inout.c / mem.c).
 *
 * A range is refused at construction when it is empty, negative, not an integer, or runs
 * past the end of its address space. A device sees only (offset, size): it never learns
 * where it is mapped, and the bus guarantees offset + size <= its length.
 */

/** What a bus calls. Sizes are 1, 2 or 4 bytes; values are unsigned and masked to size. */
export interface BusDevice {
  /** Shown in error messages and logs ("virtio-blk@pci.0.4.0 BAR0"). */
  readonly name: string;
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
  /**
   * Optional: whether the device handles an access of this size at this offset. A refused
   * access is treated exactly like an unclaimed one (bhyve: a handler returning -1), so
   * `x86.strictio` applies to it too. Port devices only.
   */
  accepts?(offset: number, size: number): boolean;
}

export class BusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusError';
  }
}

export interface AddressRange {
  readonly base: number;
  readonly length: number;
}

/** Validates a range against an address-space limit (exclusive end); throws BusError. */
export function checkRange(base: number, length: number, limit: number, what: string): AddressRange {
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0) {
    throw new BusError(`${what}: invalid range base=${base} length=${length}`);
  }
  if (length <= 0) throw new BusError(`${what}: zero-length range at 0x${base.toString(16)}`);
  if (base + length > limit) {
    throw new BusError(`${what}: range 0x${base.toString(16)}+0x${length.toString(16)} overflows the address space`);
  }
  return { base, length };
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** All-ones of an access size, as an unclaimed read returns. */
export function allOnes(size: number): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}
