/**
 * A small seeded PRNG (mulberry32) so that fuzz tests are reproducible: a failure prints
 * its seed, and the same seed replays the same inputs.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes shaped like XDR: words biased toward small counts, 0/1 and extremes. */
export function xdrShapedBytes(rand: () => number, words: number): Buffer {
  const b = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) {
    const r = rand();
    let v: number;
    if (r < 0.35) v = Math.floor(rand() * 4);
    else if (r < 0.5) v = 1;
    else if (r < 0.6) v = 0xffffffff;
    else if (r < 0.7) v = 0x80000000;
    else if (r < 0.8) v = Math.floor(rand() * 64);
    else v = Math.floor(rand() * 0x100000000);
    b.writeUInt32BE(v >>> 0, i * 4);
  }
  return b;
}

/** A copy of `buf` with a few random edits: bit flips, truncation, extension, word swaps. */
export function mutate(rand: () => number, buf: Buffer): Buffer {
  let out = Buffer.from(buf);
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const k = rand();
    if (k < 0.4 && out.length > 0) {
      const at = Math.floor(rand() * out.length);
      out[at] = (out[at] as number) ^ (1 << Math.floor(rand() * 8));
    } else if (k < 0.6) {
      out = out.subarray(0, Math.floor(rand() * (out.length + 1)));
    } else if (k < 0.8) {
      out = Buffer.concat([out, Buffer.from(Array.from({ length: Math.floor(rand() * 9) }, () => Math.floor(rand() * 256)))]);
    } else if (out.length >= 4) {
      const at = Math.floor(rand() * Math.floor(out.length / 4)) * 4;
      out.writeUInt32BE([0, 1, 0xffffffff, 0x7fffffff, 0x02000000][Math.floor(rand() * 5)] as number, at);
    }
  }
  return out;
}
