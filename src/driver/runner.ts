/**
 * Lifecycle operations on one domain's run, below the XML level: start a run from a
 * ready config tree, destroy it, ask the guest to shut down or reboot, reset, pause and
 * resume through the control socket, attach a console, and reconcile a status record with
 * the processes that actually exist (re-attach after a restart of the driver, notice VMs
 * that died meanwhile).
 *
 * Every function here expects the caller to hold the domain's lock (lock.ts,
 * `domainLockKey(uuid)`) and returns or throws libvirt errors (VirError). The translation
 * of the domain (XML → config tree) and the persistent definition are the driver's
 * (driver.ts); events go to the shared event log.
 */

import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { VirError, VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE } from '../xml/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { ControlClient, ControlError } from './control-client.js';
import {
  VIR_DOMAIN_CRASHED,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STARTED_BOOTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_PAUSED_STARTING_UP,
  VIR_DOMAIN_PAUSED_USER,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_RUNNING_BOOTED,
  VIR_DOMAIN_RUNNING_UNPAUSED,
  VIR_DOMAIN_SHUTOFF_DESTROYED,
  VIR_DOMAIN_SHUTOFF_FAILED,
  isActiveState,
  stoppedDetailFor,
} from './domain-state.js';
import type { DomainEventRecord, EventLog } from './events.js';
import { writeLaunch, type LaunchRecord } from './launch.js';
import type { LockSpace } from './lock.js';
import { decideExit, type LifecycleActions } from './monitor.js';
import { identityAlive, selfIdentity } from './proc-identity.js';
import { killAndWait, logLine, spawnSupervisor } from './process.js';
import type { DomainStatus, StateStore } from './store.js';
import { newRunId, writeStopped } from './supervisor.js';
import { startMark } from './start-trace.js';

/** What the lifecycle operations need from their surroundings. */
export interface RunContext {
  store: StateStore;
  locks: LockSpace;
  events: EventLog;
  /** argv prefix of the VM program (`['/usr/bin/node', '/…/tsbhyve.js']`). */
  emulator: string[];
  /** Node executable and compiled supervisor entry. */
  node: string;
  supervisorEntry: string;
  /** How long a VM process may take to greet on its control socket (ms). */
  readyTimeoutMs: number;
}

export interface StartRequest {
  name: string;
  uuid: string;
  id: number;
  /** The `-k` file content (bhyve_config(5) key=value lines). */
  configText: string;
  /** The live XML to record (with id, aliases, addresses). */
  liveXml: string;
  actions: LifecycleActions;
  transient: boolean;
  paused: boolean;
  /** Warnings of the translation, kept for virDomainGetMessages. */
  messages?: string[];
  /** Tap devices created for this run (deleted when it ends). */
  taps?: string[];
  /** Environment of the VM process (`<bhyve:env>`). */
  env?: Record<string, string>;
}

const KILL_TIMEOUT_MS = 15_000;

function opFailed(msg: string): VirError {
  return new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, `operation failed: ${msg}`);
}
export function notRunning(): VirError {
  return new VirError(VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE, 'Requested operation is not valid: domain is not running');
}

async function emit(ctx: RunContext, st: Pick<DomainStatus, 'name' | 'uuid'>, ev: Omit<DomainEventRecord, 'time' | 'name' | 'uuid'>): Promise<void> {
  try {
    await ctx.events.append({ time: Date.now(), name: st.name, uuid: st.uuid, ...ev });
  } catch {
    /* an event that cannot be recorded must not fail the operation */
  }
}

