// Builds the native test tools of the soft CPU (guest runner, differential tester, bench)
// and the freestanding guest programs, with a content-addressed cache.
//
// Outputs live in node_modules/.cache/tsvirt-soft/ (gitignored): one object per source file
// keyed by the hash of the file, every header it may include and the flags, and one binary
// per tool keyed by its objects. Reruns with unchanged sources cost a few hashes. Builds run
// under `nice` with at most two compilers at once (the machine is shared), and outputs are
// renamed into place so concurrent test workers never see half-written files.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CACHE = join(ROOT, 'node_modules/.cache/tsvirt-soft');
const SOFT_DIR = join(ROOT, 'native/soft');
const TEST_DIR = join(ROOT, 'test/native/soft');
const GUESTS_DIR = join(ROOT, 'fixtures/guests');

const CXXFLAGS = ['-std=c++17', '-O2', '-g0', '-Wall', '-Wextra', '-Werror', `-I${join(ROOT, 'native')}`, `-I${TEST_DIR}`];
const GUEST_CFLAGS = [
  '-m64', '-ffreestanding', '-fno-pic', '-fno-pie', '-mno-red-zone', '-mgeneral-regs-only', '-O2',
  '-nostdlib', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-Wall', '-Wextra', '-Werror',
  '-Wa,--noexecstack',
];

function sha(parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

function listFiles(dir: string, exts: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** Runs at most `limit` async jobs at once. */
async function pool<T>(jobs: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < jobs.length) {
      const k = next++;
      out[k] = await jobs[k]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

async function compileOnce(out: string, cmd: string, args: string[]): Promise<void> {
  if (existsSync(out)) return;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const outIndex = args.indexOf('@OUT@');
  const real = args.slice();
  real[outIndex] = tmp;
  try {
    await run('nice', [cmd, ...real], { maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} failed for ${relative(ROOT, out)}:\n${e.stderr ?? e.message}`);
  }
  renameSync(tmp, out);
}

export type Tool = 'runner' | 'difftest' | 'bench' | 'fuzz' | 'smp' | 'api' | 'fpdiff' | 'fpbench';

const TOOL_SOURCES: Record<Tool, string[]> = {
  runner: [join(TEST_DIR, 'machine.cc'), join(TEST_DIR, 'runner.cc')],
  difftest: [join(TEST_DIR, 'difftest.cc')],
  bench: [join(ROOT, 'bench/cpu/bench.cc')],
  fuzz: [join(TEST_DIR, 'fuzz.cc')],
  smp: [join(TEST_DIR, 'smp.cc')],
  api: [join(TEST_DIR, 'api.cc')],
  fpdiff: ['fpdiff_main.cc', 'fpdiff_engines.cc', 'fpdiff_gen.cc', 'fpdiff_x87.cc', 'fpdiff_sse.cc', 'fpdiff_sse_tables.cc'].map(
    (f) => join(TEST_DIR, f),
  ),
  fpbench: [join(ROOT, 'bench/fpu/bench.cc')],
};
const TOOL_LIBS: Record<Tool, string[]> = {
  runner: [], difftest: ['-lunicorn'], bench: ['-lunicorn'], fuzz: [], smp: [], api: [], fpdiff: ['-lunicorn'], fpbench: ['-lunicorn'],
};
// The fuzzer runs the CPU under AddressSanitizer and UndefinedBehaviorSanitizer.
const SANITIZE = ['-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'];
const TOOL_FLAGS: Record<Tool, string[]> = { runner: [], difftest: [], bench: [], fuzz: SANITIZE, smp: [], api: [], fpdiff: [], fpbench: [] };

/** Builds (or finds in the cache) a test tool linked with every native/soft source. */
export async function buildTool(tool: Tool, extraDirs: string[] = []): Promise<string> {
  const headers = [
    ...listFiles(SOFT_DIR, ['.h']),
    join(ROOT, 'native/vmm/x86_state.h'),
    ...listFiles(TEST_DIR, ['.h']),
  ];
  const flags = [...CXXFLAGS, ...TOOL_FLAGS[tool]];
  const headerHash = sha([...headers.map((h) => readFileSync(h)), flags.join(' ')]);
  const sources = [
    ...listFiles(SOFT_DIR, ['.cc']),
    ...TOOL_SOURCES[tool],
    ...extraDirs.flatMap((d) => listFiles(d, ['.cc'])),
  ];
  const objects = await pool(
    sources.map((src) => async () => {
      const key = sha([readFileSync(src), headerHash]);
      const obj = join(CACHE, 'obj', `${relative(ROOT, src).replace(/[\\/]/g, '_')}-${key}.o`);
      await compileOnce(obj, 'g++', [...flags, '-c', src, '-o', '@OUT@']);
      return obj;
    }),
  );
  const bin = join(CACHE, 'bin', `${tool}-${sha(objects)}`);
  await compileOnce(bin, 'g++', [...TOOL_FLAGS[tool], ...objects, '-o', '@OUT@', '-lpthread', ...TOOL_LIBS[tool]]);
  return bin;
}

/** Builds the guest program fixtures/guests/<name> (all its .c/.S plus lib/) as ELF32. */
export async function buildGuest(name: string): Promise<string> {
  const libDir = join(GUESTS_DIR, 'lib');
  const dir = join(GUESTS_DIR, name);
  const sources = [...listFiles(libDir, ['.c', '.S']), ...listFiles(dir, ['.c', '.S'])];
  const headers = [...listFiles(libDir, ['.h', '.ld']), ...listFiles(dir, ['.h'])];
  const key = sha([...sources, ...headers].map((f) => readFileSync(f)).concat([Buffer.from(GUEST_CFLAGS.join(' '))]));
  const out = join(CACHE, 'guests', `${name}-${key}.elf`);
  if (existsSync(out)) return out;
  const work = join(CACHE, 'guests', `${name}-${key}.d`);
  mkdirSync(work, { recursive: true });
  const objects = await pool(
    sources.map((src) => async () => {
      const obj = join(work, `${relative(GUESTS_DIR, src).replace(/[\\/]/g, '_')}.o`);
      await compileOnce(obj, 'gcc', [...GUEST_CFLAGS, `-I${libDir}`, `-I${dir}`, '-c', src, '-o', '@OUT@']);
      return obj;
    }),
  );
  const elf64 = join(work, 'image64.elf');
  await compileOnce(elf64, 'ld', ['-m', 'elf_x86_64', '-nostdlib', '-z', 'noexecstack', '--no-warn-rwx-segments',
    '-T', join(libDir, 'guest.ld'), '-o', '@OUT@', ...objects]);
  await compileOnce(out, 'objcopy', ['-O', 'elf32-i386', elf64, '@OUT@']);
  return out;
}

/** True when a program is on PATH. */
export async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}
