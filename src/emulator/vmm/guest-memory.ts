/**
 * GuestMemory: bounds-checked access to a VM's system memory for device models (DMA).
 *
 * The memory is one external ArrayBuffer owned by the native vmm (zero copy). Guest-
 * physical addresses map onto it as bhyve lays memory out (reference 5.1): [0, lowmem) at
 * offset 0, [4 GiB, 4 GiB + highmem) right after lowmem. Nothing else is RAM here: the PCI
 * hole, device windows and segments (boot ROM, framebuffer) are not reachable through this
 * object. Every guest-supplied address and length is checked (integer, non-negative,
 * inside one RAM range, no 2^53 overflow); a bad range returns -1 / undefined from the
 * non-throwing methods and throws VmmError('out-of-range') from the others.
 *
 * Writes made through {@link write} and the scalar writers tell the soft CPU to drop code
 * it decoded from those bytes (PhysMemory::invalidate_code). A device that writes through
 * a view from {@link bytes} must call {@link written} afterwards for the same reason.
 *
 * Hot path: translate() and the scalar accessors allocate nothing; bytes() allocates one
 * Uint8Array view (Node 20 caps one typed array at 4 GiB, so no whole-memory array exists).
 */
import { VmmError } from './errors.js';

const FOUR_GIB = 4 * 1024 * 1024 * 1024;

export class GuestMemory {
  readonly buffer: ArrayBuffer;
  readonly lowmemSize: number;
  readonly highmemSize: number;
  readonly size: number;
  private readonly view: DataView;
  private readonly invalidate: (gpa: number, length: number) => void;

  constructor(
    buffer: ArrayBuffer,
    lowmemSize: number,
    highmemSize: number,
    invalidate: (gpa: number, length: number) => void,
  ) {
    if (lowmemSize + highmemSize !== buffer.byteLength) {
      throw new VmmError(
        'invalid-argument',
        `guest memory layout ${lowmemSize} + ${highmemSize} does not match the buffer (${buffer.byteLength} bytes)`,
      );
    }
    this.buffer = buffer;
    this.lowmemSize = lowmemSize;
    this.highmemSize = highmemSize;
    this.size = buffer.byteLength;
    this.view = new DataView(buffer);
    this.invalidate = invalidate;
  }

  /**
   * Offset in {@link buffer} of guest-physical [gpa, gpa+length), or -1 when the range is
   * not entirely inside one RAM range (or the arguments are not valid integers).
   */
  translate(gpa: number, length: number): number {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) {
      return -1;
    }
    if (this.buffer.byteLength === 0) return -1;  // detached: the VM was destroyed
    if (gpa < this.lowmemSize) {
      return length <= this.lowmemSize - gpa ? gpa : -1;
    }
    if (gpa >= FOUR_GIB && gpa - FOUR_GIB < this.highmemSize) {
      const rel = gpa - FOUR_GIB;
      return length <= this.highmemSize - rel ? this.lowmemSize + rel : -1;
    }
    return -1;
  }

  /** Whether [gpa, gpa+length) is RAM. */
  contains(gpa: number, length: number): boolean {
    return this.translate(gpa, length) >= 0;
  }

  private offset(gpa: number, length: number): number {
    const off = this.translate(gpa, length);
    if (off < 0) {
      throw new VmmError(
        'out-of-range',
        `guest-physical range 0x${safeHex(gpa)}+${length} is not inside guest memory`,
      );
    }
    return off;
  }

  /** A zero-copy view of guest memory, or undefined for a bad range. */
  tryBytes(gpa: number, length: number): Uint8Array | undefined {
    const off = this.translate(gpa, length);
    return off < 0 ? undefined : new Uint8Array(this.buffer, off, length);
  }

  /** A zero-copy view of guest memory; throws VmmError('out-of-range') for a bad range. */
  bytes(gpa: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, this.offset(gpa, length), length);
  }

  /** Copies guest memory into dst. */
  read(gpa: number, dst: Uint8Array): void {
    dst.set(new Uint8Array(this.buffer, this.offset(gpa, dst.length), dst.length));
  }

  /** Copies src into guest memory (and drops decoded code there). */
  write(gpa: number, src: Uint8Array): void {
    new Uint8Array(this.buffer, this.offset(gpa, src.length), src.length).set(src);
    this.invalidate(gpa, src.length);
  }

  /** Fills guest memory with a byte value. */
  fill(gpa: number, length: number, value: number): void {
    new Uint8Array(this.buffer, this.offset(gpa, length), length).fill(value);
    this.invalidate(gpa, length);
  }

  /** Tells the soft CPU that [gpa, gpa+length) was written through a view from bytes(). */
  written(gpa: number, length: number): void {
    if (this.translate(gpa, length) >= 0) this.invalidate(gpa, length);
  }

  readU8(gpa: number): number {
    return this.view.getUint8(this.offset(gpa, 1));
  }
  readU16(gpa: number): number {
    return this.view.getUint16(this.offset(gpa, 2), true);
  }
  readU32(gpa: number): number {
    return this.view.getUint32(this.offset(gpa, 4), true);
  }
  readU64(gpa: number): bigint {
    return this.view.getBigUint64(this.offset(gpa, 8), true);
  }
  writeU8(gpa: number, value: number): void {
    this.view.setUint8(this.offset(gpa, 1), value);
    this.invalidate(gpa, 1);
  }
  writeU16(gpa: number, value: number): void {
    this.view.setUint16(this.offset(gpa, 2), value, true);
    this.invalidate(gpa, 2);
  }
  writeU32(gpa: number, value: number): void {
    this.view.setUint32(this.offset(gpa, 4), value, true);
    this.invalidate(gpa, 4);
  }
  writeU64(gpa: number, value: bigint): void {
    this.view.setBigUint64(this.offset(gpa, 8), value, true);
    this.invalidate(gpa, 8);
  }
}

function safeHex(v: number): string {
  return Number.isFinite(v) ? Math.trunc(v).toString(16) : String(v);
}
