/**
 * bench/boot/guest-profile: a sampling profile of the Linux guest itself — which kernel
 * functions the vCPU is in, phase by phase — on tsbhyve and on QEMU TCG in the same run
 * (issue 10: "where the time goes").
 *
 * Each stack boots the bench/boot test guest (1 vCPU; same kernel, initramfs, devices and
 * command line) with its GDB stub on (tsbhyve `-G`, QEMU `-gdb`). A minimal remote-protocol
 * client stops the guest every --interval ms of host time (Ctrl-C), reads RIP (`g`) and
 * continues (`c`). Each sample is attributed to the boot phase the console has reached
 * ('kernel' = "Linux version" .. "Run /init", 'init' = .. the result line) and named with
 * the kernel's kallsyms (cached beside the kernel; test/linux/assets/symbols.ts). A sample
 * in the idle loop (default_idle, the HLT) is time the vCPU waited.
 *
 * Host-time sampling: a function that is slow on one stack shows more samples there. The
 * stops themselves cost time on both stacks alike (a few % at the default 20 ms).
 *
 * Run: npm run build && npx vite-node bench/boot/guest-profile.ts [-- --stacks tsbhyve,qemu
 *      --interval 20 --top 25 --phase kernel]
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { linuxAssets, prepareRun, type LinuxAssets } from '../../test/linux/guest/prepare.js';
import { bootQemu, kernelSymbolsViaQemu, qemuMissing } from '../../test/linux/qemu/qemu-boot.js';
import { TSBHYVE_JS, tsbhyveArgs } from '../../test/linux/tsbhyve/tsbhyve-boot.js';
import type { Symbolizer } from '../../test/linux/assets/symbols.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const STACKS = opt('stacks', 'tsbhyve,qemu').split(',');
const INTERVAL = Number(opt('interval', '20'));
const TOP = Number(opt('top', '25'));
const PHASES = opt('phase', 'kernel,init').split(',');

type Phase = 'early' | 'kernel' | 'init' | 'off';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** The smallest GDB remote client that can stop, read RIP and continue. */
class Rsp {
  private buf = '';
  private waiter: ((pkt: string) => void) | undefined;
  private constructor(private readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.pump();
    });
    sock.on('error', () => {});
  }

  static async connect(port: number, isDead: () => boolean): Promise<Rsp> {
    for (let i = 0; ; i++) {
      try {
        const s = await new Promise<Socket>((ok, fail) => {
          const c = createConnection(port, '127.0.0.1');
          c.once('connect', () => ok(c));
          c.once('error', fail);
        });
        s.setNoDelay(true);
        return new Rsp(s);
      } catch (e) {
        if (isDead() || i > 2000) throw e;
        await sleep(10);
      }
    }
  }

  private pump(): void {
    for (;;) {
      this.buf = this.buf.replace(/^[+-]+/, '');
      const start = this.buf.indexOf('$');
      if (start < 0) return;
      const end = this.buf.indexOf('#', start);
      if (end < 0 || this.buf.length < end + 3) return;
      const pkt = this.buf.slice(start + 1, end);
      this.buf = this.buf.slice(end + 3);
      this.sock.write('+');
      const w = this.waiter;
      this.waiter = undefined;
      w?.(pkt);
    }
  }

  private next(): Promise<string> {
    return new Promise((ok) => (this.waiter = ok));
  }

  send(pkt: string): void {
    let sum = 0;
    for (let i = 0; i < pkt.length; i++) sum = (sum + pkt.charCodeAt(i)) & 0xff;
    this.sock.write(`$${pkt}#${sum.toString(16).padStart(2, '0')}`);
  }

  async request(pkt: string): Promise<string> {
    const r = this.next();
    this.send(pkt);
    return r;
  }

  async interrupt(): Promise<string> {
    const r = this.next();
    this.sock.write('\x03');
    return r;
  }

  close(): void {
    this.sock.destroy();
  }
}

function le64(hex: string): bigint {
  let v = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  return v;
}

