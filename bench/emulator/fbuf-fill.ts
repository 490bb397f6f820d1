/**
 * bench/emulator/fbuf-fill: how fast a guest writes the bhyve framebuffer, against the same
 * guest writing ordinary RAM in the same run (the peer: what the framebuffer costs when it
 * is guest memory the CPU writes in place, as bhyve maps VM_FRAMEBUFFER).
 *
 * Run: npx vite-node bench/emulator/fbuf-fill.ts [--runs N] [--fills F] [--backend soft|kvm]
 *
 * The guest (fixtures/guests/fbuf) paints an 800×600×32 bpp screen F times with 32-bit
 * stores between "FILL START" and "FILL END"; the host times the two lines on the VMM's
 * stdout. The RAM peer is the same loop with `ram` on the command line (it paints a
 * buffer in guest RAM instead of BAR1). Medians of alternating runs; MiB/s and the ratio
 * framebuffer/RAM.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { buildGuest } from '../../test/native/soft/build-tools.js';
import { buildCli, removeBuild } from '../../test/emulator/helpers/build-cli.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const RUNS = Number(arg('--runs', '3'));
const FILLS = Number(arg('--fills', '4'));
const BACKEND = arg('--backend', 'soft');
const W = 800;
const H = 600;

function fill(elf: string, tsbhyve: string, ram: boolean): Promise<number> {
  return new Promise((res, rej) => {
    const args = [tsbhyve, '-o', `vmm.backend=${BACKEND}`, '-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', '-l', 'pc-testdev',
      '-s', `6,fbuf,tcp=127.0.0.1:0,w=${W},h=${H}`, '-f', `multiboot,${elf},,"w=${W} h=${H} fills=${FILLS}${ram ? ' ram' : ''}"`, 'vm0'];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let t0 = 0n;
    let t1 = 0n;
    child.stdout.on('data', (d: Buffer) => {
      const now = process.hrtime.bigint();
      out += d.toString('latin1');
      if (!t0 && out.includes('FILL START')) t0 = now;
      if (!t1 && out.includes('FILL END')) t1 = now;
      if (out.includes('READY')) child.stdin.write('q');
    });
    child.stdin.on('error', () => {});
    child.on('error', rej);
    child.on('close', () => (t0 && t1 && !out.includes('FAIL:') ? res(Number(t1 - t0) / 1e6) : rej(new Error(`fbuf guest failed:\n${out}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const elf = await buildGuest('fbuf');
  const tsbhyve = resolve(buildCli(), 'cli/tsbhyve.js');
  try {
    const peers: Array<[string, boolean]> = [
      ['guest RAM (peer)', true],
      ['fbuf BAR1', false],
    ];
    const times: number[][] = peers.map(() => []);
    for (let i = 0; i < RUNS; i++) for (let k = 0; k < peers.length; k++) times[k]!.push(await fill(elf, tsbhyve, peers[k]![1]));
    const mib = (W * H * 4 * FILLS) / 2 ** 20;
    const ramMs = median(times[0]!);
    console.log(`${FILLS} fills of ${W}x${H}x4 (${mib.toFixed(1)} MiB), backend ${BACKEND}; medians of ${RUNS} alternating runs`);
    console.log(['target'.padEnd(18), 'ms'.padStart(10), 'MiB/s'.padStart(8), 'RAM/this'.padStart(9)].join('  '));
    peers.forEach(([name], k) => {
      const ms = median(times[k]!);
      console.log([name.padEnd(18), ms.toFixed(1).padStart(10), (mib / (ms / 1000)).toFixed(1).padStart(8), (ramMs / ms).toFixed(3).padStart(9)].join('  '));
    });
  } finally {
    removeBuild();
  }
}

await main();
