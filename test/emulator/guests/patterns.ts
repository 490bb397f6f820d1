/**
 * The disk patterns of fixtures/guests/lib/patterns.h: the test fills an image with
 * diskByte(), the guest checks it and writes guestByte() to the sectors the test then
 * checks in the file.
 */
export const diskByte = (sector: number, i: number): number => (sector * 31 + i * 7 + 1) & 0xff;
export const guestByte = (sector: number, i: number): number => ((sector * 13 + i * 3 + 0x5a) ^ 0xff) & 0xff;

export function patternedImage(sectors: number): Buffer {
  const b = Buffer.alloc(sectors * 512);
  for (let s = 0; s < sectors; s++) for (let i = 0; i < 512; i++) b[s * 512 + i] = diskByte(s, i);
  return b;
}

/** First mismatch of sectors [from, from+count) against `byte`, or undefined. */
export function mismatch(img: Buffer, from: number, count: number, byte: (s: number, i: number) => number): string | undefined {
  for (let s = from; s < from + count; s++)
    for (let i = 0; i < 512; i++)
      if (img[s * 512 + i] !== byte(s, i)) return `sector ${s} byte ${i}: ${img[s * 512 + i]} != ${byte(s, i)}`;
  return undefined;
}
