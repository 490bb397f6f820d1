// The stub's x86-64 register file (src/emulator/gdb/registers.ts): g-packet layout as
// gdb's amd64 core feature orders it, G applying only writable registers, target.xml
// naming every register once with its regnum.
import { describe, expect, it } from 'vitest';
import { G_PACKET_CHARS, REGISTERS, decodeAll, decodeOne, encodeAll, targetXml } from '../../../src/emulator/gdb/registers.js';
import { blankState } from './fake-target.js';

describe('register file', () => {
  it('follows gdb amd64 core order and sizes', () => {
    expect(REGISTERS.slice(0, 18).map((r) => r.name)).toEqual([
      'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp',
      'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'eflags',
    ]);
    expect(REGISTERS.find((r) => r.name === 'st7')!.size).toBe(10);
    expect(REGISTERS.findIndex((r) => r.name === 'fop')).toBe(39); // 40 core registers
    expect(G_PACKET_CHARS).toBe(REGISTERS.reduce((n, r) => n + 2 * r.size, 0));
  });

  it('round-trips through g/G; G keeps selectors and skips xx', () => {
    const s = blankState();
    s.rbx = 0xabcdefn;
    s.rflags = 0x246n;
    s.fs = { ...s.fs, base: 0x7000n };
    const g = encodeAll(s);
    expect(g.length).toBe(G_PACKET_CHARS);
    const t = blankState();
    t.cs = { ...t.cs, selector: 0x33 };
    expect(decodeAll(g, t)).toBeUndefined();
    expect(t.rbx).toBe(0xabcdefn);
    expect(t.rflags).toBe(0x246n);
    expect(t.fs.base).toBe(0x7000n);
    expect(t.cs.selector).toBe(0x33); // read-only here
    expect(decodeAll(g.slice(2), t)).toMatch(/expected/);
    expect(decodeAll('zz' + g.slice(2), t)).toMatch(/not hex/);
  });

  it('keeps RFLAGS bit 1 set and refuses read-only or unknown registers', () => {
    const s = blankState();
    const eflags = REGISTERS.findIndex((r) => r.name === 'eflags');
    expect(decodeOne(eflags, '00000000', s)).toBeUndefined();
    expect(s.rflags).toBe(2n);
    expect(decodeOne(REGISTERS.findIndex((r) => r.name === 'st0'), '00'.repeat(10), s)).toMatch(/read-only/);
    expect(decodeOne(1000, '00', s)).toMatch(/no register/);
  });

  it('describes every register once in target.xml, in regnum order', () => {
    const xml = targetXml();
    const regs = [...xml.matchAll(/<reg name="([^"]+)" bitsize="(\d+)" type="[^"]+" regnum="(\d+)"/g)];
    expect(regs.map((m) => m[1])).toEqual(REGISTERS.map((r) => r.name));
    regs.forEach((m, i) => {
      expect(Number(m[3])).toBe(i);
      expect(Number(m[2])).toBe(REGISTERS[i]!.size * 8);
    });
    expect(xml).toContain('<architecture>i386:x86-64</architecture>');
  });
});
