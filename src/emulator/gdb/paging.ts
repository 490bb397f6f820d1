/**
 * Guest-linear to guest-physical translation for the debugger's memory accesses, as
 * bhyve's gdb.c does with vm_gla2gpa_nofault: a walk of the guest's own page tables in the
 * paging mode its control registers select (Intel SDM vol. 3, 4.3 32-bit paging with PSE
 * 4 MiB pages, 4.4 PAE paging, 4.5 4-level and 5-level paging with 2 MiB / 1 GiB pages).
 *
 * Only presence is checked: the debugger may read supervisor pages and write read-only
 * ones, like a hardware debugger. Accessed/dirty bits are not set (the guest must not see
 * the debugger). Every table entry is read through `readPhys`, which answers undefined
 * outside RAM; a non-present entry, a table outside RAM or a non-canonical address
 * yields an error value, never an exception. Segmentation is not applied: gdb's addresses
 * are linear (flat segments), as in bhyve.
 */
import type { VcpuState } from '../vmm/registers.js';

export type Translation = { ok: true; gpa: bigint } | { ok: false; error: string };

/** Reads a little-endian 32- or 64-bit value of guest-physical memory, or undefined. */
export type PhysReader = (gpa: bigint, size: 4 | 8) => bigint | undefined;

const CR0_PG = 1n << 31n;
const CR4_PSE = 1n << 4n;
const CR4_PAE = 1n << 5n;
const CR4_LA57 = 1n << 12n;
const EFER_LMA = 1n << 10n;
const P = 1n;
const PS = 1n << 7n;
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function fail(la: bigint, why: string): Translation {
  return { ok: false, error: `linear address ${hex(la)}: ${why}` };
}

export function linearToPhysical(s: VcpuState, la: bigint, readPhys: PhysReader): Translation {
  const addr = BigInt.asUintN(64, la);
  if ((s.cr0 & CR0_PG) === 0n) return { ok: true, gpa: addr & 0xffff_ffffn };
  if ((s.cr4 & CR4_PAE) === 0n) return walk32(s, addr & 0xffff_ffffn, readPhys);
  if ((s.efer & EFER_LMA) === 0n) return walkPae(s, addr & 0xffff_ffffn, readPhys);
  return walkLong(s, addr, readPhys);
}

function walk32(s: VcpuState, la: bigint, readPhys: PhysReader): Translation {
  const pdeAddr = (s.cr3 & 0xffff_f000n) + ((la >> 22n) & 0x3ffn) * 4n;
  const pde = readPhys(pdeAddr, 4);
  if (pde === undefined) return fail(la, `page directory entry at ${hex(pdeAddr)} is outside guest memory`);
  if ((pde & P) === 0n) return fail(la, 'page directory entry not present');
  if ((pde & PS) !== 0n && (s.cr4 & CR4_PSE) !== 0n) {
    // 4 MiB page; PDE bits 20:13 are physical address bits 39:32 (PSE-36).
    const high = ((pde >> 13n) & 0xffn) << 32n;
    return { ok: true, gpa: high | (pde & 0xffc0_0000n) | (la & 0x3f_ffffn) };
  }
  const pteAddr = (pde & 0xffff_f000n) + ((la >> 12n) & 0x3ffn) * 4n;
  const pte = readPhys(pteAddr, 4);
  if (pte === undefined) return fail(la, `page table entry at ${hex(pteAddr)} is outside guest memory`);
  if ((pte & P) === 0n) return fail(la, 'page table entry not present');
  return { ok: true, gpa: (pte & 0xffff_f000n) | (la & 0xfffn) };
}

/** The common lower levels (PD with 2 MiB pages, PT) from a page-directory base. */
function walkFromPd(la: bigint, pdBase: bigint, readPhys: PhysReader, levelsAbove: bigint[]): Translation {
  let table = pdBase;
  // levelsAbove lists the shifts still to walk before the PD (long mode: 39/48, 30).
  for (const shift of levelsAbove) {
    const entryAddr = table + ((la >> shift) & 0x1ffn) * 8n;
    const e = readPhys(entryAddr, 8);
    if (e === undefined) return fail(la, `paging entry at ${hex(entryAddr)} is outside guest memory`);
    if ((e & P) === 0n) return fail(la, `paging entry for bits ${shift}+ not present`);
    if (shift === 30n && (e & PS) !== 0n) {
      return { ok: true, gpa: (e & 0x000f_ffff_c000_0000n) | (la & 0x3fff_ffffn) };
    }
    table = e & ADDR_MASK;
  }
  const pdeAddr = table + ((la >> 21n) & 0x1ffn) * 8n;
  const pde = readPhys(pdeAddr, 8);
  if (pde === undefined) return fail(la, `page directory entry at ${hex(pdeAddr)} is outside guest memory`);
  if ((pde & P) === 0n) return fail(la, 'page directory entry not present');
  if ((pde & PS) !== 0n) return { ok: true, gpa: (pde & 0x000f_ffff_ffe0_0000n) | (la & 0x1f_ffffn) };
  const pteAddr = (pde & ADDR_MASK) + ((la >> 12n) & 0x1ffn) * 8n;
  const pte = readPhys(pteAddr, 8);
  if (pte === undefined) return fail(la, `page table entry at ${hex(pteAddr)} is outside guest memory`);
  if ((pte & P) === 0n) return fail(la, 'page table entry not present');
  return { ok: true, gpa: (pte & ADDR_MASK) | (la & 0xfffn) };
}

function walkPae(s: VcpuState, la: bigint, readPhys: PhysReader): Translation {
  const pdpteAddr = (s.cr3 & 0xffff_ffe0n) + ((la >> 30n) & 3n) * 8n;
  const pdpte = readPhys(pdpteAddr, 8);
  if (pdpte === undefined) return fail(la, `PDPTE at ${hex(pdpteAddr)} is outside guest memory`);
  if ((pdpte & P) === 0n) return fail(la, 'PDPTE not present');
  return walkFromPd(la, pdpte & ADDR_MASK, readPhys, []);
}

function walkLong(s: VcpuState, la: bigint, readPhys: PhysReader): Translation {
  const five = (s.cr4 & CR4_LA57) !== 0n;
  const bits = five ? 57n : 48n;
  const signExtended = BigInt.asUintN(64, BigInt.asIntN(Number(bits), la));
  if (signExtended !== la) return fail(la, 'not canonical');
  const levels = five ? [48n, 39n, 30n] : [39n, 30n];
  return walkFromPd(la, s.cr3 & ADDR_MASK, readPhys, levels);
}
