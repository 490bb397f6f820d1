/**
 * Direct boot of a Linux bzImage through the 64-bit boot protocol (Documentation/
 * x86/boot.rst "64-bit BOOT PROTOCOL"; hyperkit's firmware/kexec.c does the 32-bit one).
 * Writes into guest memory and returns the vCPU state to start from:
 *
 *   0x00500  GDT: null, null, __BOOT_CS 0x10 (64-bit code), __BOOT_DS 0x18 (data)
 *   0x07000  boot_params ("zero page"): the image's setup header, loader fields, E820
 *   0x08ff0  initial stack
 *   0x09000  page tables: PML4, PDPT, 4 page directories identity-mapping 0-4 GiB (2 MiB pages)
 *   0x20000  command line (NUL-terminated, at most cmdline_size)
 *   kernel   the protected-mode part at pref_address (relocatable kernels) or 1 MiB
 *   initrd   page-aligned, as high as allowed below min(initrd_addr_max, low memory)
 *
 * Entry: RIP = kernel + 0x200, RSI = boot_params, long mode, interrupts off. Refused with
 * a LoaderError: not a bzImage ("HdrS"), protocol < 2.12, no 64-bit entry
 * (XLF_KERNEL_64), kernel, initrd or command line not fitting guest memory.
 */
import type { E820Entry } from '../firmware/e820.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { gdtEntry, long64State, type InitialCpuState } from './cpu-state.js';
import { LoaderError } from './errors.js';

export const BOOT_GDT = 0x500;
export const BOOT_PARAMS = 0x7000;
export const BOOT_STACK = 0x8ff0;
export const BOOT_PML4 = 0x9000;
export const BOOT_CMDLINE = 0x20000;
const KERNEL_DEFAULT = 0x100000;
const HDRS = 0x53726448;
const XLF_KERNEL_64 = 1 << 0;
const LOADED_HIGH = 1 << 0;
const E820_MAX = 128;

export interface LinuxBootInput {
  kernel: Uint8Array;
  kernelPath: string;
  initrd?: Uint8Array;
  initrdPath?: string;
  cmdline: string;
  e820: E820Entry[];
  /** Guest address of the RSDP (boot_params.acpi_rsdp_addr, protocol 2.14+). */
  acpiRsdp?: number;
  /**
   * Guest memory from 1 MiB up is known to be all zero (fresh from the vmm, nothing written
   * there yet): the kernel's init_size area past the image is then not zeroed again, which
   * would only make the host fault in and clear tens of MiB the guest has not touched.
   */
  zeroAbove1M?: boolean;
}

export interface LinuxBootResult {
  state: InitialCpuState;
  kernelAddr: number;
  kernelEnd: number;
  initrdAddr?: number;
  protocol: number;
}

