/**
 * Boots a BootSpec on tsbhyve directly — no driver, no domain XML: the bhyve-style argv
 * (`-f kexec,KERNEL,INITRD,"CMDLINE"`, COM1 on stdio, virtio-blk, virtio-net on the `udp:`
 * backend towards the test's FramePeer, virtio-rnd) on the vmm's default (soft) CPU.
 * This is the layer under tsvirt-boot.ts: when the tsvirsh boot fails, this one says
 * whether the platform or the management stack is at fault.
 *
 * The outcome carries tsbhyve's exit status (bhyve(8): 1 = the guest powered off) and its
 * stderr (unhandled port accesses, exit reasons). It does not judge the boot; the caller
 * does that with guest/checks.ts, exactly as for QEMU and tsvirsh.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../assets/debian-package.js';
import { GUEST_MAC, type BootSpec } from '../guest/boot-config.js';
import { ConsoleWatcher, parseResultLine, type GuestResult } from '../guest/console.js';

/** The built tsbhyve (run with this node); TSVIRT_TSBHYVE_JS points at another build. */
export const TSBHYVE_JS = process.env.TSVIRT_TSBHYVE_JS ?? join(REPO_ROOT, 'dist', 'cli', 'tsbhyve.js');

export interface TsbhyveOutcome {
  console: ConsoleWatcher;
  result: GuestResult | undefined;
  msToResult: number | undefined;
  msToExit: number;
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
}

export function tsbhyveArgs(spec: BootSpec, name: string): string[] {
  return [
    '-c', String(spec.vcpus),
    '-m', `${spec.memoryMiB}M`,
    '-H', '-A',
    '-s', '0,hostbridge',
    '-s', '31,lpc',
    '-l', 'com1,stdio',
    '-s', `3,virtio-blk,${spec.disk}`,
    '-s', `4,virtio-net,udp:127.0.0.1:${spec.peerPort},local=127.0.0.1:0,mac=${GUEST_MAC}`,
    '-s', '5,virtio-rnd',
    '-f', `kexec,${spec.kernel},${spec.initrd},"${spec.cmdline}"`,
    name,
  ];
}

export async function bootTsbhyve(spec: BootSpec, opts: { onConsole?: (chunk: string) => void; tsbhyveJs?: string } = {}): Promise<TsbhyveOutcome> {
  const t0 = performance.now();
  const console = new ConsoleWatcher(t0);
  const child = spawn(process.execPath, [opts.tsbhyveJs ?? TSBHYVE_JS, ...tsbhyveArgs(spec, `linux${process.pid}`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    console.push(d);
    opts.onConsole?.(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, spec.timeoutMs);
  try {
    const exitCode = await new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
    const msToExit = performance.now() - t0;
    console.end();
    const line = console.resultLine;
    return {
      console,
      result: line === undefined ? undefined : parseResultLine(line),
      msToResult: console.at.result,
      msToExit,
      exitCode,
      timedOut,
      stderr: stderr.trim(),
    };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
