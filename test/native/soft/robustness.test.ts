// Robustness and SMP of the soft CPU.
//
// - fuzz.cc under AddressSanitizer/UBSan: random guests in every mode with random system
//   structures and hostile host answers must never crash or hang the host.
// - smp.cc: LOCKed instructions are atomic across vCPU threads sharing memory, a vCPU sees
//   code rewritten by another, and request_stop() works from another thread.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTool } from './build-tools.js';

describe('soft CPU robustness', () => {
  // The sanitizer build of the whole CPU is the slow part (minutes on a loaded 2-core
  // machine); it gets its own budget so the per-seed limit measures the run alone.
  let bin = '';
  beforeAll(async () => {
    bin = await buildTool('fuzz');
  }, 1_500_000);

  for (const seed of [1, 2, 3]) {
    it(`hostile random guests (seed ${seed}) never crash the host`, () => {
      const args = ['--cases', '150', '--seed', String(seed)];
      const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 240_000 });
      expect(r.status, `${bin} ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^OK /);
    }, 300_000);
  }
});

describe('soft CPU SMP', () => {
  it('atomic LOCK operations, cross-modifying code (also through compiled stores) and request_stop across threads', async () => {
    const bin = await buildTool('smp');
    const r = spawnSync(bin, ['--cpus', '4', '--iters', '100000'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/PASS: a compiled store through a write tag older than the page's code/);
  }, 600_000);
});
