/**
 * Telling kernel images apart for tsbhyve's direct kernel boot (`<os><kernel>`): a Linux
 * bzImage (x86 boot protocol: "HdrS" at offset 0x202, version ≥ 2.00) boots with
 * `boot.protocol=linux` (`-f kexec,...`); an image carrying a Multiboot v1 header
 * (magic 0x1BADB002 on a 4-byte boundary in its first 8192 bytes, with a checksum that
 * makes magic+flags+checksum ≡ 0 mod 2³²) boots with `boot.protocol=multiboot`
 * (`-f multiboot,...`), as kvm-unit-tests' `.flat` kernels do.
 *
 * Reads at most 8 KiB of the file, synchronously (translation is synchronous). Anything
 * else — unreadable, too short, neither format — is VIR_ERR_CONFIG_UNSUPPORTED naming the
 * file. Spec: Linux Documentation/arch/x86/boot.rst; Multiboot Specification 0.6.96 §3.1.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { unsupported } from './errors.js';

export type KernelProtocol = 'linux' | 'multiboot';

const MULTIBOOT_SEARCH = 8192;
const MULTIBOOT_MAGIC = 0x1badb002;
const BZIMAGE_HDRS_OFFSET = 0x202;
const BZIMAGE_VERSION_OFFSET = 0x206;

/** Classifies the first bytes of an image; undefined when it is neither format. */
export function classifyKernelImage(head: Uint8Array): KernelProtocol | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.byteLength >= BZIMAGE_VERSION_OFFSET + 2) {
    const magic = String.fromCharCode(...head.subarray(BZIMAGE_HDRS_OFFSET, BZIMAGE_HDRS_OFFSET + 4));
    if (magic === 'HdrS' && view.getUint16(BZIMAGE_VERSION_OFFSET, true) >= 0x0200) return 'linux';
  }
  const end = Math.min(head.byteLength, MULTIBOOT_SEARCH) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (view.getUint32(off, true) !== MULTIBOOT_MAGIC) continue;
    const flags = view.getUint32(off + 4, true);
    const checksum = view.getUint32(off + 8, true);
    if (((MULTIBOOT_MAGIC + flags + checksum) >>> 0) === 0) return 'multiboot';
  }
  return undefined;
}

/** Reads the head of `path` and classifies it. */
export function detectKernelProtocol(path: string): KernelProtocol {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw unsupported(`cannot read kernel '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const head = new Uint8Array(MULTIBOOT_SEARCH);
    let n = 0;
    while (n < head.length) {
      const got = readSync(fd, head, n, head.length - n, n);
      if (got === 0) break;
      n += got;
    }
    const kind = classifyKernelImage(head.subarray(0, n));
    if (!kind) throw unsupported(`kernel '${path}' is neither a Linux bzImage nor a Multiboot image`);
    return kind;
  } finally {
    closeSync(fd);
  }
}
