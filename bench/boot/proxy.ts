/**
 * bench/boot/proxy: a short, repeatable slice of the Linux boot for soft-CPU tuning.
 *
 * Boots the test guest (same kernel, initramfs, devices and command line as bench/boot) on
 * tsbhyve directly, 1 vCPU, and stops it as soon as a console line appears — by default
 * "Linux version", i.e. the bzImage's own xz decompressor and nothing else (the phase that
 * dominates the soft CPU's boot time). `--until 'Run /init'` takes the kernel's own start
 * too. Prints the wall time and CPU time (user + system, the process tree) of every phase
 * mark it saw, and the CPU time at the stop mark: on a shared, loaded machine CPU time is the steadier figure.
 * With `--perf FILE`, the tsbhyve process runs under `perf record` (user-space samples;
 * read with `perf report -i FILE --no-children`). It measures the soft CPU only: QEMU is
 * not run here — bench/boot gives the ratio against QEMU TCG.
 *
 * Run: npm run build && npx vite-node bench/boot/proxy.ts [-- --runs 3 --until 'Linux version' --vcpus 2 --perf /tmp/p.data
 *      --set tsvirt.posted_writes=false --stderr /tmp/tsbhyve.err]
 * `--stderr FILE` keeps tsbhyve's standard error (e.g. the TSVIRT_SOFT_JIT_STATS report).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { linuxAssets, prepareRun } from '../../test/linux/guest/prepare.js';
import { TSBHYVE_JS, tsbhyveArgs } from '../../test/linux/tsbhyve/tsbhyve-boot.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const UNTIL = opt('until', 'Linux version');
const RUNS = Number(opt('runs', '1'));
const PERF = opt('perf', '');
const TIMEOUT_MS = Number(opt('timeout', '600')) * 1000;
// `--set KEY=VALUE[,KEY=VALUE]`: tsbhyve `-o` config settings (A/B runs, e.g. tsvirt.posted_writes=false).
const SETTINGS = opt('set', '').split(',').filter(Boolean);
const STDERR = opt('stderr', '');
const VCPUS = Number(opt('vcpus', '1'));
const MARKS = ['KASLR disabled', 'Linux version', 'Run /init', 'TSVIRT-RESULT'];

/** CPU seconds (user + system) used so far by pid and its descendants, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let t = (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in USER_HZ
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)) t += cpuSeconds(Number(c));
    return t;
  } catch {
    return 0;
  }
}

interface Outcome {
  ms: number | undefined;
  marks: Map<string, number>;
  /** CPU seconds of the tsbhyve process tree when each mark arrived. */
  cpuAt: Map<string, number>;
  cpu: number | undefined;
  tail: string;
}

async function once(): Promise<Outcome> {
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(`Linux guest assets unavailable: ${got.missing}`);
  const run = await prepareRun(got, { vcpus: VCPUS, timeoutMs: TIMEOUT_MS });
  try {
    const args = [TSBHYVE_JS, ...tsbhyveArgs(run.spec, `proxy${process.pid}`)];
    args.splice(args.length - 1, 0, ...SETTINGS.flatMap((kv) => ['-o', kv]));
    const cmd = PERF ? 'perf' : process.execPath;
    const argv = PERF ? ['record', '-F', '499', '-o', PERF, '--', process.execPath, ...args] : args;
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const marks = new Map<string, number>();
    const cpuAt = new Map<string, number>();
    let ms: number | undefined;
    let cpu: number | undefined;
    const done = new Promise<void>((ok) => {
      const timer = setTimeout(() => {
        child.kill('SIGINT');
        ok();
      }, TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        text = (text + d).slice(-4096);
        const now = performance.now() - t0;
        for (const m of MARKS) {
          if (!marks.has(m) && text.includes(m)) {
            marks.set(m, now);
            cpuAt.set(m, cpuSeconds(child.pid!));
          }
        }
        if (ms === undefined && text.includes(UNTIL)) {
          ms = now;
          cpu = cpuSeconds(child.pid!);
          clearTimeout(timer);
          // SIGINT lets perf write its file; tsbhyve alone dies of it the same way.
          child.kill('SIGINT');
          ok();
        }
      });
      child.on('close', () => {
        clearTimeout(timer);
        ok();
      });
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (STDERR) appendFileSync(STDERR, d);
    });
    await done;
    await new Promise<void>((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.on('close', () => ok())));
    return { ms, marks, cpuAt, cpu, tail: text.slice(-300) };
  } finally {
    await run.dispose();
  }
}

const sec = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
const times: number[] = [];
const cpus: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const o = await once();
  const marks = MARKS.filter((m) => o.marks.has(m)).map((m) => `${m}@${sec(o.marks.get(m))}/cpu ${o.cpuAt.get(m)?.toFixed(2)}`).join('  ');
  if (o.ms === undefined) {
    console.log(`run ${r + 1}: '${UNTIL}' not seen (${marks}); console tail: ${JSON.stringify(o.tail)}`);
    process.exitCode = 1;
    continue;
  }
  times.push(o.ms);
  if (o.cpu !== undefined) cpus.push(o.cpu);
  console.log(`run ${r + 1}: '${UNTIL}' at ${sec(o.ms)} s, CPU ${o.cpu?.toFixed(2) ?? '-'} s   (${marks})`);
}
if (times.length) {
  const s = [...times].sort((a, b) => a - b);
  const c = [...cpus].sort((a, b) => a - b);
  console.log(`wall: min ${sec(s[0])} s  median ${sec(s[s.length >> 1])} s;  CPU: min ${c[0]?.toFixed(2)} s  median ${c[c.length >> 1]?.toFixed(2)} s;  ${s.length} run(s)`);
}
