// Test-only Multiboot v1 loader for the guest programs of fixtures/guests (ELF32 images
// built by test/native/soft/build-tools.ts). It does what QEMU's -kernel and the soft CPU's
// test machine do, so the same image runs on every backend: PT_LOAD segments at their
// physical addresses, bss zeroed, the Multiboot information at 0x9500 with a memory map of
// the VM's RAM, and the BSP in 32-bit protected mode at the entry point with
// EAX = 0x2BADB002, EBX = the information's address (Multiboot 0.6.96, 3.2).
import { readFileSync } from 'node:fs';
import { flatSegment, type Vm } from '../../../src/emulator/vmm/vmm.js';

const MB_MAGIC = 0x1badb002;
const MB_BOOTLOADER_MAGIC = 0x2badb002;
const MBI_ADDR = 0x9500;
const MMAP_ADDR = 0x9000;
const CMDLINE_ADDR = 0x9800;

export function loadMultiboot(vm: Vm, path: string, cmdline = ''): void {
  const b = readFileSync(path);
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 1) {
    throw new Error(`${path}: not an ELF32 file`);
  }
  let found = false;
  for (let off = 0; off + 12 <= Math.min(b.length, 8192); off += 4) {
    if (b.readUInt32LE(off) !== MB_MAGIC) continue;
    const flags = b.readUInt32LE(off + 4);
    if (((MB_MAGIC + flags + b.readUInt32LE(off + 8)) >>> 0) === 0) {
      found = true;
      break;
    }
  }
  if (!found) throw new Error(`${path}: no Multiboot header`);
  const entry = b.readUInt32LE(24);
  const phoff = b.readUInt32LE(28);
  const phentsize = b.readUInt16LE(42);
  const phnum = b.readUInt16LE(44);
  const mem = vm.memory;
  for (let k = 0; k < phnum; k++) {
    const ph = phoff + k * phentsize;
    if (b.readUInt32LE(ph) !== 1) continue; // PT_LOAD
    const offset = b.readUInt32LE(ph + 4);
    const paddr = b.readUInt32LE(ph + 12);
    const filesz = b.readUInt32LE(ph + 16);
    const memsz = b.readUInt32LE(ph + 20);
    mem.write(paddr, b.subarray(offset, offset + filesz));
    if (memsz > filesz) mem.fill(paddr + filesz, memsz - filesz, 0);
  }
  const cl = Buffer.from(`${path}${cmdline ? ` ${cmdline}` : ''}\0`);
  mem.write(CMDLINE_ADDR, cl.subarray(0, 0x700));
  // Memory map: conventional memory, then RAM from 1 MiB (and above 4 GiB).
  const entries: [number, number][] = [
    [0, 0x9fc00],
    [0x100000, mem.lowmemSize - 0x100000],
  ];
  if (mem.highmemSize > 0) entries.push([4 * 2 ** 30, mem.highmemSize]);
  const mm = Buffer.alloc(24 * entries.length);
  entries.forEach(([base, len], i) => {
    mm.writeUInt32LE(20, i * 24);
    mm.writeBigUInt64LE(BigInt(base), i * 24 + 4);
    mm.writeBigUInt64LE(BigInt(len), i * 24 + 12);
    mm.writeUInt32LE(1, i * 24 + 20);
  });
  mem.write(MMAP_ADDR, mm);
  const mbi = Buffer.alloc(88);
  mbi.writeUInt32LE((1 << 0) | (1 << 2) | (1 << 6), 0);
  mbi.writeUInt32LE(640, 4);
  mbi.writeUInt32LE(Math.floor((mem.lowmemSize - 0x100000) / 1024), 8);
  mbi.writeUInt32LE(CMDLINE_ADDR, 16);
  mbi.writeUInt32LE(mm.length, 44);
  mbi.writeUInt32LE(MMAP_ADDR, 48);
  mem.write(MBI_ADDR, mbi);

  const bsp = vm.vcpu(0);
  if (!bsp) throw new Error('create vCPU 0 before loading');
  bsp.updateState((s) => {
    s.rip = BigInt(entry);
    s.rflags = 2n;
    s.rax = BigInt(MB_BOOTLOADER_MAGIC);
    s.rbx = BigInt(MBI_ADDR);
    s.cs = flatSegment(0x08, true);
    s.ds = s.es = s.ss = s.fs = s.gs = flatSegment(0x10, false);
    s.cr0 = 0x11n;
    s.cr4 = 0n;
    s.efer = 0n;
  });
}
