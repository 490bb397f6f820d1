/**
 * Multiboot 1 kernels (Multiboot Specification 0.6.96; QEMU's hw/i386/multiboot.c and
 * hyperkit's firmware/multiboot.c behave the same way): the header is found in the first
 * 8 KiB (4-byte aligned, magic 0x1BADB002, checksum), the image is loaded from its
 * a.out-kludge address fields (flags bit 16) or from its ELF32 PT_LOAD segments (at
 * p_paddr), modules follow page-aligned, and the boot information (mbinfo with memory
 * sizes, the command line, modules, the memory map and the loader name) is written after
 * them. Entry state: flat 32-bit protected mode, paging off, EAX = 0x2BADB002,
 * EBX = mbinfo.
 *
 * As under QEMU (where SeaBIOS runs first), the kernel finds the legacy BIOS state of
 * firmware/legacy-bios.ts — real-mode IVT, 8259s at vector bases 0x08/0x70, PIT ticking —
 * because the BSP starts in that module's init routine, which then jumps to the entry.
 * An image that overlaps the IVT or the BIOS code area, or `legacyBios: false`, is entered
 * directly.
 *
 * Refused with a LoaderError: no header, bad checksum, unknown required flags (bits 0-15
 * other than 0, 1, 2), ELF64 images (QEMU refuses them too), segments outside guest RAM.
 */
import type { E820Entry } from '../firmware/e820.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { BIOS_CODE_BASE, installLegacyBios } from '../firmware/legacy-bios.js';
import { flat32State, gdtEntry, type InitialCpuState } from './cpu-state.js';
import { LoaderError } from './errors.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const MB_SEARCH = 8192;
const KNOWN_REQUIRED = 0x7;
const MBI_MEMORY = 1 << 0;
const MBI_CMDLINE = 1 << 2;
const MBI_MODS = 1 << 3;
const MBI_MMAP = 1 << 6;
const MBI_LOADER_NAME = 1 << 9;

export interface MultibootModule {
  data: Uint8Array;
  path: string;
  cmdline: string;
}

export interface MultibootInput {
  kernel: Uint8Array;
  kernelPath: string;
  cmdline: string;
  modules: MultibootModule[];
  e820: E820Entry[];
  /** Run the legacy BIOS init before the kernel (default true). */
  legacyBios?: boolean;
}

export interface MultibootResult {
  state: InitialCpuState;
  entry: number;
  loadStart: number;
  loadEnd: number;
  mbinfo: number;
}

interface Header {
  offset: number;
  flags: number;
  addr?: { header: number; load: number; loadEnd: number; bssEnd: number; entry: number };
}

function findHeader(k: Uint8Array): Header | undefined {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  const end = Math.min(k.length - 12, MB_SEARCH - 12);
  for (let o = 0; o <= end; o += 4) {
    if (dv.getUint32(o, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(o + 4, true);
    const sum = (MULTIBOOT_HEADER_MAGIC + flags + dv.getUint32(o + 8, true)) >>> 0;
    if (sum !== 0) continue;
    const h: Header = { offset: o, flags };
    if (flags & 0x10000) {
      if (o + 32 > k.length) return h;
      h.addr = {
        header: dv.getUint32(o + 12, true),
        load: dv.getUint32(o + 16, true),
        loadEnd: dv.getUint32(o + 20, true),
        bssEnd: dv.getUint32(o + 24, true),
        entry: dv.getUint32(o + 28, true),
      };
    }
    return h;
  }
  return undefined;
}

/** Loads ELF32 PT_LOAD segments; returns [lowest, highest) and the (physical) entry. */
function loadElf32(mem: GuestMemory, k: Uint8Array, file: string): { start: number; end: number; entry: number } {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (k[4] === 2) throw new LoaderError('unsupported', file, 'ELF64 multiboot images are not supported (give a 32-bit one, as QEMU requires)');
  if (k[4] !== 1 || k[5] !== 1) throw new LoaderError('format', file, 'not a little-endian ELF32 image');
  if (dv.getUint16(18, true) !== 3) throw new LoaderError('format', file, 'not an i386 ELF image');
  const entryV = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > k.length) throw new LoaderError('format', file, 'program headers run past the end of the file');
  let start = Infinity;
  let end = 0;
  let entry = entryV;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (dv.getUint32(p, true) !== 1) continue; // PT_LOAD
    const off = dv.getUint32(p + 4, true);
    const vaddr = dv.getUint32(p + 8, true);
    const paddr = dv.getUint32(p + 12, true);
    const filesz = dv.getUint32(p + 16, true);
    const memsz = dv.getUint32(p + 20, true);
    if (memsz === 0) continue;
    if (filesz > memsz || off + filesz > k.length) throw new LoaderError('format', file, `segment ${i} is larger than the file`);
    if (!mem.contains(paddr, memsz)) throw new LoaderError('no-room', file, `segment ${i} at 0x${paddr.toString(16)}+0x${memsz.toString(16)} is outside guest memory`);
    mem.fill(paddr, memsz, 0);
    mem.writeBytes(paddr, k.subarray(off, off + filesz));
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + memsz);
    if (entryV >= vaddr && entryV < vaddr + memsz) entry = entryV - vaddr + paddr;
  }
  if (end === 0) throw new LoaderError('format', file, 'no loadable segment');
  return { start, end, entry };
}

