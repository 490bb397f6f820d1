/**
 * The 256-byte configuration space of one PCI function as plain storage: little-endian
 * 8/16/32-bit get/set at any in-range offset (pi_cfgdata and pci_get/set_cfgdata*).
 * Semantics (read-only bits, BAR sizing, capabilities) live in function.ts; this file
 * only stores bytes. Offsets are the caller's: out-of-range offsets are a programming
 * error and throw RangeError.
 */
export const CONFIG_SPACE_SIZE = 256;

export class ConfigSpace {
  readonly bytes = new Uint8Array(CONFIG_SPACE_SIZE);
  private readonly dv = new DataView(this.bytes.buffer);

  get8(off: number): number {
    return this.dv.getUint8(off);
  }
  get16(off: number): number {
    return this.dv.getUint16(off, true);
  }
  get32(off: number): number {
    return this.dv.getUint32(off, true);
  }
  set8(off: number, v: number): void {
    this.dv.setUint8(off, v & 0xff);
  }
  set16(off: number, v: number): void {
    this.dv.setUint16(off, v & 0xffff, true);
  }
  set32(off: number, v: number): void {
    this.dv.setUint32(off, v >>> 0, true);
  }
  get(off: number, size: number): number {
    return size === 1 ? this.get8(off) : size === 2 ? this.get16(off) : this.get32(off);
  }
  set(off: number, size: number, v: number): void {
    if (size === 1) this.set8(off, v);
    else if (size === 2) this.set16(off, v);
    else this.set32(off, v);
  }
}
