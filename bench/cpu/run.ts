// bench/cpu: soft-CPU throughput next to unicorn (QEMU's TCG as a library) in the same run.
//
// usage: npx vite-node bench/cpu/run.ts [--iters N] [--runs R]
// Builds bench/cpu/bench.cc against native/soft (cached, see test/native/soft/build-tools.ts),
// runs it R times and prints every run's table: MIPS of the soft CPU and of unicorn on a
// fixed integer loop and a memory-heavy loop (16 MiB, 4 KiB pages), their ratio, and the
// cost of one port-I/O exit through the CpuHost callback. Times are thread CPU time, so a
// busy shared machine inflates them less than wall time would; quote the median run.
import { runSoftCpuBench } from '../soft-cpu-runs.js';

await runSoftCpuBench('bench', 20_000_000);