/** Start a run. Caller holds the domain lock and has checked the domain is inactive. */
export async function startRun(ctx: RunContext, req: StartRequest): Promise<DomainStatus> {
  const { store } = ctx;
  const runId = newRunId();
  const controlSocket = store.controlSocketPath(req.name, req.uuid);
  const me = selfIdentity();
  const starting: DomainStatus = {
    name: req.name,
    uuid: req.uuid,
    state: VIR_DOMAIN_PAUSED,
    reason: VIR_DOMAIN_PAUSED_STARTING_UP,
    id: req.id,
    transient: req.transient || undefined,
    runId,
    liveXml: req.liveXml,
    controlSocket,
    startingBy: me,
    messages: req.messages?.length ? req.messages : undefined,
    taps: req.taps?.length ? req.taps : undefined,
  };
  // Record the intent first: if this process dies from here on, whoever looks next (the
  // supervisor, or a driver reconciling) sees an unfinished start and rolls it back.
  await store.writeStatus(starting);
  const confPath = store.confPath(req.name);
  const launch: LaunchRecord = {
    runId,
    name: req.name,
    uuid: req.uuid,
    argv: [...ctx.emulator, '-k', confPath, '-o', `tsvirt.control.path=${controlSocket}`, ...(req.paused ? ['-o', 'tsvirt.control.start_paused=true'] : [])],
    cwd: store.runDir,
    env: req.env ?? {},
    actions: req.actions,
    controlSocket,
    logPath: store.logPath(req.name),
    readyTimeoutMs: ctx.readyTimeoutMs,
  };
  // The files the supervisor and the VM process read, written side by side (each one
  // crash-safe on its own; the status above already says a start is under way).
  // All settle before a failure is reported: nothing is still being written once the
  // caller handles it.
  const written = await Promise.allSettled([
    writeFileAtomic(confPath, req.configText),
    fsp.mkdir(dirname(controlSocket), { recursive: true, mode: 0o700 }).then(() => fsp.rm(controlSocket, { force: true })),
    writeLaunch(store.runDir, launch),
  ]);
  for (const w of written) if (w.status === 'rejected') throw w.reason;
  startMark('start: spawn supervisor');
  const report = await spawnSupervisor({
    node: ctx.node,
    entry: ctx.supervisorEntry,
    root: store.root,
    name: req.name,
    runId,
    timeoutMs: ctx.readyTimeoutMs + 10_000,
  });
  startMark('start: supervisor report');
  if (!report.ready) {
    await rollback(ctx, starting);
    const tail = await logTail(store.logPath(req.name));
    throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_BHYVE, `internal error: guest '${req.name}' failed to start: ${report.error}${tail ? `\n${tail}` : ''}`);
  }
  const paused = req.paused || report.state === 'paused';
  const running: DomainStatus = {
    ...starting,
    state: paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING,
    reason: paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED,
    vm: report.vm,
    supervisor: report.supervisor,
    startingBy: undefined,
    startedAt: Date.now(),
    restarts: [],
  };
  await store.writeStatus(running);
  await emit(ctx, running, { id: req.id, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STARTED, detail: VIR_DOMAIN_EVENT_STARTED_BOOTED });
  if (paused) await emit(ctx, running, { id: req.id, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_SUSPENDED, detail: VIR_DOMAIN_EVENT_SUSPENDED_PAUSED });
  startMark('start: committed');
  return running;
}

/** Undo a start that did not complete: shutoff(failed), or gone for a transient domain. */
async function rollback(ctx: RunContext, st: DomainStatus): Promise<void> {
  await writeStopped(ctx.store, st, VIR_DOMAIN_SHUTOFF_FAILED);
}

/** Last lines of the domain log, for start failures. */
async function logTail(path: string, lines = 5): Promise<string> {
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 4096);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** Destroy: kill the VM process, record shutoff(destroyed). */
export async function destroyRun(ctx: RunContext, st: DomainStatus): Promise<void> {
  if (!isActiveState(st.state)) throw notRunning();
  if (st.vm && identityAlive(st.vm)) {
    // Tell a supervisor that gets the lock after us (it cannot before) what happened.
    await ctx.store.writeStatus({ ...st, pending: { kind: 'destroy', since: Date.now() } });
    const gone = await killAndWait(st.vm, 'SIGKILL', KILL_TIMEOUT_MS);
    if (!gone) throw opFailed(`VM process ${st.vm.pid} of '${st.name}' did not die after SIGKILL`);
  }
  await writeStopped(ctx.store, st, VIR_DOMAIN_SHUTOFF_DESTROYED);
  await emit(ctx, st, { id: -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STOPPED, detail: stoppedDetailFor(VIR_DOMAIN_SHUTOFF_DESTROYED) });
}

/** Connect to the run's control socket or report why it cannot be used. */
export async function control(st: DomainStatus, timeoutMs = 5000): Promise<ControlClient> {
  if (!st.controlSocket) throw opFailed(`domain '${st.name}' has no control socket`);
  try {
    return await ControlClient.connect(st.controlSocket, timeoutMs);
  } catch (err) {
    throw opFailed(`cannot reach the control socket of domain '${st.name}': ${(err as Error).message}`);
  }
}

async function request(st: DomainStatus, cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const c = await control(st);
  try {
    return await c.request(cmd, args);
  } catch (err) {
    const e = err as ControlError;
    throw opFailed(`'${cmd}' on domain '${st.name}' failed: ${e.message}`);
  } finally {
    c.close();
  }
}

function requireLive(st: DomainStatus): void {
  if (!isActiveState(st.state) || st.state === VIR_DOMAIN_CRASHED || !st.vm) throw notRunning();
}

/** shutdown / reboot: press the ACPI power button; reboot also asks the supervisor to restart. */
export async function requestGuestStop(ctx: RunContext, st: DomainStatus, kind: 'shutdown' | 'reboot'): Promise<void> {
  requireLive(st);
  const r = await request(st, 'shutdown');
  if (r.acpi !== true) {
    throw opFailed(`domain '${st.name}' has not enabled ACPI: the power button request was not delivered`);
  }
  await ctx.store.writeStatus({ ...st, pending: { kind, since: Date.now() } });
  logLine(ctx.store.logPath(st.name), `tsvirt driver: ${kind} requested (ACPI power button)`);
}

/** reset: kill the VM process; its supervisor restarts it (same id). */
export async function resetRun(ctx: RunContext, st: DomainStatus): Promise<void> {
  requireLive(st);
  if (!st.supervisor || !identityAlive(st.supervisor)) throw opFailed(`domain '${st.name}' has no supervisor to restart it`);
  await ctx.store.writeStatus({ ...st, pending: { kind: 'reset', since: Date.now() } });
  logLine(ctx.store.logPath(st.name), 'tsvirt driver: reset requested');
  const gone = await killAndWait(st.vm, 'SIGKILL', KILL_TIMEOUT_MS);
  if (!gone) throw opFailed(`VM process of '${st.name}' did not die after SIGKILL`);
}

