/**
 * The supervisor of one run of one domain: a small detached process (supervisor-main.ts)
 * that is the parent of the VM process. It exists because the process that starts a
 * domain (a short-lived `tsvirsh`, or a daemon that may restart) cannot be relied on to be
 * there when the guest powers off, reboots or crashes — yet on_poweroff/on_reboot/on_crash
 * must be applied then, and only a parent learns the exit status. It is tsvirt's vmrun.sh.
 *
 *   1. spawn the VM process (launch record), wait until it is up, report to the starter;
 *   2. take the domain lock once the starter has committed the start; if the starter died
 *      before committing, roll back: kill the VM, state shutoff(failed) — no half-started
 *      domain survives a killed `tsvirsh start`;
 *   3. wait for the VM to exit; under the domain lock, if the run is still ours, apply
 *      monitor.ts's decision: stop (shutoff + reason), restart (same id, new process), or
 *      keep the domain crashed; write the status and the events; loop on restart.
 *
 * Adoption: a supervisor started with `adopt` for a VM process whose supervisor died
 * cannot learn the exit status (it is not the parent); it polls the process identity and
 * reports an `unknown` exit.
 * A run is identified by its runId; a supervisor never touches a status record of another
 * run (a destroy + start that happened meanwhile).
 */

import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { LockSpace } from './lock.js';
import { StateStore, type DomainStatus } from './store.js';
import { EventLog, type DomainEventRecord } from './events.js';
import { launchPath, readLaunch, type LaunchRecord } from './launch.js';
import { tearDownTaps } from './net.js';
import { decideExit, describeExit, type ExitOutcome, type VmExit } from './monitor.js';
import { killAndWait, logLine, sleep, spawnVm, waitReady, writePidfile, type SpawnedVm, type SupervisorReport } from './process.js';
import { identityAlive, selfIdentity, type ProcessIdentity } from './proc-identity.js';
import { startMark } from './start-trace.js';
import {
  VIR_DOMAIN_CRASHED,
  VIR_DOMAIN_EVENT_CRASHED,
  VIR_DOMAIN_EVENT_CRASHED_PANICKED,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_ID_REBOOT,
  VIR_DOMAIN_EVENT_SHUTDOWN,
  VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STARTED_BOOTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_STOPPED_FAILED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_PAUSED_USER,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_RUNNING_BOOTED,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SHUTOFF_CRASHED,
  VIR_DOMAIN_SHUTOFF_FAILED,
  VIR_DOMAIN_SHUTOFF_SHUTDOWN,
  isActiveState,
  stoppedDetailFor,
} from './domain-state.js';

export interface SupervisorArgs {
  root: string;
  name: string;
  runId: string;
  /** Adopt the VM process recorded in the status instead of spawning one. */
  adopt: boolean;
}

/** More restarts than this within RESTART_WINDOW_MS stops the domain (crash loop). */
export const MAX_RESTARTS = 10;
export const RESTART_WINDOW_MS = 60_000;
const KILL_TIMEOUT_MS = 10_000;
const ADOPT_POLL_MS = 200;

export function domainLockKey(uuid: string): string {
  return `domain/${uuid}`;
}

