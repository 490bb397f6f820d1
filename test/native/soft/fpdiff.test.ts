// Differential test of the soft CPU's x87/MMX/SSE families against unicorn and the host
// processor (fpdiff.h explains the three engines and what is compared).
//
// Runs the fpdiff tool once per family group and checks every family ran its cases with no
// mismatch. Unicorn deviations from the hardware are documented in fpdiff_main.cc and
// reported, not failed. FPDIFF_COUNT overrides the number of cases per family.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTool } from './build-tools.js';

const run = promisify(execFile);
const COUNT = Number(process.env.FPDIFF_COUNT ?? 2000);

let tool = '';

beforeAll(async () => {
  tool = await buildTool('fpdiff');
}, 900_000);

interface FamilyLine {
  name: string;
  cases: number;
  mismatches: number;
}

async function fpdiff(prefix: string, seed: number): Promise<{ families: FamilyLine[]; out: string }> {
  let out = '';
  try {
    const r = await run(tool, ['--family', prefix, '--count', String(COUNT), '--seed', String(seed)], {
      maxBuffer: 64 << 20,
    });
    out = r.stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    out = `${e.stdout ?? ''}${e.stderr ?? e.message}`;
  }
  const families: FamilyLine[] = [];
  for (const m of out.matchAll(/^family (\S+): (\d+) cases, (\d+) mismatches/gm)) {
    families.push({ name: m[1], cases: Number(m[2]), mismatches: Number(m[3]) });
  }
  return { families, out };
}

const GROUPS: { prefix: string; families: string[] }[] = [
  { prefix: 'x87', families: ['x87-arith', 'x87-ldst', 'x87-stack', 'x87-cmp', 'x87-special', 'x87-control'] },
  { prefix: 'mmx', families: ['mmx'] },
  { prefix: 'sse', families: ['sse-int', 'sse-move', 'sse-fp', 'sse-cvt', 'sse41', 'sse42'] },
  { prefix: 'ssse3', families: ['ssse3'] },
];

describe('fpdiff: soft CPU vs unicorn vs host processor', () => {
  for (const group of GROUPS) {
    it(`${group.prefix} families agree`, async () => {
      const { families, out } = await fpdiff(group.prefix, 1);
      expect(families.map((f) => f.name).sort(), out).toEqual([...group.families].sort());
      for (const f of families) {
        expect(f.cases, f.name).toBe(COUNT);
        expect(f.mismatches, `${f.name}\n${out}`).toBe(0);
      }
    }, 600_000);
  }
});