export function loadMultiboot(mem: GuestMemory, input: MultibootInput): MultibootResult {
  const k = input.kernel;
  const file = input.kernelPath;
  const h = findHeader(k);
  if (!h) throw new LoaderError('format', file, 'no multiboot header in the first 8 KiB');
  const unknown = h.flags & 0xffff & ~KNOWN_REQUIRED;
  if (unknown) throw new LoaderError('unsupported', file, `multiboot header requires unsupported features (flags 0x${unknown.toString(16)})`);

  let start: number;
  let end: number;
  let entry: number;
  if (h.addr) {
    const a = h.addr;
    const fileOff = h.offset - (a.header - a.load);
    if (fileOff < 0 || a.header < a.load) throw new LoaderError('format', file, 'inconsistent multiboot address fields');
    const loadLen = a.loadEnd === 0 ? k.length - fileOff : a.loadEnd - a.load;
    if (loadLen < 0 || fileOff + loadLen > k.length) throw new LoaderError('format', file, 'multiboot load range runs past the end of the file');
    const memEnd = a.bssEnd === 0 ? a.load + loadLen : Math.max(a.bssEnd, a.load + loadLen);
    if (!mem.contains(a.load, memEnd - a.load)) throw new LoaderError('no-room', file, `image at 0x${a.load.toString(16)} does not fit in guest memory`);
    mem.fill(a.load, memEnd - a.load, 0);
    mem.writeBytes(a.load, k.subarray(fileOff, fileOff + loadLen));
    start = a.load;
    end = memEnd;
    entry = a.entry;
  } else {
    ({ start, end, entry } = loadElf32(mem, k, file));
  }

  const page = (n: number) => Math.ceil(n / 4096) * 4096;
  let cur = page(end);
  const place = (len: number, what: string): number => {
    const at = cur;
    if (!mem.contains(at, len)) throw new LoaderError('no-room', file, `${what} does not fit in guest memory`);
    cur = page(at + len);
    return at;
  };
  const mods = input.modules.map((m) => {
    const at = place(m.data.length, `module ${m.path}`);
    mem.writeBytes(at, m.data);
    return { start: at, end: at + m.data.length, cmdline: m.cmdline || m.path };
  });

  // Boot information block: mbinfo, module list, mmap, strings, GDT.
  const strings: Buffer[] = [];
  const info = new Uint8Array(4096 + 16 * mods.length + 24 * input.e820.length);
  const iv = new DataView(info.buffer);
  const infoAddr = cur;
  let off = 0x80;
  const putString = (s: string): number => {
    const b = Buffer.from(`${s}\0`, 'utf8');
    if (off + b.length > info.length) throw new LoaderError('no-room', file, 'boot information too large');
    info.set(b, off);
    strings.push(b);
    const at = infoAddr + off;
    off += b.length;
    return at;
  };
  off = 0x80;
  const gdtAt = infoAddr + off;
  const gdt = [0n, gdtEntry(0xc, 0x9b), gdtEntry(0xc, 0x93)];
  gdt.forEach((g, i) => iv.setBigUint64(off + 8 * i, g, true));
  off += 24;
  const modsAt = infoAddr + off;
  const modOff = off;
  off += 16 * mods.length;
  const mmapAt = infoAddr + off;
  input.e820.forEach((e) => {
    iv.setUint32(off, 20, true);
    iv.setBigUint64(off + 4, BigInt(e.base), true);
    iv.setBigUint64(off + 12, BigInt(e.length), true);
    iv.setUint32(off + 20, e.type, true);
    off += 24;
  });
  const mmapLen = 24 * input.e820.length;
  mods.forEach((m, i) => {
    const o = modOff + 16 * i;
    iv.setUint32(o, m.start, true);
    iv.setUint32(o + 4, m.end, true);
    iv.setUint32(o + 8, putString(m.cmdline), true);
  });
  const cmdAt = putString(input.cmdline || file);
  const nameAt = putString('tsbhyve');
  const lowRam = input.e820.find((e) => e.base === 0 && e.type === 1)?.length ?? 0xa0000;
  const upper = input.e820.find((e) => e.base === 0x100000 && e.type === 1)?.length ?? 0;
  iv.setUint32(0, MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME, true);
  iv.setUint32(4, Math.floor(lowRam / 1024), true);
  iv.setUint32(8, Math.floor(upper / 1024), true);
  iv.setUint32(16, cmdAt, true);
  iv.setUint32(20, mods.length, true);
  iv.setUint32(24, mods.length ? modsAt : 0, true);
  iv.setUint32(44, mmapLen, true);
  iv.setUint32(48, mmapAt, true);
  iv.setUint32(64, nameAt, true);
  const used = page(off);
  if (!mem.contains(infoAddr, used)) throw new LoaderError('no-room', file, 'boot information does not fit in guest memory');
  mem.writeBytes(infoAddr, info.subarray(0, used));

  const overlaps = (a: number, b: number) => start < b && infoAddr + used > a; // image, modules and boot info
  const bios =
    input.legacyBios !== false && mem.contains(0, BIOS_CODE_BASE + 0x1000) && !overlaps(0, 0x400) && !overlaps(BIOS_CODE_BASE, BIOS_CODE_BASE + 0x1000)
      ? installLegacyBios(mem, entry)
      : undefined;
  const state = flat32State(bios?.initAddress ?? entry, { base: gdtAt, limit: 23 });
  state.regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
  state.regs.rbx = infoAddr;
  return { state, entry, loadStart: start, loadEnd: end, mbinfo: infoAddr };
}
