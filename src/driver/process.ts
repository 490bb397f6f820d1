/**
 * Process supervision primitives: spawn the VM process (`tsbhyve -k CONFIG`) with its log
 * file, wait until it is up (control socket greeting), spawn a run's supervisor detached
 * from the caller and read its readiness report, signal a recorded process and wait for it
 * to be gone, read its CPU time.
 *
 * Who calls what: the driver (start, destroy, reset) uses spawnSupervisor/killAndWait; the
 * supervisor (supervisor.ts) uses spawnVm/waitReady. Processes are always addressed by
 * identity (pid + start time, proc-identity.ts), never by a bare pid.
 * What it does not: decide states (monitor.ts, supervisor.ts, driver.ts).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, watch, writeSync, type FSWatcher } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { ControlClient, ControlError } from './control-client.js';
import { identityAlive, readIdentity, type ProcessIdentity } from './proc-identity.js';
import type { LaunchRecord } from './launch.js';
import type { VmExit } from './monitor.js';

/** A VM process started by this process (the supervisor). */
export interface SpawnedVm {
  child: ChildProcess;
  identity: ProcessIdentity;
  /** Resolves once when the process has exited and been reaped. */
  exited: Promise<VmExit>;
}

/** Append one line to the domain log (the supervisor's own messages). */
export function logLine(logPath: string, message: string): void {
  try {
    const fd = openSync(logPath, 'a', 0o600);
    try {
      writeSync(fd, `${new Date().toISOString()}: ${message}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* logging must never take the supervisor down */
  }
}

/**
 * The environment of a process the driver starts (the supervisor, the VM process): this
 * process's, then `extra` (`<bhyve:env>`), without NODE_EXTRA_CA_CERTS unless `extra` sets
 * it. Node 20 reads and parses that certificate bundle while it starts, before any script
 * runs (about 0.1 s for a full system bundle on a loaded host), and neither process makes a
 * TLS connection: on hosts that export it for every program, each start of a domain would
 * pay for it twice.
 */
export function childEnv(extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.NODE_EXTRA_CA_CERTS;
  return { ...env, ...extra };
}

/** Spawn the VM process with stdout/stderr appended to the domain log. */
export async function spawnVm(launch: LaunchRecord): Promise<SpawnedVm | string> {
  let fd: number;
  try {
    fd = openSync(launch.logPath, 'a', 0o600);
  } catch (err) {
    return `cannot open log file ${launch.logPath}: ${(err as Error).message}`;
  }
  let child: ChildProcess;
  const [cmd, ...args] = launch.argv as [string, ...string[]];
  try {
    writeSync(fd, `${new Date().toISOString()}: starting up\n${launch.argv.map(shellQuote).join(' ')}\n`);
    child = spawn(cmd, args, {
      cwd: launch.cwd,
      env: childEnv(launch.env),
      stdio: ['ignore', fd, fd],
    });
  } catch (err) {
    return `cannot execute ${cmd}: ${(err as Error).message}`;
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<VmExit>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? { kind: 'signaled', signal } : { kind: 'exited', code: code ?? 0 }));
  });
  const started = await new Promise<string | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(`cannot execute ${cmd}: ${err.message}`));
  });
  if (started !== undefined || child.pid === undefined) {
    const msg = started ?? `cannot execute ${cmd}`;
    logLine(launch.logPath, msg);
    return msg;
  }
  const identity = readIdentity(child.pid) ?? { pid: child.pid, start: '0' };
  return { child, identity, exited };
}

export type ReadyResult =
  | { kind: 'ready'; state: 'running' | 'paused' }
  | { kind: 'exited'; exit: VmExit }
  | { kind: 'timeout' }
  | { kind: 'abandoned' };

/**
 * Wakes a waiter when something is created, renamed or removed in `dir` (inotify through
 * fs.watch), so the wait for the control socket does not lag its creation by a poll
 * interval. Where the folder cannot be watched (inotify limits, a file system without
 * notifications) it never wakes and the caller's polling alone finds the socket.
 */
export class DirWake {
  private watcher: FSWatcher | undefined;
  private pending = false;
  private waiter: (() => void) | undefined;

  constructor(dir: string) {
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.fire());
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  private fire(): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w();
    else this.pending = true;
  }

  /** Resolves at the next event (at once if one came since the last call). */
  next(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((r) => (this.waiter = r));
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * Wait until the VM process greets on its control socket (ready), exits, or
 * `readyTimeoutMs` passes (a VM program that never creates the socket does not honour
 * docs/control-socket.md and fails to start, rather than running uncontrollable).
 * `abandoned`, asked before each look at the socket, ends the wait as soon as the run is
 * no longer wanted (a start rolled back meanwhile: its socket may be gone already).
 * The socket is looked for when its folder changes, and every 5..50 ms besides.
 */
export async function waitReady(launch: LaunchRecord, vm: SpawnedVm, abandoned?: () => Promise<boolean>): Promise<ReadyResult> {
  let exit: VmExit | undefined;
  void vm.exited.then((e) => {
    exit = e;
  });
  const t0 = Date.now();
  let delay = 5;
  const wake = new DirWake(dirname(launch.controlSocket));
  try {
    for (;;) {
      if (exit) return { kind: 'exited', exit };
      if (abandoned && (await abandoned())) return { kind: 'abandoned' };
      try {
        await fsp.access(launch.controlSocket);
        try {
          const c = await ControlClient.connect(launch.controlSocket, Math.max(100, launch.readyTimeoutMs - (Date.now() - t0)));
          const state = c.greeting.state;
          c.close();
          return { kind: 'ready', state };
        } catch (err) {
          if (!(err instanceof ControlError) || err.kind === 'timeout') return { kind: 'timeout' };
          // refused: the socket file exists but nobody listens yet (stale or not bound): retry
          delay = 5;
        }
      } catch {
        /* not created yet */
      }
      if (Date.now() - t0 > launch.readyTimeoutMs) return { kind: 'timeout' };
      await Promise.race([sleep(delay), vm.exited, wake.next()]);
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    wake.close();
  }
}

/** What a supervisor reports to the process that started it (one JSON line). */
export type SupervisorReport =
  | { ready: true; vm: ProcessIdentity; supervisor: ProcessIdentity; state?: 'running' | 'paused' }
  | { ready: false; error: string };

export interface SupervisorSpawn {
  /** Node executable and the compiled supervisor entry (supervisor-main.js). */
  node: string;
  entry: string;
  root: string;
  name: string;
  runId: string;
  /** Adopt the running VM process recorded in the status instead of starting one. */
  adopt?: boolean;
  /** Give up waiting for the report after this long. */
  timeoutMs: number;
}

/**
 * Start a run's supervisor in its own session (it outlives the caller: tsvirsh exits,
 * the VM keeps running) and wait for its readiness report.
 */
export function spawnSupervisor(opts: SupervisorSpawn): Promise<SupervisorReport> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      const args = [opts.entry, '--root', opts.root, '--name', opts.name, '--run', opts.runId, ...(opts.adopt ? ['--adopt'] : [])];
      child = spawn(opts.node, args, {
        cwd: opts.root,
        env: childEnv(),
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (err) {
      resolve({ ready: false, error: `cannot start the VM supervisor: ${(err as Error).message}` });
      return;
    }
    let buf = '';
    let done = false;
    const finish = (r: SupervisorReport) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.unref();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ready: false, error: `the VM supervisor did not report within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    child.once('error', (err) => finish({ ready: false, error: `cannot start the VM supervisor: ${err.message}` }));
    child.once('exit', (code, sig) => {
      // Give a report written just before exit the chance to arrive first.
      setTimeout(() => finish({ ready: false, error: `the VM supervisor exited (${sig ?? `status ${code}`}) before the VM was up` }), 20);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 65536) finish({ ready: false, error: 'the VM supervisor sent an over-long report' });
        return;
      }
      finish(parseReport(buf.slice(0, nl)));
    });
  });
}

