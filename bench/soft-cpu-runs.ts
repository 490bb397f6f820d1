// Shared by bench/cpu and bench/fpu: builds one of the soft CPU's native bench tools
// (cached, see test/native/soft/build-tools.ts), runs it `--runs R` times with `--iters N`
// and prints each run's table as the tool prints it. Exits 1 when a run fails.
import { spawnSync } from 'node:child_process';
import { buildTool, type Tool } from '../test/native/soft/build-tools.js';

function arg(name: string, def: number): number {
  const k = process.argv.indexOf(name);
  return k >= 0 && k + 1 < process.argv.length ? Number(process.argv[k + 1]) : def;
}

export async function runSoftCpuBench(tool: Tool, defaultIters: number): Promise<void> {
  const iters = arg('--iters', defaultIters);
  const runs = arg('--runs', 3);
  const bin = await buildTool(tool);
  for (let r = 0; r < runs; r++) {
    const out = spawnSync(bin, ['--iters', String(iters)], { encoding: 'utf8' });
    if (out.status !== 0) {
      process.stderr.write(out.stdout + out.stderr);
      process.exit(1);
    }
    process.stdout.write(`run ${r + 1}/${runs}\n${out.stdout}`);
  }
}
