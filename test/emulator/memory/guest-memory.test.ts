import { describe, expect, it } from 'vitest';
import { GuestMemory, GuestMemoryFault, HIGHMEM_BASE } from '../../../src/emulator/memory/guest-memory.js';

describe('GuestMemory', () => {
  it('maps low memory at 0 and high memory at 4 GiB', () => {
    const m = new GuestMemory(new ArrayBuffer(0x3000), { lowMem: 0x2000, highMem: 0x1000 });
    m.write32(0x1ffc, 0xaabbccdd);
    m.write32(HIGHMEM_BASE, 0x11223344);
    expect(m.bytes[0x1ffc]).toBe(0xdd);
    expect(m.bytes[0x2000]).toBe(0x44);
    expect(m.read32(HIGHMEM_BASE)).toBe(0x11223344);
    expect(m.offsetOf(HIGHMEM_BASE + 0xffc, 4)).toBe(0x2ffc);
  });

  it('refuses ranges in the hole, straddling a boundary, negative, fractional or huge', () => {
    const m = new GuestMemory(new ArrayBuffer(0x3000), { lowMem: 0x2000, highMem: 0x1000 });
    for (const [gpa, len] of [
      [0x1ffe, 4],
      [0x2000, 1],
      [HIGHMEM_BASE - 2, 4],
      [HIGHMEM_BASE + 0xffd, 4],
      [-1, 1],
      [0, -1],
      [0.5, 1],
      [2 ** 60, 1],
      [0, Number.NaN],
    ] as const) {
      expect(m.offsetOf(gpa, len)).toBe(-1);
      expect(m.view(gpa, len)).toBeNull();
    }
    expect(() => m.read16(0x1fff)).toThrow(GuestMemoryFault);
    expect(() => m.writeBytes(0x1fff, new Uint8Array(2))).toThrow(GuestMemoryFault);
    expect(m.view(0, 0)).not.toBeNull();
  });

  it('reads 64-bit addresses as numbers, saturating beyond 2^53', () => {
    const m = new GuestMemory(new ArrayBuffer(64));
    m.write64(0, 0x0000_0001_0000_0010n);
    expect(m.readAddr64(0)).toBe(0x1_0000_0010);
    m.write64(8, 0xffff_ffff_ffff_fff0n);
    expect(m.readAddr64(8)).toBe(Number.MAX_SAFE_INTEGER);
    expect(m.read64(8)).toBe(0xffff_ffff_ffff_fff0n);
  });

  it('views alias guest memory while readBytes copies', () => {
    const m = new GuestMemory(new ArrayBuffer(16));
    const v = m.view(4, 4)!;
    const c = m.readBytes(4, 4);
    m.write8(4, 9);
    expect(v[0]).toBe(9);
    expect(c[0]).toBe(0);
  });

  it('rejects a layout that does not match the buffer', () => {
    expect(() => new GuestMemory(new ArrayBuffer(16), { lowMem: 8, highMem: 4 })).toThrow(RangeError);
  });
});
