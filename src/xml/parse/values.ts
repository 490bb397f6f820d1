/**
 * Typed reading of attribute and element values, with libvirt's rules and error shapes:
 * enumerations, yes/no and on/off, unsigned integers (decimal, or C `strtoul` base 0 for
 * addresses), scaled sizes with units (virScaleInteger), UUIDs (virUUIDParse) and MAC
 * addresses (virMacAddrParse).
 *
 * Shared by every family parser in ../domain/. Each reader names the element and the
 * attribute in its error, e.g. "Invalid value for attribute 'bus' in element 'target':
 * 'sota'." (libvirt's virXMLPropEnum message), VIR_ERR_XML_ERROR.
 * What it does not: decide defaults (post-parse) or cross-field checks (validate).
 */

import {
  xmlError,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_OVERFLOW,
  VIR_ERR_XML_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_NONE,
  VIR_FROM_XML,
  VirError,
} from '../errors.js';
import { randomBytes } from 'node:crypto';
import { parseUuid } from '../uuid.js';
import type { Elem } from './xml-tree.js';

/** XML error in domain VIR_FROM_XML, as libvirt's virxml.c helpers report it. */
export function xmlValueError(message: string): VirError {
  return new VirError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `XML error: ${message}`);
}

/** Reads an enumerated attribute; undefined when absent. */
export function enumAttr<T extends string>(el: Elem, name: string, allowed: ReadonlySet<string>): T | undefined {
  const v = el.attr(name);
  if (v === undefined) return undefined;
  if (!allowed.has(v)) {
    throw xmlValueError(`Invalid value for attribute '${name}' in element '${el.name}': '${v}'.`);
  }
  return v as T;
}

/** Reads a required enumerated attribute. */
export function enumAttrReq<T extends string>(el: Elem, name: string, allowed: ReadonlySet<string>): T {
  const v = enumAttr<T>(el, name, allowed);
  if (v === undefined) throw xmlValueError(`Missing required attribute '${name}' in element '${el.name}'`);
  return v;
}

/** Reads a required attribute as a string. */
export function attrReq(el: Elem, name: string): string {
  const v = el.attr(name);
  if (v === undefined) throw xmlValueError(`Missing required attribute '${name}' in element '${el.name}'`);
  return v;
}

export const YES_NO: ReadonlySet<string> = new Set(['yes', 'no']);
export const ON_OFF: ReadonlySet<string> = new Set(['on', 'off']);

export function yesNoAttr(el: Elem, name: string): 'yes' | 'no' | undefined {
  return enumAttr<'yes' | 'no'>(el, name, YES_NO);
}

export function onOffAttr(el: Elem, name: string): 'on' | 'off' | undefined {
  return enumAttr<'on' | 'off'>(el, name, ON_OFF);
}

/** Builds an enumeration set from a list (typed helper for module constants). */
export function enumSet(...values: string[]): ReadonlySet<string> {
  return new Set(values);
}

const DEC_RE = /^\s*\+?[0-9]+$/;

/**
 * Parses an unsigned integer like C strtoul: `base 10`, or `base 0` (0x → hex, leading 0 →
 * octal, else decimal). Returns NaN for anything malformed or out of [0, max].
 */
export function parseUnsigned(s: string, base: 0 | 10, max: number): number {
  let v: number;
  if (base === 10) {
    if (!DEC_RE.test(s)) return NaN;
    v = Number(s.trim());
  } else {
    const t = s.trim();
    if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
    else if (/^0[0-7]*$/.test(t)) v = t.length === 1 ? 0 : parseInt(t.slice(1), 8);
    else if (/^\+?[1-9][0-9]*$/.test(t)) v = Number(t);
    else return NaN;
  }
  if (!Number.isSafeInteger(v) || v > max) return NaN;
  return v;
}

export const UINT_MAX = 0xffffffff;
export const ULLONG_SAFE = Number.MAX_SAFE_INTEGER;

/** Unsigned integer attribute (virXMLPropUInt); undefined when absent. */
export function uintAttr(el: Elem, name: string, base: 0 | 10 = 10, max: number = UINT_MAX): number | undefined {
  const v = el.attr(name);
  if (v === undefined) return undefined;
  const n = parseUnsigned(v, base, max);
  if (Number.isNaN(n)) {
    throw xmlValueError(`Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected non-negative integer value`);
  }
  return n;
}

/** Required unsigned integer attribute. */
export function uintAttrReq(el: Elem, name: string, base: 0 | 10 = 10, max: number = UINT_MAX): number {
  const v = uintAttr(el, name, base, max);
  if (v === undefined) throw xmlValueError(`Missing required attribute '${name}' in element '${el.name}'`);
  return v;
}

/** Signed integer attribute (e.g. vnc port='-1'). */
export function intAttr(el: Elem, name: string, min = -0x80000000, max = 0x7fffffff): number | undefined {
  const v = el.attr(name);
  if (v === undefined) return undefined;
  const t = v.trim();
  const n = /^[+-]?[0-9]+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw xmlValueError(`Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected integer value`);
  }
  return n;
}

