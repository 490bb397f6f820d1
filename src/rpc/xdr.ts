/**
 * XDR primitives (RFC 4506) for libvirt's remote protocol: a bounds-checked reader over one
 * packet and a growable writer.
 *
 * What it does: big-endian 32/64-bit integers, booleans, floats, fixed and variable opaque
 * data and strings with 4-byte padding, each read checked against the end of the packet and
 * against the caller's declared maximum. What it does not do: describe structures (see
 * `xdr-codec.ts`) or frame packets (see `packet.ts`).
 *
 * Invariants: the reader never reads outside [start, end) and never allocates more than the
 * bytes actually present (a claimed length is checked against what remains before anything
 * is copied); every failure is an `XdrDecodeError`, never a RangeError from Buffer. The
 * reader returns opaque data as views into the packet (no copy). Called on every packet: no
 * allocation per integer.
 */

/** A malformed or truncated XDR payload. The only exception the decoders throw. */
export class XdrDecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'XdrDecodeError';
  }
}

/** A value that cannot be encoded (out of range, longer than the protocol's maximum). */
export class XdrEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrEncodeError';
  }
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** Bytes of padding after `len` bytes of opaque data. */
function pad(len: number): number {
  return (4 - (len & 3)) & 3;
}

export class XdrReader {
  private buf: Buffer;
  private pos: number;
  private end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Offset of the next byte to read. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left before the end of the payload. */
  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new XdrDecodeError(
        `truncated XDR data: ${what} needs ${n} bytes, ${this.end - this.pos} left`,
        this.pos,
      );
    }
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const at = this.pos;
    const v = this.int();
    if (v !== 0 && v !== 1) throw new XdrDecodeError(`invalid XDR bool ${v}`, at);
    return v === 1;
  }

  float(): number {
    this.need(4, 'float');
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** An int that must lie in [min, max] (XDR char/short/enum-like fields). */
  intIn(min: number, max: number, what: string): number {
    const at = this.pos;
    const v = this.int();
    if (v < min || v > max) throw new XdrDecodeError(`${what} ${v} out of range [${min}, ${max}]`, at);
    return v;
  }

  /** A count or length prefix bounded by `max`. */
  length(max: number, what: string): number {
    const at = this.pos;
    const n = this.uint();
    if (n > max) throw new XdrDecodeError(`${what} length ${n} exceeds maximum ${max}`, at);
    return n;
  }

  /** Fixed-length opaque data: a view into the packet, not a copy. */
  fixedOpaque(n: number): Buffer {
    this.need(n + pad(n), `opaque[${n}]`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n + pad(n);
    return v;
  }

  /** Variable-length opaque data of at most `max` bytes: a view into the packet. */
  varOpaque(max: number): Buffer {
    const n = this.length(max, 'opaque');
    return this.fixedOpaque(n);
  }

  /** A string of at most `max` bytes, decoded as UTF-8. */
  string(max: number): string {
    const n = this.length(max, 'string');
    this.need(n + pad(n), `string<${n}>`);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n + pad(n);
    return v;
  }

  /** Fails unless the whole payload was consumed. */
  done(): void {
    if (this.pos !== this.end) {
      throw new XdrDecodeError(`${this.end - this.pos} trailing bytes after XDR payload`, this.pos);
    }
  }
}

/**
 * A growable XDR writer. `reset()` makes it reusable so that one scratch writer serves every
 * message; `copy()` returns the bytes written as a new Buffer of exactly that size.
 */
export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get offset(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      throw new XdrEncodeError(`int out of range: ${v}`);
    }
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
      throw new XdrEncodeError(`unsigned int out of range: ${v}`);
    }
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  hyper(v: bigint): void {
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new XdrEncodeError(`hyper out of range: ${v}`);
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  uhyper(v: bigint): void {
    if (v < 0n || v >= 1n << 64n) throw new XdrEncodeError(`unsigned hyper out of range: ${v}`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.ensure(4);
    this.buf.writeInt32BE(v ? 1 : 0, this.pos);
    this.pos += 4;
  }

  float(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  private padding(n: number): void {
    const p = pad(n);
    if (p === 0) return;
    this.ensure(p);
    this.buf.fill(0, this.pos, this.pos + p);
    this.pos += p;
  }

  fixedOpaque(v: Uint8Array, n: number): void {
    if (v.length !== n) throw new XdrEncodeError(`opaque[${n}] given ${v.length} bytes`);
    this.ensure(n);
    this.buf.set(v, this.pos);
    this.pos += n;
    this.padding(n);
  }

  varOpaque(v: Uint8Array, max: number): void {
    if (v.length > max) throw new XdrEncodeError(`opaque of ${v.length} bytes exceeds maximum ${max}`);
    this.uint(v.length);
    this.fixedOpaque(v, v.length);
  }

  string(v: string, max: number): void {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > max) throw new XdrEncodeError(`string of ${n} bytes exceeds maximum ${max}`);
    this.uint(n);
    this.ensure(n);
    this.buf.write(v, this.pos, n, 'utf8');
    this.pos += n;
    this.padding(n);
  }

  /** Raw bytes, unpadded (stream payloads, pre-encoded parts). */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Overwrites a 32-bit unsigned value at an earlier offset (the packet length word). */
  patchUint(at: number, v: number): void {
    this.buf.writeUInt32BE(v, at);
  }

  /** The bytes written so far, copied into a Buffer of exactly that size. */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
