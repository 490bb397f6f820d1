/**
 * Domain XML for tests that run the VM stand-in (test scaffolding) under the real
 * translation: a direct-boot domain whose kernel is a file carrying just a Multiboot v1
 * header (all the translation inspects; the stand-in never loads it), with optional
 * `-o key=value` knobs for the stand-in passed through `<bhyve:commandline>` (the
 * translation carries `-o` settings into the `-k` file).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let kernel: string | undefined;

/** A file with a valid Multiboot v1 header (magic, flags, checksum). */
export function fakeMultibootKernel(): string {
  if (kernel) return kernel;
  const dir = join(tmpdir(), `tsvirt-fake-kernel-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const b = Buffer.alloc(64);
  b.writeUInt32LE(0x1badb002, 0);
  b.writeUInt32LE(0, 4);
  b.writeUInt32LE((0x100000000 - 0x1badb002) >>> 0, 8);
  kernel = join(dir, 'multiboot-header-only.bin');
  writeFileSync(kernel, b);
  return kernel;
}

/** A domain XML for the stand-in, with optional `-o key=value` knobs and extra elements. */
export function standInDomain(name: string, uuid: string, opts: { knobs?: string[]; extra?: string; type?: string } = {}): string {
  const knobs = (opts.knobs ?? []).map((k) => `    <bhyve:arg value='-o'/>\n    <bhyve:arg value='${k}'/>`).join('\n');
  return `<domain type='${opts.type ?? 'bhyve'}' xmlns:bhyve='http://libvirt.org/schemas/domain/bhyve/1.0'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>${fakeMultibootKernel()}</kernel>
  </os>
  ${opts.extra ?? ''}
  <devices>
    <serial type='pty'><target port='0'/></serial>
  </devices>${knobs ? `\n  <bhyve:commandline>\n${knobs}\n  </bhyve:commandline>` : ''}
</domain>
`;
}
