/**
 * The 9P2000.L wire format: message type numbers, primitive encoders/decoders and the
 * Linux open/setattr/getattr bit values the protocol carries (Plan 9 intro(5) for the
 * framing, Linux Documentation/filesystems/9p.rst and the 9P2000.L protocol description
 * (github.com/chaos/diod protocol.md) for the .L messages). No file system knowledge.
 *
 * Every message is size[4] type[1] tag[2] body, little endian; strings are len[2] + UTF-8;
 * a qid is type[1] version[4] path[8]. The Reader throws ProtocolError on any read past
 * the end of the message so a truncated or lying message can never be half-parsed into an
 * operation; the Writer grows its buffer and is reset per reply.
 */

// Message types (T = request, R = reply = T + 1).
export const P9_RLERROR = 7;
export const P9_TSTATFS = 8;
export const P9_TLOPEN = 12;
export const P9_TLCREATE = 14;
export const P9_TSYMLINK = 16;
export const P9_TMKNOD = 18;
export const P9_TRENAME = 20;
export const P9_TREADLINK = 22;
export const P9_TGETATTR = 24;
export const P9_TSETATTR = 26;
export const P9_TXATTRWALK = 30;
export const P9_TXATTRCREATE = 32;
export const P9_TREADDIR = 40;
export const P9_TFSYNC = 50;
export const P9_TLOCK = 52;
export const P9_TGETLOCK = 54;
export const P9_TLINK = 70;
export const P9_TMKDIR = 72;
export const P9_TRENAMEAT = 74;
export const P9_TUNLINKAT = 76;
export const P9_TVERSION = 100;
export const P9_TAUTH = 102;
export const P9_TATTACH = 104;
export const P9_TFLUSH = 108;
export const P9_TWALK = 110;
export const P9_TREAD = 116;
export const P9_TWRITE = 118;
export const P9_TCLUNK = 120;
export const P9_TREMOVE = 122;

export const P9_NOTAG = 0xffff;
export const P9_NOFID = 0xffffffff;
/** Most names one Twalk may carry (MAXWELEM). */
export const P9_MAXWELEM = 16;
/** Bytes of size[4] type[1] tag[2]. */
export const P9_HEADER = 7;
/** Rread/Rreaddir: header + count[4] before the data. */
export const P9_IOHDRSZ = 11;
/** Twrite: header + fid[4] offset[8] count[4] before the data. */
export const P9_TWRITE_HDR = 23;

export const QTDIR = 0x80;
export const QTSYMLINK = 0x02;
export const QTFILE = 0x00;

// Linux open flags as Tlopen/Tlcreate carry them (asm-generic/fcntl.h, x86).
export const L_O_ACCMODE = 0o3;
export const L_O_WRONLY = 0o1;
export const L_O_RDWR = 0o2;
export const L_O_CREAT = 0o100;
export const L_O_EXCL = 0o200;
export const L_O_TRUNC = 0o1000;
export const L_O_APPEND = 0o2000;
export const L_O_NONBLOCK = 0o4000;
export const L_O_DSYNC = 0o10000;
export const L_O_DIRECTORY = 0o200000;
export const L_O_SYNC = 0o4010000;

// Tsetattr valid bits.
export const P9_SETATTR_MODE = 0x1;
export const P9_SETATTR_UID = 0x2;
export const P9_SETATTR_GID = 0x4;
export const P9_SETATTR_SIZE = 0x8;
export const P9_SETATTR_ATIME = 0x10;
export const P9_SETATTR_MTIME = 0x20;
export const P9_SETATTR_CTIME = 0x40;
export const P9_SETATTR_ATIME_SET = 0x80;
export const P9_SETATTR_MTIME_SET = 0x100;

/** Rgetattr valid mask: all basic fields (P9_GETATTR_BASIC). */
export const P9_GETATTR_BASIC = 0x7ffn;

export const AT_REMOVEDIR = 0x200;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface Qid {
  type: number;
  version: number;
  path: bigint;
}

/** Bounds-checked little-endian reader over one message. */
export class Reader {
  private pos: number;
  private readonly dv: DataView;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw new ProtocolError(`message truncated: need ${n} bytes at ${this.pos} of ${this.buf.length}`);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8(): number {
    return this.dv.getUint8(this.need(1));
  }
  u16(): number {
    return this.dv.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.need(4), true);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.need(8), true);
  }
  /** A 64-bit value as a number, saturating at 2^53 (offsets and sizes). */
  u64n(): number {
    const v = this.u64();
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  str(): string {
    const n = this.u16();
    const p = this.need(n);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + p, n).toString('utf8');
  }
  bytes(n: number): Uint8Array {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
}

/** Little-endian writer of one reply; the header's size is patched by finish(). */
export class Writer {
  private buf = Buffer.alloc(256);
  private pos = 0;

  reset(type: number, tag: number): this {
    this.pos = 0;
    this.u32(0).u8(type).u16(tag);
    return this;
  }
  /** Reserves n bytes, growing the buffer; callers take the position before touching
   * `this.buf`, which may be replaced here. */
  private room(n: number): number {
    if (this.pos + n > this.buf.length) {
      const nb = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(nb, 0, 0, this.pos);
      this.buf = nb;
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }
  get length(): number {
    return this.pos;
  }
  u8(v: number): this {
    const at = this.room(1);
    this.buf.writeUInt8(v & 0xff, at);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16LE(v & 0xffff, at);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }
  u64(v: bigint | number): this {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), at);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.u16(b.length);
    const at = this.room(b.length);
    b.copy(this.buf, at);
    return this;
  }
  qid(q: Qid): this {
    return this.u8(q.type).u32(q.version).u64(q.path);
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  /** Reserves `n` bytes (filled later through view()). */
  skip(n: number): number {
    return this.room(n);
  }
  patch32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  /** Patches the size field; returns a view of the finished message (valid until reset). */
  finish(): Uint8Array {
    this.buf.writeUInt32LE(this.pos, 0);
    return this.buf.subarray(0, this.pos);
  }
  /** Drops bytes written after `at` (a reply that would not fit). */
  truncate(at: number): void {
    this.pos = at;
  }
}

/** Encoded size of a qid. */
export const QID_SIZE = 13;
