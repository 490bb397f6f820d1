/**
 * VM process exit → domain state, in one place (the role of libvirt's bhyve_monitor.c).
 *
 * tsbhyve's exit status follows bhyve(8) (bhyve-userland.md §3): 0 reset, 1 poweroff,
 * 2 halt, 3 triple fault, 4 error, 100 unknown suspend reason, (v<<1)|1 from pc-testdev.
 * The domain's `<on_poweroff>`, `<on_reboot>` and `<on_crash>` then decide between stopping
 * (with a shutoff reason), restarting, or keeping the domain in the crashed state.
 *
 *   exit 0 (guest reset)            → on_reboot:   restart | destroy → shutoff(shutdown)
 *   exit 1/2 (poweroff, halt)       → on_poweroff: destroy → shutoff(shutdown) | restart
 *   exit 3 (triple fault)           → on_crash:    destroy → shutoff(crashed) | restart |
 *                                                  preserve → crashed(unknown)
 *   exit 4 (emulator error)         → shutoff(crashed), never restarted (on_crash is about
 *                                     the guest; restarting a failing emulator would loop)
 *   killed by a signal              → shutoff(crashed) (libvirt: process vanished)
 *   other statuses                  → odd ones (pc-testdev) shutoff(shutdown); else unknown
 * A stop the user asked for overrides: destroy → shutoff(destroyed); reset (carried out by
 * SIGKILL) → restart whatever the exit;
 * reboot (ACPI power button then restart, as libvirt's bhyve reboot) → restart whatever
 * the guest's exit status, unless the process died by a signal.
 *
 * What it does not: act (the supervisor does), or validate actions (checkLifecycleActions
 * refuses what cannot be honoured at define/start time).
 */

import type { DomainDef, LifecycleAction } from '../xml/types.js';
import { configUnsupported, VIR_FROM_BHYVE } from '../xml/errors.js';
import {
  VIR_DOMAIN_CRASHED_UNKNOWN,
  VIR_DOMAIN_SHUTOFF_CRASHED,
  VIR_DOMAIN_SHUTOFF_DESTROYED,
  VIR_DOMAIN_SHUTOFF_SHUTDOWN,
  VIR_DOMAIN_SHUTOFF_UNKNOWN,
} from './domain-state.js';
import type { PendingKind } from './store.js';

/** bhyve exit statuses (bhyve-userland.md §3). */
export const BHYVE_EXIT_RESET = 0;
export const BHYVE_EXIT_POWEROFF = 1;
export const BHYVE_EXIT_HALT = 2;
export const BHYVE_EXIT_TRIPLEFAULT = 3;
export const BHYVE_EXIT_ERROR = 4;

/** How a VM process ended. `unknown`: it was not our child (adopted), so no status. */
export type VmExit = { kind: 'exited'; code: number } | { kind: 'signaled'; signal: string } | { kind: 'unknown' };

export interface LifecycleActions {
  on_poweroff: LifecycleAction;
  on_reboot: LifecycleAction;
  on_crash: LifecycleAction;
}

export type ExitOutcome =
  | { action: 'stop'; reason: number; why: string }
  | { action: 'restart'; why: string; cause: 'reboot' | 'poweroff' | 'crash' | 'reset' }
  | { action: 'crashed'; reason: number; why: string };

export function describeExit(exit: VmExit): string {
  switch (exit.kind) {
    case 'exited':
      return `exit status ${exit.code}`;
    case 'signaled':
      return `signal ${exit.signal}`;
    case 'unknown':
      return 'unknown exit status';
  }
}

export function decideExit(exit: VmExit, actions: LifecycleActions, pending?: PendingKind): ExitOutcome {
  const what = describeExit(exit);
  if (pending === 'destroy') return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_DESTROYED, why: `destroyed (${what})` };
  // reset is carried out by killing the VM process: its signal is the reset itself.
  if (pending === 'reset') return { action: 'restart', cause: 'reset', why: `reset requested (${what})` };
  if (exit.kind === 'signaled') {
    return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_CRASHED, why: `VM process killed by ${exit.signal}` };
  }
  if (pending === 'reboot') return { action: 'restart', cause: 'reboot', why: `reboot requested (${what})` };
  if (exit.kind === 'unknown') {
    return pending === 'shutdown'
      ? { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_SHUTDOWN, why: 'shut down on request (exit status unknown)' }
      : { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_UNKNOWN, why: 'VM process ended while unsupervised (exit status unknown)' };
  }
  const code = exit.code;
  switch (code) {
    case BHYVE_EXIT_RESET:
      return actions.on_reboot === 'destroy'
        ? { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_SHUTDOWN, why: 'guest reset, on_reboot=destroy' }
        : { action: 'restart', cause: 'reboot', why: 'guest reset' };
    case BHYVE_EXIT_POWEROFF:
    case BHYVE_EXIT_HALT: {
      const how = code === BHYVE_EXIT_POWEROFF ? 'guest powered off' : 'guest halted';
      return actions.on_poweroff === 'restart'
        ? { action: 'restart', cause: 'poweroff', why: `${how}, on_poweroff=restart` }
        : { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_SHUTDOWN, why: how };
    }
    case BHYVE_EXIT_TRIPLEFAULT:
      switch (actions.on_crash) {
        case 'restart':
          return { action: 'restart', cause: 'crash', why: 'guest triple fault, on_crash=restart' };
        case 'preserve':
          return { action: 'crashed', reason: VIR_DOMAIN_CRASHED_UNKNOWN, why: 'guest triple fault, on_crash=preserve' };
        default:
          return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_CRASHED, why: 'guest triple fault' };
      }
    case BHYVE_EXIT_ERROR:
      return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_CRASHED, why: 'VM process failed (exit status 4), see the domain log' };
    default:
      if (code % 2 === 1 && code < 256) {
        return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_SHUTDOWN, why: `guest exited through the test device with value ${(code - 1) / 2}` };
      }
      return { action: 'stop', reason: VIR_DOMAIN_SHUTOFF_UNKNOWN, why: `VM process ended with ${what}` };
  }
}

/** Actions tsvirt can carry out for each element; everything else is refused up front. */
const SUPPORTED: Record<keyof LifecycleActions, readonly LifecycleAction[]> = {
  on_poweroff: ['destroy', 'restart'],
  on_reboot: ['restart', 'destroy'],
  on_crash: ['destroy', 'restart', 'preserve'],
};

/**
 * Refuse lifecycle actions the supervisor cannot honour (rename-restart, coredump-*:
 * tsvirt cannot dump guest memory; preserve on poweroff/reboot: the process is gone).
 */
export function checkLifecycleActions(def: Pick<DomainDef, keyof LifecycleActions>): void {
  for (const key of Object.keys(SUPPORTED) as Array<keyof LifecycleActions>) {
    const v = def[key];
    if (!SUPPORTED[key].includes(v)) {
      throw configUnsupported(`${key} action '${v}' is not supported by the bhyve driver (supported: ${SUPPORTED[key].join(', ')})`, VIR_FROM_BHYVE);
    }
  }
}
