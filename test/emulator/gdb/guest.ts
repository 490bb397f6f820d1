// Builds the GDB stub's test guest (fixtures/guests/gdb) with debug information: the
// 64-bit ELF with symbols for gdb, and the Multiboot ELF32 copy tsbhyve boots (same
// library, flags and link script as test/emulator/vmm/guest-build.ts, plus -g). Cached by
// content hash in node_modules/.cache/tsvirt-gdb/; compilers run under nice.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/build-cli.js';
import { files, tool } from '../vmm/guest-build.js';

const CACHE = join(REPO_ROOT, 'node_modules/.cache/tsvirt-gdb');
const LIB = join(REPO_ROOT, 'fixtures/guests/lib');
const DIR = join(REPO_ROOT, 'fixtures/guests/gdb');
const CFLAGS = [
  '-m64', '-ffreestanding', '-fno-pic', '-fno-pie', '-mno-red-zone', '-mgeneral-regs-only', '-O1', '-g',
  '-nostdlib', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-Wall', '-Wextra', '-Werror',
  '-Wa,--noexecstack',
];

export interface GdbGuest {
  /** The Multiboot image tsbhyve boots. */
  elf32: string;
  /** The same program as a 64-bit ELF with symbols, for gdb. */
  elf64: string;
}

export async function buildGdbGuest(): Promise<GdbGuest> {
  const sources = [...files(LIB, ['.c', '.S']), ...files(DIR, ['.c'])];
  const h = createHash('sha256');
  for (const f of [...sources, ...files(LIB, ['.h', '.ld'])]) h.update(f).update(readFileSync(f));
  h.update(CFLAGS.join(' '));
  const key = h.digest('hex').slice(0, 16);
  const elf32 = join(CACHE, `gdb-${key}.elf`);
  const elf64 = join(CACHE, `gdb-${key}.elf64`);
  if (existsSync(elf32) && existsSync(elf64)) return { elf32, elf64 };
  const work = join(CACHE, `work-${key}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const objects: string[] = [];
  for (const [i, src] of sources.entries()) {
    const obj = join(work, `${i}.o`);
    await tool('gcc', [...CFLAGS, `-I${LIB}`, '-c', src, '-o', obj]);
    objects.push(obj);
  }
  const linked = join(work, 'image64.elf');
  await tool('ld', ['-m', 'elf_x86_64', '-nostdlib', '-z', 'noexecstack', '--no-warn-rwx-segments',
    '-T', join(LIB, 'guest.ld'), '-o', linked, ...objects]);
  const tmp32 = join(work, 'image32.elf');
  await tool('objcopy', ['-O', 'elf32-i386', linked, tmp32]);
  renameSync(linked, elf64);
  renameSync(tmp32, elf32);
  return { elf32, elf64 };
}
