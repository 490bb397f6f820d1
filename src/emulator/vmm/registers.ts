/**
 * The architectural register file of a vCPU as TypeScript sees it, and its codec over the
 * 68-word BigUint64Array the binding reads and writes (native/binding/state_codec.h).
 *
 * Same vocabulary as bhyve's vm_get_register / vm_get_desc (reference 4.4): 64-bit values
 * are bigints; segment access rights use the VMX layout (type[3:0], S[4], DPL[6:5], P[7],
 * AVL[12], L[13], D/B[14], G[15], unusable[16]) so a state read from one backend can be
 * written to the other unchanged.
 */

export interface Segment {
  base: bigint;
  /** Byte-granular limit (already scaled by G). */
  limit: number;
  selector: number;
  /** VMX access rights. */
  access: number;
}

export interface DescriptorTable {
  base: bigint;
  limit: number;
}

export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type GprName = (typeof GPR_NAMES)[number];

export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldtr'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

export type VcpuState = Record<GprName, bigint> &
  Record<SegmentName, Segment> & {
    rip: bigint;
    rflags: bigint;
    cr0: bigint;
    cr2: bigint;
    cr3: bigint;
    cr4: bigint;
    cr8: bigint;
    efer: bigint;
    /** dr0-dr7 (dr4/dr5 unused). */
    dr: bigint[];
    gdtr: DescriptorTable;
    idtr: DescriptorTable;
  };

/** Words in the native state array. */
export const STATE_WORDS = 68;

/** Access-rights bits (VMX layout). */
export const SEG_TYPE_MASK = 0xf;
export const SEG_S = 1 << 4;
export const SEG_P = 1 << 7;
export const SEG_L = 1 << 13;
export const SEG_DB = 1 << 14;
export const SEG_G = 1 << 15;
export const SEG_UNUSABLE = 1 << 16;

export function decodeState(w: BigUint64Array): VcpuState {
  const seg = (i: number): Segment => ({
    base: w[32 + i * 4]!,
    limit: Number(w[33 + i * 4]!),
    selector: Number(w[34 + i * 4]!),
    access: Number(w[35 + i * 4]!),
  });
  const s = {
    rip: w[16]!,
    rflags: w[17]!,
    cr0: w[18]!,
    cr2: w[19]!,
    cr3: w[20]!,
    cr4: w[21]!,
    cr8: w[22]!,
    efer: w[23]!,
    dr: Array.from(w.subarray(24, 32)),
    gdtr: { base: w[64]!, limit: Number(w[65]!) },
    idtr: { base: w[66]!, limit: Number(w[67]!) },
  } as Partial<VcpuState>;
  GPR_NAMES.forEach((name, i) => {
    s[name] = w[i]!;
  });
  SEGMENT_NAMES.forEach((name, i) => {
    s[name] = seg(i);
  });
  return s as VcpuState;
}

export function encodeState(s: VcpuState, w: BigUint64Array): void {
  const u64 = (v: bigint) => BigInt.asUintN(64, v);
  GPR_NAMES.forEach((name, i) => {
    w[i] = u64(s[name]);
  });
  w[16] = u64(s.rip);
  w[17] = u64(s.rflags);
  w[18] = u64(s.cr0);
  w[19] = u64(s.cr2);
  w[20] = u64(s.cr3);
  w[21] = u64(s.cr4);
  w[22] = u64(s.cr8);
  w[23] = u64(s.efer);
  for (let i = 0; i < 8; i++) w[24 + i] = u64(s.dr[i] ?? 0n);
  SEGMENT_NAMES.forEach((name, i) => {
    const seg = s[name];
    w[32 + i * 4] = u64(seg.base);
    w[33 + i * 4] = BigInt(seg.limit >>> 0);
    w[34 + i * 4] = BigInt(seg.selector & 0xffff);
    w[35 + i * 4] = BigInt(seg.access >>> 0);
  });
  w[64] = u64(s.gdtr.base);
  w[65] = BigInt(s.gdtr.limit & 0xffff);
  w[66] = u64(s.idtr.base);
  w[67] = BigInt(s.idtr.limit & 0xffff);
}

/** A flat 32-bit protected-mode code or data segment (base 0, limit 4 GiB). */
export function flatSegment(selector: number, code: boolean): Segment {
  return {
    base: 0n,
    limit: 0xffffffff,
    selector,
    access: (code ? 0xb : 0x3) | SEG_S | SEG_P | SEG_DB | SEG_G,
  };
}