async function profile(assets: LinuxAssets, stack: string): Promise<{ samples: Map<Phase, bigint[]>; phaseMs: Map<Phase, number> }> {
  const run = await prepareRun(assets, { vcpus: 1, timeoutMs: 900_000 });
  const port = await freePort();
  let phase = 'early' as Phase;
  const t0 = performance.now();
  const phaseAt = new Map<Phase, number>([['early', 0]]);
  let text = '';
  const onConsole = (d: string) => {
    text = (text + d).slice(-2000);
    const now = performance.now() - t0;
    const go = (p: Phase) => {
      phase = p;
      phaseAt.set(p, now);
    };
    if (phase === 'early' && text.includes('Linux version')) go('kernel');
    if (phase === 'kernel' && text.includes('Run /init')) go('init');
    if (phase === 'init' && text.includes('TSVIRT-RESULT')) go('off');
  };
  let dead = false;
  let finished: Promise<unknown>;
  if (stack === 'qemu') {
    finished = bootQemu(run.spec, { onConsole, extraArgs: ['-gdb', `tcp:127.0.0.1:${port}`] }).finally(() => (dead = true));
  } else {
    const args = tsbhyveArgs(run.spec, `gprof${process.pid}`);
    args.splice(args.length - 1, 0, '-G', `127.0.0.1:${port}`);
    const child = spawn(process.execPath, [TSBHYVE_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', onConsole);
    child.stderr!.resume();
    finished = new Promise((ok) => child.on('close', ok)).finally(() => (dead = true));
  }
  const samples = new Map<Phase, bigint[]>();
  try {
    const rsp = await Rsp.connect(port, () => dead);
    // Both stubs stop the guest when a debugger attaches: ask why, then let it run.
    await rsp.request('?');
    rsp.send('c');
    const running = () => !dead && (phase as Phase) !== 'off';
    while (running()) {
      await sleep(INTERVAL);
      if (!running()) break;
      const stop = await Promise.race([rsp.interrupt(), finished.then(() => ''), sleep(5000).then(() => 'lost')]);
      if (stop === 'lost') throw new Error(`${stack}: no stop reply to Ctrl-C within 5 s`);
      if (!stop) break;
      // `g` (QEMU answers `p` only after the target XML was read): RIP follows the 16 GPRs.
      const regs = await rsp.request('g');
      const rip = regs.slice(256, 272);
      if (/^[0-9a-f]{16}$/i.test(rip)) {
        const list = samples.get(phase) ?? [];
        list.push(le64(rip));
        samples.set(phase, list);
      }
      rsp.send('c');
    }
    rsp.close();
    await finished;
  } finally {
    await run.dispose();
  }
  const phaseMs = new Map<Phase, number>();
  const order: Phase[] = ['early', 'kernel', 'init', 'off'];
  for (let i = 0; i + 1 < order.length; i++) {
    const a = phaseAt.get(order[i]!);
    const b = phaseAt.get(order[i + 1]!);
    if (a !== undefined && b !== undefined) phaseMs.set(order[i]!, b - a);
  }
  return { samples, phaseMs };
}

function table(sym: Symbolizer, rips: bigint[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rips) {
    const s = sym.lookup(r);
    const name = s ? s.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, '') : r >= 0xffff800000000000n ? 'kernel?' : 'user';
    m.set(name, (m.get(name) ?? 0) + 1);
  }
  return m;
}

async function main(): Promise<void> {
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(`Linux guest assets unavailable: ${got.missing}`);
  if (STACKS.includes('qemu')) {
    const noQemu = qemuMissing();
    if (noQemu) throw new Error(noQemu);
  }
  const sym = await kernelSymbolsViaQemu(got);
  console.log(`bench/boot/guest-profile: 1 vCPU, every ${INTERVAL} ms, load average ${loadavg()[0]!.toFixed(1)} at start`);
  const res = new Map<string, Awaited<ReturnType<typeof profile>>>();
  for (const s of STACKS) res.set(s, await profile(got, s));
  for (const p of PHASES as Phase[]) {
    const per = new Map<string, Map<string, number>>();
    const totals = new Map<string, number>();
    for (const s of STACKS) {
      const rips = res.get(s)!.samples.get(p) ?? [];
      per.set(s, table(sym, rips));
      totals.set(s, rips.length);
    }
    console.log('');
    console.log(`phase ${p}: ${STACKS.map((s) => `${s} ${((res.get(s)!.phaseMs.get(p) ?? 0) / 1000).toFixed(2)} s, ${totals.get(s)} samples`).join('; ')}`);
    // Rank by estimated seconds on the first stack.
    const secs = (s: string, name: string) => ((per.get(s)!.get(name) ?? 0) / Math.max(1, totals.get(s)!)) * ((res.get(s)!.phaseMs.get(p) ?? 0) / 1000);
    const names = new Set<string>();
    for (const s of STACKS) for (const n of per.get(s)!.keys()) names.add(n);
    const ranked = [...names].sort((a, b) => secs(STACKS[0]!, b) - secs(STACKS[0]!, a)).slice(0, TOP);
    console.log(`  ${STACKS.map((s) => `${s.padStart(8)} s`).join('  ')}   function`);
    for (const n of ranked) console.log(`  ${STACKS.map((s) => secs(s, n).toFixed(2).padStart(10)).join('  ')}   ${n}`);
  }
}

await main();
