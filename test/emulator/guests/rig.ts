/**
 * Runs the device-model guest programs (fixtures/guests/<name>, built by buildGuest) on
 * QEMU TCG with QEMU's equivalent devices and on tsbhyve with ours, and gives back their
 * COM1 output and exit status. A guest that passes prints "SUMMARY: N tests" and exits
 * through pc-testdev/isa-debug-exit with status (0 << 1) | 1 = 1.
 *
 * Each run can feed the guest's COM1 (stdin) in response to its output (`interact`), and is
 * killed after `timeoutMs`. Disk images, ISOs and sockets are the tests' business.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { buildGuest } from '../../native/soft/build-tools.js';
import { removeBuild, tsbhyvePath } from '../helpers/build-cli.js';

export { removeBuild };

export interface GuestRun {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Multiboot command line for the guest. */
  append?: string;
  timeoutMs?: number;
  /** Called with the whole output so far whenever more arrives; may write to stdin. */
  interact?: (stdout: string, child: ChildProcessWithoutNullStreams) => void;
}

export function haveQemu(): boolean {
  return spawnSync('qemu-system-x86_64', ['--version']).status === 0;
}

export function guestElf(name: string): Promise<string> {
  return buildGuest(name);
}

function runChild(cmd: string, args: string[], opts: RunOptions): Promise<GuestRun> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      opts.interact?.(stdout.replace(/\r\n/g, '\n'), child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveP({ status: code ?? -1, signal, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
    });
  });
}

/** QEMU TCG, pc machine, COM1 on stdio, isa-debug-exit on 0xF4, plus `devices`. */
export function runQemu(elf: string, devices: string[], opts: RunOptions = {}): Promise<GuestRun> {
  const append = opts.append ? ['-append', opts.append] : [];
  return runChild(
    'qemu-system-x86_64',
    ['-accel', 'tcg', '-kernel', elf, ...append, '-serial', 'stdio', '-display', 'none', '-nodefaults', '-no-reboot',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '128', ...devices],
    opts,
  );
}

/** The multiboot contract's command line plus `slots` (bhyve -s/-l options), memory 64M. */
export function tsbhyveArgs(elf: string, slots: string[], opts: RunOptions = {}, name = 'vm0'): string[] {
  const boot = `multiboot,${elf},,${opts.append ? `"${opts.append}"` : ''}`;
  return ['-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', '-l', 'pc-testdev', ...slots, '-f', boot, name];
}

export function runTsbhyve(elf: string, slots: string[], opts: RunOptions = {}, name = 'vm0'): Promise<GuestRun> {
  return runChild(process.execPath, [tsbhyvePath(), ...tsbhyveArgs(elf, slots, opts, name)], opts);
}

/** The PASS/FAIL lines and SUMMARY of a guest's output (for readable assertion diffs). */
export function results(out: string): string[] {
  return out.split('\n').filter((l) => /^(PASS|FAIL|SKIP|SUMMARY):/.test(l));
}
export function failures(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('FAIL:'));
}

/** "PCI bb:dd.f vvvv:dddd class=cccccc ..." lines with their BAR lines, keyed by BDF. */
export function parsePci(out: string): Map<string, { id: string; cls: string; bars: string[]; caps: string[] }> {
  const m = new Map<string, { id: string; cls: string; bars: string[]; caps: string[] }>();
  let cur: { id: string; cls: string; bars: string[]; caps: string[] } | undefined;
  for (const line of out.split('\n')) {
    const f = /^PCI (\S+) (\S+) class=(\S+)/.exec(line);
    if (f) {
      cur = { id: f[2]!, cls: f[3]!, bars: [], caps: [] };
      m.set(f[1]!, cur);
      continue;
    }
    const b = /^ {2}BAR(\d) (\S+) size=(\S+)/.exec(line);
    if (b && cur) cur.bars.push(`BAR${b[1]} ${b[2]} ${b[3]}`);
    const c = /^ {2}CAP (\S+)/.exec(line);
    if (c && cur) cur.caps.push(c[1]!);
  }
  return m;
}

/** A guest's devices spelled for each engine. */
export interface Devices {
  qemu: string[];
  tsbhyve: string[];
}

/** Where a guest runs: tsbhyve (our device models) and QEMU TCG (the reference). */
export interface Engine {
  name: 'tsbhyve' | 'tsbhyve-kvm' | 'qemu';
  title: string;
  enabled: boolean;
  run(elf: string, devices: Devices, opts?: RunOptions): Promise<GuestRun>;
}

/** Whether /dev/kvm opens (the KVM backend's precondition; CI machines may lack it). */
export function kvmUsable(): boolean {
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return true;
  } catch {
    return false;
  }
}

export const ENGINES: Engine[] = [
  { name: 'tsbhyve', title: 'tsbhyve (default vmm backend)', enabled: true, run: (elf, d, o) => runTsbhyve(elf, d.tsbhyve, o) },
  {
    name: 'tsbhyve-kvm',
    title: kvmUsable() ? 'tsbhyve (vmm.backend=kvm)' : 'tsbhyve (vmm.backend=kvm) — skipped: /dev/kvm cannot be opened here',
    enabled: kvmUsable(),
    run: (elf, d, o) => runTsbhyve(elf, ['-o', 'vmm.backend=kvm', ...d.tsbhyve], o),
  },
  { name: 'qemu', title: 'QEMU TCG (reference)', enabled: haveQemu(), run: (elf, d, o) => runQemu(elf, d.qemu, o) },
];
