/** Exit status → domain state (monitor.ts), as a table. */
import { describe, expect, it } from 'vitest';
import { checkLifecycleActions, decideExit, type LifecycleActions, type VmExit } from '../../../src/driver/monitor.js';
import * as S from '../../../src/driver/domain-state.js';
import { isVirError, VIR_ERR_CONFIG_UNSUPPORTED } from '../../../src/xml/errors.js';

const defaults: LifecycleActions = { on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy' };
const exited = (code: number): VmExit => ({ kind: 'exited', code });

describe('decideExit', () => {
  it.each<[string, VmExit, Partial<LifecycleActions>, string | undefined, string, number | string]>([
    ['reset restarts by default', exited(0), {}, undefined, 'restart', 'reboot'],
    ['reset with on_reboot=destroy stops (shutdown)', exited(0), { on_reboot: 'destroy' }, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
    ['poweroff stops (shutdown)', exited(1), {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
    ['halt stops (shutdown)', exited(2), {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
    ['poweroff with on_poweroff=restart restarts', exited(1), { on_poweroff: 'restart' }, undefined, 'restart', 'poweroff'],
    ['triple fault stops (crashed)', exited(3), {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_CRASHED],
    ['triple fault with on_crash=restart restarts', exited(3), { on_crash: 'restart' }, undefined, 'restart', 'crash'],
    ['triple fault with on_crash=preserve keeps it crashed', exited(3), { on_crash: 'preserve' }, undefined, 'crashed', S.VIR_DOMAIN_CRASHED_UNKNOWN],
    ['emulator error stops (crashed), never restarts', exited(4), { on_crash: 'restart' }, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_CRASHED],
    ['SIGKILL stops (crashed)', { kind: 'signaled', signal: 'SIGKILL' }, {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_CRASHED],
    ['unknown suspend reason 100 stops (unknown)', exited(100), {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_UNKNOWN],
    ['pc-testdev exit stops (shutdown)', exited(7), {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
    ['destroy requested wins over anything', exited(0), {}, 'destroy', 'stop', S.VIR_DOMAIN_SHUTOFF_DESTROYED],
    ['destroy requested and killed', { kind: 'signaled', signal: 'SIGKILL' }, {}, 'destroy', 'stop', S.VIR_DOMAIN_SHUTOFF_DESTROYED],
    ['reboot requested restarts after poweroff', exited(1), {}, 'reboot', 'restart', 'reboot'],
    ['reboot requested but the process was killed', { kind: 'signaled', signal: 'SIGSEGV' }, {}, 'reboot', 'stop', S.VIR_DOMAIN_SHUTOFF_CRASHED],
    ['reset requested restarts after the SIGKILL that carries it out', { kind: 'signaled', signal: 'SIGKILL' }, {}, 'reset', 'restart', 'reset'],
    ['reset requested restarts after an exit', exited(4), {}, 'reset', 'restart', 'reset'],
    ['shutdown requested, exit unknown (adopted)', { kind: 'unknown' }, {}, 'shutdown', 'stop', S.VIR_DOMAIN_SHUTOFF_SHUTDOWN],
    ['exit unknown (adopted)', { kind: 'unknown' }, {}, undefined, 'stop', S.VIR_DOMAIN_SHUTOFF_UNKNOWN],
  ])('%s', (_name, exit, actions, pending, action, detail) => {
    const o = decideExit(exit, { ...defaults, ...actions }, pending as never);
    expect(o.action).toBe(action);
    if (o.action === 'restart') expect(o.cause).toBe(detail);
    else expect(o.reason).toBe(detail);
  });
});

describe('checkLifecycleActions', () => {
  it('accepts what the supervisor can do', () => {
    expect(() => checkLifecycleActions({ on_poweroff: 'restart', on_reboot: 'destroy', on_crash: 'preserve' })).not.toThrow();
  });
  it.each([
    ['on_poweroff', 'preserve'],
    ['on_reboot', 'rename-restart'],
    ['on_crash', 'coredump-destroy'],
    ['on_crash', 'coredump-restart'],
  ] as const)('refuses %s=%s with VIR_ERR_CONFIG_UNSUPPORTED naming it', (key, value) => {
    const def = { ...defaults, [key]: value };
    try {
      checkLifecycleActions(def);
      expect.unreachable();
    } catch (e) {
      expect(isVirError(e) && e.code === VIR_ERR_CONFIG_UNSUPPORTED).toBe(true);
      expect((e as Error).message).toContain(`${key} action '${value}'`);
    }
  });
});
