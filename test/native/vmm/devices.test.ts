// The in-vmm devices without a CPU: unit checks and a two-thread fuzzer
// (test/native/vmm/device_tests.cc) built with AddressSanitizer and UBSan. Runs on any
// host (no KVM, no soft CPU needed).
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CACHE = join(ROOT, 'node_modules/.cache/tsvirt-vmm/native');
const DEVICES = join(ROOT, 'native/vmm/devices');

function sources(): string[] {
  const devs = readdirSync(DEVICES).filter((f) => f.endsWith('.cc')).sort().map((f) => join(DEVICES, f));
  return [join(ROOT, 'test/native/vmm/device_tests.cc'), join(ROOT, 'native/vmm/timer.cc'), ...devs];
}

async function build(): Promise<string> {
  const inputs = [
    ...sources(),
    ...readdirSync(DEVICES).filter((f) => f.endsWith('.h')).map((f) => join(DEVICES, f)),
    ...readdirSync(join(ROOT, 'native/vmm')).filter((f) => f.endsWith('.h')).map((f) => join(ROOT, 'native/vmm', f)),
  ];
  const h = createHash('sha256');
  for (const f of inputs.sort()) h.update(f).update(readFileSync(f));
  const bin = join(CACHE, `device_tests-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  await run('nice', ['g++', '-std=c++17', '-O1', '-g', '-Wall', '-Wextra', '-Werror',
    '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', `-I${join(ROOT, 'native')}`,
    ...sources(), '-o', tmp, '-lpthread'], { maxBuffer: 16 << 20 });
  renameSync(tmp, bin);
  return bin;
}

let binary = '';
beforeAll(async () => {
  binary = await build();
}, 600_000);

describe('in-vmm devices (native, ASan/UBSan)', () => {
  it('pass their unit checks and survive 1M fuzzed accesses from two threads', async () => {
    let stdout = '';
    try {
      ({ stdout } = await run(binary, ['1000000'], { maxBuffer: 16 << 20, timeout: 240_000 }));
    } catch (err) {
      stdout = (err as { stdout?: string }).stdout ?? String(err);
    }
    const failed = stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failed).toEqual([]);
    expect(stdout).toContain('ok fuzz: every device survived');
    expect(stdout.trim().endsWith('ALL PASS')).toBe(true);
  }, 300_000);
});
