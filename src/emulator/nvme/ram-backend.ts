/**
 * The `ram=MiB` backing store of bhyve's NVMe device (pci_nvme.c NVME_STOR_RAM;
 * bhyve-userland.md §6.8): a zero-filled disk in host memory that lives as long as the
 * VM, with 4096-byte sectors unless `sectsz` says otherwise.
 *
 * Implements the BlockBackend surface so the NVMe device does not care which store it
 * has. Storage is sparse: 1 MiB chunks are allocated on first write, chunks never written
 * read as zeroes, and discard zeroes ranges (freeing whole chunks), so deallocation is
 * real here and Dataset Management is offered with `dsm=auto` (bhyve's RAM store does
 * not deallocate). Operations complete synchronously inside resolved promises.
 */
import { BlockError, type BlockBackend } from '../backends/block/backend.js';

const CHUNK = 1 << 20;
/** Largest RAM disk accepted: 1 TiB of address space (allocation is lazy). */
export const MAX_RAM_MIB = 1 << 20;

export class RamBackend implements BlockBackend {
  readonly readOnly = false;
  readonly canDelete = true;
  readonly physSectorOffset = 0;
  readonly physSectorSize: number;
  readonly path: string;
  readonly size: number;
  private readonly chunks: Array<Uint8Array | undefined>;
  private closed = false;

  constructor(
    mib: number,
    readonly sectorSize = 4096,
  ) {
    if (!Number.isInteger(mib) || mib < 1 || mib > MAX_RAM_MIB) throw new BlockError('invalid', `RAM disk size ${mib} MiB out of range (1..${MAX_RAM_MIB})`);
    this.size = mib * CHUNK;
    this.path = `ram=${mib}`;
    this.physSectorSize = sectorSize;
    this.chunks = new Array<Uint8Array | undefined>(mib);
  }

  /** Bytes of host memory actually allocated (for tests and accounting). */
  get allocated(): number {
    return this.chunks.reduce((n, c) => n + (c ? c.length : 0), 0);
  }

  private check(kind: string, offset: number, len: number): void {
    if (this.closed) throw new BlockError('io', `${this.path} is closed`);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(len) || len < 0 || offset + len > this.size) {
      throw new BlockError('out-of-range', `${kind} of ${len} bytes at ${offset} beyond ${this.path} (${this.size} bytes)`);
    }
  }

  /** Calls fn(chunkIndex, offsetInChunk, n, position) over [offset, offset+len). */
  private each(offset: number, len: number, fn: (c: number, o: number, n: number, pos: number) => void): void {
    let pos = 0;
    while (pos < len) {
      const at = offset + pos;
      const c = Math.floor(at / CHUNK);
      const o = at % CHUNK;
      const n = Math.min(CHUNK - o, len - pos);
      fn(c, o, n, pos);
      pos += n;
    }
  }

  async read(offset: number, bufs: Uint8Array[]): Promise<number> {
    let at = offset;
    const total = bufs.reduce((n, b) => n + b.length, 0);
    this.check('read', offset, total);
    for (const b of bufs) {
      this.each(at, b.length, (c, o, n, pos) => {
        const chunk = this.chunks[c];
        if (chunk) b.set(chunk.subarray(o, o + n), pos);
        else b.fill(0, pos, pos + n);
      });
      at += b.length;
    }
    return total;
  }

  async write(offset: number, bufs: Uint8Array[]): Promise<number> {
    let at = offset;
    const total = bufs.reduce((n, b) => n + b.length, 0);
    this.check('write', offset, total);
    for (const b of bufs) {
      this.each(at, b.length, (c, o, n, pos) => {
        const chunk = (this.chunks[c] ??= new Uint8Array(CHUNK));
        chunk.set(b.subarray(pos, pos + n), o);
      });
      at += b.length;
    }
    return total;
  }

  async flush(): Promise<void> {
    // Nothing is volatile beyond host memory itself.
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check('discard', offset, length);
    this.each(offset, length, (c, o, n) => {
      const chunk = this.chunks[c];
      if (!chunk) return;
      if (n === CHUNK) this.chunks[c] = undefined;
      else chunk.fill(0, o, o + n);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.chunks.fill(undefined);
  }
}
