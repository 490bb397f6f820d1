/**
 * bench/emulator/virtio-blk: sequential read throughput of virtio-blk and NVMe as a guest
 * sees them, against the host reading the same file in the same run (issue 7 "Done when").
 *
 * Run: npx vite-node bench/emulator/virtio-blk.ts [--runs N] [--mib M] [--only virtio|nvme]
 * (tsbhyve is bundled from the sources by test/emulator/helpers/build-cli, so no stale dist/).
 *
 * The guests (fixtures/guests/blkbench for virtio-blk, fixtures/guests/nvmebench for NVMe)
 * read the whole disk in 64 KiB requests, 8 in flight, and print "BENCH START" / "BENCH
 * END"; the time between the two lines arriving
 * on the VMM's stdout is the guest-seen transfer time (process start-up, VM creation and
 * guest boot are outside it). The host peer reads the same image with read(2) in 64 KiB
 * chunks (page cache warm for both: the image is read once before timing). Runs alternate
 * host / tsbhyve / QEMU TCG (same guests, virtio-blk-pci and nvme; a second yardstick,
 * skipped when QEMU is absent); the table shows medians and ratios against the host.
 * The NVMe guest uses shadow doorbells where the controller offers them (QEMU's does;
 * bhyve's, and so ours, does not: every doorbell is an MMIO exit).
 * `--only virtio|nvme` keeps the host and one device's rows. Each tsbhyve row is followed by
 * the same guest with `-o tsvirt.posted_writes=false` (every doorbell a synchronous exit,
 * as before posted writes), so their effect is measured within one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuest } from '../../test/native/soft/build-tools.js';
import { diskByte } from '../../test/emulator/guests/patterns.js';
import { buildCli, removeBuild } from '../../test/emulator/helpers/build-cli.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 7);
const MIB = arg('--mib', 64);
const CHUNK = 64 * 1024;
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1] : undefined;
})();

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
    const nvmeElf = await buildGuest('nvmebench');
    const img = join(work, 'disk.img');
    const data = Buffer.alloc(MIB * 2 ** 20);
    for (let s = 0; s < data.length / 512; s++) data[s * 512] = diskByte(s, 0);
    writeFileSync(img, data);
    hostRead(img);
    const tsbhyve = join(buildCli(), 'cli/tsbhyve.js');
    const tsb = (guest: string, slot: string, posted = true) => () => guestRead(process.execPath, [tsbhyve, '-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc',
      '-l', 'com1,stdio', '-l', 'pc-testdev', '-s', slot, '-o', `tsvirt.posted_writes=${posted}`, '-f', `multiboot,${guest}`, 'vm0']);
    const qemu = (guest: string, device: string) => () => guestRead('qemu-system-x86_64', ['-accel', 'tcg', '-kernel', guest, '-serial', 'stdio',
      '-display', 'none', '-nodefaults', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '128',
      '-drive', `file=${img},if=none,id=d0,format=raw,readonly=on`, '-device', device]);
    const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
    const peers: Array<[string, () => Promise<number>]> = [['host read(2), 64 KiB', async () => hostRead(img)]];
    if (ONLY !== 'nvme') peers.push(['virtio-blk guest on tsbhyve (soft CPU)', tsb(elf, `3,virtio-blk,${img}`)]);
    if (ONLY !== 'nvme') peers.push(['  same, posted writes off', tsb(elf, `3,virtio-blk,${img}`, false)]);
    if (ONLY !== 'virtio') peers.push(['nvme guest on tsbhyve (soft CPU)', tsb(nvmeElf, `4,nvme,${img}`)]);
    if (ONLY !== 'virtio') peers.push(['  same, posted writes off', tsb(nvmeElf, `4,nvme,${img}`, false)]);
    if (haveQemu && ONLY !== 'nvme') peers.push(['virtio-blk guest on QEMU TCG', qemu(elf, 'virtio-blk-pci,drive=d0')]);
    if (haveQemu && ONLY !== 'virtio') peers.push(['nvme guest on QEMU TCG', qemu(nvmeElf, 'nvme,serial=bench,drive=d0')]);
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
    removeBuild();
  }
}

await main();
