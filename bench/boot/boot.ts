/**
 * bench/boot: time from start to the Linux guest's result line, tsvirt against QEMU TCG in
 * the same run (issue 10; goal ≤ 1.0× QEMU TCG).
 *
 * Both stacks boot the same Debian kernel, the same initramfs (/init from
 * fixtures/linux/init), a fresh ext4 challenge disk, the same virtio NIC to the same kind
 * of host peer and a virtio RNG, with the same command line (test/linux/guest/):
 *   qemu     qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 ... (test/linux/qemu/)
 *   tsvirt   tsvirsh -c 'bhyve:///embed?root=DIR' define + start --console (test/linux/tsvirt/)
 *   tsbhyve  tsbhyve -f kexec,... directly, same devices (test/linux/tsbhyve/): the platform and
 *            soft CPU without the management stack (opt-in: --stacks qemu,tsvirt,tsbhyve)
 * The clock starts just before the process that boots the guest is spawned (QEMU, or
 * `tsvirsh start --console` after `define`) and stops when the TSVIRT-RESULT line arrives
 * on the console. Every run is checked like the tests check it; a run that did not boot
 * correctly is reported and left out of the figures.
 *
 * Where the time goes, per stack (medians): `banner` = start → "Linux version" (firmware,
 * loader and the bzImage's own decompressor), `kernel` = banner → "Run /init",
 * `init` = Run /init → result line (module loading, disk, network, rng).
 *
 * Rounds alternate which stack goes first; the ratio tsvirt/QEMU (and tsbhyve/QEMU) is taken pair by pair
 * (same round, same vCPU count) and its median printed: > 1 means tsvirt is slower.
 * While tsvirsh cannot boot a bzImage, the tsvirt column says why and QEMU runs alone.
 *
 * Run: npm run build && npx vite-node bench/boot/boot.ts [-- --rounds 3 --vcpus 1,2 --stacks qemu,tsvirt]
 *      npx vite-node bench/boot/boot.ts -- --once --stacks qemu --vcpus 1   (one boot, JSON line)
 */
import { loadavg } from 'node:os';
import { bootFailures } from '../../test/linux/guest/checks.js';
import type { ConsoleWatcher } from '../../test/linux/guest/console.js';
import { linuxAssets, prepareRun, type LinuxAssets } from '../../test/linux/guest/prepare.js';
import { bootQemu, qemuMissing } from '../../test/linux/qemu/qemu-boot.js';
import { bootTsbhyve } from '../../test/linux/tsbhyve/tsbhyve-boot.js';
import { bootTsvirt } from '../../test/linux/tsvirt/tsvirt-boot.js';

type Stack = 'qemu' | 'tsvirt' | 'tsbhyve';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const ROUNDS = Number(opt('rounds', '3'));
const VCPUS = opt('vcpus', '1,2').split(',').map(Number);
const STACKS = opt('stacks', 'qemu,tsvirt').split(',') as Stack[];
const TIMEOUT_MS = Number(opt('timeout', '900')) * 1000;
const ONCE = process.argv.includes('--once');

interface Sample {
  stack: Stack;
  vcpus: number;
  round: number;
  ok: boolean;
  why?: string;
  result?: number;
  banner?: number;
  runInit?: number;
}

async function bootOnce(assets: LinuxAssets, stack: Stack, vcpus: number, round: number): Promise<Sample | { refused: string }> {
  const run = await prepareRun(assets, { vcpus, timeoutMs: TIMEOUT_MS });
  try {
    let console: ConsoleWatcher;
    const extra: string[] = [];
    if (stack === 'qemu') {
      const o = await bootQemu(run.spec);
      console = o.console;
      if (o.shutdownReason !== 'guest-shutdown') extra.push(`QMP SHUTDOWN reason ${o.shutdownReason}`);
      if (o.timedOut) extra.push('timed out');
    } else if (stack === 'tsbhyve') {
      const o = await bootTsbhyve(run.spec);
      console = o.console;
      if (o.exitCode !== 1) extra.push(`tsbhyve exit ${o.exitCode}, expected 1 (powered off)`);
      if (o.timedOut) extra.push('timed out');
    } else {
      const o = await bootTsvirt(run.spec);
      if ('refused' in o) return o;
      console = o.console;
      if (o.state !== 'shut off (shutdown)') extra.push(`domstate '${o.state}'`);
      if (o.timedOut) extra.push('timed out');
    }
    const failures = [...extra, ...bootFailures({ console, vcpus, release: assets.kernel.manifest.release, disk: run.disk, peer: run.peer })];
    const at = console.at;
    return {
      stack,
      vcpus,
      round,
      ok: failures.length === 0,
      why: failures.length ? `${failures[0]} | ${console.diagnosis(3).split('\n')[0]}` : undefined,
      result: at.result,
      banner: at.kernelBanner,
      runInit: at.runInit,
    };
  } finally {
    await run.dispose();
  }
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

const sec = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));

