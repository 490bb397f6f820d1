/**
 * Hex codecs of the GDB remote protocol: byte strings (m/M/qXfer), little-endian register
 * values (g/G/p/P, target byte order of x86), and the bounded number parsing every
 * command argument goes through. Input comes from the debugger and is untrusted: every
 * parser returns undefined for anything that is not exactly what it expects, never throws.
 */

const HEX = '0123456789abcdef';

/** Lower-case hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Bytes of an even-length hex string, or undefined. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `value` as `bytes` little-endian bytes in hex. */
export function toHexLE(value: bigint, bytes: number): string {
  let v = BigInt.asUintN(bytes * 8, value);
  let s = '';
  for (let i = 0; i < bytes; i++) {
    const b = Number(v & 0xffn);
    s += HEX[b >> 4]! + HEX[b & 15]!;
    v >>= 8n;
  }
  return s;
}

/** A little-endian hex value of exactly `bytes` bytes, or undefined. */
export function fromHexLE(s: string, bytes: number): bigint | undefined {
  if (s.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(parseInt(s.slice(2 * i, 2 * i + 2), 16));
  return v;
}

/** A big-endian hex number as the protocol writes addresses and lengths (1-16 digits). */
export function parseHexNumber(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 16 || !/^[0-9a-fA-F]+$/.test(s)) return undefined;
  return BigInt(`0x${s}`);
}

/** A hex number that must fit a safe JavaScript integer no larger than `max`. */
export function parseHexInt(s: string, max: number): number | undefined {
  const v = parseHexNumber(s);
  if (v === undefined || v > BigInt(max)) return undefined;
  return Number(v);
}