function parseReport(line: string): SupervisorReport {
  try {
    const v = JSON.parse(line) as Partial<SupervisorReport> & { error?: unknown };
    if (v.ready === true && v.vm && v.supervisor) return v as SupervisorReport;
    if (v.ready === false && typeof v.error === 'string') return { ready: false, error: v.error };
  } catch {
    /* fall through */
  }
  return { ready: false, error: 'the VM supervisor sent an unreadable report' };
}

/**
 * Send `signal` to the recorded process (only if it is still that process) and wait until
 * it is gone. Returns false if it is still alive after `timeoutMs`.
 */
export async function killAndWait(id: ProcessIdentity | undefined, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  if (!id || !identityAlive(id)) return true;
  try {
    process.kill(id.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  return waitGone(id, timeoutMs);
}

/** Wait until the recorded process no longer runs. */
export async function waitGone(id: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (identityAlive(id)) {
    if (Date.now() > deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 20);
  }
  return true;
}

/**
 * CPU time used by a process in nanoseconds: /proc/PID/schedstat (ns) when the kernel
 * keeps it, else utime+stime from /proc/PID/stat at USER_HZ=100 (Linux's fixed ABI value).
 */
export function cpuTimeNs(id: ProcessIdentity | undefined): number {
  if (!id || !identityAlive(id)) return 0;
  try {
    const s = readFileSync(`/proc/${id.pid}/schedstat`, 'latin1').split(' ');
    const ns = Number(s[0]);
    if (Number.isFinite(ns) && ns > 0) return ns;
  } catch {
    /* fall back to stat */
  }
  try {
    const text = readFileSync(`/proc/${id.pid}/stat`, 'latin1');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[14 - 3]) + Number(rest[15 - 3]);
    return Number.isFinite(ticks) ? ticks * 10_000_000 : 0;
  } catch {
    return 0;
  }
}

/** Write a pidfile atomically enough for readers (one small write of a new file). */
export async function writePidfile(path: string, pid: number): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${pid}\n`, 0o644);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