async function main(): Promise<void> {
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(`Linux guest assets unavailable: ${got.missing}`);
  const noQemu = qemuMissing();
  if (noQemu && STACKS.includes('qemu')) throw new Error(noQemu);
  const m = got.kernel.manifest;

  if (ONCE) {
    const s = await bootOnce(got, STACKS[0]!, VCPUS[0]!, 0);
    process.stdout.write(`${JSON.stringify(s)}\n`);
    process.exitCode = 'ok' in s && s.ok ? 0 : 1;
    return;
  }

  console.log(`bench/boot: ${m.package} ${m.version}, ${ROUNDS} rounds, vCPUs ${VCPUS.join(',')}, load average ${loadavg()[0]!.toFixed(1)} at start`);
  const samples: Sample[] = [];
  const refused = new Map<Stack, string>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const vcpus of VCPUS) {
      const order = round % 2 === 0 ? STACKS : [...STACKS].reverse();
      for (const stack of order) {
        if (refused.has(stack)) continue;
        const s = await bootOnce(got, stack, vcpus, round);
        if ('refused' in s) {
          refused.set(stack, s.refused);
          console.log(`  ${stack}: cannot boot Linux yet: ${s.refused}`);
          continue;
        }
        samples.push(s);
        console.log(`  round ${round + 1} ${stack.padEnd(6)} ${vcpus} vCPU: ${s.ok ? `result line at ${sec(s.result)} s` : `FAILED: ${s.why}`}`);
      }
    }
  }

  console.log('');
  console.log('stack   vCPUs  ok/runs  result s (median  min  max)   banner  kernel  init   (median s)');
  for (const stack of STACKS) {
    for (const vcpus of VCPUS) {
      const all = samples.filter((s) => s.stack === stack && s.vcpus === vcpus);
      const ok = all.filter((s) => s.ok);
      if (all.length === 0) {
        console.log(`${stack.padEnd(8)}${String(vcpus).padEnd(7)}-        ${refused.get(stack) ?? 'not run'}`);
        continue;
      }
      const r = ok.map((s) => s.result!);
      const banner = median(ok.flatMap((s) => (s.banner === undefined ? [] : [s.banner])));
      const kernel = median(ok.flatMap((s) => (s.banner === undefined || s.runInit === undefined ? [] : [s.runInit - s.banner])));
      const init = median(ok.flatMap((s) => (s.runInit === undefined ? [] : [s.result! - s.runInit])));
      console.log(
        `${stack.padEnd(8)}${String(vcpus).padEnd(7)}${`${ok.length}/${all.length}`.padEnd(9)}` +
          `${sec(median(r)).padStart(8)} ${sec(r.length ? Math.min(...r) : undefined).padStart(5)} ${sec(r.length ? Math.max(...r) : undefined).padStart(5)}     ` +
          `${sec(banner).padStart(6)}  ${sec(kernel).padStart(6)}  ${sec(init).padStart(5)}`,
      );
    }
  }
  for (const stack of STACKS.filter((x) => x !== 'qemu' && STACKS.includes('qemu'))) {
    for (const vcpus of VCPUS) {
      const ratios: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const q = samples.find((s) => s.stack === 'qemu' && s.vcpus === vcpus && s.round === round && s.ok);
        const t = samples.find((s) => s.stack === stack && s.vcpus === vcpus && s.round === round && s.ok);
        if (q && t) ratios.push(t.result! / q.result!);
      }
      const r = median(ratios);
      console.log(`ratio ${stack}/QEMU TCG, ${vcpus} vCPU: ${r === undefined ? `n/a (${refused.get(stack) ?? 'no pair of good runs'})` : `${r.toFixed(2)}x (median of ${ratios.length} pairs; goal <= 1.0)`}`);
    }
  }
}

await main();
