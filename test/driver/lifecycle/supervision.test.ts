/**
 * Process supervision end to end with real processes: the compiled supervisor, and the
 * test-only VM stand-in (test/driver/lifecycle/stand-in — test scaffolding honouring
 * tsbhyve's exit-status and control-socket contract) as the VM program.
 *
 * Covers: start and readiness, guest poweroff/reset/halt/triple fault/error mapped through
 * on_poweroff/on_reboot/on_crash, destroy, reset, ACPI shutdown and reboot over the control
 * socket, pause/resume, console attach with replay, kill -9 of the VM process, a starter
 * killed mid-start, re-attach (adoption) after the supervisor itself was killed, a VM that
 * fails to start, and a VM without a control socket.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StateStore, type DomainStatus } from '../../../src/driver/store.js';
import { LockSpace } from '../../../src/driver/lock.js';
import { EventLog, type DomainEventRecord } from '../../../src/driver/events.js';
import { domainLockKey } from '../../../src/driver/supervisor.js';
import * as R from '../../../src/driver/runner.js';
import * as S from '../../../src/driver/domain-state.js';
import { identityAlive } from '../../../src/driver/proc-identity.js';
import { standInPath, supervisorEntry, buildLifecycle } from './helpers/build.js';
import { waitFor, sleep } from './helpers/wait.js';
import { removeRoot } from './helpers/cleanup.js';
import type { LifecycleActions } from '../../../src/driver/monitor.js';

let root: string;
let ctx: R.RunContext;
let events: DomainEventRecord[];
let stopFollow: () => Promise<void>;
let uuidSeq = 0;

beforeAll(async () => {
  await buildLifecycle();
}, 600_000);

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvirt-sup-'));
  const store = new StateStore(root);
  await store.init();
  const locks = new LockSpace(root);
  const log = new EventLog(store.eventsPath(), locks);
  ctx = {
    store,
    locks,
    events: log,
    emulator: [process.execPath, standInPath()],
    node: process.execPath,
    supervisorEntry: supervisorEntry(),
    readyTimeoutMs: 10_000,
  };
  events = [];
  stopFollow = await log.follow((e) => events.push(e));
});

afterEach(async () => {
  await stopFollow();
  await removeRoot(root); // kills whatever a failed test left running
});

afterAll(() => undefined);

const DEFAULT_ACTIONS: LifecycleActions = { on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy' };

function uuid(): string {
  uuidSeq++;
  return `00000000-0000-4000-8000-${String(uuidSeq).padStart(12, '0')}`;
}

async function locked<T>(u: string, fn: () => Promise<T>): Promise<T> {
  const l = await ctx.locks.acquire(domainLockKey(u));
  try {
    return await fn();
  } finally {
    await l.release();
  }
}

async function start(name: string, opts: { actions?: Partial<LifecycleActions>; extra?: string[]; transient?: boolean; paused?: boolean } = {}): Promise<DomainStatus> {
  const u = uuid();
  return locked(u, () =>
    R.startRun(ctx, {
      name,
      uuid: u,
      id: uuidSeq,
      configText: [`name=${name}`, ...(opts.extra ?? [])].join('\n') + '\n',
      liveXml: `<domain type='bhyve' id='${uuidSeq}'><name>${name}</name></domain>`,
      actions: { ...DEFAULT_ACTIONS, ...opts.actions },
      transient: opts.transient ?? false,
      paused: opts.paused ?? false,
    }),
  );
}

async function status(name: string): Promise<DomainStatus | undefined> {
  const r = await ctx.store.readStatus(name);
  return r.kind === 'ok' ? r.status : undefined;
}

function waitState(name: string, state: number, reason?: number): Promise<DomainStatus> {
  return waitFor(`'${name}' in state ${state}/${reason}`, async () => {
    const s = await status(name);
    return s && s.state === state && (reason === undefined || s.reason === reason) ? s : undefined;
  });
}

/** Type a line on the guest's com1 through the control socket console. */
async function typeOnConsole(st: DomainStatus, line: string): Promise<string> {
  const sock = await R.openConsoleStream(st, 'com1', { replay: true });
  let out = '';
  sock.on('data', (b: Buffer) => (out += b.toString('latin1')));
  sock.resume();
  sock.write(`${line}\r`);
  await sleep(50);
  sock.destroy();
  return out;
}