export async function runSupervisor(args: SupervisorArgs, report: (r: SupervisorReport) => void): Promise<void> {
  const store = new StateStore(args.root);
  const locks = new LockSpace(args.root);
  const events = new EventLog(store.eventsPath(), locks);
  const launch = await readLaunch(store.runDir, args.name);
  if (typeof launch === 'string') {
    report({ ready: false, error: launch });
    return;
  }
  if (launch.runId !== args.runId) {
    report({ ready: false, error: 'launch record belongs to another run' });
    return;
  }
  const me = selfIdentity();
  const log = (m: string) => logLine(launch.logPath, `tsvirt supervisor: ${m}`);
  const emit = async (ev: Omit<DomainEventRecord, 'time' | 'name' | 'uuid'>) => {
    try {
      await events.append({ time: Date.now(), name: launch.name, uuid: launch.uuid, ...ev });
    } catch (err) {
      log(`cannot record event: ${(err as Error).message}`);
    }
  };

  let vm: SpawnedVm | undefined;
  let vmId: ProcessIdentity | undefined;
  let exited: Promise<VmExit>;

  if (args.adopt) {
    const st = await store.readStatus(args.name);
    if (st.kind !== 'ok' || st.status.runId !== args.runId || !st.status.vm || !identityAlive(st.status.vm)) {
      report({ ready: false, error: 'nothing to adopt' });
      return;
    }
    vmId = st.status.vm;
    exited = pollUntilGone(vmId);
    report({ ready: true, vm: vmId, supervisor: me });
    log(`adopted VM process ${vmId.pid}`);
  } else {
    // The starter holds the domain lock until it commits; should it die first, the next
    // reconcile rolls the start back (state shut off (failed), run files and control socket
    // removed) without knowing this supervisor. The wait for the VM's greeting then stops at
    // once instead of waiting out readyTimeoutMs for a socket that was unlinked, leaving the
    // VM running that long after the domain was recorded stopped.
    const rolledBack = async (): Promise<boolean> => {
      const st = await store.readStatus(args.name);
      return st.kind === 'missing' || (st.kind === 'ok' && (st.status.runId !== args.runId || !isActiveState(st.status.state)));
    };
    const started = await startVm(launch, log, rolledBack);
    if (typeof started === 'string') {
      report({ ready: false, error: started });
      return;
    }
    vm = started.vm;
    vmId = vm.identity;
    exited = vm.exited;
    await writePidfile(store.pidPath(args.name), vmId.pid).catch((err) => log(`cannot write pidfile: ${(err as Error).message}`));
    report({ ready: true, vm: vmId, supervisor: me, state: started.state });

    // 2. Wait for the starter's commit (it holds the lock until then).
    const lock = await locks.acquire(domainLockKey(launch.uuid), { purpose: 'supervise', timeoutMs: 5 * 60_000 });
    try {
      const st = await store.readStatus(args.name);
      const ours = st.kind === 'ok' && st.status.runId === args.runId && isActiveState(st.status.state);
      if (!ours) {
        await killAndWait(vmId, 'SIGKILL', KILL_TIMEOUT_MS);
        return;
      }
      if (st.status.startingBy) {
        log('the process that started this domain died before completing the start; stopping the VM');
        await killAndWait(vmId, 'SIGKILL', KILL_TIMEOUT_MS);
        await exited;
        await writeStopped(store, st.status, VIR_DOMAIN_SHUTOFF_FAILED, launch);
        return;
      }
    } finally {
      await lock.release();
    }
  }

  // 3. Supervise until the run ends.
  for (;;) {
    const exit = await exited;
    log(`VM process ${vmId.pid} ended: ${describeExit(exit)}`);
    const lock = await locks.acquire(domainLockKey(launch.uuid), { purpose: 'supervise', timeoutMs: 5 * 60_000 });
    try {
      const st = await store.readStatus(args.name);
      if (st.kind !== 'ok' || st.status.runId !== args.runId || !isActiveState(st.status.state) || st.status.state === VIR_DOMAIN_CRASHED) {
        return; // someone else (destroy, reset of another run) already accounted for it
      }
      const status = st.status;
      let outcome: ExitOutcome = decideExit(exit, launch.actions, status.pending?.kind);
      const now = Date.now();
      const recent = (status.restarts ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
      if (outcome.action === 'restart' && recent.length >= MAX_RESTARTS) {
        outcome = { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_CRASHED, why: `${outcome.why}; more than ${MAX_RESTARTS} restarts within ${RESTART_WINDOW_MS / 1000}s, giving up` };
      }
      log(`${outcome.why} → ${outcome.action}`);
      if (outcome.action === 'stop') {
        if (outcome.reason === VIR_DOMAIN_SHUTOFF_SHUTDOWN) {
          await emit({ id: status.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_SHUTDOWN, detail: VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED });
        }
        await writeStopped(store, status, outcome.reason, launch);
        await emit({ id: -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STOPPED, detail: stoppedDetailFor(outcome.reason) });
        return;
      }
      if (outcome.action === 'crashed') {
        await store.writeStatus({ ...status, state: VIR_DOMAIN_CRASHED, reason: outcome.reason, vm: undefined, pending: undefined });
        await store.removeRunFiles(args.name, launch.controlSocket);
        await emit({ id: status.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_CRASHED, detail: VIR_DOMAIN_EVENT_CRASHED_PANICKED });
        return;
      }
      // restart
      if (outcome.cause === 'crash') {
        await emit({ id: status.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_CRASHED, detail: VIR_DOMAIN_EVENT_CRASHED_PANICKED });
      } else if (outcome.cause === 'poweroff') {
        await emit({ id: -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STOPPED, detail: stoppedDetailFor(VIR_DOMAIN_SHUTOFF_SHUTDOWN) });
      }
      const started = await startVm(launch, log);
      if (typeof started === 'string') {
        log(`restart failed: ${started}`);
        await writeStopped(store, status, VIR_DOMAIN_SHUTOFF_FAILED, launch);
        await emit({ id: -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STOPPED, detail: VIR_DOMAIN_EVENT_STOPPED_FAILED });
        return;
      }
      vm = started.vm;
      vmId = vm.identity;
      exited = vm.exited;
      await writePidfile(store.pidPath(args.name), vmId.pid).catch(() => undefined);
      const paused = started.state === 'paused';
      await store.writeStatus({
        ...status,
        state: paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING,
        reason: paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED,
        vm: vmId,
        supervisor: me,
        pending: undefined,
        startedAt: now,
        restarts: [...recent, now],
      });
      if (outcome.cause === 'reboot' || outcome.cause === 'reset') {
        await emit({ id: status.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_REBOOT });
      } else {
        await emit({ id: status.id ?? -1, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event: VIR_DOMAIN_EVENT_STARTED, detail: VIR_DOMAIN_EVENT_STARTED_BOOTED });
      }
    } finally {
      await lock.release();
    }
  }
}

/** Spawn the VM process and wait until it is up; kill it on any failure. */
async function startVm(
  launch: LaunchRecord,
  log: (m: string) => void,
  abandoned?: () => Promise<boolean>,
): Promise<{ vm: SpawnedVm; state: 'running' | 'paused' } | string> {
  startMark('spawn vm');
  const vm = await spawnVm(launch);
  if (typeof vm === 'string') return vm;
  startMark('vm spawned');
  const r = await waitReady(launch, vm, abandoned);
  startMark('vm greeted');
  switch (r.kind) {
    case 'ready':
      log(`VM process ${vm.identity.pid} is up (${r.state})`);
      return { vm, state: r.state };
    case 'exited':
      return `VM process exited during startup (${describeExit(r.exit)})`;
    case 'timeout':
      vm.child.kill('SIGKILL');
      await vm.exited;
      return `VM process did not greet on its control socket ${launch.controlSocket} within ${launch.readyTimeoutMs} ms (docs/control-socket.md)`;
    case 'abandoned':
      log(`the start was rolled back while VM process ${vm.identity.pid} was starting; stopping it`);
      vm.child.kill('SIGKILL');
      await vm.exited;
      return 'the start was rolled back (the process that started the domain died) before the VM was up';
  }
}

/**
 * Record a stop: the run's files and taps go first, then the status (transient domains
 * disappear, persistent ones keep a shutoff record) — whoever sees the shutoff state also
 * finds the run cleaned up.
 */
export async function writeStopped(store: StateStore, status: DomainStatus, reason: number, launch?: LaunchRecord): Promise<void> {
  await store.removeRunFiles(status.name, launch?.controlSocket ?? status.controlSocket);
  await rm(launchPath(store.runDir, status.name), { force: true });
  if (status.taps?.length) await tearDownTaps(status.taps);
  if (status.transient) {
    await store.removeStatus(status.name);
  } else {
    await store.writeStatus({ name: status.name, uuid: status.uuid, state: VIR_DOMAIN_SHUTOFF, reason });
  }
}

async function pollUntilGone(id: ProcessIdentity): Promise<VmExit> {
  while (identityAlive(id)) await sleep(ADOPT_POLL_MS);
  return { kind: 'unknown' };
}

/** A fresh run id. */
export function newRunId(): string {
  return randomUUID();
}
