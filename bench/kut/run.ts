/**
 * bench/kut: kvm-unit-tests' x86_64 suite on tsbhyve (soft CPU), optionally side by side with
 * QEMU TCG run exactly as the suite's own harness runs it, in the same run.
 *
 * Reads KUT_DIR/x86/unittests.cfg of a built kvm-unit-tests tree, plans each test (plan.ts),
 * runs up to -j (≤ 2) processes at a time, maps exit statuses as the harness does (status.ts)
 * and prints one row per test plus the totals. Logs (command line, serial output, stderr) go
 * to --logs DIR (default /tmp/kut-logs), with results.json.
 *
 * Run: npm run build && KUT_DIR=/work/kut-src npx vite-node bench/kut/run.ts -- [--vs-qemu]
 *        [-j 2] [--only a,b] [--logs DIR] [--backend soft|kvm]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Vm } from '../../src/emulator/vmm/vmm.js';
import { parseUnittestsCfg, type KutTest } from './cfg.js';
import type { CpuidLeaf } from './cpu.js';
import { envFileText } from './env.js';
import { harnessSkip, parseTimeout, qemuArgv, tsbhyvePlan } from './plan.js';
import { runWithTimeout } from './spawn.js';
import { mapStatus, TSBHYVE_DIAGNOSTIC, type Outcome } from './status.js';

const QEMU = 'qemu-system-x86_64';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Row {
  name: string;
  ts: Outcome & { seconds?: number };
  qemu?: Outcome & { seconds?: number };
}

function softCpuid(backend: string): CpuidLeaf[] {
  const vm = Vm.create({ backend: backend as 'soft' | 'kvm', memorySize: 16 << 20, vcpus: 1 });
  return vm.createVcpu(0).getCpuid();
}

function qemuVersionLine(): string {
  try {
    return execFileSync(QEMU, ['-h'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return '';
  }
}

/** The harness's premature_failure probe: `-kernel _NO_FILE_4Uhere_`; undefined = go on. */
function qemuProbe(argv: string[], kutDir: string, env: string): string | undefined {
  const probe = [...argv];
  probe[probe.indexOf('-kernel') + 1] = '_NO_FILE_4Uhere_';
  let out = '';
  try {
    execFileSync(QEMU, [...probe, '-initrd', env], { cwd: kutDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  if (/could not (load|open) kernel|error loading|failed to load/.test(out)) return undefined;
  return out.trim().split('\n').pop() ?? 'QEMU probe failed';
}

async function pool<T>(items: T[], width: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

function cell(o: (Outcome & { seconds?: number }) | undefined): string {
  if (!o) return '';
  const t = o.seconds !== undefined ? ` ${o.seconds.toFixed(1)}s` : '';
  return `${o.verdict}${t}${o.detail ? ` (${o.detail})` : ''}`;
}

async function main(): Promise<void> {
  const kutDir = resolve(opt('--kut-dir') ?? process.env.KUT_DIR ?? '');
  if (!process.env.KUT_DIR && !opt('--kut-dir')) {
    console.error('bench/kut: set KUT_DIR (or --kut-dir) to a built kvm-unit-tests tree (see bench/kut/README.md)');
    process.exit(2);
  }
  const jobs = Math.max(1, Math.min(2, Number(opt('-j') ?? '1')));
  const vsQemu = process.argv.includes('--vs-qemu');
  const only = opt('--only')?.split(',');
  const backend = opt('--backend') ?? 'soft';
  const logs = resolve(opt('--logs') ?? '/tmp/kut-logs');
  const tsbhyve = opt('--tsbhyve') ?? join(repo, 'dist/cli/tsbhyve.js');
  mkdirSync(logs, { recursive: true });
  const tests = parseUnittestsCfg(readFileSync(join(kutDir, 'x86/unittests.cfg'), 'utf8')).filter((t) => !only || only.includes(t.name));
  const envFile = join(logs, 'kut-env');
  const qemuLine = qemuVersionLine();
  writeFileSync(envFile, envFileText({ qemuVersionLine: qemuLine, kernelRelease: release() }));
  const cpuid = softCpuid(backend);
  const rows: Row[] = [];
  const byName = new Map<string, Row>();
  console.log(`kvm-unit-tests ${kutDir}: ${tests.length} tests, tsbhyve (vmm.backend=${backend})${vsQemu ? ` vs ${qemuLine}` : ''}, -j ${jobs}, ${cpus().length} host CPUs`);

  const runOne = async (t: KutTest): Promise<void> => {
    const row: Row = { name: t.name, ts: { verdict: 'SKIP', detail: '' } };
    rows.push(row);
    byName.set(t.name, row);
    const hs = harnessSkip(t, kutDir);
    if (hs !== undefined) {
      row.ts = { verdict: 'SKIP', detail: hs };
      if (vsQemu) row.qemu = { verdict: 'SKIP', detail: hs };
    } else {
      const plan = tsbhyvePlan(t, kutDir, { cpuid, envFile, backend });
      if (plan.kind === 'skip') row.ts = { verdict: 'SKIP', detail: plan.reason };
      else {
        const r = await runWithTimeout({ program: process.execPath, argv: [tsbhyve, ...plan.argv], cwd: kutDir, timeoutS: plan.timeoutS, logFile: join(logs, `${t.name}.tsbhyve.log`) });
        const o = mapStatus(r, TSBHYVE_DIAGNOSTIC);
        if (plan.notes.length > 0) o.detail = `${o.detail}${o.detail ? '; ' : ''}${plan.notes.join('; ')}`;
        row.ts = { ...o, seconds: r.seconds };
      }
      if (vsQemu) {
        const argv = qemuArgv(t);
        const skip = qemuProbe(argv, kutDir, envFile);
        if (skip !== undefined) row.qemu = { verdict: 'SKIP', detail: skip };
        else {
          const r = await runWithTimeout({ program: QEMU, argv: [...argv, '-initrd', envFile], cwd: kutDir, timeoutS: parseTimeout(t.timeout) ?? 90, logFile: join(logs, `${t.name}.qemu.log`) });
          row.qemu = { ...mapStatus(r), seconds: r.seconds };
        }
      }
    }
    console.log(`${t.name.padEnd(34)} tsbhyve ${cell(row.ts)}${vsQemu ? `   |   qemu ${cell(row.qemu)}` : ''}`);
  };
  await pool(tests, jobs, runOne);

  const ordered = tests.map((t) => byName.get(t.name)!);
  const count = (pick: (r: Row) => Outcome | undefined) => {
    const c = { PASS: 0, FAIL: 0, SKIP: 0 };
    for (const r of ordered) {
      const o = pick(r);
      if (o) c[o.verdict]++;
    }
    return c;
  };
  console.log('\n| test | tsbhyve (soft) | QEMU TCG |\n|---|---|---|');
  for (const r of ordered) console.log(`| ${r.name} | ${cell(r.ts)} | ${cell(r.qemu)} |`);
  const a = count((r) => r.ts);
  console.log(`\ntotals of ${ordered.length}: tsbhyve ${a.PASS} PASS, ${a.FAIL} FAIL, ${a.SKIP} SKIP`);
  if (vsQemu) {
    const q = count((r) => r.qemu);
    console.log(`               QEMU TCG ${q.PASS} PASS, ${q.FAIL} FAIL, ${q.SKIP} SKIP`);
  }
  writeFileSync(join(logs, 'results.json'), JSON.stringify(ordered, null, 1));
}

await main();
