// bench/fpu: soft-CPU throughput on x87/SSE workloads next to unicorn in the same run.
//
// usage: npx vite-node bench/fpu/run.ts [--iters N] [--runs R]
// Builds bench/fpu/bench.cc against native/soft (cached, see test/native/soft/build-tools.ts),
// runs it R times and prints every run's table: MIPS of the soft CPU and of unicorn on an
// SSE2 string scan, an SSE2 copy loop, packed/scalar float arithmetic and x87 arithmetic,
// and their ratio. Times are thread CPU time; quote the median run.
import { spawnSync } from 'node:child_process';
import { buildTool } from '../../test/native/soft/build-tools.js';

function arg(name: string, def: number): number {
  const k = process.argv.indexOf(name);
  return k >= 0 && k + 1 < process.argv.length ? Number(process.argv[k + 1]) : def;
}

const iters = arg('--iters', 5_000_000);
const runs = arg('--runs', 3);
const bin = await buildTool('fpbench');
for (let r = 0; r < runs; r++) {
  const out = spawnSync(bin, ['--iters', String(iters)], { encoding: 'utf8' });
  if (out.status !== 0) {
    process.stderr.write(out.stdout + out.stderr);
    process.exit(1);
  }
  process.stdout.write(`run ${r + 1}/${runs}\n${out.stdout}`);
}