/** Unsigned integer from element text; `what` names it in the error. */
export function uintText(el: Elem, what: string, max: number = UINT_MAX): number {
  const v = el.text();
  const n = parseUnsigned(v, 10, max);
  if (Number.isNaN(n)) throw xmlError(`${what} must be an integer: '${v.trim().slice(0, 64)}'`);
  return n;
}

/* ------------------------------------------------------------------ units */

const LLONG_MAX = 9223372036854775807n;

/**
 * Scale factor of a unit suffix (virScaleInteger), or throws VIR_ERR_INVALID_ARG
 * "unknown suffix". `defaultScale` applies when the suffix is empty.
 */
export function unitScale(suffix: string | undefined, defaultScale: number, where: string): number {
  if (suffix === undefined || suffix === '') return defaultScale;
  const lower = suffix.toLowerCase();
  if (lower === 'b' || lower === 'byte' || lower === 'bytes') return 1;
  let base: number;
  if (suffix.length === 1 || suffix.slice(1).toLowerCase() === 'ib') base = 1024;
  else if (suffix.length === 2 && (suffix[1] === 'B' || suffix[1] === 'b')) base = 1000;
  else throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, `invalid argument: unknown suffix '${suffix}' in ${where}`);
  const exp = 'kmgtpe'.indexOf(lower[0]!);
  if (exp < 0) throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, `invalid argument: unknown suffix '${suffix}' in ${where}`);
  return base ** (exp + 1);
}

/**
 * Reads a scaled size and returns it in KiB rounded up (virDomainParseMemory /
 * virDomainParseScaledValue with scale 1024): text value, `unit` attribute (default KiB),
 * limit 2^63-1 bytes. `where` is the element's XPath-like name used in messages
 * (libvirt: "./memory[1]").
 */
export function parseSizeKiB(valueText: string, unit: string | undefined, where: string, defaultScale = 1024): number {
  const t = valueText.trim();
  if (!/^\+?[0-9]+$/.test(t)) {
    throw xmlValueError(`Invalid value '${valueText.slice(0, 64)}' for element or attribute '${where}'`);
  }
  const scale = unitScale(unit, defaultScale, `'${where}'`);
  const digits = t.replace(/^\+/, '');
  // Fast path: value and product stay exact in doubles.
  if (digits.length <= 15) {
    const v = Number(digits);
    const bytes = v * scale;
    if (Number.isSafeInteger(bytes)) return Math.ceil(bytes / 1024);
  }
  if (digits.length > 20) {
    throw xmlValueError(`Invalid value '${valueText.slice(0, 64)}' for element or attribute '${where}'`);
  }
  const big = BigInt(digits);
  if (big > 18446744073709551615n) {
    throw xmlValueError(`Invalid value '${valueText.slice(0, 64)}' for element or attribute '${where}'`);
  }
  const bscale = BigInt(scale);
  if (big > LLONG_MAX / bscale) {
    throw new VirError(VIR_ERR_OVERFLOW, VIR_FROM_NONE, `numerical overflow: value too large: ${digits}${unit ?? ''} in '${where}'`);
  }
  const bytes = big * bscale;
  return Number((bytes + 1023n) / 1024n);
}

/** Size element `<x unit=''>N</x>` in KiB. */
export function sizeElemKiB(el: Elem, where: string): number {
  return parseSizeKiB(el.text(), el.attr('unit'), where);
}

/* ------------------------------------------------------------------ identifiers */

/** Parses a UUID element value or throws libvirt's "malformed uuid element". */
export function uuidOrThrow(s: string, what = 'uuid'): string {
  const u = parseUuid(s);
  if (u === null) {
    throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `internal error: malformed ${what} element: '${s.slice(0, 64)}'`);
  }
  return u;
}

/** virMacAddrParse: six 1–2 digit hex groups separated by ':'; returns canonical form. */
const MAC_CANONICAL = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

export function parseMac(s: string): string | null {
  if (s.length === 17 && MAC_CANONICAL.test(s)) return s;
  const parts = s.split(':');
  if (parts.length !== 6) {
    // libvirt stops at the 6th group and tolerates trailing blanks only
    return null;
  }
  let out = '';
  for (let i = 0; i < 6; i++) {
    let p = parts[i]!;
    if (i === 5) p = p.replace(/[\s\u0000-\u0020]+$/, '');
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    out += (i ? ':' : '') + p.toLowerCase().padStart(2, '0');
  }
  return out;
}

/**
 * Random unicast MAC in libvirt's 52:54:00 prefix (virMacAddrGenerate, which draws from
 * the crypto library's random source; so does this).
 */
export function generateMac(): string {
  const b = randomBytes(3);
  return `52:54:00:${b.toString('hex', 0, 1)}:${b.toString('hex', 1, 2)}:${b.toString('hex', 2, 3)}`;
}
