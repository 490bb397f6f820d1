/**
 * The guest memory map as E820 entries (bhyve amd64/e820.c; bhyve-userland.md §5.1):
 * RAM [0, lowmem) and, when present, [4 GiB, 4 GiB + highmem), with holes punched for
 * VGA [0xA0000, 0xC0000) and ROM [0xC0000, 0x100000). Nothing else is listed (no PCI
 * hole, no firmware area): firmware reserves those itself. Used by fw_cfg `etc/e820`
 * and by the Linux/multiboot loaders (which add their own reserved entries if needed).
 */

export const E820_TYPE_RAM = 1;
export const E820_TYPE_RESERVED = 2;
export const E820_TYPE_ACPI = 3;
export const E820_TYPE_NVS = 4;

export interface E820Entry {
  base: number;
  length: number;
  type: number;
}

export const HIGHMEM_BASE = 0x1_0000_0000;
const VGA_START = 0xa0000;
const ROM_END = 0x100000;

export function buildE820(lowMem: number, highMem: number): E820Entry[] {
  const out: E820Entry[] = [];
  if (lowMem > 0) {
    out.push({ base: 0, length: Math.min(lowMem, VGA_START), type: E820_TYPE_RAM });
    if (lowMem > ROM_END) out.push({ base: ROM_END, length: lowMem - ROM_END, type: E820_TYPE_RAM });
  }
  if (highMem > 0) out.push({ base: HIGHMEM_BASE, length: highMem, type: E820_TYPE_RAM });
  return out;
}
