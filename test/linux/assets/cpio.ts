/**
 * A writer of the "newc" cpio format (SVR4 without checksums, magic 070701), the format
 * the Linux kernel unpacks as an initramfs (Documentation/driver-api/early-userspace/
 * buffer-format.rst). Written here rather than with cpio(1) so that the archive can hold
 * a device node (/dev/console) and root-owned files without root privileges, and so that
 * its bytes are reproducible (fixed mtime, inode numbers assigned in order).
 *
 * Entries: directories, regular files, symlinks, character devices. Names are relative
 * (no leading `/`), at most 4095 bytes; a file larger than 4 GiB − 1 is refused (the
 * header field is 32 bits). The archive ends with the `TRAILER!!!` entry. No compression:
 * the kernel unpacks it as is, which is the cheapest for an emulated CPU.
 */

export class CpioError extends Error {}

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const MAGIC = '070701';

function hex8(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CpioError(`${what} ${n} does not fit a newc header field`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export class CpioWriter {
  private parts: Uint8Array[] = [];
  private ino = 1;
  private size = 0;
  private names = new Set<string>();
  private done = false;

  constructor(private readonly mtime = 0) {}

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private header(name: string, mode: number, nlink: number, fileSize: number, rdevMajor = 0, rdevMinor = 0): void {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [
      MAGIC,
      hex8(name === 'TRAILER!!!' ? 0 : this.ino++, 'inode'),
      hex8(mode, 'mode'),
      hex8(0, 'uid'),
      hex8(0, 'gid'),
      hex8(nlink, 'nlink'),
      hex8(this.mtime, 'mtime'),
      hex8(fileSize, 'file size'),
      hex8(0, 'dev major'),
      hex8(0, 'dev minor'),
      hex8(rdevMajor, 'rdev major'),
      hex8(rdevMinor, 'rdev minor'),
      hex8(nameBytes.length, 'name size'),
      hex8(0, 'check'),
    ].join('');
    const head = Buffer.from(fields, 'latin1');
    this.push(head);
    this.push(nameBytes);
    this.push(new Uint8Array(pad4(head.length + nameBytes.length)));
  }

  add(e: CpioEntry): this {
    if (this.done) throw new CpioError('archive already finished');
    const path = e.path.replace(/^\/+/, '');
    if (!path || path.split('/').some((c) => c === '..' || c === '') || Buffer.byteLength(path) > 4095) {
      throw new CpioError(`bad cpio entry name '${e.path}'`);
    }
    if (this.names.has(path)) throw new CpioError(`duplicate cpio entry '${path}'`);
    this.names.add(path);
    switch (e.type) {
      case 'dir':
        this.header(path, S_IFDIR | (e.mode ?? 0o755), 2, 0);
        break;
      case 'file':
        this.header(path, S_IFREG | (e.mode ?? 0o644), 1, e.data.length);
        this.push(e.data);
        this.push(new Uint8Array(pad4(e.data.length)));
        break;
      case 'symlink': {
        const t = Buffer.from(e.target, 'utf8');
        this.header(path, S_IFLNK | 0o777, 1, t.length);
        this.push(t);
        this.push(new Uint8Array(pad4(t.length)));
        break;
      }
      case 'chardev':
        this.header(path, S_IFCHR | (e.mode ?? 0o600), 1, 0, e.major, e.minor);
        break;
      default: {
        const never: never = e;
        throw new CpioError(`unknown cpio entry ${JSON.stringify(never)}`);
      }
    }
    return this;
  }

  /** Adds the trailer and returns the archive. */
  finish(): Buffer {
    if (!this.done) {
      this.header('TRAILER!!!', 0, 1, 0);
      this.done = true;
    }
    return Buffer.concat(this.parts, this.size);
  }
}
