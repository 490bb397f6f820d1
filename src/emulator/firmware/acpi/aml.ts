/**
 * A small AML (ACPI Machine Language) encoder: just the terms tsbhyve's DSDT needs
 * (ACPI 6.5 §20 "ACPI Machine Language Specification"). Builders return byte arrays; a
 * term containing others computes its PkgLength. Names are checked (1-4 characters of
 * A-Z, 0-9, _, first not a digit; padded with `_`) so a typo cannot produce invalid AML.
 *
 * Not a compiler: no symbol resolution, no optimisation. Resource templates live in
 * resources.ts; the DSDT content in dsdt.ts.
 */

export type Aml = Uint8Array;

export function concat(...parts: Aml[]): Aml {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const bytes = (...b: number[]): Aml => Uint8Array.from(b);

/** PkgLength (§20.2.4) for a body of `n` bytes (the encoding counts itself). */
export function pkgLength(n: number): Aml {
  if (n + 1 <= 0x3f) return bytes(n + 1);
  if (n + 2 <= 0xfff) {
    const t = n + 2;
    return bytes(0x40 | (t & 0xf), t >> 4);
  }
  if (n + 3 <= 0xfffff) {
    const t = n + 3;
    return bytes(0x80 | (t & 0xf), (t >> 4) & 0xff, t >> 12);
  }
  const t = n + 4;
  if (t > 0xfffffff) throw new RangeError(`AML package too large (${n} bytes)`);
  return bytes(0xc0 | (t & 0xf), (t >> 4) & 0xff, (t >> 12) & 0xff, t >> 20);
}

function pkg(op: Aml, ...body: Aml[]): Aml {
  const b = concat(...body);
  return concat(op, pkgLength(b.length), b);
}

function nameSeg(seg: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`invalid AML name segment '${seg}'`);
  return Uint8Array.from(seg.padEnd(4, '_'), (c) => c.charCodeAt(0));
}

/** NameString: `\_SB.PC00.ISA`, `^FOO`, `PICM`, `_SB_.PC00` ... */
export function nameString(path: string): Aml {
  let p = path;
  const prefix: number[] = [];
  if (p.startsWith('\\')) {
    prefix.push(0x5c);
    p = p.slice(1);
  }
  while (p.startsWith('^')) {
    prefix.push(0x5e);
    p = p.slice(1);
  }
  const segs = p === '' ? [] : p.split('.').map(nameSeg);
  let body: Aml;
  if (segs.length === 0) body = bytes(0x00);
  else if (segs.length === 1) body = segs[0]!;
  else if (segs.length === 2) body = concat(bytes(0x2e), ...segs);
  else body = concat(bytes(0x2f, segs.length), ...segs);
  return concat(Uint8Array.from(prefix), body);
}

// ---- data objects ----

export const Zero = bytes(0x00);
export const One = bytes(0x01);
export const Ones = bytes(0xff);

/** The smallest integer encoding of `v` (0, 1, byte, word, dword, qword). */
export function int(v: number | bigint): Aml {
  const n = BigInt(v);
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`AML integer out of range: ${v}`);
  if (n === 0n) return Zero;
  if (n === 1n) return One;
  if (n <= 0xffn) return bytes(0x0a, Number(n));
  if (n <= 0xffffn) return bytes(0x0b, Number(n & 0xffn), Number(n >> 8n));
  const out = new Uint8Array(n <= 0xffff_ffffn ? 5 : 9);
  out[0] = n <= 0xffff_ffffn ? 0x0c : 0x0e;
  for (let i = 1; i < out.length; i++) out[i] = Number((n >> BigInt(8 * (i - 1))) & 0xffn);
  return out;
}

