// Guest-linear to guest-physical walks of the GDB stub (src/emulator/gdb/paging.ts) over
// hand-built page tables: no paging, 32-bit with 4 KiB and 4 MiB pages, PAE, 4-level
// with 4 KiB / 2 MiB / 1 GiB pages, 5-level; non-present entries, tables outside RAM and
// non-canonical addresses as error values.
import { describe, expect, it } from 'vitest';
import { linearToPhysical, type PhysReader } from '../../../src/emulator/gdb/paging.js';
import { blankState } from './fake-target.js';

const mem = new DataView(new ArrayBuffer(1 << 20));
const read: PhysReader = (gpa, size) => {
  if (gpa + BigInt(size) > BigInt(mem.byteLength)) return undefined;
  return size === 4 ? BigInt(mem.getUint32(Number(gpa), true)) : mem.getBigUint64(Number(gpa), true);
};
const put32 = (a: number, v: number) => mem.setUint32(a, v >>> 0, true);
const put64 = (a: number, v: bigint) => mem.setBigUint64(a, v, true);
const gpa = (t: ReturnType<typeof linearToPhysical>) => (t.ok ? t.gpa : t.error);

describe('linearToPhysical', () => {
  it('is the identity (32 bits) without paging', () => {
    const s = blankState();
    expect(gpa(linearToPhysical(s, 0x1234_5678n, read))).toBe(0x1234_5678n);
    expect(gpa(linearToPhysical(s, 0x1_0000_0010n, read))).toBe(0x10n);
  });

  it('walks 32-bit paging with 4 KiB and PSE 4 MiB pages', () => {
    const s = { ...blankState(), cr0: 0x8000_0011n, cr3: 0x10000n, cr4: 0x10n };
    put32(0x10000 + 1 * 4, 0x11000 | 1);          // PDE for 0x0040_0000 -> PT at 0x11000
    put32(0x11000 + 2 * 4, 0x0005_6000 | 1);      // PTE for 0x0040_2000
    put32(0x10000 + 3 * 4, 0x0080_0000 | 0x81);   // 4 MiB page for 0x00C0_0000 -> 0x0080_0000
    expect(gpa(linearToPhysical(s, 0x0040_2abcn, read))).toBe(0x5_6abcn);
    expect(gpa(linearToPhysical(s, 0x00c1_2345n, read))).toBe(0x0081_2345n);
    expect(gpa(linearToPhysical(s, 0x0100_0000n, read))).toMatch(/not present/);
  });

  it('walks PAE paging', () => {
    const s = { ...blankState(), cr0: 0x8000_0011n, cr3: 0x20000n, cr4: 0x20n };
    put64(0x20000 + 1 * 8, 0x21000n | 1n);              // PDPTE 1 (0x4000_0000..)
    put64(0x21000 + 0 * 8, 0x22000n | 1n);              // PDE 0 -> PT
    put64(0x22000 + 5 * 8, 0x7_0000n | 1n);             // PTE 5
    put64(0x21000 + 1 * 8, 0x0060_0000n | 0x81n);       // 2 MiB page
    expect(gpa(linearToPhysical(s, 0x4000_5123n, read))).toBe(0x7_0123n);
    expect(gpa(linearToPhysical(s, 0x4020_0042n, read))).toBe(0x0060_0042n);
  });

  it('walks 4-level paging with 4 KiB, 2 MiB and 1 GiB pages, and refuses non-canonical addresses', () => {
    const s = { ...blankState(), cr0: 0x8000_0011n, cr3: 0x30000n, cr4: 0x20n, efer: 0x500n };
    const la = 0xffff_8000_0000_0000n;  // PML4 index 256
    put64(0x30000 + 256 * 8, 0x31000n | 1n);
    put64(0x31000 + 0 * 8, 0x32000n | 1n);              // PDPT 0 -> PD
    put64(0x32000 + 0 * 8, 0x33000n | 1n);              // PD 0 -> PT
    put64(0x33000 + 1 * 8, 0x9_a000n | 1n);             // PTE 1
    put64(0x32000 + 1 * 8, 0x0040_0000n | 0x81n);       // 2 MiB page
    put64(0x31000 + 1 * 8, 0x8000_0000n | 0x81n);       // 1 GiB page
    expect(gpa(linearToPhysical(s, la + 0x1010n, read))).toBe(0x9_a010n);
    expect(gpa(linearToPhysical(s, la + 0x20_0333n, read))).toBe(0x40_0333n);
    expect(gpa(linearToPhysical(s, la + 0x4000_0007n, read))).toBe(0x8000_0007n);
    expect(gpa(linearToPhysical(s, 0x0000_8000_0000_0000n, read))).toMatch(/not canonical/);
    expect(gpa(linearToPhysical(s, 0x1000n, read))).toMatch(/not present/);
  });

  it('walks 5-level paging', () => {
    const s = { ...blankState(), cr0: 0x8000_0011n, cr3: 0x40000n, cr4: 0x1020n, efer: 0x500n };
    put64(0x40000 + 1 * 8, 0x41000n | 1n);               // PML5 1 -> PML4
    put64(0x41000 + 0 * 8, 0x42000n | 1n);               // PML4 0 -> PDPT
    put64(0x42000 + 0 * 8, 0x0000_0000n | 0x81n);        // 1 GiB page at 0
    expect(gpa(linearToPhysical(s, (1n << 48n) + 0x1234n, read))).toBe(0x1234n);
  });

  it('reports a table outside guest memory', () => {
    const s = { ...blankState(), cr0: 0x8000_0011n, cr3: 0x5000_0000n, cr4: 0x20n, efer: 0x500n };
    expect(gpa(linearToPhysical(s, 0x1000n, read))).toMatch(/outside guest memory/);
  });
});