export async function suspendRun(ctx: RunContext, st: DomainStatus): Promise<DomainStatus> {
  requireLive(st);
  if (st.state === VIR_DOMAIN_PAUSED) return st;
  await request(st, 'pause');
  const next = { ...st, state: VIR_DOMAIN_PAUSED, reason: VIR_DOMAIN_PAUSED_USER } as DomainStatus;
  await ctx.store.writeStatus(next);
  await emit(ctx, st, { id: st.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_SUSPENDED, detail: VIR_DOMAIN_EVENT_SUSPENDED_PAUSED });
  return next;
}

export async function resumeRun(ctx: RunContext, st: DomainStatus): Promise<DomainStatus> {
  requireLive(st);
  if (st.state !== VIR_DOMAIN_PAUSED) {
    throw new VirError(VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE, 'Requested operation is not valid: domain is not paused');
  }
  await request(st, 'resume');
  const next = { ...st, state: VIR_DOMAIN_RUNNING, reason: VIR_DOMAIN_RUNNING_UNPAUSED } as DomainStatus;
  await ctx.store.writeStatus(next);
  await emit(ctx, st, { id: st.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_RESUMED, detail: VIR_DOMAIN_EVENT_RESUMED_UNPAUSED });
  return next;
}

/** Attach to a UART console: returns the raw byte stream. Needs no lock. */
export async function openConsoleStream(st: DomainStatus, dev: string, opts: { force?: boolean; replay?: boolean }): Promise<Duplex> {
  requireLive(st);
  const c = await control(st);
  try {
    return await c.console(dev, opts);
  } catch (err) {
    c.close();
    const e = err as ControlError;
    if (e.remoteCode === 'busy') {
      throw new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, `operation failed: Active console session exists for this domain`);
    }
    throw opFailed(`cannot open console ${dev} of '${st.name}': ${e.message}`);
  }
}

export type ReconcileResult = 'unchanged' | 'updated' | 'adopted' | 'removed';

/**
 * Bring a status record in line with reality. Caller holds the domain lock.
 * - a start whose starter died before committing → shutoff(failed) (VM killed);
 * - VM and supervisor both gone → the stop nobody recorded (shutoff, reason from any
 *   pending request, else unknown);
 * - VM alive but supervisor gone → a new supervisor adopts it;
 * - VM gone, supervisor alive → the supervisor is about to record it: nothing to do.
 */
export async function reconcile(ctx: RunContext, st: DomainStatus): Promise<ReconcileResult> {
  if (!isActiveState(st.state) || st.state === VIR_DOMAIN_CRASHED) return 'unchanged';
  const log = (m: string) => logLine(ctx.store.logPath(st.name), `tsvirt driver: ${m}`);
  if (st.startingBy && !identityAlive(st.startingBy)) {
    if (st.supervisor && identityAlive(st.supervisor)) return 'unchanged'; // it rolls back itself
    log('found a start that never completed; rolling it back');
    await killAndWait(st.vm, 'SIGKILL', KILL_TIMEOUT_MS);
    await writeStopped(ctx.store, st, VIR_DOMAIN_SHUTOFF_FAILED);
    return st.transient ? 'removed' : 'updated';
  }
  if (st.startingBy) return 'unchanged';
  const vmAlive = identityAlive(st.vm);
  const supAlive = identityAlive(st.supervisor);
  if (vmAlive && supAlive) return 'unchanged';
  if (!vmAlive && supAlive) return 'unchanged';
  if (!vmAlive) {
    const outcome = decideExit({ kind: 'unknown' }, { on_poweroff: 'destroy', on_reboot: 'destroy', on_crash: 'destroy' }, st.pending?.kind === 'reboot' || st.pending?.kind === 'reset' ? undefined : st.pending?.kind);
    const reason = outcome.action === 'stop' ? outcome.reason : VIR_DOMAIN_SHUTOFF_FAILED;
    log(`VM process of '${st.name}' ended while nobody supervised it; recording it stopped`);
    await writeStopped(ctx.store, st, reason);
    await emit(ctx, st, { id: -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STOPPED, detail: stoppedDetailFor(reason) });
    return st.transient ? 'removed' : 'updated';
  }
  // VM alive, supervisor gone: adopt.
  if (!st.runId) return 'unchanged';
  const report = await spawnSupervisor({ node: ctx.node, entry: ctx.supervisorEntry, root: ctx.store.root, name: st.name, runId: st.runId, adopt: true, timeoutMs: 10_000 });
  if (!report.ready) {
    log(`cannot adopt the VM process: ${report.error}`);
    return 'unchanged';
  }
  await ctx.store.writeStatus({ ...st, supervisor: report.supervisor });
  log(`adopted VM process ${st.vm?.pid} with a new supervisor ${report.supervisor.pid}`);
  return 'adopted';
}
