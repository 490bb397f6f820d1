/**
 * Applies a loader's initial CPU state (loaders/cpu-state.ts: multiboot's flat 32-bit
 * state, Linux's 64-bit state, or the reset vector for a boot ROM) to the BSP through the
 * vmm's register interface (bhyve's vm_set_register / vm_set_desc; bhyve-userland.md §4.4,
 * §4.6). Registers the loader does not name keep the vCPU's reset values (vcpu_reset).
 *
 * Both sides use the VMX access-rights encoding and byte-granular limits, so segments copy
 * across unchanged. APs are not touched: they wait for INIT/SIPI.
 */
import type { InitialCpuState, SegmentState } from '../loaders/cpu-state.js';
import type { Segment, Vcpu, VcpuState } from '../vmm/vmm.js';

const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldtr'] as const;

function segment(s: SegmentState): Segment {
  return { base: BigInt(s.base), limit: s.limit >>> 0, selector: s.selector & 0xffff, access: s.access >>> 0 };
}

/** The register file `init` describes, on top of `base` (the vCPU's reset state). */
export function initialRegisters(base: VcpuState, init: InitialCpuState): VcpuState {
  const s: VcpuState = { ...base, dr: [...base.dr] };
  s.rip = BigInt(init.rip);
  s.rsp = BigInt(init.rsp);
  s.rflags = BigInt(init.rflags);
  for (const [name, value] of Object.entries(init.regs)) {
    if (value !== undefined) s[name as keyof InitialCpuState['regs']] = BigInt(value >>> 0);
  }
  s.cr0 = BigInt(init.cr0 >>> 0);
  s.cr3 = BigInt(init.cr3);
  s.cr4 = BigInt(init.cr4 >>> 0);
  s.efer = BigInt(init.efer >>> 0);
  for (const name of SEGMENTS) s[name] = segment(init[name]);
  s.gdtr = { base: BigInt(init.gdtr.base), limit: init.gdtr.limit & 0xffff };
  s.idtr = { base: BigInt(init.idtr.base), limit: init.idtr.limit & 0xffff };
  return s;
}

/** Puts the BSP in the state the boot method hands over. */
export function applyBootState(bsp: Vcpu, init: InitialCpuState): void {
  bsp.setState(initialRegisters(bsp.getState(), init));
}
