/**
 * Raw images: regular files and block devices (bhyve block_if.c blockif_open for
 * `path`, `ro`, `nocache`, `direct`/`sync`, `sectorsize`, `nodelete`).
 *
 * - `ro` opens read-only; a read/write open refused with EROFS or EACCES retries
 *   read-only, as bhyve does.
 * - `nocache` opens with O_DIRECT. Linux requires aligned buffers for it, which guest
 *   buffers need not be: an unaligned request (EINVAL) is retried through a second,
 *   buffered descriptor. A file system without O_DIRECT (tmpfs) is refused with a
 *   clear error.
 * - `direct` (alias `sync`) opens with O_SYNC: every write is durable when it completes.
 * - `sectorsize=L[/P]`: powers of two, L ≥ 512, L ≤ P; default 512 and the file
 *   system's block size for files, the device's sizes for block devices (from sysfs).
 * - Discard: Node offers no hole punching, so raw files and devices do not advertise
 *   it (`nodelete` is then implied).
 * All I/O uses FileHandle.readv/writev/sync on libuv's thread pool.
 */
import { constants } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { BlockError, type BlockBackend } from './backend.js';

export interface RawFileOptions {
  readOnly?: boolean;
  nocache?: boolean;
  sync?: boolean;
  /** `L` or `L/P` as the sectorsize key gives it. */
  sectorSize?: string;
}

const DEV_BSIZE = 512;

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function parseSectorSize(spec: string): { logical: number; physical: number } {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(spec);
  if (!m) throw new BlockError('invalid', `Invalid sector size "${spec}"`);
  const logical = Number(m[1]);
  const physical = m[2] !== undefined ? Number(m[2]) : logical;
  if (!isPow2(logical) || !isPow2(physical) || logical < DEV_BSIZE || logical > physical) {
    throw new BlockError('invalid', `Invalid sector size ${logical}/${physical}`);
  }
  return { logical, physical };
}

async function sysfsNumber(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Size and sector sizes of a block device from /sys/dev/block/MAJ:MIN. */
async function blockDeviceFacts(rdev: number): Promise<{ size: number; logical: number; physical: number }> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 0x1000) & 0xfff00) >>> 0);
  const dir = `/sys/dev/block/${major}:${minor}`;
  const sectors = await sysfsNumber(`${dir}/size`);
  if (sectors === undefined) throw new BlockError('io', `cannot read the size of block device ${major}:${minor} from ${dir}/size`);
  const logical = (await sysfsNumber(`${dir}/queue/logical_block_size`)) ?? (await sysfsNumber(`${dir}/../queue/logical_block_size`)) ?? DEV_BSIZE;
  const physical = (await sysfsNumber(`${dir}/queue/physical_block_size`)) ?? (await sysfsNumber(`${dir}/../queue/physical_block_size`)) ?? logical;
  return { size: sectors * 512, logical, physical };
}