function lifecycle(name: string): Array<[number, number] | 'reboot'> {
  return events.filter((e) => e.name === name).map((e) => (e.eventId === S.VIR_DOMAIN_EVENT_ID_REBOOT ? 'reboot' : [e.event!, e.detail!]));
}

/**
 * Source of a module that does what startRun does up to spawning the supervisor for domain
 * `d` (domain lock, "starting" status, config file, launch record), then runs `tail`, where
 * `spawnSupervisor` and `supervisorArgs` are in scope: the tests of a starter that dies.
 */
async function halfStart(
  d: { name: string; uuid: string; id: number; runId: string; conf: string; readyTimeoutMs: number },
  tail: string,
): Promise<string> {
  const build = await buildLifecycle();
  const mod = (p: string) => pathToFileURL(join(build, 'src', 'driver', p)).href;
  return `
import { StateStore } from '${mod('store.js')}';
import { LockSpace } from '${mod('lock.js')}';
import { writeLaunch } from '${mod('launch.js')}';
import { spawnSupervisor } from '${mod('process.js')}';
import { selfIdentity } from '${mod('proc-identity.js')}';
import { writeFileSync } from 'node:fs';
const store = new StateStore(${JSON.stringify(root)});
await new LockSpace(${JSON.stringify(root)}).acquire('domain/${d.uuid}');
const sock = store.controlSocketPath('${d.name}', '${d.uuid}');
await store.writeStatus({ name: '${d.name}', uuid: '${d.uuid}', state: 3, reason: 11, id: ${d.id}, runId: '${d.runId}', controlSocket: sock, startingBy: selfIdentity() });
writeFileSync(store.confPath('${d.name}'), '${d.conf}');
await writeLaunch(store.runDir, { runId: '${d.runId}', name: '${d.name}', uuid: '${d.uuid}', argv: ${JSON.stringify([...ctx.emulator])}.concat(['-k', store.confPath('${d.name}'), '-o', 'tsvirt.control.path=' + sock]), cwd: store.runDir, env: {}, actions: { on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy' }, controlSocket: sock, logPath: store.logPath('${d.name}'), readyTimeoutMs: ${d.readyTimeoutMs} });
const supervisorArgs = { node: process.execPath, entry: ${JSON.stringify(ctx.supervisorEntry)}, root: store.root, name: '${d.name}', runId: '${d.runId}', timeoutMs: 20000 };
${tail}`;
}

