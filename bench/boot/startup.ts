/**
 * bench/boot/startup: where the seconds go between `tsvirsh start --console` and the guest's
 * first instruction (issue 10), step by step, with the same guest as bench/boot.
 *
 * Every process of the start path writes timestamped marks when TSVIRT_STARTUP_TRACE names
 * a file (src/driver/start-trace.ts, src/emulator/start-trace.ts): tsvirsh (node start-up,
 * module loading, driver open, translation, supervisor spawn and report, console attach),
 * the supervisor (start-up, VM spawn, control-socket greeting, report) and tsbhyve (start-up,
 * module loading, config, VM and memory, devices, firmware tables, kernel and initrd,
 * control socket, `vcpus run` = the first guest instruction). The bench adds the arrival of
 * the first console byte and of the `--until` line (default "Linux version") on its side
 * of the pseudo-terminal, then destroys the domain.
 *
 * Stacks: `tsvirt` (tsvirsh embedded: define untimed, then `start --console` under
 * script(1), as bench/boot does) and `tsbhyve` (the VM process alone, argv as in
 * test/linux/tsbhyve/, the reference for what the management stack adds).
 * The table lists each mark's median time since the clock started (just before the
 * spawn) and the median step from the mark before it, over --runs runs per stack.
 * `--builds DIR,DIR` runs each stack from each of several built trees (a same-minute A/B:
 * e.g. a checkout of main and this tree), rounds interleaved; a tree without the trace
 * marks still gets the bench's own console marks.
 *
 * Run: npm run build && npx vite-node bench/boot/startup.ts [-- --runs 3 --stacks tsvirt,tsbhyve
 *      --until 'Linux version' --vcpus 1 --builds /tmp/main,.]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { linuxAssets, prepareRun, type LinuxAssets } from '../../test/linux/guest/prepare.js';
import { TSBHYVE_JS, tsbhyveArgs } from '../../test/linux/tsbhyve/tsbhyve-boot.js';
import { renderDomainXml } from '../../test/linux/tsvirt/domain.js';
import { TSVIRSH_JS, tsvirsh } from '../../test/linux/tsvirt/tsvirt-boot.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const RUNS = Number(opt('runs', '3'));
const STACKS = opt('stacks', 'tsvirt,tsbhyve').split(',') as Array<'tsvirt' | 'tsbhyve'>;
const UNTIL = opt('until', 'Linux version');
const VCPUS = Number(opt('vcpus', '1'));
const TIMEOUT_MS = Number(opt('timeout', '120')) * 1000;
const BUILDS = opt('builds', '').split(',').filter(Boolean).map((d) => resolve(d));

interface Variant {
  label: string;
  stack: 'tsvirt' | 'tsbhyve';
  tsvirshJs: string;
  tsbhyveJs: string;
}
const VARIANTS: Variant[] = BUILDS.length
  ? BUILDS.flatMap((d) => STACKS.map((stack) => ({ label: `${stack} (${basename(d)})`, stack, tsvirshJs: join(d, 'dist', 'cli', 'tsvirsh.js'), tsbhyveJs: join(d, 'dist', 'cli', 'tsbhyve.js') })))
  : STACKS.map((stack) => ({ label: stack, stack, tsvirshJs: TSVIRSH_JS, tsbhyveJs: TSBHYVE_JS }));

interface Mark {
  /** proc + label: the row of the table. */
  key: string;
  ms: number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

function shellQuote(a: string): string {
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Reads the trace file: `EPOCH_MS PID PROC LABEL` lines, as ms since t0. */
function readTrace(file: string, t0: number): Mark[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Mark[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\d+\.\d+) (\d+) (\S+) (.*)$/.exec(l);
    if (m) out.push({ key: `${m[3]}: ${m[4]}`, ms: Number(m[1]) - t0 });
  }
  return out;
}