export function loadLinux(mem: GuestMemory, input: LinuxBootInput): LinuxBootResult {
  const k = input.kernel;
  const fail = (kind: 'format' | 'unsupported' | 'no-room', msg: string): never => {
    throw new LoaderError(kind, input.kernelPath, msg);
  };
  if (k.length < 0x1000) fail('format', 'too small to be a bzImage');
  const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (kv.getUint32(0x202, true) !== HDRS) fail('format', 'not a Linux bzImage (no "HdrS" setup header)');
  const version = kv.getUint16(0x206, true);
  if (version < 0x20c) fail('unsupported', `boot protocol ${version >> 8}.${version & 0xff} is too old (2.12 or later needed for 64-bit entry)`);
  const xloadflags = kv.getUint16(0x236, true);
  if (!(xloadflags & XLF_KERNEL_64)) fail('unsupported', 'the kernel has no 64-bit entry point (XLF_KERNEL_64)');
  if (!(k[0x211]! & LOADED_HIGH)) fail('unsupported', 'not a bzImage (zImage loaded low)');
  let setupSects = k[0x1f1]!;
  if (setupSects === 0) setupSects = 4;
  const pmOffset = (setupSects + 1) * 512;
  if (pmOffset >= k.length) fail('format', 'setup sectors run past the end of the file');
  const pm = k.subarray(pmOffset);
  const relocatable = k[0x234]! !== 0;
  const pref = Number(kv.getBigUint64(0x258, true));
  const initSize = Math.max(kv.getUint32(0x260, true), pm.length);
  const cmdlineSize = kv.getUint32(0x238, true) || 255;
  const initrdMax = kv.getUint32(0x22c, true);

  let kernelAddr = relocatable && pref >= KERNEL_DEFAULT && mem.contains(pref, initSize) ? pref : KERNEL_DEFAULT;
  if (!mem.contains(kernelAddr, initSize)) {
    fail('no-room', `the kernel needs ${initSize} bytes at 0x${kernelAddr.toString(16)}; guest memory is too small`);
  }
  // The image, then zeros up to init_size (the decompressor's work area and the kernel's
  // BSS), unless that memory is already known to be zero.
  mem.writeBytes(kernelAddr, pm);
  if (!input.zeroAbove1M && initSize > pm.length) mem.fill(kernelAddr + pm.length, initSize - pm.length, 0);
  const kernelEnd = kernelAddr + initSize;

  // Command line.
  const cmd = Buffer.from(input.cmdline, 'utf8');
  if (cmd.length > cmdlineSize) fail('format', `command line of ${cmd.length} bytes exceeds the kernel's limit of ${cmdlineSize}`);
  mem.fill(BOOT_CMDLINE, cmd.length + 1, 0);
  mem.writeBytes(BOOT_CMDLINE, cmd);

  // boot_params.
  const bp = new Uint8Array(4096);
  const hdrEnd = Math.min(0x202 + k[0x201]!, 0x290 + 0x10);
  bp.set(k.subarray(0x1f1, hdrEnd), 0x1f1);
  const bv = new DataView(bp.buffer);
  bv.setUint16(0x1fa, 0xffff, true); // vid_mode: normal
  bp[0x210] = 0xff; // type_of_loader: undefined
  bv.setUint32(0x214, kernelAddr, true); // code32_start
  bv.setUint32(0x228, BOOT_CMDLINE, true);
  bv.setUint32(0x0c8, 0, true); // ext_cmd_line_ptr
  if (input.acpiRsdp !== undefined) bv.setBigUint64(0x070, BigInt(input.acpiRsdp), true);

  let initrdAddr: number | undefined;
  if (input.initrd && input.initrd.length > 0) {
    const size = input.initrd.length;
    const top = Math.min(initrdMax > 0 ? initrdMax + 1 : 0x38000000, mem.lowMem);
    const addr = Math.floor((top - size) / 4096) * 4096;
    if (addr < kernelEnd || !mem.contains(addr, size)) {
      throw new LoaderError('no-room', input.initrdPath ?? 'initrd', `initrd of ${size} bytes does not fit between the kernel and 0x${top.toString(16)}`);
    }
    mem.writeBytes(addr, input.initrd);
    initrdAddr = addr;
    bv.setUint32(0x218, addr, true);
    bv.setUint32(0x21c, size, true);
    bv.setUint32(0x0c0, 0, true);
    bv.setUint32(0x0c4, 0, true);
  }

  const e820 = input.e820.slice(0, E820_MAX);
  bp[0x1e8] = e820.length;
  e820.forEach((e, i) => {
    const o = 0x2d0 + 20 * i;
    bv.setBigUint64(o, BigInt(e.base), true);
    bv.setBigUint64(o + 8, BigInt(e.length), true);
    bv.setUint32(o + 16, e.type, true);
  });
  mem.writeBytes(BOOT_PARAMS, bp);

  // GDT and identity page tables for the first 4 GiB.
  mem.write64(BOOT_GDT, 0n);
  mem.write64(BOOT_GDT + 8, 0n);
  mem.write64(BOOT_GDT + 16, gdtEntry(0xa, 0x9b)); // G, L
  mem.write64(BOOT_GDT + 24, gdtEntry(0xc, 0x93)); // G, D/B
  const pdpt = BOOT_PML4 + 0x1000;
  const pd = BOOT_PML4 + 0x2000;
  mem.fill(BOOT_PML4, 0x6000, 0);
  mem.write64(BOOT_PML4, BigInt(pdpt | 0x3));
  for (let i = 0; i < 4; i++) {
    mem.write64(pdpt + 8 * i, BigInt((pd + 0x1000 * i) | 0x3));
    for (let j = 0; j < 512; j++) {
      const phys = (i * 512 + j) * 0x200000;
      mem.write64(pd + 0x1000 * i + 8 * j, BigInt(phys) | 0x83n); // present, writable, 2 MiB
    }
  }

  const state = long64State(kernelAddr + 0x200, BOOT_PML4, { base: BOOT_GDT, limit: 4 * 8 - 1 });
  state.rsp = BOOT_STACK;
  state.regs.rsi = BOOT_PARAMS;
  return { state, kernelAddr, kernelEnd, initrdAddr, protocol: version };
}
