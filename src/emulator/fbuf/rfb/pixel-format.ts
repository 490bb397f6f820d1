/**
 * RFB pixel formats (RFC 6143 §7.4) and the conversion from the framebuffer's native
 * format (32 bpp, depth 24, little endian, true colour, 255 per channel, red shift 16,
 * green 8, blue 0 — bhyve's format) to whatever true-colour format a client asks for
 * with SetPixelFormat (8, 16 or 32 bits per pixel, either byte order, any channel maxima
 * and shifts). Colour-map formats are refused (the caller closes the connection).
 */

export interface PixelFormat {
  bpp: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

export const NATIVE_FORMAT: PixelFormat = {
  bpp: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

export function encodePixelFormat(f: PixelFormat): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  b[0] = f.bpp;
  b[1] = f.depth;
  b[2] = f.bigEndian ? 1 : 0;
  b[3] = f.trueColour ? 1 : 0;
  dv.setUint16(4, f.redMax);
  dv.setUint16(6, f.greenMax);
  dv.setUint16(8, f.blueMax);
  b[10] = f.redShift;
  b[11] = f.greenShift;
  b[12] = f.blueShift;
  return b;
}

export function decodePixelFormat(b: Uint8Array): PixelFormat {
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  return {
    bpp: b[0]!,
    depth: b[1]!,
    bigEndian: b[2] !== 0,
    trueColour: b[3] !== 0,
    redMax: dv.getUint16(4),
    greenMax: dv.getUint16(6),
    blueMax: dv.getUint16(8),
    redShift: b[10]!,
    greenShift: b[11]!,
    blueShift: b[12]!,
  };
}

/** Why a format cannot be served, or undefined when it can. */
export function unsupportedFormat(f: PixelFormat): string | undefined {
  if (!f.trueColour) return 'colour-map pixel formats are not supported';
  if (f.bpp !== 8 && f.bpp !== 16 && f.bpp !== 32) return `${f.bpp} bits per pixel`;
  for (const [max, shift] of [
    [f.redMax, f.redShift],
    [f.greenMax, f.greenShift],
    [f.blueMax, f.blueShift],
  ] as const) {
    if (max === 0 || shift >= f.bpp) return 'channel maximum or shift out of range';
  }
  return undefined;
}

function isNative(f: PixelFormat): boolean {
  return f.bpp === 32 && !f.bigEndian && f.redMax === 255 && f.greenMax === 255 && f.blueMax === 255 && f.redShift === 16 && f.greenShift === 8 && f.blueShift === 0;
}

/**
 * Converts a rectangle of the framebuffer (`stride` bytes per row, native format) into
 * `f`, appending to `out` at `at`; returns the new offset.
 */
export function convertRect(src: Uint8Array, stride: number, x: number, y: number, w: number, h: number, f: PixelFormat, out: Uint8Array, at: number): number {
  const bytes = f.bpp / 8;
  if (isNative(f)) {
    for (let row = 0; row < h; row++) {
      const s = (y + row) * stride + x * 4;
      out.set(src.subarray(s, s + w * 4), at);
      at += w * 4;
    }
    return at;
  }
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let row = 0; row < h; row++) {
    let s = (y + row) * stride + x * 4;
    for (let col = 0; col < w; col++, s += 4) {
      const b = src[s]!;
      const g = src[s + 1]!;
      const r = src[s + 2]!;
      const v =
        ((Math.round((r * f.redMax) / 255) << f.redShift) | (Math.round((g * f.greenMax) / 255) << f.greenShift) | (Math.round((b * f.blueMax) / 255) << f.blueShift)) >>> 0;
      if (bytes === 1) out[at] = v & 0xff;
      else if (bytes === 2) dv.setUint16(at, v & 0xffff, !f.bigEndian);
      else dv.setUint32(at, v, !f.bigEndian);
      at += bytes;
    }
  }
  return at;
}
