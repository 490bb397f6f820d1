import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildE820 } from '../../../src/emulator/firmware/e820.js';
import { GuestMemory } from '../../../src/emulator/memory/guest-memory.js';
import { loadLinux, BOOT_PARAMS, BOOT_CMDLINE, BOOT_PML4 } from '../../../src/emulator/loaders/linux.js';
import { debianKernel } from '../helpers/debian-kernel.js';

const MiB = 1024 * 1024;
const k = debianKernel();
if ('missing' in k) console.warn(`skipping the real-kernel loader test: ${k.missing}`);

describe('Linux bzImage loader', () => {
  it.skipIf('missing' in k)('loads Debian\'s kernel with boot_params, command line, initrd and E820', () => {
    const image = new Uint8Array(readFileSync((k as { path: string }).path));
    const mem = new GuestMemory(new ArrayBuffer(256 * MiB));
    const initrd = new Uint8Array(3 * MiB + 123).fill(0x5c);
    const e820 = buildE820(mem.size, 0);
    const r = loadLinux(mem, { kernel: image, kernelPath: 'vmlinuz', initrd, initrdPath: 'initrd', cmdline: 'console=ttyS0 root=/dev/vda ro', e820, acpiRsdp: 0xf2400 });
    expect(r.protocol).toBeGreaterThanOrEqual(0x20c);
    const pm = (image[0x1f1]! + 1) * 512;
    expect(mem.readBytes(r.kernelAddr, 4096)).toEqual(image.subarray(pm, pm + 4096));
    expect(r.kernelAddr).toBe(0x1000000); // Debian kernels prefer 16 MiB
    expect(r.state.mode).toBe('long64');
    expect(r.state.rip).toBe(r.kernelAddr + 0x200);
    expect(r.state.regs.rsi).toBe(BOOT_PARAMS);
    expect(r.state.cr3).toBe(BOOT_PML4);
    expect(r.state.cs.selector).toBe(0x10);
    expect(r.state.ds.selector).toBe(0x18);
    expect(mem.read32(BOOT_PARAMS + 0x202)).toBe(0x53726448);
    expect(mem.read8(BOOT_PARAMS + 0x210)).toBe(0xff);
    expect(mem.read32(BOOT_PARAMS + 0x228)).toBe(BOOT_CMDLINE);
    expect(Buffer.from(mem.readBytes(BOOT_CMDLINE, 30)).toString()).toBe("console=ttyS0 root=/dev/vda ro");
    expect(mem.read8(BOOT_CMDLINE + 30)).toBe(0);
    const rd = mem.read32(BOOT_PARAMS + 0x218);
    expect(rd).toBe(r.initrdAddr);
    expect(rd % 4096).toBe(0);
    expect(mem.read32(BOOT_PARAMS + 0x21c)).toBe(initrd.length);
    expect(rd + initrd.length).toBeLessThanOrEqual(mem.size);
    expect(rd).toBeGreaterThanOrEqual(r.kernelEnd);
    expect(mem.read8(rd + initrd.length - 1)).toBe(0x5c);
    expect(mem.read8(BOOT_PARAMS + 0x1e8)).toBe(2);
    expect(Number(mem.read64(BOOT_PARAMS + 0x2d0 + 20 + 8))).toBe(255 * MiB);
    expect(Number(mem.read64(BOOT_PARAMS + 0x70))).toBe(0xf2400);
    // identity map: PML4[0] -> PDPT, PD maps 2 MiB pages
    expect(Number(mem.read64(BOOT_PML4)) & ~0xfff).toBe(BOOT_PML4 + 0x1000);
    expect(Number(mem.read64(BOOT_PML4 + 0x2000 + 8 * 8))).toBe(8 * 0x200000 + 0x83);
  });

  it('zeroes init_size past the image unless memory above 1 MiB is known to be zero', () => {
    const img = new Uint8Array(0x4000).fill(0x11);
    const dv = new DataView(img.buffer);
    dv.setUint32(0x202, 0x53726448, true);
    dv.setUint16(0x206, 0x20f, true);
    dv.setUint16(0x236, 1, true);
    img[0x211] = 1;
    img[0x1f1] = 4; // 5 sectors of setup: the protected-mode part is 0x4000 - 0xa00 bytes
    img[0x234] = 0; // not relocatable: loaded at 1 MiB
    dv.setUint32(0x238, 255, true);
    dv.setUint32(0x260, 0x10000, true); // init_size: 64 KiB
    const pmLen = 0x4000 - 0xa00;
    for (const zeroAbove1M of [false, true]) {
      const mem = new GuestMemory(new ArrayBuffer(16 * MiB));
      mem.fill(MiB - 0x1000, 0x20000, 0xaa); // stale bytes below, inside and past the kernel area
      const r = loadLinux(mem, { kernel: img, kernelPath: 'k', cmdline: '', e820: buildE820(mem.size, 0), zeroAbove1M });
      expect(r.kernelAddr).toBe(MiB);
      expect(mem.read8(MiB)).toBe(0x11);
      expect(mem.read8(MiB + pmLen - 1)).toBe(0x11);
      // Past the image up to init_size: zeroed, or left alone when the caller vouches for zeros.
      expect(mem.read8(MiB + pmLen)).toBe(zeroAbove1M ? 0xaa : 0);
      expect(mem.read8(MiB + 0x10000 - 1)).toBe(zeroAbove1M ? 0xaa : 0);
      expect(mem.read8(MiB + 0x10000)).toBe(0xaa); // past init_size: never touched
      expect(mem.read8(MiB - 1)).toBe(0xaa);
    }
  });

  it('refuses images that are not 64-bit bzImages and guests too small for them', () => {
    const mem = new GuestMemory(new ArrayBuffer(64 * MiB));
    const base = { kernelPath: 'k', cmdline: '', e820: buildE820(mem.size, 0) };
    const img = new Uint8Array(0x4000);
    expect(() => loadLinux(mem, { ...base, kernel: img })).toThrow(/not a Linux bzImage/);
    const dv = new DataView(img.buffer);
    dv.setUint32(0x202, 0x53726448, true);
    dv.setUint16(0x206, 0x20a, true);
    expect(() => loadLinux(mem, { ...base, kernel: img })).toThrow(/boot protocol 2.10 is too old/);
    dv.setUint16(0x206, 0x20f, true);
    expect(() => loadLinux(mem, { ...base, kernel: img })).toThrow(/no 64-bit entry/);
    dv.setUint16(0x236, 1, true);
    img[0x211] = 1;
    img[0x1f1] = 4;
    dv.setUint32(0x260, 128 * MiB, true); // init_size larger than the guest
    expect(() => loadLinux(mem, { ...base, kernel: img })).toThrow(/guest memory is too small/);
    dv.setUint32(0x260, 0x1000, true);
    dv.setUint32(0x238, 8, true);
    expect(() => loadLinux(mem, { ...base, kernel: img, cmdline: 'this is too long' })).toThrow(/exceeds the kernel's limit of 8/);
    expect(() => loadLinux(mem, { ...base, kernel: img, initrd: new Uint8Array(63 * MiB) })).toThrow(/initrd .* does not fit/);
  });
});
