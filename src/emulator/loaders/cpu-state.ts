/**
 * The initial vCPU state a loader hands to the machine (what bhyveload's
 * vm_setup_freebsd_registers or hyperkit's kexec/multiboot set up; bhyve-userland.md
 * §4.6, §5.9). Plain data: machine.ts applies it with the vmm's register calls.
 *
 * Segment access rights use the VMX/bhyve encoding (type | S<<4 | DPL<<5 | P<<7 |
 * L<<13 | D/B<<14 | G<<15), as vm_set_desc takes them.
 */

export interface SegmentState {
  selector: number;
  base: number;
  limit: number;
  access: number;
}

export interface InitialCpuState {
  mode: 'real' | 'protected32' | 'long64';
  rip: number;
  rsp: number;
  rflags: number;
  /** General registers the protocol defines (eax/ebx for multiboot, rsi for Linux). */
  regs: Partial<Record<'rax' | 'rbx' | 'rcx' | 'rdx' | 'rsi' | 'rdi', number>>;
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
  cs: SegmentState;
  ds: SegmentState;
  es: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  ss: SegmentState;
  tr: SegmentState;
  ldtr: SegmentState;
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
}

export const CR0_PE = 1;
/** Extension type: hardwired to 1 on every processor since the i486. */
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_PG = 1 << 31;
export const CR4_PAE = 1 << 5;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;

const seg = (selector: number, base: number, limit: number, access: number): SegmentState => ({ selector, base, limit, access });

/** vcpu_reset (bhyve-userland.md §4.6): the state a boot ROM starts from. */
export function resetState(): InitialCpuState {
  const data = seg(0, 0, 0xffff, 0x0093);
  return {
    mode: 'real',
    rip: 0xfff0,
    rsp: 0,
    rflags: 0x2,
    regs: { rdx: 0xf00 },
    cr0: CR0_NE,
    cr3: 0,
    cr4: 0,
    efer: 0,
    cs: seg(0xf000, 0xffff0000, 0xffff, 0x0093),
    ds: { ...data },
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: seg(0, 0, 0, 0x008b),
    ldtr: seg(0, 0, 0xffff, 0x0082),
    gdtr: { base: 0, limit: 0xffff },
    idtr: { base: 0, limit: 0xffff },
  };
}

/**
 * Flat 32-bit protected mode, paging off (multiboot's machine state, Multiboot 0.6.96
 * §3.2). CR0 is PE|ET with NE clear, as QEMU's multiboot loader leaves it: the spec leaves
 * the other bits undefined, and guests that print CR0 then read the same value on both.
 */
export function flat32State(rip: number, gdt: { base: number; limit: number }): InitialCpuState {
  const code = seg(0x08, 0, 0xffffffff, 0xc09b); // G, D, P, S, exec/read, accessed
  const data = seg(0x10, 0, 0xffffffff, 0xc093);
  return {
    mode: 'protected32',
    rip,
    rsp: 0,
    rflags: 0x2,
    regs: {},
    cr0: CR0_PE | CR0_ET,
    cr3: 0,
    cr4: 0,
    efer: 0,
    cs: code,
    ...flatDataSegments(data),
    gdtr: gdt,
    idtr: { base: 0, limit: 0 },
  };
}

/** 64-bit long mode with the given page tables (Linux's 64-bit boot protocol). */
export function long64State(rip: number, cr3: number, gdt: { base: number; limit: number }): InitialCpuState {
  const code = seg(0x10, 0, 0xffffffff, 0xa09b); // G, L, P, S, exec/read, accessed
  const data = seg(0x18, 0, 0xffffffff, 0xc093);
  return {
    mode: 'long64',
    rip,
    rsp: 0,
    rflags: 0x2,
    regs: {},
    cr0: CR0_PE | CR0_NE | CR0_PG,
    cr3,
    cr4: CR4_PAE,
    efer: EFER_LME | EFER_LMA,
    cs: code,
    ...flatDataSegments(data),
    gdtr: gdt,
    idtr: { base: 0, limit: 0 },
  };
}

/** The data segment registers all loaded with `data`, and the boot-time TR and LDTR. */
function flatDataSegments(data: SegmentState) {
  return {
    ds: { ...data },
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: seg(0, 0, 0xffff, 0x008b),
    ldtr: seg(0, 0, 0xffff, 0x0082),
  };
}

/** GDT descriptor bytes for base 0 / limit 4 GiB with the given flags and access byte. */
export function gdtEntry(flags: number, access: number): bigint {
  // limit 0xFFFFF, base 0: limit[15:0]=0xFFFF, limit[19:16]=0xF
  return (BigInt(flags & 0xf) << 52n) | (0xfn << 48n) | (BigInt(access & 0xff) << 40n) | 0xffffn;
}
