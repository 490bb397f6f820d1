/**
 * Builds the lifecycle test guest (fixtures/domains/lifecycle-guest: freestanding C and
 * assembly, a Multiboot v1 ELF) with the host's gcc and ld, once per source version, into
 * node_modules/.cache. Returns undefined (with the reason) when the toolchain is missing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './build.js';

const SRC = join(REPO_ROOT, 'fixtures', 'domains', 'lifecycle-guest');
const CFLAGS = ['-m32', '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-mno-sse', '-mno-mmx', '-mno-80387', '-O2', '-Wall', '-Wextra', '-Werror', '--param=min-pagesize=0'];

export function buildGuest(): { elf: string } | { missing: string } {
  const files = ['guest.c', 'entry.S', 'link.ld'];
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(SRC, f)));
  h.update(CFLAGS.join(' '));
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-life-guest', h.digest('hex').slice(0, 16));
  const elf = join(dir, 'lifecycle-guest.elf');
  if (existsSync(elf)) return { elf };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync('gcc', [...CFLAGS, '-c', join(SRC, 'guest.c'), '-o', join(tmp, 'guest.o')], { stdio: 'pipe' });
    execFileSync('gcc', ['-m32', '-c', join(SRC, 'entry.S'), '-o', join(tmp, 'entry.o')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_i386', '-T', join(SRC, 'link.ld'), '--build-id=none', '-o', join(tmp, 'lifecycle-guest.elf'), join(tmp, 'entry.o'), join(tmp, 'guest.o')], { stdio: 'pipe' });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    return { missing: `cannot build the lifecycle guest with gcc -m32 and ld: ${e.stderr?.toString().trim() || e.message}` };
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { elf };
}
