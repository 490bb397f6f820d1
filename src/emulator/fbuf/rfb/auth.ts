/**
 * VNC Authentication (RFC 6143 §7.2.2): the server sends a 16-byte random challenge, the
 * client returns it encrypted with DES in ECB mode, keyed by the password's first eight
 * bytes (zero padded) with the bits of each key byte reversed (the historical VNC quirk).
 *
 * Single DES comes from OpenSSL's 3DES-EDE with the same key three times (E∘D∘E with one
 * key is one E), since OpenSSL 3 moved plain DES to its legacy provider.
 */
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';

function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** The DES key VNC derives from a password. */
export function vncKey(password: string): Buffer {
  const k = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(k, 0, 0, 8);
  for (let i = 0; i < 8; i++) k[i] = reverseBits(k[i]!);
  return k;
}

/** DES-ECB encryption of a multiple of 8 bytes with an 8-byte key. */
export function desEncrypt(key: Buffer, data: Uint8Array): Buffer {
  const c = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export function newChallenge(): Buffer {
  return randomBytes(16);
}

/** Whether `response` is the challenge encrypted with `password`. */
export function checkResponse(password: string, challenge: Uint8Array, response: Uint8Array): boolean {
  if (response.length !== 16) return false;
  return timingSafeEqual(desEncrypt(vncKey(password), challenge), response);
}
