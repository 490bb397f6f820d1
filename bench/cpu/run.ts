// bench/cpu: soft-CPU throughput next to unicorn (QEMU's TCG as a library) in the same run.
//
// usage: npx vite-node bench/cpu/run.ts [--iters N] [--runs R]
// Builds bench/cpu/bench.cc against native/soft (cached, see test/native/soft/build-tools.ts),
// runs it R times and prints every run's table: MIPS of the soft CPU and of unicorn on a
// fixed integer loop and a memory-heavy loop (16 MiB, 4 KiB pages), their ratio, and the
// cost of one port-I/O exit through the CpuHost callback. Times are thread CPU time, so a
// busy shared machine inflates them less than wall time would; quote the median run.
import { spawnSync } from 'node:child_process';
import { buildTool } from '../../test/native/soft/build-tools.js';

function arg(name: string, def: number): number {
  const k = process.argv.indexOf(name);
  return k >= 0 && k + 1 < process.argv.length ? Number(process.argv[k + 1]) : def;
}

const iters = arg('--iters', 20_000_000);
const runs = arg('--runs', 3);
const bin = await buildTool('bench');
for (let r = 0; r < runs; r++) {
  const out = spawnSync(bin, ['--iters', String(iters)], { encoding: 'utf8' });
  if (out.status !== 0) {
    process.stderr.write(out.stdout + out.stderr);
    process.exit(1);
  }
  process.stdout.write(`run ${r + 1}/${runs}\n${out.stdout}`);
}
