/**
 * MSI-X table and Pending Bit Array of one function (PCI 3.0 §6.8.2; bhyve pci_emul.c
 * pci_emul_msix_tread/twrite, pci_generate_msix).
 *
 * Layout in the table BAR, as bhyve: table at offset 0 (16 bytes per vector), PBA at the
 * table size rounded up to 4 KiB. Table writes must be 4 (or 8) bytes and aligned; reads
 * may be 1, 4 or 8 bytes (1 for debuggers); anything else reads all-ones / is dropped.
 * All vectors start masked. Unlike bhyve, a message raised while its vector (or the
 * function) is masked sets its PBA bit and is delivered when unmasked, as the
 * specification requires.
 */
import type { MsiSink } from '../irq/lines.js';
import { MAX_MSIX_TABLE_ENTRIES, MSIX_TABLE_ENTRY_SIZE, PCIM_MSIX_VCTRL_MASK } from './regs.js';

export class MsixTable {
  /** 4 dwords per entry: addr lo, addr hi, data, vector control. */
  readonly table: Uint32Array;
  readonly pending: Uint8Array;
  readonly tableSize: number;
  readonly pbaOffset: number;
  readonly pbaSize: number;
  enabled = false;
  functionMask = false;

  constructor(
    readonly count: number,
    readonly bar: number,
  ) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_MSIX_TABLE_ENTRIES) {
      throw new RangeError(`MSI-X table size ${count} out of range`);
    }
    this.table = new Uint32Array(count * 4);
    for (let i = 0; i < count; i++) this.table[i * 4 + 3] = PCIM_MSIX_VCTRL_MASK;
    this.pending = new Uint8Array(count);
    this.tableSize = Math.ceil((count * MSIX_TABLE_ENTRY_SIZE) / 4096) * 4096;
    this.pbaOffset = this.tableSize;
    // PBA_SIZE: one bit per vector, in 8-byte units.
    this.pbaSize = Math.ceil(count / 64) * 8;
  }

  /** BAR bytes the table and PBA need. */
  get barSize(): number {
    return this.tableSize + this.pbaSize;
  }

  /** Whether `offset` in the table BAR belongs to the table or the PBA. */
  owns(offset: number): boolean {
    return offset < this.count * MSIX_TABLE_ENTRY_SIZE || (offset >= this.pbaOffset && offset < this.pbaOffset + this.pbaSize);
  }

  read(offset: number, size: number): number {
    if (size !== 1 && size !== 4) return size === 2 ? 0xffff : 0xffffffff;
    if (offset % size !== 0) return size === 1 ? 0xff : 0xffffffff;
    if (offset < this.count * MSIX_TABLE_ENTRY_SIZE) {
      const dw = this.table[offset >>> 2]!;
      return size === 4 ? dw : (dw >>> ((offset & 3) * 8)) & 0xff;
    }
    if (offset >= this.pbaOffset && offset < this.pbaOffset + this.pbaSize) {
      const bitBase = (offset - this.pbaOffset) * 8;
      let v = 0;
      for (let b = 0; b < size * 8; b++) {
        const vec = bitBase + b;
        if (vec < this.count && this.pending[vec]) v |= 1 << b;
      }
      return v >>> 0;
    }
    return size === 1 ? 0xff : 0xffffffff;
  }

  /** A table write; returns the vector index whose entry changed, or -1. */
  write(offset: number, size: number, value: number): number {
    if (size !== 4 || offset % 4 !== 0) return -1;
    const idx = Math.floor(offset / MSIX_TABLE_ENTRY_SIZE);
    if (idx >= this.count) return -1;
    this.table[offset >>> 2] = value >>> 0;
    return idx;
  }

  masked(index: number): boolean {
    return this.functionMask || (this.table[index * 4 + 3]! & PCIM_MSIX_VCTRL_MASK) !== 0;
  }

  /** Raises vector `index`: delivered now, or marked pending while masked. */
  raise(index: number, sink: MsiSink): void {
    if (index < 0 || index >= this.count) return;
    if (this.masked(index)) {
      this.pending[index] = 1;
      return;
    }
    this.deliver(index, sink);
  }

  private deliver(index: number, sink: MsiSink): void {
    const lo = this.table[index * 4]!;
    const hi = this.table[index * 4 + 1]!;
    sink.msi(hi * 0x1_0000_0000 + lo, this.table[index * 4 + 2]!);
  }

  /** Delivers pending messages whose vectors are now unmasked. */
  flushPending(sink: MsiSink): void {
    if (!this.enabled) return;
    for (let i = 0; i < this.count; i++) {
      if (this.pending[i] && !this.masked(i)) {
        this.pending[i] = 0;
        this.deliver(i, sink);
      }
    }
  }
}
