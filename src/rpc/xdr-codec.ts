/**
 * Typed XDR codecs: small combinators that describe an XDR type once and give both its
 * encoder and decoder, with the TypeScript type inferred from the description.
 *
 * What it does: the XDR types that libvirt's `.x` files use — int, unsigned int, hyper,
 * unsigned hyper, bool, double, char/short (each occupying 4 bytes on the wire, as rpcgen
 * encodes them), strings and opaque data with maximum lengths, optional data (`type *`),
 * fixed and variable arrays, structs and discriminated unions. What it does not do: know any
 * libvirt procedure (see `protocol/`).
 *
 * Invariants: decoders check every declared maximum and never allocate an array larger than
 * the bytes left could hold (`minSize`), so hostile counts cannot exhaust memory or time.
 */
import { XdrDecodeError, XdrEncodeError, type XdrReader, type XdrWriter } from './xdr.js';

export interface Codec<T> {
  /** Smallest number of bytes one encoded value occupies (for count sanity checks). */
  readonly minSize: number;
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

export const xvoid: Codec<void> = {
  minSize: 0,
  encode() {},
  decode() {},
};

export const xint: Codec<number> = {
  minSize: 4,
  encode: (w, v) => w.int(v),
  decode: (r) => r.int(),
};

export const xuint: Codec<number> = {
  minSize: 4,
  encode: (w, v) => w.uint(v),
  decode: (r) => r.uint(),
};

export const xhyper: Codec<bigint> = {
  minSize: 8,
  encode: (w, v) => w.hyper(v),
  decode: (r) => r.hyper(),
};

export const xuhyper: Codec<bigint> = {
  minSize: 8,
  encode: (w, v) => w.uhyper(v),
  decode: (r) => r.uhyper(),
};

export const xbool: Codec<boolean> = {
  minSize: 4,
  encode: (w, v) => w.bool(v),
  decode: (r) => r.bool(),
};

export const xdouble: Codec<number> = {
  minSize: 8,
  encode: (w, v) => w.double(v),
  decode: (r) => r.double(),
};

/** An integer type narrower than 32 bits, carried in 4 bytes (XDR char, short, ...). */
function narrowInt(name: string, min: number, max: number): Codec<number> {
  return {
    minSize: 4,
    encode(w, v) {
      if (!Number.isInteger(v) || v < min || v > max) throw new XdrEncodeError(`${name} out of range: ${v}`);
      w.int(v);
    },
    decode: (r) => r.intIn(min, max, name),
  };
}

export const xchar = narrowInt('char', -128, 127);
export const xuchar = narrowInt('unsigned char', 0, 255);
export const xshort = narrowInt('short', -32768, 32767);
export const xushort = narrowInt('unsigned short', 0, 65535);

export function xstring(max: number): Codec<string> {
  return {
    minSize: 4,
    encode: (w, v) => w.string(v, max),
    decode: (r) => r.string(max),
  };
}

export function xopaque(max: number): Codec<Buffer> {
  return {
    minSize: 4,
    encode: (w, v) => w.varOpaque(v, max),
    decode: (r) => r.varOpaque(max),
  };
}

export function xfixedOpaque(n: number): Codec<Buffer> {
  return {
    minSize: (n + 3) & ~3,
    encode: (w, v) => w.fixedOpaque(v, n),
    decode: (r) => r.fixedOpaque(n),
  };
}

/** XDR optional data (`type *name`): a bool, then the value when true. */
export function xoptional<T>(inner: Codec<T>): Codec<T | null> {
  return {
    minSize: 4,
    encode(w, v) {
      if (v === null || v === undefined) {
        w.bool(false);
      } else {
        w.bool(true);
        inner.encode(w, v);
      }
    },
    decode: (r) => (r.bool() ? inner.decode(r) : null),
  };
}

function checkCount(r: XdrReader, n: number, minSize: number, at: number): void {
  if (minSize > 0 && n > r.remaining() / minSize) {
    throw new XdrDecodeError(`array count ${n} cannot fit in ${r.remaining()} remaining bytes`, at);
  }
}

/** Variable-length array `type name<max>`. */
export function xarray<T>(inner: Codec<T>, max: number): Codec<T[]> {
  return {
    minSize: 4,
    encode(w, v) {
      if (v.length > max) throw new XdrEncodeError(`array of ${v.length} items exceeds maximum ${max}`);
      w.uint(v.length);
      for (let i = 0; i < v.length; i++) inner.encode(w, v[i] as T);
    },
    decode(r) {
      const at = r.offset;
      const n = r.length(max, 'array');
      checkCount(r, n, inner.minSize, at);
      const out: T[] = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = inner.decode(r);
      return out;
    },
  };
}

/** Fixed-length array `type name[n]`. */
export function xfixedArray<T>(inner: Codec<T>, n: number): Codec<T[]> {
  return {
    minSize: inner.minSize * n,
    encode(w, v) {
      if (v.length !== n) throw new XdrEncodeError(`array[${n}] given ${v.length} items`);
      for (let i = 0; i < n; i++) inner.encode(w, v[i] as T);
    },
    decode(r) {
      checkCount(r, n, inner.minSize, r.offset);
      const out: T[] = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = inner.decode(r);
      return out;
    },
  };
}

/**
 * `char name<max>` carrying a C string: each byte is an XDR char (4 bytes on the wire) and
 * libvirt includes the terminating NUL in the count. Decoding stops at the first NUL.
 */
export function xcharString(max: number): Codec<string> {
  return {
    minSize: 4,
    encode(w, v) {
      const bytes = Buffer.from(v, 'utf8');
      if (bytes.length + 1 > max) throw new XdrEncodeError(`string of ${bytes.length} bytes exceeds maximum ${max - 1}`);
      w.uint(bytes.length + 1);
      for (const b of bytes) w.int(b > 127 ? b - 256 : b);
      w.int(0);
    },
    decode(r) {
      const at = r.offset;
      const n = r.length(max, 'char array');
      checkCount(r, n, 4, at);
      return decodeChars(r, n);
    },
  };
}

/** `char name[n]`: a fixed array of XDR chars holding a NUL-padded C string. */
export function xfixedCharString(n: number): Codec<string> {
  return {
    minSize: 4 * n,
    encode(w, v) {
      const bytes = Buffer.from(v, 'utf8');
      if (bytes.length > n) throw new XdrEncodeError(`string of ${bytes.length} bytes exceeds char[${n}]`);
      for (let i = 0; i < n; i++) {
        const b = i < bytes.length ? (bytes[i] as number) : 0;
        w.int(b > 127 ? b - 256 : b);
      }
    },
    decode(r) {
      checkCount(r, n, 4, r.offset);
      return decodeChars(r, n);
    },
  };
}

function decodeChars(r: XdrReader, n: number): string {
  const bytes = Buffer.allocUnsafe(n);
  let len = -1;
  for (let i = 0; i < n; i++) {
    const c = r.intIn(-128, 255, 'char');
    bytes[i] = c & 0xff;
    if (c === 0 && len < 0) len = i;
  }
  return bytes.toString('utf8', 0, len < 0 ? n : len);
}

type Fields = Record<string, Codec<any>>;
export type StructOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/** An XDR struct: fields encoded in the order they are listed. */
export function xstruct<F extends Fields>(fields: F): Codec<StructOf<F>> {
  const keys = Object.keys(fields);
  const codecs = keys.map((k) => fields[k] as Codec<unknown>);
  const n = keys.length;
  const minSize = codecs.reduce((s, c) => s + c.minSize, 0);
  return {
    minSize,
    encode(w, v) {
      const obj = v as Record<string, unknown>;
      for (let i = 0; i < n; i++) (codecs[i] as Codec<unknown>).encode(w, obj[keys[i] as string]);
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[keys[i] as string] = (codecs[i] as Codec<unknown>).decode(r);
      return out as StructOf<F>;
    },
  };
}

type Arms = Record<number, Codec<any>>;
export type UnionOf<A extends Arms> = { [K in keyof A]: { type: K; value: Infer<A[K]> } }[keyof A];

/** An XDR union switched on an int discriminant; an unknown discriminant is a decode error. */
export function xunion<A extends Arms>(arms: A): Codec<UnionOf<A>> {
  return {
    minSize: 4,
    encode(w, v) {
      const u = v as { type: number; value: unknown };
      const arm = arms[u.type] as Codec<unknown> | undefined;
      if (!arm) throw new XdrEncodeError(`union has no arm ${u.type}`);
      w.int(u.type);
      arm.encode(w, u.value);
    },
    decode(r) {
      const at = r.offset;
      const type = r.int();
      const arm = arms[type] as Codec<unknown> | undefined;
      if (!arm) throw new XdrDecodeError(`union discriminant ${type} has no arm`, at);
      return { type, value: arm.decode(r) } as UnionOf<A>;
    },
  };
}
