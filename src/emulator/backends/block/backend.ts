/**
 * The block layer shared by virtio-blk and AHCI (bhyve block_if.c; bhyve-userland.md
 * §1.5 "Block backends"): byte-addressed scatter/gather reads and writes, flush, and
 * geometry facts the frontends report. Every operation is asynchronous and runs off the
 * event loop (libuv's thread pool); buffers may be views of guest memory (zero copy).
 *
 * Errors are BlockError values with a stable kind the frontends map to their status
 * codes (virtio IOERR/UNSUPP, ATA ABRT).
 */

export type BlockErrorKind = 'io' | 'read-only' | 'out-of-range' | 'unsupported' | 'invalid';

export class BlockError extends Error {
  constructor(
    readonly kind: BlockErrorKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'BlockError';
  }
}

export interface BlockBackend {
  /** Path or description, for messages and default serial numbers. */
  readonly path: string;
  /** Capacity in bytes. */
  readonly size: number;
  /** Logical and physical sector sizes (bytes), physical offset of sector 0. */
  readonly sectorSize: number;
  readonly physSectorSize: number;
  readonly physSectorOffset: number;
  readonly readOnly: boolean;
  /** Whether discard (TRIM/DEALLOCATE) can be offered. */
  readonly canDelete: boolean;
  /** Reads `bufs` back to back from byte `offset`; resolves with bytes read (short at EOF). */
  read(offset: number, bufs: Uint8Array[]): Promise<number>;
  /** Writes `bufs` back to back at byte `offset`. */
  write(offset: number, bufs: Uint8Array[]): Promise<number>;
  /** Makes completed writes durable (fsync). */
  flush(): Promise<void>;
  /** Deallocates a range (only when canDelete). */
  discard(offset: number, length: number): Promise<void>;
  close(): Promise<void>;
}
