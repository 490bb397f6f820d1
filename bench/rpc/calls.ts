/**
 * bench/rpc: python3-libvirt calls per second against tsvirtd and against a real libvirtd,
 * same client, same run.
 *
 * Peers: `tsvirtd --driver test` (built tsvirtd from dist/, in-memory TEST driver) and
 * Debian's `libvirtd` serving libvirt's own test driver (`test:///default`), started on a
 * private config and socket directory with its hypervisor driver modules hidden
 * (LIBVIRT_DRIVER_DIR pointing to an empty directory) so that only the built-in test driver
 * loads. The client is the same python3-libvirt script (libvirt_calls.py) for both:
 * `lookup` = lookupByName('bench') + info() per operation, `define` = defineXML() +
 * undefine() per operation, 2 RPC round trips each, on one connection.
 *
 * Rounds alternate which daemon goes first; the ratio (tsvirtd / libvirtd, > 1 means tsvirtd
 * is faster) is taken pair by pair and the median reported.
 *
 * Run: npm run build && npx vite-node bench/rpc/calls.ts [-- --rounds 7 --count 3000]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createConnection } from 'node:net';

const REPO = resolve(import.meta.dirname, '..', '..');
const PY = '/usr/bin/python3';
const LIBVIRTD = '/usr/sbin/libvirtd';
const CLIENT = join(import.meta.dirname, 'libvirt_calls.py');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const ROUNDS = arg('rounds', 5);
const COUNT = arg('count', 2000);

function waitForSocket(path: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolveWait, reject) => {
    const attempt = () => {
      const c = createConnection(path);
      c.once('connect', () => {
        c.destroy();
        resolveWait();
      });
      c.once('error', () => {
        if (Date.now() > deadline) reject(new Error(`no daemon on ${path}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null) return r();
    p.once('exit', () => r());
    p.kill('SIGTERM');
  });
}

function runClient(uri: string, mode: string): number {
  const r = spawnSync(PY, [CLIENT, uri, mode, String(COUNT)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`client failed against ${uri}:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { ops_per_s: number }).ops_per_s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'tsvirtd.js'))) throw new Error('dist/ missing: run `npm run build` first');
  if (spawnSync(PY, ['-c', 'import libvirt']).status !== 0) throw new Error('python3-libvirt is required (/usr/bin/python3)');
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-bench-'));
  const children: ChildProcess[] = [];
  try {
    const tsSock = join(dir, 'ts', 'tsvirt-sock');
    const ts = spawn(process.execPath, [join(REPO, 'dist', 'cli', 'tsvirtd.js'), '--foreground', '--driver', 'test', '--socket-dir', join(dir, 'ts'), '--state-dir', join(dir, 'ts-state'), '--log-level', 'warn'], { stdio: 'ignore' });
    children.push(ts);
    const peers: Array<{ name: string; uri: string }> = [{ name: 'tsvirtd', uri: `bhyve+unix:///system?socket=${tsSock}` }];

    if (existsSync(LIBVIRTD)) {
      mkdirSync(join(dir, 'lv'));
      mkdirSync(join(dir, 'no-drivers'));
      const conf = join(dir, 'libvirtd.conf');
      writeFileSync(
        conf,
        [
          `unix_sock_dir = "${join(dir, 'lv')}"`,
          'auth_unix_rw = "none"',
          'auth_unix_ro = "none"',
          'unix_sock_rw_perms = "0700"',
          `log_outputs = "3:file:${join(dir, 'libvirtd.log')}"`,
          '',
        ].join('\n'),
      );
      const lv = spawn(LIBVIRTD, ['--config', conf, '--pid-file', join(dir, 'libvirtd.pid')], {
        stdio: 'ignore',
        env: { ...process.env, LIBVIRT_DRIVER_DIR: join(dir, 'no-drivers') },
      });
      children.push(lv);
      peers.push({ name: 'libvirtd', uri: `test+unix:///default?socket=${join(dir, 'lv', 'libvirt-sock')}` });
      await waitForSocket(join(dir, 'lv', 'libvirt-sock'));
    } else {
      process.stdout.write(`note: ${LIBVIRTD} not installed: measuring tsvirtd alone, no ratio\n`);
    }
    await waitForSocket(tsSock);

    const rows: string[][] = [];
    for (const mode of ['lookup', 'define']) {
      const rates = new Map<string, number[]>(peers.map((p) => [p.name, []]));
      const ratios: number[] = [];
      for (const p of peers) runClient(p.uri, mode); // warm-up run, not counted (JIT, caches)
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? peers : [...peers].reverse();
        const got = new Map<string, number>();
        for (const p of order) {
          const r = runClient(p.uri, mode);
          got.set(p.name, r);
          rates.get(p.name)?.push(r);
        }
        if (got.has('libvirtd')) ratios.push((got.get('tsvirtd') as number) / (got.get('libvirtd') as number));
      }
      const cell = (name: string) => {
        const xs = rates.get(name);
        if (!xs) return '-';
        return `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
      };
      rows.push([mode === 'lookup' ? 'lookupByName+info' : 'defineXML+undefine', cell('tsvirtd'), cell('libvirtd'), ratios.length ? `${median(ratios).toFixed(2)}×` : '-']);
    }

    const head = ['operation (2 RPCs each)', 'tsvirtd ops/s median (min–max)', 'libvirtd test:///default ops/s', 'ratio tsvirtd/libvirtd'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ');
    process.stdout.write(`python3-libvirt, ${COUNT} operations per run, ${ROUNDS} rounds per daemon, one connection per run\n`);
    process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
  } finally {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/rpc: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
