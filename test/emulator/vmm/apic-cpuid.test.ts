// CPUID.1:EDX.APIC[bit 9] follows IA32_APIC_BASE.EN on the soft backend (SDM vol. 3A 11.4.3):
// kvm-unit-tests' apic test disables the APIC through the MSR and expects the CPUID bit to
// clear, then re-enables it and expects the bit back.
import { describe, expect, it } from 'vitest';
import { Vm } from '../../../src/emulator/vmm/vmm.js';

const APIC_BASE = 0x1b;
const EN = 1n << 11n;

describe('soft backend: CPUID APIC bit and IA32_APIC_BASE.EN', () => {
  it('clears CPUID.1:EDX.APIC while the APIC is globally disabled and sets it again', () => {
    const vm = Vm.create({ backend: 'soft', memorySize: 16 * 1024 * 1024, vcpus: 1 });
    const cpu = vm.createVcpu();
    const apicBit = () => (cpu.getCpuid().find((e) => e.leaf === 1)!.edx >>> 9) & 1;
    expect(apicBit()).toBe(1);
    const base = cpu.getMsr(APIC_BASE);
    expect(base & EN).toBe(EN);
    cpu.setMsr(APIC_BASE, base & ~EN);
    expect(apicBit()).toBe(0);
    cpu.setMsr(APIC_BASE, base);
    expect(apicBit()).toBe(1);
  });
});