export class RawFileBackend implements BlockBackend {
  readonly canDelete = false;
  readonly physSectorOffset = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly buffered: FileHandle | undefined,
    readonly size: number,
    readonly sectorSize: number,
    readonly physSectorSize: number,
    readonly readOnly: boolean,
  ) {}

  static async open(path: string, opts: RawFileOptions = {}): Promise<RawFileBackend> {
    let readOnly = opts.readOnly ?? false;
    let flags = readOnly ? constants.O_RDONLY : constants.O_RDWR;
    if (opts.sync) flags |= constants.O_SYNC;
    const direct = opts.nocache ? constants.O_DIRECT : 0;
    let fh: FileHandle;
    try {
      fh = await open(path, flags | direct);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!readOnly && (code === 'EROFS' || code === 'EACCES')) {
        readOnly = true;
        flags = (flags & ~constants.O_RDWR) | constants.O_RDONLY;
        try {
          fh = await open(path, flags | direct);
        } catch (e2) {
          throw new BlockError('io', `Could not open backing file: ${path}: ${(e2 as Error).message}`, e2);
        }
      } else if (code === 'EINVAL' && direct) {
        throw new BlockError('unsupported', `${path}: the file system does not support O_DIRECT (nocache)`, e);
      } else {
        throw new BlockError('io', `Could not open backing file: ${path}: ${(e as Error).message}`, e);
      }
    }
    try {
      const st = await fh.stat();
      let size: number;
      let logical = DEV_BSIZE;
      let physical: number;
      if (st.isBlockDevice()) {
        const f = await blockDeviceFacts(st.rdev);
        size = f.size;
        logical = f.logical;
        physical = f.physical;
      } else if (st.isFile()) {
        size = st.size;
        physical = st.blksize > 0 ? st.blksize : DEV_BSIZE;
      } else {
        throw new BlockError('invalid', `${path} is neither a regular file nor a block device`);
      }
      if (opts.sectorSize !== undefined) {
        const ss = parseSectorSize(opts.sectorSize);
        if (st.isBlockDevice() && ss.logical % logical !== 0) {
          throw new BlockError('invalid', `Sector size ${ss.logical} incompatible with underlying device sector size ${logical}`);
        }
        logical = ss.logical;
        physical = ss.physical;
      }
      if (physical < logical) physical = logical;
      const buffered = direct ? await open(path, flags) : undefined;
      return new RawFileBackend(path, fh, buffered, size, logical, physical, readOnly);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private async io(kind: 'read' | 'write', offset: number, bufs: Uint8Array[]): Promise<number> {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + total > this.size) {
      throw new BlockError('out-of-range', `${kind} of ${total} bytes at ${offset} beyond ${this.path} (${this.size} bytes)`);
    }
    if (kind === 'write' && this.readOnly) throw new BlockError('read-only', `${this.path} is read-only`);
    const run = (fh: FileHandle) => (kind === 'read' ? fh.readv(bufs, offset) : fh.writev(bufs, offset));
    try {
      let done = 0;
      let res = await run(this.fh);
      done = kind === 'read' ? (res as { bytesRead: number }).bytesRead : (res as { bytesWritten: number }).bytesWritten;
      // readv/writev may be short; finish the remainder.
      while (done < total) {
        const rest = sliceBufs(bufs, done);
        res = kind === 'read' ? await this.fh.readv(rest, offset + done) : await this.fh.writev(rest, offset + done);
        const n = kind === 'read' ? (res as { bytesRead: number }).bytesRead : (res as { bytesWritten: number }).bytesWritten;
        if (n === 0) break;
        done += n;
      }
      return done;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL' && this.buffered) {
        const r = await (kind === 'read' ? this.buffered.readv(bufs, offset) : this.buffered.writev(bufs, offset));
        return kind === 'read' ? (r as { bytesRead: number }).bytesRead : (r as { bytesWritten: number }).bytesWritten;
      }
      throw new BlockError('io', `${kind} at ${offset} on ${this.path}: ${(e as Error).message}`, e);
    }
  }

  read(offset: number, bufs: Uint8Array[]): Promise<number> {
    return this.io('read', offset, bufs);
  }

  write(offset: number, bufs: Uint8Array[]): Promise<number> {
    return this.io('write', offset, bufs);
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    try {
      await this.fh.sync();
      await this.buffered?.sync();
    } catch (e) {
      throw new BlockError('io', `flush of ${this.path}: ${(e as Error).message}`, e);
    }
  }

  async discard(): Promise<void> {
    throw new BlockError('unsupported', 'discard is not supported by raw file backends');
  }

  async close(): Promise<void> {
    await this.fh.close();
    await this.buffered?.close();
  }
}

function sliceBufs(bufs: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = skip;
  for (const b of bufs) {
    if (s >= b.length) {
      s -= b.length;
      continue;
    }
    out.push(s > 0 ? b.subarray(s) : b);
    s = 0;
  }
  return out;
}

/** Whether a path exists and is a block device (for messages). */
export async function isBlockDevice(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isBlockDevice();
  } catch {
    return false;
  }
}
