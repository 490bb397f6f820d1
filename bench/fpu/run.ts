// bench/fpu: soft-CPU throughput on x87/SSE workloads next to unicorn in the same run.
//
// usage: npx vite-node bench/fpu/run.ts [--iters N] [--runs R]
// Builds bench/fpu/bench.cc against native/soft (cached, see test/native/soft/build-tools.ts),
// runs it R times and prints every run's table: MIPS of the soft CPU and of unicorn on an
// SSE2 string scan, an SSE2 copy loop, packed/scalar float arithmetic and x87 arithmetic,
// and their ratio. Times are thread CPU time; quote the median run.
import { runSoftCpuBench } from '../soft-cpu-runs.js';

await runSoftCpuBench('fpbench', 5_000_000);
