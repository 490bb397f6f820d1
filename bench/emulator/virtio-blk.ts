/**
 * bench/emulator/virtio-blk: sequential read throughput of virtio-blk as a guest sees it,
 * against the host reading the same file in the same run (issue 7 "Done when").
 *
 * Run: npm run build && npx vite-node bench/emulator/virtio-blk.ts [--runs N] [--mib M]
 *
 * The guest (fixtures/guests/blkbench) reads the whole disk in 64 KiB requests, 8 in
 * flight, and prints "BENCH START" / "BENCH END"; the time between the two lines arriving
 * on the VMM's stdout is the guest-seen transfer time (process start-up, VM creation and
 * guest boot are outside it). The host peer reads the same image with read(2) in 64 KiB
 * chunks (page cache warm for both: the image is read once before timing). Runs alternate
 * host / tsbhyve / QEMU TCG (same guest, virtio-blk-pci; a second yardstick, skipped when
 * QEMU is absent); the table shows medians and ratios against the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGuest } from '../../test/native/soft/build-tools.js';
import { diskByte } from '../../test/emulator/guests/patterns.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 5);
const MIB = arg('--mib', 64);
const CHUNK = 64 * 1024;

function hostRead(path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  const t0 = process.hrtime.bigint();
  let total = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n <= 0) break;
    total += n;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  if (total !== MIB * 2 ** 20) throw new Error(`host read ${total} bytes`);
  return ms;
}

/** Milliseconds between the guest's BENCH START and BENCH END lines. */
function guestRead(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let start = 0n;
    let end = 0n;
    child.stdout.on('data', (d: Buffer) => {
      const now = process.hrtime.bigint();
      out += d.toString('latin1');
      if (!start && out.includes('BENCH START')) start = now;
      if (!end && out.includes('BENCH END')) end = now;
    });
    child.on('error', reject);
    child.on('close', () => {
      const m = /BENCH END bytes=(\d+) errors=(\d+)/.exec(out);
      if (!m || Number(m[1]) !== MIB * 2 ** 20 || m[2] !== '0' || !start || !end) reject(new Error(`guest run failed:\n${out}`));
      else resolveP(Number(end - start) / 1e6);
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'vblk-bench-'));
  try {
    const elf = await buildGuest('blkbench');
    const img = join(work, 'disk.img');
    const data = Buffer.alloc(MIB * 2 ** 20);
    for (let s = 0; s < data.length / 512; s++) data[s * 512] = diskByte(s, 0);
    writeFileSync(img, data);
    hostRead(img);
    const tsbhyve = join(ROOT, 'dist/cli/tsbhyve.js');
    const peers: Array<[string, () => Promise<number>]> = [
      ['host read(2), 64 KiB', async () => hostRead(img)],
      ['guest on tsbhyve (soft CPU)', () => guestRead(process.execPath, [tsbhyve, '-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc',
        '-l', 'com1,stdio', '-l', 'pc-testdev', '-s', `3,virtio-blk,${img}`, '-f', `multiboot,${elf}`, 'vm0'])],
    ];
    if (spawnSync('qemu-system-x86_64', ['--version']).status === 0) {
      peers.push(['guest on QEMU TCG', () => guestRead('qemu-system-x86_64', ['-accel', 'tcg', '-kernel', elf, '-serial', 'stdio',
        '-display', 'none', '-nodefaults', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '128',
        '-drive', `file=${img},if=none,id=d0,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=d0'])]);
    }
    for (const [, run] of peers) await run(); // warm-up
    const times: number[][] = peers.map(() => []);
    for (let i = 0; i < RUNS; i++) for (let k = 0; k < peers.length; k++) times[k]!.push(await peers[k]![1]());
    const hostMs = median(times[0]!);
    const rows = peers.map(([name], k) => {
      const ms = median(times[k]!);
      return [name, ms.toFixed(1), (MIB / (ms / 1000)).toFixed(0), (hostMs / ms).toFixed(3)];
    });
    const head = ['reader', 'ms', 'MiB/s', 'vs host'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`${MIB} MiB sequential read, 64 KiB requests; medians of ${RUNS} alternating runs`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
