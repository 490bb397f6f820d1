// Builds the vmm's guest programs: fixtures/guests/vmm/<name>/ linked with the shared
// guest library (fixtures/guests/lib, same flags and link script as
// test/native/soft/build-tools.ts) and the vmm test helpers in fixtures/guests/vmm/common/.
// Outputs are cached by content hash in node_modules/.cache/tsvirt-vmm/ and renamed into
// place, so parallel test files never see half-written images; compilers run under nice.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CACHE = join(ROOT, 'node_modules/.cache/tsvirt-vmm');
const LIB = join(ROOT, 'fixtures/guests/lib');
const COMMON = join(ROOT, 'fixtures/guests/vmm/common');

const CFLAGS = [
  '-m64', '-ffreestanding', '-fno-pic', '-fno-pie', '-mno-red-zone', '-mgeneral-regs-only', '-O2',
  '-nostdlib', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-Wall', '-Wextra', '-Werror',
  '-Wa,--noexecstack',
];

/** The files of dir with one of these endings, sorted, as full paths ([] if dir is absent). */
export function files(dir: string, exts: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .sort()
    .map((f) => join(dir, f));
}

/** Runs a build tool under nice; a failure carries the tool's stderr. */
export async function tool(cmd: string, args: string[]): Promise<void> {
  try {
    await run('nice', [cmd, ...args], { maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} failed:\n${e.stderr ?? e.message}`);
  }
}

/** Builds fixtures/guests/vmm/<name> and returns the path of its Multiboot ELF32 image. */
export async function buildVmmGuest(name: string): Promise<string> {
  const dir = join(ROOT, 'fixtures/guests/vmm', name);
  if (!existsSync(dir)) throw new Error(`no guest program fixtures/guests/vmm/${name}`);
  const sources = [...files(LIB, ['.c', '.S']), ...files(COMMON, ['.c', '.S']), ...files(dir, ['.c', '.S'])];
  const inputs = [...sources, ...files(LIB, ['.h', '.ld']), ...files(COMMON, ['.h']), ...files(dir, ['.h'])];
  const h = createHash('sha256');
  for (const f of inputs) h.update(f).update(readFileSync(f));
  h.update(CFLAGS.join(' '));
  const key = h.digest('hex').slice(0, 16);
  const out = join(CACHE, `${name}-${key}.elf`);
  if (existsSync(out)) return out;
  const work = join(CACHE, `${name}-${key}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  mkdirSync(work, { recursive: true });
  const objects: string[] = [];
  // Two compilers at a time: the machine is shared.
  for (let i = 0; i < sources.length; i += 2) {
    const batch = sources.slice(i, i + 2).map(async (src, k) => {
      const obj = join(work, `${i + k}.o`);
      await tool('gcc', [...CFLAGS, `-I${LIB}`, `-I${COMMON}`, `-I${dir}`, '-c', src, '-o', obj]);
      return obj;
    });
    objects.push(...(await Promise.all(batch)));
  }
  const elf64 = join(work, 'image64.elf');
  await tool('ld', ['-m', 'elf_x86_64', '-nostdlib', '-z', 'noexecstack', '--no-warn-rwx-segments',
    '-T', join(LIB, 'guest.ld'), '-o', elf64, ...objects]);
  const tmp = `${out}.${process.pid}.tmp`;
  await tool('objcopy', ['-O', 'elf32-i386', elf64, tmp]);
  renameSync(tmp, out);
  return out;
}
