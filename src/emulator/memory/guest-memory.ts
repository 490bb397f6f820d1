/**
 * Bounds-checked access to guest physical memory held in one ArrayBuffer
 * (DESIGN.md "Guest memory is one external ArrayBuffer"; bhyve-userland.md §5.1).
 *
 * Layout, as the vmm lays it out (vm_setup_memory): buffer bytes [0, lowMem) are GPA
 * [0, lowMem) and bytes [lowMem, lowMem + highMem) are GPA [4 GiB, 4 GiB + highMem).
 * A range is usable only if it lies entirely inside one of the two regions (as
 * vm_map_gpa): anything else — the PCI hole, a range straddling a boundary, an address
 * beyond 2^53, a negative or non-integer length — is refused.
 *
 * Two styles: `offsetOf`/`view` answer -1/null (hot paths that branch), while the
 * `read*`/`write*` helpers throw GuestMemoryFault (request parsers that abandon the
 * whole request on the first bad address). Guest addresses and lengths are never trusted.
 * No allocation on the accessors; `view` returns a subarray (no copy) that aliases guest
 * memory.
 *
 * Device writes and the soft CPU: a CPU that caches decoded guest code must hear about
 * bytes a device wrote (DMA). The scalar writers, writeBytes and fill report their range to
 * the `onWrite` hook the machine installs (vmm GuestMemory.written → invalidate_code); a
 * device that fills a `view` must call `written(gpa, len)` once the bytes are in.
 */

export const HIGHMEM_BASE = 0x1_0000_0000;

/** A guest-supplied address or length that does not name guest RAM. */
export class GuestMemoryFault extends Error {
  constructor(
    readonly gpa: number,
    readonly length: number,
  ) {
    super(`guest address range 0x${gpa.toString(16)}+${length} is not guest RAM`);
    this.name = 'GuestMemoryFault';
  }
}

export class GuestMemory {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  readonly lowMem: number;
  readonly highMem: number;

  /** Told of every range written through this object (the soft CPU drops code decoded there). */
  onWrite: ((gpa: number, len: number) => void) | undefined;

  constructor(buffer: ArrayBuffer | SharedArrayBuffer, layout?: { lowMem: number; highMem: number }) {
    this.bytes = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
    this.lowMem = layout?.lowMem ?? buffer.byteLength;
    this.highMem = layout?.highMem ?? 0;
    if (this.lowMem + this.highMem !== buffer.byteLength || this.lowMem > HIGHMEM_BASE) {
      throw new RangeError(
        `guest memory layout low=${this.lowMem} high=${this.highMem} does not match a buffer of ${buffer.byteLength} bytes`,
      );
    }
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Buffer offset of [gpa, gpa+len) or -1 when the range is not entirely guest RAM. */
  offsetOf(gpa: number, len: number): number {
    if (!(gpa >= 0) || !(len >= 0) || !Number.isSafeInteger(gpa) || !Number.isSafeInteger(len)) return -1;
    const end = gpa + len;
    if (end <= this.lowMem) return gpa;
    if (gpa >= HIGHMEM_BASE && end <= HIGHMEM_BASE + this.highMem) return this.lowMem + (gpa - HIGHMEM_BASE);
    return -1;
  }

  /** Whether [gpa, gpa+len) is guest RAM. */
  contains(gpa: number, len: number): boolean {
    return this.offsetOf(gpa, len) >= 0;
  }

  /** A view aliasing [gpa, gpa+len), or null. */
  view(gpa: number, len: number): Uint8Array | null {
    const off = this.offsetOf(gpa, len);
    return off < 0 ? null : this.bytes.subarray(off, off + len);
  }

  /** A view or a GuestMemoryFault. */
  viewOrThrow(gpa: number, len: number): Uint8Array {
    const off = this.offsetOf(gpa, len);
    if (off < 0) throw new GuestMemoryFault(gpa, len);
    return this.bytes.subarray(off, off + len);
  }

  private at(gpa: number, len: number): number {
    const off = this.offsetOf(gpa, len);
    if (off < 0) throw new GuestMemoryFault(gpa, len);
    return off;
  }

  read8(gpa: number): number {
    return this.dv.getUint8(this.at(gpa, 1));
  }
  read16(gpa: number): number {
    return this.dv.getUint16(this.at(gpa, 2), true);
  }
  read32(gpa: number): number {
    return this.dv.getUint32(this.at(gpa, 4), true);
  }
  /** A 64-bit value as bigint. */
  read64(gpa: number): bigint {
    return this.dv.getBigUint64(this.at(gpa, 8), true);
  }
  /**
   * A 64-bit guest address as a number; values at or beyond 2^53 (never RAM) come back
   * as Number.MAX_SAFE_INTEGER so that any following range check fails.
   */
  readAddr64(gpa: number): number {
    const off = this.at(gpa, 8);
    const lo = this.dv.getUint32(off, true);
    const hi = this.dv.getUint32(off + 4, true);
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
  }

  write8(gpa: number, v: number): void {
    this.dv.setUint8(this.at(gpa, 1), v);
    this.onWrite?.(gpa, 1);
  }
  write16(gpa: number, v: number): void {
    this.dv.setUint16(this.at(gpa, 2), v, true);
    this.onWrite?.(gpa, 2);
  }
  write32(gpa: number, v: number): void {
    this.dv.setUint32(this.at(gpa, 4), v >>> 0, true);
    this.onWrite?.(gpa, 4);
  }
  write64(gpa: number, v: bigint): void {
    this.dv.setBigUint64(this.at(gpa, 8), BigInt.asUintN(64, v), true);
    this.onWrite?.(gpa, 8);
  }

  /** Copies bytes into guest memory. */
  writeBytes(gpa: number, data: Uint8Array): void {
    this.bytes.set(data, this.at(gpa, data.length));
    this.onWrite?.(gpa, data.length);
  }

  /** A device filled [gpa, gpa+len) through a view: pass it on to onWrite. */
  written(gpa: number, len: number): void {
    if (len > 0 && this.offsetOf(gpa, len) >= 0) this.onWrite?.(gpa, len);
  }

  /** Copies guest bytes out (a fresh buffer, safe from later guest writes). */
  readBytes(gpa: number, len: number): Uint8Array {
    const off = this.at(gpa, len);
    return this.bytes.slice(off, off + len);
  }

  /** Fills [gpa, gpa+len) with a byte. */
  fill(gpa: number, len: number, value = 0): void {
    const off = this.at(gpa, len);
    this.bytes.fill(value, off, off + len);
    this.onWrite?.(gpa, len);
  }
}
