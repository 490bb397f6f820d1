/**
 * Boots a BootSpec on QEMU TCG (Debian's qemu-system-x86 7.2): the reference the Linux
 * test's assets and /init are proven on, and the peer of bench/boot.
 *
 * Machine: `-machine pc` (i440FX + PIIX, the closest QEMU board to bhyve's hostbridge +
 * LPC), `-cpu qemu64` by default, COM1 on stdout, direct kernel boot (-kernel/-initrd/
 * -append), modern-only virtio-pci devices (disable-legacy=on) for the disk, the NIC and
 * the RNG, the NIC on `-netdev dgram` over UDP to the FramePeer. `-no-reboot` turns a
 * guest reset (panic=-1) into an exit.
 *
 * How the guest stopped is read from QMP (`-qmp unix:...,wait=on`, so no event can be
 * missed): the SHUTDOWN event's reason is `guest-shutdown` for an ACPI poweroff,
 * `guest-reset` for a reboot or panic. The time to the result line is measured from just
 * before spawn.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsoleWatcher, parseResultLine, type GuestResult } from '../guest/console.js';
import { GUEST_MAC, type BootSpec } from '../guest/boot-config.js';
import { prepareRun, type LinuxAssets } from '../guest/prepare.js';
import { kernelSymbols, type Symbolizer } from '../assets/symbols.js';

export const QEMU = 'qemu-system-x86_64';

export interface QemuOptions {
  /** `-cpu` model (default qemu64). */
  cpu?: string;
  /** Extra arguments (e.g. `-d int -D file`, `-trace ...`, `-s -S`). */
  extraArgs?: string[];
  /** Called with console text as it arrives. */
  onConsole?: (chunk: string) => void;
}

export interface BootOutcome {
  console: ConsoleWatcher;
  result: GuestResult | undefined;
  /** ms from spawn to the result line. */
  msToResult: number | undefined;
  /** ms from spawn to the process exit. */
  msToExit: number;
  /** QMP SHUTDOWN reason (guest-shutdown, guest-reset, ...), if any. */
  shutdownReason: string | undefined;
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
}

/** Whether QEMU is installed and has what the boot uses (-netdev dgram needs 7.2). */
export function qemuMissing(): string | undefined {
  const r = spawnSync(QEMU, ['-netdev', 'help'], { encoding: 'utf8' });
  if (r.error) return `${QEMU} not found (apt-get install qemu-system-x86)`;
  if (!/^dgram$/m.test(r.stdout)) return `${QEMU} has no -netdev dgram (QEMU >= 7.2 needed)`;
  return undefined;
}

export function qemuArgs(spec: BootSpec, qmpPath: string, opts: QemuOptions = {}): string[] {
  return [
    '-accel', 'tcg',
    '-machine', 'pc',
    '-cpu', opts.cpu ?? 'qemu64',
    '-smp', String(spec.vcpus),
    '-m', `${spec.memoryMiB}M`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', spec.cmdline,
    '-drive', `file=${spec.disk},format=raw,if=none,id=disk0`,
    '-device', 'virtio-blk-pci,drive=disk0,disable-legacy=on',
    '-netdev', `dgram,id=net0,local.type=inet,local.host=127.0.0.1,local.port=0,remote.type=inet,remote.host=127.0.0.1,remote.port=${spec.peerPort}`,
    '-device', `virtio-net-pci,netdev=net0,mac=${GUEST_MAC},disable-legacy=on`,
    '-object', 'rng-random,id=rng0,filename=/dev/urandom',
    '-device', 'virtio-rng-pci,rng=rng0,disable-legacy=on',
    '-qmp', `unix:${qmpPath},server=on,wait=on`,
    ...(opts.extraArgs ?? []),
  ];
}

async function connectQmp(path: string, child: ChildProcess, onEvent: (e: { event: string; data?: Record<string, unknown> }) => void): Promise<Socket> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${QEMU} exited (${child.exitCode}) before its QMP socket opened`);
    try {
      const s = await new Promise<Socket>((ok, fail) => {
        const c = createConnection(path);
        c.once('connect', () => ok(c));
        c.once('error', fail);
      });
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            const msg = JSON.parse(line) as { event?: string; data?: Record<string, unknown> };
            if (msg.event) onEvent({ event: msg.event, data: msg.data });
          } catch {
            /* not JSON: ignore */
          }
        }
      });
      s.on('error', () => {});
      s.write('{"execute":"qmp_capabilities"}\n');
      return s;
    } catch {
      if (i > 400) throw new Error(`no QMP socket at ${path}`);
      await sleep(25);
    }
  }
}

export async function bootQemu(spec: BootSpec, opts: QemuOptions = {}): Promise<BootOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-qemu-'));
  const qmpPath = join(dir, 'qmp.sock');
  const t0 = performance.now();
  const console = new ConsoleWatcher(t0);
  const child = spawn(QEMU, qemuArgs(spec, qmpPath, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    console.push(d);
    opts.onConsole?.(d);
  });
  const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  let shutdownReason: string | undefined;
  let qmp: Socket | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, spec.timeoutMs);
  try {
    qmp = await connectQmp(qmpPath, child, (e) => {
      if (e.event === 'SHUTDOWN') shutdownReason = String(e.data?.reason ?? 'unknown');
    }).catch((e: Error) => {
      // With wait=on QEMU would wait for a QMP client until the timeout: stop it now.
      stderr += `\n${e.message}`;
      child.kill('SIGKILL');
      return undefined;
    });
    const code = await exited;
    const msToExit = performance.now() - t0;
    console.end();
    const line = console.resultLine;
    return {
      console,
      result: line === undefined ? undefined : parseResultLine(line),
      msToResult: console.at.result,
      msToExit,
      shutdownReason,
      exitCode: code,
      timedOut,
      stderr: stderr.trim(),
    };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    qmp?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel's symbol map (symbols.ts), made by one QEMU boot with tsvirt.kallsyms=1 when not cached. */
export function kernelSymbolsViaQemu(assets: LinuxAssets): Promise<Symbolizer> {
  return kernelSymbols(assets, async (cmdlineExtra) => {
    const run = await prepareRun(assets, { vcpus: 1, timeoutMs: 600_000, cmdlineExtra });
    const o = await bootQemu(run.spec);
    return { diskImage: run.disk.image, diagnosis: o.console.diagnosis(), dispose: () => run.dispose() };
  });
}