describe('supervision with the VM stand-in', () => {
  it('starts a VM: running (booted), pidfile, log, supervisor, STARTED event', async () => {
    const st = await start('vm1');
    expect(st.state).toBe(S.VIR_DOMAIN_RUNNING);
    expect(st.reason).toBe(S.VIR_DOMAIN_RUNNING_BOOTED);
    expect(identityAlive(st.vm)).toBe(true);
    expect(identityAlive(st.supervisor)).toBe(true);
    expect(st.startingBy).toBeUndefined();
    expect(readFileSync(ctx.store.pidPath('vm1'), 'utf8').trim()).toBe(String(st.vm!.pid));
    expect(readFileSync(ctx.store.logPath('vm1'), 'utf8')).toContain('vm-stand-in (test scaffolding)');
    await waitFor('STARTED event', () => lifecycle('vm1').length === 1);
    expect(lifecycle('vm1')).toEqual([[S.VIR_DOMAIN_EVENT_STARTED, S.VIR_DOMAIN_EVENT_STARTED_BOOTED]]);
    await locked(st.uuid, () => R.destroyRun(ctx, st));
  });

  it('guest poweroff → shutoff (shutdown), run files removed, events SHUTDOWN then STOPPED', async () => {
    const st = await start('vm1');
    await typeOnConsole(st, 'poweroff');
    const after = await waitState('vm1', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_SHUTDOWN);
    expect(after.id).toBeUndefined();
    expect(existsSync(ctx.store.pidPath('vm1'))).toBe(false);
    expect(existsSync(st.controlSocket!)).toBe(false);
    await waitFor('supervisor exit', () => !identityAlive(st.supervisor));
    await waitFor('events', () => lifecycle('vm1').length === 3);
    expect(lifecycle('vm1').slice(1)).toEqual([
      [S.VIR_DOMAIN_EVENT_SHUTDOWN, S.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED],
      [S.VIR_DOMAIN_EVENT_STOPPED, S.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN],
    ]);
  });

  it('guest halt → shutoff (shutdown); triple fault → shutoff (crashed); emulator error → shutoff (crashed)', async () => {
    const a = await start('halt');
    const b = await start('crash');
    const c = await start('error');
    await typeOnConsole(a, 'halt');
    await typeOnConsole(b, 'crash');
    await typeOnConsole(c, 'error');
    await waitState('halt', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_SHUTDOWN);
    await waitState('crash', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_CRASHED);
    await waitState('error', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_CRASHED);
  });

  it('guest reset → restarted with the same id and a new process, REBOOT event', async () => {
    const st = await start('vm1');
    await typeOnConsole(st, 'reboot');
    const after = await waitFor('new VM process', async () => {
      const s = await status('vm1');
      return s && s.vm && s.vm.pid !== st.vm!.pid && s.state === S.VIR_DOMAIN_RUNNING ? s : undefined;
    });
    expect(after.id).toBe(st.id);
    expect(after.reason).toBe(S.VIR_DOMAIN_RUNNING_BOOTED);
    expect(identityAlive(after.vm)).toBe(true);
    expect(after.supervisor).toEqual(st.supervisor);
    await waitFor('reboot event', () => lifecycle('vm1').includes('reboot'));
    await locked(st.uuid, () => R.destroyRun(ctx, after));
  });

  it('on_reboot=destroy: guest reset stops it (shutdown)', async () => {
    const st = await start('vm1', { actions: { on_reboot: 'destroy' } });
    await typeOnConsole(st, 'reboot');
    await waitState('vm1', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_SHUTDOWN);
  });

  it('on_poweroff=restart: guest poweroff restarts it', async () => {
    const st = await start('vm1', { actions: { on_poweroff: 'restart' } });
    await typeOnConsole(st, 'poweroff');
    const after = await waitFor('restart', async () => {
      const s = await status('vm1');
      return s?.vm && s.vm.pid !== st.vm!.pid && s.state === S.VIR_DOMAIN_RUNNING ? s : undefined;
    });
    expect(after.id).toBe(st.id);
    await locked(st.uuid, () => R.destroyRun(ctx, after));
  });

  it('on_crash=restart restarts after a triple fault; on_crash=preserve keeps it crashed until destroyed', async () => {
    const a = await start('restart', { actions: { on_crash: 'restart' } });
    const b = await start('preserve', { actions: { on_crash: 'preserve' } });
    await typeOnConsole(a, 'crash');
    await typeOnConsole(b, 'crash');
    const ra = await waitFor('restart', async () => {
      const s = await status('restart');
      return s?.vm && s.vm.pid !== a.vm!.pid ? s : undefined;
    });
    expect(ra.state).toBe(S.VIR_DOMAIN_RUNNING);
    const rb = await waitState('preserve', S.VIR_DOMAIN_CRASHED);
    expect(rb.id).toBe(b.id);
    await locked(b.uuid, () => R.destroyRun(ctx, rb));
    expect((await status('preserve'))?.reason).toBe(S.VIR_DOMAIN_SHUTOFF_DESTROYED);
    await locked(a.uuid, () => R.destroyRun(ctx, ra));
  });

  it('destroy → shutoff (destroyed), process gone, supervisor exits, transient domain disappears', async () => {
    const p = await start('persist');
    const t = await start('trans', { transient: true });
    await locked(p.uuid, () => R.destroyRun(ctx, p));
    await locked(t.uuid, () => R.destroyRun(ctx, t));
    expect((await status('persist'))).toEqual({ name: 'persist', uuid: p.uuid, state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_DESTROYED });
    expect(await status('trans')).toBeUndefined();
    expect(identityAlive(p.vm)).toBe(false);
    await waitFor('supervisors exit', () => !identityAlive(p.supervisor) && !identityAlive(t.supervisor));
    // The supervisor must not overwrite the destroyed state afterwards.
    await sleep(100);
    expect((await status('persist'))?.reason).toBe(S.VIR_DOMAIN_SHUTOFF_DESTROYED);
  });

  it('kill -9 of the VM process → shutoff (crashed), not running', async () => {
    const st = await start('vm1');
    process.kill(st.vm!.pid, 'SIGKILL');
    await waitState('vm1', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_CRASHED);
    await waitFor('STOPPED crashed', () => lifecycle('vm1').some((e) => e !== 'reboot' && e[0] === S.VIR_DOMAIN_EVENT_STOPPED && e[1] === S.VIR_DOMAIN_EVENT_STOPPED_CRASHED));
  });

  it('shutdown over the control socket: ACPI power button, then shutoff (shutdown)', async () => {
    const st = await start('vm1');
    await locked(st.uuid, () => R.requestGuestStop(ctx, st, 'shutdown'));
    await waitState('vm1', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_SHUTDOWN);
  });

  it('shutdown of a guest that never enabled ACPI is an error and changes nothing', async () => {
    const st = await start('vm1', { extra: ['x-standin.acpi=false'] });
    await expect(locked(st.uuid, () => R.requestGuestStop(ctx, st, 'shutdown'))).rejects.toThrow(/has not enabled ACPI/);
    expect((await status('vm1'))?.state).toBe(S.VIR_DOMAIN_RUNNING);
    await locked(st.uuid, () => R.destroyRun(ctx, st));
  });

  it('reboot: power button, then restarted even though the guest powered off', async () => {
    const st = await start('vm1');
    await locked(st.uuid, () => R.requestGuestStop(ctx, st, 'reboot'));
    const after = await waitFor('restart', async () => {
      const s = await status('vm1');
      return s?.vm && s.vm.pid !== st.vm!.pid && s.state === S.VIR_DOMAIN_RUNNING ? s : undefined;
    });
    expect(after.pending).toBeUndefined();
    await locked(st.uuid, () => R.destroyRun(ctx, after));
  });

  it('reset: killed and restarted by the supervisor with the same id', async () => {
    const st = await start('vm1');
    await locked(st.uuid, () => R.resetRun(ctx, st));
    const after = await waitFor('restart', async () => {
      const s = await status('vm1');
      return s?.vm && s.vm.pid !== st.vm!.pid && s.state === S.VIR_DOMAIN_RUNNING ? s : undefined;
    });
    expect(after.id).toBe(st.id);
    await locked(st.uuid, () => R.destroyRun(ctx, after));
  });

  it('suspend and resume: paused (user) → running (unpaused), with events, and the guest really stops', async () => {
    const st = await start('vm1');
    const p = await locked(st.uuid, () => R.suspendRun(ctx, st));
    expect([p.state, p.reason]).toEqual([S.VIR_DOMAIN_PAUSED, S.VIR_DOMAIN_PAUSED_USER]);
    // A paused stand-in guest ignores console input.
    await typeOnConsole(p, 'poweroff');
    await sleep(100);
    expect((await status('vm1'))?.state).toBe(S.VIR_DOMAIN_PAUSED);
    await expect(locked(st.uuid, () => R.resumeRun(ctx, st))).rejects.toThrow(/not paused/);
    const r = await locked(st.uuid, () => R.resumeRun(ctx, p));
    expect([r.state, r.reason]).toEqual([S.VIR_DOMAIN_RUNNING, S.VIR_DOMAIN_RUNNING_UNPAUSED]);
    await waitFor('events', () => lifecycle('vm1').length >= 3);
    expect(lifecycle('vm1').slice(1, 3)).toEqual([
      [S.VIR_DOMAIN_EVENT_SUSPENDED, S.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED],
      [S.VIR_DOMAIN_EVENT_RESUMED, S.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED],
    ]);
    await locked(st.uuid, () => R.destroyRun(ctx, r));
  });

  it('start --paused: the VM starts with vCPUs stopped', async () => {
    const st = await start('vm1', { paused: true });
    expect([st.state, st.reason]).toEqual([S.VIR_DOMAIN_PAUSED, S.VIR_DOMAIN_PAUSED_USER]);
    await locked(st.uuid, () => R.destroyRun(ctx, st));
  });

  it('console: replays boot output, echoes input, refuses a second client unless forced', async () => {
    const st = await start('vm1');
    const a = await R.openConsoleStream(st, 'com1', { replay: true });
    let out = '';
    a.on('data', (b: Buffer) => (out += b.toString()));
    a.resume();
    await waitFor('banner', () => out.includes("stand-in guest 'vm1' booted"));
    a.write('hello');
    await waitFor('echo', () => out.endsWith('hello'));
    await expect(R.openConsoleStream(st, 'com1', {})).rejects.toThrow(/Active console session exists/);
    const b = await R.openConsoleStream(st, 'com1', { force: true });
    await waitFor('first client closed', () => a.destroyed || a.readableEnded);
    b.destroy();
    await expect(R.openConsoleStream(st, 'com2', {})).rejects.toThrow(/com2/);
    await locked(st.uuid, () => R.destroyRun(ctx, st));
  });

  it('a VM that fails at startup: start fails with the log tail, state shutoff (failed)', async () => {
    const err = await start('vm1', { extra: ['x-standin.fail=4'] }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/guest 'vm1' failed to start: .*exit status 4/);
    expect((err as Error).message).toContain('failing at startup with status 4');
    expect(await status('vm1')).toMatchObject({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_FAILED });
  });

  it('a VM program that cannot be executed: start fails, shutoff (failed)', async () => {
    ctx.emulator = ['/nonexistent/tsbhyve'];
    const err = await start('vm1').catch((e: Error) => e);
    expect((err as Error).message).toMatch(/cannot execute \/nonexistent\/tsbhyve/);
    expect((await status('vm1'))?.reason).toBe(S.VIR_DOMAIN_SHUTOFF_FAILED);
  });

  it('a transient domain that fails to start leaves nothing behind', async () => {
    await expect(start('vm1', { transient: true, extra: ['x-standin.fail=4'] })).rejects.toThrow(/failed to start/);
    expect(await status('vm1')).toBeUndefined();
  });

  it('a VM program that never creates its control socket fails to start (and is killed)', async () => {
    ctx.readyTimeoutMs = 1500;
    const err = await start('vm1', { extra: ['x-standin.no_control=true'] }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/did not greet on its control socket .* within 1500 ms/);
    expect((await status('vm1'))?.reason).toBe(S.VIR_DOMAIN_SHUTOFF_FAILED);
    const pid = Number(readFileSync(ctx.store.logPath('vm1'), 'utf8').match(/pid (\d+)/)![1]);
    await waitFor('VM killed', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('a control socket that appears late (slow VM startup) is waited for', async () => {
    const st = await start('vm1', { extra: ['x-standin.ready_delay_ms=1200'] });
    expect(st.state).toBe(S.VIR_DOMAIN_RUNNING);
    await locked(st.uuid, () => R.suspendRun(ctx, st));
    await locked(st.uuid, () => R.destroyRun(ctx, st));
  });

  it('the starter killed mid-start (after the VM is up, before the commit) leaves no half-started domain', async () => {
    // A separate process does what startRun does up to the supervisor's report, then dies
    // by SIGKILL instead of committing. The supervisor must roll the start back.
    const u = uuid();
    const code = await halfStart({ name: 'half', uuid: u, id: 77, runId: 'run-1', conf: 'name=half\\n', readyTimeoutMs: 10000 }, `
const r = await spawnSupervisor(supervisorArgs);
process.stdout.write(JSON.stringify(r) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
`);
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    const sig = await new Promise<string | null>((r) => child.once('exit', (_c, s) => r(s)));
    expect(sig).toBe('SIGKILL');
    const report = JSON.parse(out) as { ready: boolean; vm: { pid: number; start: string } };
    expect(report.ready).toBe(true);
    const final = await waitState('half', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_FAILED);
    expect(final.vm).toBeUndefined();
    await waitFor('VM killed', () => !identityAlive(report.vm));
    await waitFor('run files removed', () => !existsSync(ctx.store.confPath('half')));
  });

  it('a start rolled back by a reconcile while its VM is still starting: the supervisor stops the VM at once', async () => {
    // The starter dies right after spawning the supervisor; the next reconcile (any driver
    // taking the domain lock) rolls the start back without knowing the supervisor, and
    // removes the run's files, the control socket included. The VM here greets only after
    // 8 s: the supervisor must not wait for it (nor, had the socket already been unlinked,
    // for the whole readyTimeoutMs) while the domain is recorded shut off.
    const u = uuid();
    const code = await halfStart(
      { name: 'late', uuid: u, id: 78, runId: 'run-2', conf: 'name=late\\nx-standin.ready_delay_ms=8000\\n', readyTimeoutMs: 20000 },
      `
void spawnSupervisor(supervisorArgs);
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50);
`,
    );
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
    expect(await new Promise<string | null>((r) => child.once('exit', (_c, s) => r(s)))).toBe('SIGKILL');
    // The VM process is up (the supervisor logged its command line) but has not greeted.
    const log = ctx.store.logPath('late');
    await waitFor('VM process spawned', () => existsSync(log) && readFileSync(log, 'utf8').includes('starting up'));
    const vmPid = await waitFor('VM process', () => {
      const m = /vm-stand-in \(test scaffolding\) for 'late' pid (\d+)/.exec(readFileSync(log, 'utf8'));
      return m ? Number(m[1]) : undefined;
    });
    const st = (await status('late'))!;
    expect(st.startingBy).toBeDefined();
    expect(await locked(u, () => R.reconcile(ctx, st))).toBe('updated');
    expect(await status('late')).toEqual({ name: 'late', uuid: u, state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_FAILED });
    const rolledBackAt = Date.now();
    await waitFor('VM stopped after the rollback', () => {
      try {
        process.kill(vmPid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 20_000);
    // Well before the VM would have greeted (8 s after it started).
    expect(Date.now() - rolledBackAt).toBeLessThan(4000);
    expect(readFileSync(log, 'utf8')).toContain('the start was rolled back');
  });

  it('a start whose starter died before any VM existed is rolled back by the next reconcile', async () => {
    const u = uuid();
    // An identity that cannot be alive: pid 1 with a start time that is not init's.
    const dead = { pid: 1, start: '1' };
    await ctx.store.writeStatus({ name: 'half', uuid: u, state: S.VIR_DOMAIN_PAUSED, reason: S.VIR_DOMAIN_PAUSED_STARTING_UP, id: 5, runId: 'r', startingBy: dead });
    const st = (await status('half'))!;
    expect(await locked(u, () => R.reconcile(ctx, st))).toBe('updated');
    expect(await status('half')).toEqual({ name: 'half', uuid: u, state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_FAILED });
  });

  it('re-attach: a killed supervisor is replaced by an adopting one; the VM keeps running and its stop is noticed', async () => {
    const st = await start('vm1');
    process.kill(st.supervisor!.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => !identityAlive(st.supervisor));
    expect(identityAlive(st.vm)).toBe(true);
    const cur = (await status('vm1'))!;
    const r = await locked(st.uuid, () => R.reconcile(ctx, cur));
    expect(r).toBe('adopted');
    const adopted = (await status('vm1'))!;
    expect(adopted.supervisor!.pid).not.toBe(st.supervisor!.pid);
    expect(adopted.vm).toEqual(st.vm);
    expect(readFileSync(ctx.store.logPath('vm1'), 'utf8').match(/starting up/g)).toHaveLength(1);
    expect(identityAlive(adopted.supervisor)).toBe(true);
    // The orphaned VM shuts down on request; the adopting supervisor cannot see the exit
    // status but knows a shutdown was asked for.
    await locked(st.uuid, () => R.requestGuestStop(ctx, adopted, 'shutdown'));
    await waitState('vm1', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_SHUTDOWN);
  });

  it('re-attach: VM and supervisor both gone → recorded stopped (unknown) by the next reconcile', async () => {
    const st = await start('vm1');
    process.kill(st.supervisor!.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => !identityAlive(st.supervisor));
    process.kill(st.vm!.pid, 'SIGKILL');
    await waitFor('vm gone', () => !identityAlive(st.vm));
    const cur = (await status('vm1'))!;
    expect(cur.state).toBe(S.VIR_DOMAIN_RUNNING); // nobody noticed yet
    expect(await locked(st.uuid, () => R.reconcile(ctx, cur))).toBe('updated');
    expect(await status('vm1')).toMatchObject({ state: S.VIR_DOMAIN_SHUTOFF, reason: S.VIR_DOMAIN_SHUTOFF_UNKNOWN });
  });

  it('a crash loop is stopped after too many restarts', async () => {
    const st = await start('loop', { actions: { on_crash: 'restart' }, extra: ['x-standin.exit_after_ms=200', 'x-standin.exit_status=3'] });
    const end = await waitState('loop', S.VIR_DOMAIN_SHUTOFF, S.VIR_DOMAIN_SHUTOFF_CRASHED);
    expect(end).toBeDefined();
    expect(readFileSync(ctx.store.logPath('loop'), 'utf8')).toMatch(/more than 10 restarts/);
    expect(st.id).toBeDefined();
  }, 60_000);
});
