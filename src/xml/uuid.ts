/**
 * UUIDs in their three forms: the text libvirt accepts (virUUIDParse: 32 hex digits in
 * pairs, '-' or ' ' between pairs, blanks around, any case), the canonical text tsvirt
 * stores and prints (virUUIDFormat: lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), and
 * 16 raw bytes (the wire's `remote_uuid`).
 *
 * Shared by the XML parser (`<uuid>`, `<genid>`), the driver (bhyve `-U`), the RPC codec
 * and D-Bus (lookups by UUID string). Text that is not a UUID gives null, or a
 * VIR_ERR_INVALID_ARG VirError where bytes are required.
 */

import { invalidArg, VIR_FROM_NONE } from './errors.js';

const HEX = /^[0-9a-fA-F]$/;

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** virUUIDParse: the canonical form of `s`, or null when it is not a UUID. */
export function parseUuid(s: string): string | null {
  let i = 0;
  const n = s.length;
  while (i < n && isBlank(s[i]!)) i++;
  let hex = '';
  while (hex.length < 32) {
    if (i >= n) return null;
    const c = s[i]!;
    if (c === '-' || c === ' ') {
      i++;
      continue;
    }
    if (!HEX.test(c) || i + 1 >= n || !HEX.test(s[i + 1]!)) return null;
    hex += c + s[i + 1];
    i += 2;
  }
  for (; i < n; i++) if (!isBlank(s[i]!)) return null;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** virUUIDFormat: canonical text for 16 bytes. */
export function uuidToString(bytes: Uint8Array): string {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** 16 bytes for a UUID text in any accepted form; VIR_ERR_INVALID_ARG when it is not one. */
export function uuidToBytes(text: string): Buffer {
  // Fast path for the canonical form (every DomainRef): Buffer's hex decoding stops at the
  // first non-hex character, so a short result means the text was not canonical.
  if (text.length === 36 && text[8] === '-' && text[13] === '-' && text[18] === '-' && text[23] === '-') {
    const b = Buffer.from(text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24), 'hex');
    if (b.length === 16) return b;
  }
  const n = parseUuid(text);
  if (n === null) throw invalidArg(`not a UUID: '${text.slice(0, 64)}'`, VIR_FROM_NONE);
  return Buffer.from(n.replace(/-/g, ''), 'hex');
}
