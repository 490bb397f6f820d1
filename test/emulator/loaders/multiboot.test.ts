import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildE820 } from '../../../src/emulator/firmware/e820.js';
import { GuestMemory } from '../../../src/emulator/memory/guest-memory.js';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from '../../../src/emulator/loaders/multiboot.js';
import { BIOS_CODE_BASE } from '../../../src/emulator/firmware/legacy-bios.js';
import { LoaderError } from '../../../src/emulator/loaders/errors.js';
import { REPO_ROOT } from '../helpers/build-cli.js';

let elf: Uint8Array;
let elfPath: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-'));
  const src = join(REPO_ROOT, 'fixtures', 'emulator', 'multiboot', 'hello.S');
  execFileSync('as', ['--32', src, '-o', join(dir, 'hello.o')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', join(dir, 'hello.o'), '-o', join(dir, 'hello.elf')]);
  elfPath = join(dir, 'hello.elf');
  elf = new Uint8Array(readFileSync(elfPath));
});

const MiB = 1024 * 1024;
const memory = (size = 16 * MiB) => new GuestMemory(new ArrayBuffer(size));

/** Checks the legacy BIOS state in memory and returns the init routine that jumps to `entry`. */
function legacyBiosInit(mem: GuestMemory, entry: number): number {
  const far = (v: number) => mem.read16(4 * v + 2) * 16 + mem.read16(4 * v);
  for (const v of [0x00, 0x10, 0x20, 0xff]) expect(mem.read8(far(v))).toBe(0xcf); // IRET for non-IRQ vectors
  for (const v of [0x08, 0x0f]) expect([...mem.readBytes(far(v), 7)]).toEqual([0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf]);
  for (const v of [0x70, 0x77]) expect([...mem.readBytes(far(v), 9)]).toEqual([0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf]);
  const init = BIOS_CODE_BASE + 17;
  const code = mem.readBytes(init, 64);
  // ICW1..4 master (base 0x08) and slave (base 0x70), masks, PIT mode 2, then mov ecx, entry; jmp ecx
  expect([...code.subarray(2, 34)]).toEqual([
    0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x08, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21,
    0xb0, 0x11, 0xe6, 0xa0, 0xb0, 0x70, 0xe6, 0xa1, 0xb0, 0x02, 0xe6, 0xa1, 0xb0, 0x01, 0xe6, 0xa1,
  ]);
  const movEcx = code.indexOf(0xb9, 50);
  expect(new DataView(code.buffer, code.byteOffset).getUint32(movEcx + 1, true)).toBe(entry);
  expect([...code.subarray(movEcx + 5, movEcx + 7)]).toEqual([0xff, 0xe1]);
  return init;
}

