/**
 * bench/boot/timeline: where the seconds of the Linux boot go, line by line, tsbhyve against
 * QEMU TCG in the same run (issue 10).
 *
 * Boots the bench/boot test guest once on each stack (1 vCPU unless --vcpus N; same kernel,
 * initramfs, devices, command line) and records every console line with the host time it
 * arrived and the kernel's own printk timestamp ("[    1.234567]"). The lines of the two
 * boots are paired by their text (timestamps and addresses stripped), and the table lists
 * the steps between consecutive paired lines where one stack spends the most host time
 * more than the other: the step, its host seconds on each stack, the guest-clock seconds
 * the kernel itself measured for the step on each stack (a step whose guest time is much
 * smaller than its host time is CPU work; one whose guest time is as large as the host
 * time is waiting on a timer or a device).
 *
 * It does not judge the boot (bench/boot does): it is a profile, not a figure.
 *
 * Run: npm run build && npx vite-node bench/boot/timeline.ts [-- --vcpus 1 --from 'Linux version'
 *      --top 25 --save DIR]   (--save writes qemu.log and tsbhyve.log: "host_s guest_s line")
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { linuxAssets, prepareRun, type LinuxAssets } from '../../test/linux/guest/prepare.js';
import { bootQemu, qemuMissing } from '../../test/linux/qemu/qemu-boot.js';
import { bootTsbhyve } from '../../test/linux/tsbhyve/tsbhyve-boot.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const VCPUS = Number(opt('vcpus', '1'));
const FROM = opt('from', 'Linux version');
const TOP = Number(opt('top', '25'));
const SAVE = opt('save', '');

interface Line {
  host: number;
  guest: number | undefined;
  text: string;
  key: string;
}

/** Splits console chunks into lines stamped with the host time of the chunk that ended them. */
class Recorder {
  readonly lines: Line[] = [];
  private partial = '';
  constructor(private readonly t0: number) {}
  push = (chunk: string): void => {
    const now = (performance.now() - this.t0) / 1000;
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const raw of parts) {
      const text = raw.replace(/\r$/, '');
      const m = /^\[\s*(\d+\.\d+)\]\s?/.exec(text);
      const body = m ? text.slice(m[0].length) : text;
      this.lines.push({
        host: now,
        guest: m ? Number(m[1]) : undefined,
        text: body,
        key: body.replace(/0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+(\.\d+)?/gi, '#').slice(0, 60),
      });
    }
  };
}

async function record(assets: LinuxAssets, stack: 'qemu' | 'tsbhyve'): Promise<Line[]> {
  const run = await prepareRun(assets, { vcpus: VCPUS, timeoutMs: 900_000 });
  try {
    const t0 = performance.now();
    const rec = new Recorder(t0);
    if (stack === 'qemu') await bootQemu(run.spec, { onConsole: rec.push });
    else {
      // bootTsbhyve's clock starts inside it, a few µs after ours: negligible.
      await bootTsbhyve(run.spec, { onConsole: rec.push });
    }
    return rec.lines;
  } finally {
    await run.dispose();
  }
}

/** Pairs lines with the same key, in order (greedy, first unused match ahead). */
function pair(a: Line[], b: Line[]): Array<[Line, Line]> {
  const out: Array<[Line, Line]> = [];
  let j = 0;
  for (const la of a) {
    for (let k = j; k < Math.min(b.length, j + 40); k++) {
      if (b[k]!.key === la.key) {
        out.push([la, b[k]!]);
        j = k + 1;
        break;
      }
    }
  }
  return out;
}

const f = (x: number | undefined) => (x === undefined ? '    -' : x.toFixed(2).padStart(5));

async function main(): Promise<void> {
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(`Linux guest assets unavailable: ${got.missing}`);
  const noQemu = qemuMissing();
  if (noQemu) throw new Error(noQemu);
  console.log(`bench/boot/timeline: ${VCPUS} vCPU, load average ${loadavg()[0]!.toFixed(1)} at start`);
  const q = await record(got, 'qemu');
  const t = await record(got, 'tsbhyve');
  if (SAVE) {
    mkdirSync(SAVE, { recursive: true });
    for (const [n, ls] of [['qemu', q], ['tsbhyve', t]] as const) {
      writeFileSync(join(SAVE, `${n}.log`), ls.map((l) => `${l.host.toFixed(3)} ${l.guest?.toFixed(6) ?? '-'} ${l.text}`).join('\n') + '\n');
    }
  }
  const qi = q.findIndex((l) => l.text.includes(FROM));
  const ti = t.findIndex((l) => l.text.includes(FROM));
  if (qi < 0 || ti < 0) throw new Error(`'${FROM}' not on both consoles`);
  const pairs = pair(q.slice(qi), t.slice(ti));
  const steps: Array<{ from: string; to: string; qh: number; th: number; qg?: number; tg?: number }> = [];
  for (let i = 1; i < pairs.length; i++) {
    const [qa, ta] = pairs[i - 1]!;
    const [qb, tb] = pairs[i]!;
    const g = (x: Line, y: Line) => (x.guest !== undefined && y.guest !== undefined ? y.guest - x.guest : undefined);
    steps.push({ from: qa.text, to: qb.text, qh: qb.host - qa.host, th: tb.host - ta.host, qg: g(qa, qb), tg: g(ta, tb) });
  }
  const last = pairs[pairs.length - 1]!;
  const total = { qh: last[0].host - pairs[0]![0].host, th: last[1].host - pairs[0]![1].host };
  console.log(`from '${FROM}' to '${last[0].text.slice(0, 50)}': QEMU ${total.qh.toFixed(2)} s, tsbhyve ${total.th.toFixed(2)} s host time; ${pairs.length} paired lines`);
  console.log('');
  console.log('  tsb-h  qemu-h  diff   tsb-g  qemu-g   step (to the line)');
  const top = [...steps].sort((x, y) => y.th - y.qh - (x.th - x.qh)).slice(0, TOP);
  for (const s of top) {
    console.log(`  ${f(s.th)}  ${f(s.qh)}  ${f(s.th - s.qh)}  ${f(s.tg)}  ${f(s.qg)}   ${s.to.slice(0, 90)}`);
  }
}

await main();
