// Differential tests of the soft CPU against unicorn, per instruction family and mode.
//
// The C++ tester (difftest.cc) generates random instances of every user-level instruction
// the family implements and compares registers, defined flags and memory with unicorn.
// Seeds are fixed so a failure reproduces with the printed command line.
// (The compiled-block runs need TSVIRT_SOFT_JIT=1 in the environment, as printed.)
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTool } from './build-tools.js';

const FAMILIES = ['alu', 'mov', 'stack', 'shift', 'muldiv', 'bit', 'atomic', 'string', 'misc', 'branch'];
const MODES = [64, 32, 16];
const CASES = 4000;

let difftest = '';

beforeAll(async () => {
  difftest = await buildTool('difftest');
}, 600_000);

describe('soft CPU vs unicorn', () => {
  for (const mode of MODES) {
    for (const family of FAMILIES) {
      it(`${family} in ${mode}-bit mode`, () => {
        const args = ['--mode', String(mode), '--family', family, '--cases', String(CASES), '--seed', '20251127'];
        const r = spawnSync(difftest, args, { encoding: 'utf8', timeout: 120_000 });
        expect(r.status, `${difftest} ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/^OK /);
      }, 180_000);
    }
  }
});

// The same cases run as compiled blocks (native/soft/jit.h): each case's block is compiled
// on its first execution, so inline forms, handler calls and TLB-miss paths all meet unicorn.
describe('soft CPU compiled blocks vs unicorn', () => {
  for (const family of FAMILIES) {
    it(`${family} in 64-bit mode, compiled`, () => {
      const args = ['--mode', '64', '--family', family, '--cases', String(CASES), '--seed', '20261128', '--jit'];
      const r = spawnSync(difftest, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TSVIRT_SOFT_JIT: '1' } });
      expect(r.status, `TSVIRT_SOFT_JIT=1 ${difftest} ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^OK /);
    }, 180_000);
  }
});

// Whole blocks of 12 random instructions: compiled and interpreted runs must end in the
// same state, undefined flags included (the compiled code records flags as handlers do).
describe('soft CPU compiled blocks vs interpreted blocks', () => {
  // alu+shift: rotates after the flag writers whose lazy flags they keep (jit.cc shift()).
  for (const family of ['alu', 'mov', 'stack', 'shift', 'muldiv', 'bit', 'misc', 'atomic', 'alu+shift']) {
    it(`${family}: 12-instruction blocks`, () => {
      const args = ['--mode', '64', '--family', family, '--cases', '3000', '--seed', '20261128', '--seq', '12'];
      const run = (jit: string) =>
        spawnSync(difftest, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TSVIRT_SOFT_JIT: jit, TSVIRT_SOFT_JIT_STATS: '1' } });
      const compiled = run('1');
      const interpreted = run('off');
      expect(compiled.status, compiled.stderr).toBe(0);
      expect(interpreted.status, interpreted.stderr).toBe(0);
      const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('case '));
      expect(lines(compiled.stdout).length).toBeGreaterThan(2000);
      // The compiled run really ran compiled blocks (the JIT's statistics line), the other none.
      const blocks = (err: string) => Number(/soft jit: compiled (\d+) blocks alone/.exec(err)?.[1] ?? 0);
      expect(blocks(compiled.stderr)).toBeGreaterThan(1000);
      expect(blocks(interpreted.stderr)).toBe(0);
      expect(lines(compiled.stdout)).toEqual(lines(interpreted.stdout));
    }, 180_000);
  }
});