describe('multiboot loader', () => {
  it('enters directly with legacyBios: false and leaves the IVT alone', () => {
    const mem = memory();
    const r = loadMultiboot(mem, { kernel: elf, kernelPath: elfPath, cmdline: '', modules: [], e820: buildE820(mem.size, 0), legacyBios: false });
    expect(r.state.rip).toBe(r.entry);
    expect(mem.read32(0x20)).toBe(0);
  });

  it('loads ELF32 segments and sets the multiboot machine state', () => {
    const mem = memory();
    const r = loadMultiboot(mem, {
      kernel: elf,
      kernelPath: elfPath,
      cmdline: 'console=ttyS0 debug',
      modules: [{ data: new TextEncoder().encode('module payload'), path: '/m/one', cmdline: 'one arg' }],
      e820: buildE820(mem.size, 0),
    });
    expect(r.entry).toBeGreaterThan(0x100000);
    expect(r.state.mode).toBe('protected32');
    expect(r.state.rip).toBe(legacyBiosInit(mem, r.entry)); // BIOS init first, then the entry
    expect(r.state.regs.rax).toBe(MULTIBOOT_BOOTLOADER_MAGIC);
    expect(r.state.regs.rbx).toBe(r.mbinfo);
    expect(r.state.cr0 & 0x80000001).toBe(1); // PE, no paging
    expect(r.state.rflags & 0x200).toBe(0); // interrupts off
    expect(r.state.cs.access & 0x4000).toBeTruthy(); // 32-bit code segment
    expect(mem.read32(0x100000)).toBe(0x1badb002);
    const mbi = r.mbinfo;
    expect(mbi % 4096).toBe(0);
    const flags = mem.read32(mbi);
    expect(flags & 0x24d).toBe(0x24d); // memory, cmdline, mods, mmap, loader name
    expect(mem.read32(mbi + 4)).toBe(640);
    expect(mem.read32(mbi + 8)).toBe(15 * 1024);
    const str = (addr: number) => {
      let s = '';
      for (let a = addr; mem.read8(a) !== 0; a++) s += String.fromCharCode(mem.read8(a));
      return s;
    };
    expect(str(mem.read32(mbi + 16))).toBe('console=ttyS0 debug');
    expect(str(mem.read32(mbi + 64))).toBe('tsbhyve');
    expect(mem.read32(mbi + 20)).toBe(1);
    const mod = mem.read32(mbi + 24);
    const [ms, me] = [mem.read32(mod), mem.read32(mod + 4)];
    expect(ms % 4096).toBe(0);
    expect(Buffer.from(mem.readBytes(ms, me - ms)).toString()).toBe('module payload');
    expect(str(mem.read32(mod + 8))).toBe('one arg');
    const mmapLen = mem.read32(mbi + 44);
    const mmap = mem.read32(mbi + 48);
    expect(mmapLen).toBe(48);
    expect([mem.read32(mmap), Number(mem.read64(mmap + 4)), Number(mem.read64(mmap + 12)), mem.read32(mmap + 20)]).toEqual([20, 0, 0xa0000, 1]);
    expect(Number(mem.read64(mmap + 24 + 4))).toBe(0x100000);
    expect(r.state.gdtr.limit).toBe(23);
  });

  it('loads a.out-kludge images from the header address fields', () => {
    const img = new Uint8Array(0x400);
    const dv = new DataView(img.buffer);
    const load = 0x200000;
    dv.setUint32(0x40, 0x1badb002, true);
    dv.setUint32(0x44, 0x10000, true);
    dv.setUint32(0x48, (-(0x1badb002 + 0x10000)) >>> 0, true);
    dv.setUint32(0x4c, load + 0x40, true); // header_addr
    dv.setUint32(0x50, load, true); // load_addr
    dv.setUint32(0x54, load + 0x100, true); // load_end_addr
    dv.setUint32(0x58, load + 0x2000, true); // bss_end_addr
    dv.setUint32(0x5c, load + 0x80, true); // entry
    img[0x80] = 0xf4;
    img[0x200] = 0xaa; // beyond load_end: not loaded
    const mem = memory();
    mem.fill(load + 0x100, 0x1f00, 0x55);
    const r = loadMultiboot(mem, { kernel: img, kernelPath: 'k', cmdline: '', modules: [], e820: buildE820(mem.size, 0) });
    expect(r.entry).toBe(load + 0x80);
    expect(mem.read8(load + 0x80)).toBe(0xf4);
    expect(mem.read8(load + 0x100)).toBe(0); // bss cleared
    expect(r.loadEnd).toBe(load + 0x2000);
  });

  it('refuses images without a valid header, ELF64, unknown required flags, segments outside memory', () => {
    const base = { kernelPath: 'k', cmdline: '', modules: [], e820: buildE820(16 * MiB, 0) };
    expect(() => loadMultiboot(memory(), { ...base, kernel: new Uint8Array(4096) })).toThrow(/no multiboot header/);
    const badSum = elf.slice();
    const off = Buffer.from(badSum).indexOf(Buffer.from([0x02, 0xb0, 0xad, 0x1b]));
    new DataView(badSum.buffer).setUint32(off + 8, 0, true);
    expect(() => loadMultiboot(memory(), { ...base, kernel: badSum })).toThrow(/no multiboot header/);
    const elf64 = elf.slice();
    elf64[4] = 2;
    expect(() => loadMultiboot(memory(), { ...base, kernel: elf64 })).toThrow(/ELF64/);
    const video = elf.slice();
    const vdv = new DataView(video.buffer);
    vdv.setUint32(off + 4, 0x3 | 0x8, true);
    vdv.setUint32(off + 8, (-(0x1badb002 + 0xb)) >>> 0, true);
    expect(() => loadMultiboot(memory(), { ...base, kernel: video })).toThrow(/unsupported features \(flags 0x8\)/);
    try {
      loadMultiboot(memory(512 * 1024), { ...base, kernel: elf });
      throw new Error('should fail');
    } catch (e) {
      expect(e).toBeInstanceOf(LoaderError);
      expect((e as LoaderError).kind).toBe('no-room');
    }
  });

  it('is a kernel QEMU boots too (same output and exit status as the contract expects)', () => {
    const qemu = spawnSync('which', ['qemu-system-x86_64']);
    if (qemu.status !== 0) {
      console.warn('qemu-system-x86_64 not installed: cross-check skipped');
      return;
    }
    const r = spawnSync(
      'qemu-system-x86_64',
      ['-accel', 'tcg', '-kernel', elfPath, '-serial', 'stdio', '-display', 'none', '-monitor', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stdout).toContain('MB OK');
    expect(r.status).toBe(1);
  }, 70_000);
});
