import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyKernelImage, detectKernelProtocol, domainToBhyveArgv, domainToBhyveConfig } from '../../src/driver/index.js';
import { parseDomainXML } from '../../src/xml/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsvirt-kernel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A minimal bzImage header: boot sector, setup header "HdrS" protocol 2.15. */
function bzImage(): Uint8Array {
  const b = new Uint8Array(8192);
  b[0x1fe] = 0x55;
  b[0x1ff] = 0xaa;
  b.set([0x48, 0x64, 0x72, 0x53], 0x202);
  new DataView(b.buffer).setUint16(0x206, 0x020f, true);
  return b;
}

/** An image with a Multiboot v1 header at `offset` (kvm-unit-tests' .flat layout). */
function multiboot(offset: number, goodChecksum = true): Uint8Array {
  const b = new Uint8Array(Math.max(offset + 12, 64));
  const v = new DataView(b.buffer);
  const magic = 0x1badb002;
  const flags = 0x00010003;
  v.setUint32(offset, magic, true);
  v.setUint32(offset + 4, flags, true);
  v.setUint32(offset + 8, (-(magic + flags) + (goodChecksum ? 0 : 1)) >>> 0, true);
  return b;
}

describe('kernel image formats', () => {
  it('recognises a bzImage and a multiboot header anywhere in the first 8 KiB', () => {
    expect(classifyKernelImage(bzImage())).toBe('linux');
    expect(classifyKernelImage(multiboot(0))).toBe('multiboot');
    expect(classifyKernelImage(multiboot(4096 + 64))).toBe('multiboot');
    expect(classifyKernelImage(multiboot(8192))).toBeUndefined();
    expect(classifyKernelImage(multiboot(16, false))).toBeUndefined();
    expect(classifyKernelImage(new Uint8Array(0))).toBeUndefined();
    expect(classifyKernelImage(new Uint8Array(3))).toBeUndefined();
  });
  it('reads real files and refuses unknown or missing ones', () => {
    writeFileSync(join(tmp, 'bzImage'), bzImage());
    writeFileSync(join(tmp, 'test.flat'), multiboot(32));
    writeFileSync(join(tmp, 'junk'), 'not a kernel');
    expect(detectKernelProtocol(join(tmp, 'bzImage'))).toBe('linux');
    expect(detectKernelProtocol(join(tmp, 'test.flat'))).toBe('multiboot');
    expect(() => detectKernelProtocol(join(tmp, 'junk'))).toThrow(/neither a Linux bzImage nor a Multiboot image/);
    expect(() => detectKernelProtocol(join(tmp, 'missing'))).toThrow(/cannot read kernel .*ENOENT/);
  });
  it('chooses kexec or multiboot from the file for <os><kernel>', () => {
    const xml = (k: string): string =>
      `<domain type='bhyve'><name>k</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type><kernel>${k}</kernel><cmdline>quiet</cmdline></os><devices><serial type='stdio'/></devices></domain>`;
    const linux = domainToBhyveArgv(parseDomainXML(xml(join(tmp, 'bzImage'))));
    expect(linux.bhyve).toContain(`kexec,${join(tmp, 'bzImage')},,"quiet"`);
    expect(linux.loader).toBeUndefined();
    const mb = domainToBhyveConfig(parseDomainXML(xml(join(tmp, 'test.flat'))));
    expect(mb).toContain('boot.protocol=multiboot\n');
    expect(mb).toContain('boot.cmdline=quiet\n');
  });
});
