import { describe, expect, it } from 'vitest';
import { buildMpTable, MPTABLE_BASE } from '../../../src/emulator/firmware/mptable.js';
import { buildE820, E820_TYPE_RAM } from '../../../src/emulator/firmware/e820.js';

function sum(b: Uint8Array, s: number, e: number) {
  let x = 0;
  for (let i = s; i < e; i++) x += b[i]!;
  return x & 0xff;
}

describe('MP table', () => {
  const t = buildMpTable({
    ncpus: 2,
    pciBuses: [0],
    routes: [{ bus: 0, slot: 4, pin: 1, ioapicPin: 16 }],
    cpuSignature: 0x306a9,
    cpuFeatures: 0x178bfbff,
  });
  const dv = new DataView(t.buffer);

  it('has a floating pointer and a configuration table with valid checksums', () => {
    expect(Buffer.from(t.subarray(0, 4)).toString()).toBe('_MP_');
    expect(dv.getUint32(4, true)).toBe(MPTABLE_BASE + 16);
    expect(t[9]).toBe(4);
    expect(sum(t, 0, 16)).toBe(0);
    expect(Buffer.from(t.subarray(16, 20)).toString()).toBe('PCMP');
    const len = dv.getUint16(20, true);
    expect(16 + len).toBe(t.length);
    expect(sum(t, 16, 16 + len)).toBe(0);
    expect(Buffer.from(t.subarray(24, 44)).toString()).toBe('BHyVe   Hypervisor  ');
    expect(dv.getUint32(52, true)).toBe(0xfee00000);
  });

  it('lists processors, buses, the I/O APIC and interrupt entries', () => {
    const count = dv.getUint16(50, true);
    const entries: number[][] = [];
    let o = 60;
    for (let i = 0; i < count; i++) {
      const len = t[o] === 0 ? 20 : 8;
      entries.push([...t.subarray(o, o + len)]);
      o += len;
    }
    expect(o).toBe(t.length);
    const cpus = entries.filter((e) => e[0] === 0);
    expect(cpus.map((e) => [e[1], e[2], e[3]])).toEqual([
      [0, 0x14, 3],
      [1, 0x14, 1],
    ]);
    const buses = entries.filter((e) => e[0] === 1).map((e) => [e[1], String.fromCharCode(...e.slice(2, 8))]);
    expect(buses).toEqual([
      [0, 'PCI   '],
      [1, 'ISA   '],
    ]);
    expect(entries.find((e) => e[0] === 2)).toEqual([2, 2, 0x11, 1, 0, 0, 0xc0, 0xfe]);
    const ints = entries.filter((e) => e[0] === 3);
    expect(ints.length).toBe(17);
    expect(ints[0]).toEqual([3, 3, 0, 0, 1, 0, 2, 0]); // ExtINT on pin 0
    expect(ints[2]).toEqual([3, 0, 0, 0, 1, 0, 2, 2]); // IRQ 0 -> pin 2
    expect(ints[9]).toEqual([3, 0, 0x0f, 0, 1, 9, 2, 9]); // SCI level, active low
    expect(ints[16]).toEqual([3, 0, 0x0f, 0, 0, (4 << 2) | 0, 2, 16]); // PCI 0:4 INTA
    expect(entries.filter((e) => e[0] === 4).map((e) => [e[1], e[7]])).toEqual([
      [3, 0],
      [1, 1],
    ]);
  });
});

describe('E820', () => {
  it('lists low RAM around the VGA/ROM hole and high RAM at 4 GiB', () => {
    expect(buildE820(256 * 2 ** 20, 0)).toEqual([
      { base: 0, length: 0xa0000, type: E820_TYPE_RAM },
      { base: 0x100000, length: 255 * 2 ** 20, type: E820_TYPE_RAM },
    ]);
    expect(buildE820(3 * 2 ** 30, 2 ** 30).at(-1)).toEqual({ base: 2 ** 32, length: 2 ** 30, type: E820_TYPE_RAM });
    expect(buildE820(0x80000, 0)).toEqual([{ base: 0, length: 0x80000, type: E820_TYPE_RAM }]);
  });
});