/** A DWordConst whatever the value (fixed-size fields patched or compared later). */
export function dword(v: number): Aml {
  return bytes(0x0c, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

export function string(s: string): Aml {
  if (!/^[\x01-\x7f]*$/.test(s)) throw new Error('AML strings are ASCII without NUL');
  return concat(bytes(0x0d), Uint8Array.from(s, (c) => c.charCodeAt(0)), bytes(0x00));
}

/** EISAID("PNP0A03") as the compressed DWord integer. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`invalid EISA ID '${id}'`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  const h = parseInt(id.slice(3), 16);
  return bytes(0x0c, b0, b1, h >> 8, h & 0xff);
}

export function buffer(data: Aml): Aml {
  return pkg(bytes(0x11), int(data.length), data);
}

export function packageOf(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError('AML Package with more than 255 elements');
  return pkg(bytes(0x12), bytes(elements.length), ...elements);
}

// ---- named objects and scopes ----

export function name(n: string, value: Aml): Aml {
  return concat(bytes(0x08), nameString(n), value);
}

export function scope(n: string, ...body: Aml[]): Aml {
  return pkg(bytes(0x10), nameString(n), ...body);
}

export function device(n: string, ...body: Aml[]): Aml {
  return pkg(bytes(0x5b, 0x82), nameString(n), ...body);
}

export function method(n: string, args: number, serialized: boolean, ...body: Aml[]): Aml {
  if (args < 0 || args > 7) throw new RangeError('AML methods take 0-7 arguments');
  return pkg(bytes(0x14), nameString(n), bytes(args | (serialized ? 0x08 : 0)), ...body);
}

export const RegionSpace = { SystemMemory: 0, SystemIO: 1, PCI_Config: 2 } as const;

export function operationRegion(n: string, space: number, offset: number, length: number): Aml {
  return concat(bytes(0x5b, 0x80), nameString(n), bytes(space), int(offset), int(length));
}

/** Field (region, AnyAcc, NoLock, Preserve) with named units and Offset() gaps (bits). */
export function field(region: string, units: Array<{ name: string; bits: number } | { offset: number }>): Aml {
  const parts: Aml[] = [];
  let pos = 0;
  for (const u of units) {
    if ('offset' in u) {
      const gap = u.offset * 8 - pos;
      if (gap < 0) throw new Error('AML field Offset() goes backwards');
      if (gap > 0) parts.push(bytes(0x00), fieldLength(gap)); // ReservedField: 0x00, bit count
      pos = u.offset * 8;
    } else {
      parts.push(nameSeg(u.name), fieldLength(u.bits));
      pos += u.bits;
    }
  }
  return pkg(bytes(0x5b, 0x81), nameString(region), bytes(0x00), ...parts);
}

/** A field unit's length is a PkgLength-style encoding of the bit count itself. */
function fieldLength(bits: number): Aml {
  if (bits <= 0x3f) return bytes(bits);
  if (bits <= 0xfff) return bytes(0x40 | (bits & 0xf), bits >> 4);
  throw new RangeError('AML field unit too long');
}

// ---- statements and expressions ----

export const Local = (n: number): Aml => bytes(0x60 + n);
export const Arg = (n: number): Aml => bytes(0x68 + n);

/** A reference to a named object used as a term (its NameString). */
export const ref = nameString;

export function ret(value: Aml): Aml {
  return concat(bytes(0xa4), value);
}

export function store(value: Aml, target: Aml): Aml {
  return concat(bytes(0x70), value, target);
}

export function and(a: Aml, b: Aml, target: Aml = Zero): Aml {
  return concat(bytes(0x7b), a, b, target);
}

export function shiftLeft(a: Aml, b: Aml, target: Aml = Zero): Aml {
  return concat(bytes(0x79), a, b, target);
}

export function lEqual(a: Aml, b: Aml): Aml {
  return concat(bytes(0x93), a, b);
}

export function lLess(a: Aml, b: Aml): Aml {
  return concat(bytes(0x95), a, b);
}

export function decrement(target: Aml): Aml {
  return concat(bytes(0x76), target);
}

export function findSetRightBit(source: Aml, target: Aml): Aml {
  return concat(bytes(0x82), source, target);
}

export function createWordField(source: Aml, byteIndex: Aml, n: string): Aml {
  return concat(bytes(0x8b), source, byteIndex, nameString(n));
}

export function ifThen(predicate: Aml, ...body: Aml[]): Aml {
  return pkg(bytes(0xa0), predicate, ...body);
}

export function elseDo(...body: Aml[]): Aml {
  return pkg(bytes(0xa1), ...body);
}

export function notify(target: Aml, value: Aml): Aml {
  return concat(bytes(0x86), target, value);
}

// ---- definition block ----

export interface TableIds {
  oemId: string;
  oemTableId: string;
  oemRevision: number;
}

/** A complete definition block (DSDT/SSDT): ACPI header + AML, checksummed. */
export function definitionBlock(signature: 'DSDT' | 'SSDT', revision: number, ids: TableIds, ...body: Aml[]): Aml {
  const aml = concat(...body);
  const t = new Uint8Array(36 + aml.length);
  writeHeader(t, signature, revision, ids);
  t.set(aml, 36);
  fixChecksum(t, 9);
  return t;
}

export const CREATOR_ID = 'TSVT';
export const CREATOR_REVISION = 1;

/** Writes the 36-byte ACPI table header (length = t.length; checksum left 0). */
export function writeHeader(t: Uint8Array, signature: string, revision: number, ids: TableIds): void {
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  ascii(t, 0, signature, 4);
  dv.setUint32(4, t.length, true);
  t[8] = revision;
  t[9] = 0;
  ascii(t, 10, ids.oemId, 6);
  ascii(t, 16, ids.oemTableId, 8);
  dv.setUint32(24, ids.oemRevision, true);
  ascii(t, 28, CREATOR_ID, 4);
  dv.setUint32(32, CREATOR_REVISION, true);
}

/** Writes ASCII, space-padded to `len`. */
export function ascii(t: Uint8Array, off: number, s: string, len: number): void {
  for (let i = 0; i < len; i++) t[off + i] = i < s.length ? s.charCodeAt(i) : 0x20;
}

/** Sets byte `at` so that the bytes [start, end) sum to 0 mod 256. */
export function fixChecksum(t: Uint8Array, at: number, start = 0, end = t.length): void {
  t[at] = 0;
  let sum = 0;
  for (let i = start; i < end; i++) sum += t[i]!;
  t[at] = (256 - (sum & 0xff)) & 0xff;
}

export function checksumOk(t: Uint8Array, start = 0, end = t.length): boolean {
  let sum = 0;
  for (let i = start; i < end; i++) sum += t[i]!;
  return (sum & 0xff) === 0;
}