/** Spawns argv, watches its output for the first byte and UNTIL, then calls stop(). */
async function watch(cmd: string, args: string[], env: NodeJS.ProcessEnv, t0: number, stop: () => void): Promise<Mark[]> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const marks: Mark[] = [];
  let text = '';
  let done = false;
  await new Promise<void>((ok) => {
    const timer = setTimeout(() => {
      marks.push({ key: `bench: timed out waiting for '${UNTIL}'`, ms: epochNow() - t0 });
      finish();
    }, TIMEOUT_MS);
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      ok();
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const now = epochNow() - t0;
      if (text === '') marks.push({ key: 'bench: first console byte', ms: now });
      text = (text + d).slice(-8192);
      if (!done && text.includes(UNTIL)) {
        marks.push({ key: `bench: console '${UNTIL}'`, ms: now });
        finish();
      }
    });
    child.stderr!.on('data', () => undefined);
    child.on('close', finish);
  });
  await new Promise<void>((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.once('close', () => ok())));
  return marks;
}

async function runOnce(assets: LinuxAssets, v: Variant): Promise<Mark[]> {
  const stack = v.stack;
  const run = await prepareRun(assets, { vcpus: VCPUS, timeoutMs: TIMEOUT_MS });
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-startup-'));
  const trace = join(dir, 'trace');
  const env = { ...process.env, TSVIRT_STARTUP_TRACE: trace };
  try {
    let marks: Mark[];
    let t0: number;
    if (stack === 'tsvirt') {
      const uri = `bhyve:///embed?root=${join(dir, 'root')}`;
      const name = `startup-${process.pid}`;
      const xml = join(dir, 'domain.xml');
      writeFileSync(xml, renderDomainXml(run.spec, name));
      const def = tsvirsh(uri, ['define', xml], v.tsvirshJs);
      if (def.status !== 0) throw new Error(`tsvirsh define: ${def.stderr}`);
      const argv = [process.execPath, v.tsvirshJs, '-c', uri, 'start', '--console', name];
      t0 = epochNow();
      marks = await watch('script', ['-q', '-f', '-e', '-c', argv.map(shellQuote).join(' '), '/dev/null'], env, t0, () => {
        spawnSync(process.execPath, [v.tsvirshJs, '-c', uri, 'destroy', name], { stdio: 'ignore' });
      });
      spawnSync(process.execPath, [v.tsvirshJs, '-c', uri, 'undefine', name], { stdio: 'ignore' });
    } else {
      t0 = epochNow();
      marks = await watch(process.execPath, [v.tsbhyveJs, ...tsbhyveArgs(run.spec, `startup${process.pid}`)], env, t0, () => undefined);
    }
    return [...readTrace(trace, t0), ...marks].sort((a, b) => a.ms - b.ms);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await run.dispose();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(`Linux guest assets unavailable: ${got.missing}`);
  console.log(`bench/boot/startup: ${VCPUS} vCPU, ${RUNS} run(s) per stack, until '${UNTIL}'; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`);
  const runs = new Map<string, Mark[][]>();
  for (let r = 0; r < RUNS; r++) {
    // Alternate the order so neither variant always runs on a warmer cache.
    for (const v of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      const marks = await runOnce(got, v);
      (runs.get(v.label) ?? runs.set(v.label, []).get(v.label)!).push(marks);
    }
  }
  for (const { label: stack } of VARIANTS) {
    const all = runs.get(stack) ?? [];
    // Rows in the order of the first run; a mark missing from a run is left out of its median.
    const order: string[] = [];
    for (const ms of all) for (const m of ms) if (!order.includes(m.key)) order.push(m.key);
    const at = (key: string) => all.flatMap((ms) => ms.filter((m) => m.key === key).map((m) => m.ms));
    const rows = order.map((key) => ({ key, ms: median(at(key)), n: at(key).length })).sort((a, b) => a.ms - b.ms);
    console.log(`\n${stack} (load average ${loadavg()[0]!.toFixed(1)} at the end)`);
    console.log('     at ms   step ms   mark');
    let prev = 0;
    for (const r of rows) {
      console.log(`  ${r.ms.toFixed(0).padStart(8)}  ${(r.ms - prev).toFixed(0).padStart(8)}   ${r.key}${r.n < all.length ? ` (${r.n}/${all.length} runs)` : ''}`);
      prev = r.ms;
    }
  }
}

await main();
