/**
 * bench/emulator/startup: how long tsbhyve takes from process start to the guest's first
 * instruction and to the guest's exit, against QEMU TCG booting the same multiboot ELF in
 * the same run (issue 7 "startup time to first guest instruction").
 *
 * Run: npm run build && npx vite-node bench/emulator/startup.ts [--runs N]
 *
 * Guests:
 *  - mb-hello (fixtures/emulator/multiboot/hello.S): its first instructions write "MB OK"
 *    to COM1, so the first byte on stdout marks the first guest instruction (within a few
 *    instructions) — the process start-up, VM creation, device graph, loader, vCPU start;
 *  - hello (fixtures/guests/hello): the guest library's boot (long mode, paging, IDT) and
 *    a printf before the exit; "exit" is process start to the process's end.
 * Commands: `node dist/cli/tsbhyve.js -m 64M -s 0,hostbridge -s 31,lpc -l com1,stdio
 * -l pc-testdev -f multiboot,ELF vm0` (soft CPU) and `qemu-system-x86_64 -accel tcg
 * -kernel ELF -serial stdio -display none -device isa-debug-exit,iobase=0xf4,iosize=4`,
 * run in turn (A B A B ...); the table shows medians and the ratio of medians.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGuest } from '../../test/native/soft/build-tools.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 7;

interface Timing {
  firstByteMs: number;
  exitMs: number;
  status: number;
}

function timeRun(cmd: string, args: string[]): Promise<Timing> {
  return new Promise((resolveP, reject) => {
    const t0 = process.hrtime.bigint();
    let first = -1;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', () => {
      if (first < 0) first = Number(process.hrtime.bigint() - t0) / 1e6;
    });
    child.on('error', reject);
    child.on('close', (code) => resolveP({ firstByteMs: first, exitMs: Number(process.hrtime.bigint() - t0) / 1e6, status: code ?? -1 }));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'startup-bench-'));
  try {
    const src = join(ROOT, 'fixtures/emulator/multiboot/hello.S');
    execFileSync('as', ['--32', src, '-o', join(work, 'hello.o')]);
    execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', join(work, 'hello.o'), '-o', join(work, 'mb-hello.elf')]);
    const guests: Array<[string, string]> = [
      ['mb-hello', join(work, 'mb-hello.elf')],
      ['hello', await buildGuest('hello')],
    ];
    const tsbhyve = join(ROOT, 'dist/cli/tsbhyve.js');
    const rows: string[][] = [];
    for (const [name, elf] of guests) {
      const a = (): Promise<Timing> =>
        timeRun(process.execPath, [tsbhyve, '-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', '-l', 'pc-testdev', '-f', `multiboot,${elf}`, 'vm0']);
      const b = (): Promise<Timing> =>
        timeRun('qemu-system-x86_64', ['-accel', 'tcg', '-kernel', elf, '-serial', 'stdio', '-display', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4']);
      await a();
      await b();
      const ta: Timing[] = [];
      const tb: Timing[] = [];
      for (let i = 0; i < RUNS; i++) {
        ta.push(await a());
        tb.push(await b());
      }
      if (ta.some((t) => t.status !== tb[0]!.status)) throw new Error(`${name}: exit statuses differ (${ta.map((t) => t.status)} vs ${tb[0]!.status})`);
      for (const [what, key] of [['first guest output', 'firstByteMs'], ['guest exit', 'exitMs']] as const) {
        const ma = median(ta.map((t) => t[key]));
        const mb = median(tb.map((t) => t[key]));
        rows.push([name, what, ma.toFixed(0), mb.toFixed(0), (ma / mb).toFixed(2)]);
      }
    }
    const head = ['guest', 'from process start to', 'tsbhyve ms', 'QEMU TCG ms', 'ratio'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`medians of ${RUNS} runs each, alternating`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
