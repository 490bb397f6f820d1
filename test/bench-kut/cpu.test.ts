/** bench/kut cpu.ts: QEMU -cpu options judged against a CPUID table. */
import { describe, expect, it } from 'vitest';
import { judgeCpu, hasFeature, type CpuidLeaf } from '../../bench/kut/cpu.js';

const str4 = (s: string) => Buffer.from(s, 'latin1').readUInt32LE(0);
// An AMD CPU with x2APIC, TSC-deadline, RDTSCP and 40 physical address bits; no PCID, VMX, SVM.
const TABLE: CpuidLeaf[] = [
  { leaf: 0, eax: 7, ebx: str4('Auth'), edx: str4('enti'), ecx: str4('cAMD') },
  { leaf: 1, eax: 0, ebx: 0, ecx: (1 << 21) | (1 << 24), edx: 0 },
  { leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 },
  { leaf: 0x80000001, eax: 0, ebx: 0, ecx: 0, edx: 1 << 27 },
  { leaf: 0x80000008, eax: 0x3028, ebx: 0, ecx: 0, edx: 0 },
];

describe('judgeCpu', () => {
  it('accepts qemu64/max with features the CPU has', () => {
    expect(judgeCpu('qemu64,+x2apic,+tsc-deadline', TABLE)).toEqual({ ok: true, notes: [] });
    expect(judgeCpu('max,host-phys-bits', TABLE)).toEqual({ ok: true, notes: [] });
    expect(judgeCpu('max,-pcid,-invpcid', TABLE).ok).toBe(true);
    expect(hasFeature(TABLE, 'rdtscp')).toBe(true);
  });

  it('refuses what the CPU cannot honour, with the reason', () => {
    expect(judgeCpu('host', TABLE)).toEqual({ ok: false, reason: "CPU model 'host' requires KVM" });
    expect(judgeCpu('max,+vmx', TABLE)).toMatchObject({ ok: false, reason: expect.stringMatching(/vmx not provided/) });
    expect(judgeCpu('qemu64,-x2apic', TABLE)).toMatchObject({ ok: false, reason: expect.stringMatching(/x2apic cannot be hidden/) });
    expect(judgeCpu('qemu64,vendor=GenuineIntel', TABLE)).toMatchObject({ ok: false, reason: expect.stringMatching(/AuthenticAMD/) });
    expect(judgeCpu('qemu64,+frobnicate', TABLE)).toMatchObject({ ok: false, reason: expect.stringMatching(/no CPUID mapping/) });
    expect(judgeCpu('IvyBridge,phys-bits=36', TABLE)).toMatchObject({ ok: false, reason: expect.stringMatching(/has 40/) });
    expect(judgeCpu('host,hv_passthrough', TABLE).ok).toBe(false);
  });

  it('runs other named models on the CPU, noted', () => {
    expect(judgeCpu('Opteron_G1,vendor=AuthenticAMD', TABLE)).toEqual({ ok: true, notes: ["model Opteron_G1 runs as the soft CPU's model"] });
  });
});
