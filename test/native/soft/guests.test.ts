// Guest programs (fixtures/guests/) on the soft CPU, cross-checked with QEMU TCG.
//
// Each guest reports PASS/FAIL lines on COM1 and exits through isa-debug-exit; a passing
// guest exits with status 1 ((0 << 1) | 1). The soft CPU must pass every test. Then both
// run with "tcg-compat" on the command line, where guests skip the few checks of
// architectural behaviour QEMU's TCG gets wrong (each named in the guest, printed as
// SKIP), and QEMU and the soft CPU must print the same serial output and exit status.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, buildTool, have } from './build-tools.js';
import { normalise, runQemu, runSoft } from './guest-run.js';

const GUESTS = ['hello', 'modes', 'exceptions', 'paging', 'usermode', 'interrupts', 'strings', 'smc', 'mmio', 'debug', 'cpufeat'];

let runner = '';
let qemu = false;

beforeAll(async () => {
  runner = await buildTool('runner');
  qemu = await have('qemu-system-x86_64');
}, 600_000);

describe('guest programs on the soft CPU', () => {
  for (const name of GUESTS) {
    it(`${name}: passes, and matches QEMU TCG`, async () => {
      const elf = await buildGuest(name);
      const soft = await runSoft(runner, elf);
      const out = normalise(soft.stdout);
      expect(out, soft.stderr).toMatch(/SUMMARY: \d+ tests\n/);
      expect(out).not.toMatch(/FAIL:/);
      expect(soft.status, soft.stderr).toBe(1);
      if (!qemu) {
        console.warn('qemu-system-x86_64 not installed: cross-check skipped');
        return;
      }
      const compat = await runSoft(runner, elf, ['tcg-compat']);
      const ref = await runQemu(elf, ['tcg-compat']);
      expect(normalise(compat.stdout)).toBe(normalise(ref.stdout));
      expect(compat.status).toBe(ref.status);
    }, 300_000);
  }
});
