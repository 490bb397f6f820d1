/**
 * UUIDs between their wire form (16 raw bytes, `remote_uuid`) and the canonical text form
 * the DriverApi uses (lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), plus parsing of the
 * text forms libvirt accepts in XML (with or without dashes, any case).
 */
const HEX = /^[0-9a-f]{32}$/;

/** Canonical text for 16 bytes. */
export function uuidToString(bytes: Uint8Array): string {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Canonical lowercase form of a UUID text, or null when it is not one. */
export function normalizeUuid(text: string): string | null {
  const h = text.trim().replace(/-/g, '').toLowerCase();
  if (!HEX.test(h)) return null;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** 16 bytes for a UUID text; throws TypeError when the text is not a UUID. */
export function uuidToBytes(text: string): Buffer {
  // Fast path for the canonical form (every DomainRef): Buffer's hex decoding stops at the
  // first non-hex character, so a short result means the text was not canonical.
  if (text.length === 36 && text[8] === '-' && text[13] === '-' && text[18] === '-' && text[23] === '-') {
    const b = Buffer.from(text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24), 'hex');
    if (b.length === 16) return b;
  }
  const n = normalizeUuid(text);
  if (n === null) throw new TypeError(`not a UUID: '${text}'`);
  return Buffer.from(n.replace(/-/g, ''), 'hex');
}
