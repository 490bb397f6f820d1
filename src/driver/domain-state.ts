/**
 * Domain states, state reasons and lifecycle events, numbered exactly as libvirt numbers
 * them (include/libvirt/libvirt-domain.h: virDomainState, virDomain*Reason,
 * virDomainEventType and its detail enums; values checked in tests against python3-libvirt
 * 9.0, which is generated from that header).
 *
 * What it does: the numbers, a check that a (state, reason) pair is one libvirt defines,
 * and the few predicates the lifecycle code needs (is this state active?).
 * What it does not: display strings. virsh's words ("shut off", "in shutdown") are
 * presentation and live with tsvirsh (src/cli/tsvirsh/state-names.ts).
 */

/** virDomainState. */
export const VIR_DOMAIN_NOSTATE = 0;
export const VIR_DOMAIN_RUNNING = 1;
export const VIR_DOMAIN_BLOCKED = 2;
export const VIR_DOMAIN_PAUSED = 3;
export const VIR_DOMAIN_SHUTDOWN = 4;
export const VIR_DOMAIN_SHUTOFF = 5;
export const VIR_DOMAIN_CRASHED = 6;
export const VIR_DOMAIN_PMSUSPENDED = 7;

export type DomainState = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** virDomainRunningReason. */
export const VIR_DOMAIN_RUNNING_UNKNOWN = 0;
export const VIR_DOMAIN_RUNNING_BOOTED = 1;
export const VIR_DOMAIN_RUNNING_MIGRATED = 2;
export const VIR_DOMAIN_RUNNING_RESTORED = 3;
export const VIR_DOMAIN_RUNNING_FROM_SNAPSHOT = 4;
export const VIR_DOMAIN_RUNNING_UNPAUSED = 5;
export const VIR_DOMAIN_RUNNING_MIGRATION_CANCELED = 6;
export const VIR_DOMAIN_RUNNING_SAVE_CANCELED = 7;
export const VIR_DOMAIN_RUNNING_WAKEUP = 8;
export const VIR_DOMAIN_RUNNING_CRASHED = 9;
export const VIR_DOMAIN_RUNNING_POSTCOPY = 10;
export const VIR_DOMAIN_RUNNING_POSTCOPY_FAILED = 11;

/** virDomainPausedReason. */
export const VIR_DOMAIN_PAUSED_UNKNOWN = 0;
export const VIR_DOMAIN_PAUSED_USER = 1;
export const VIR_DOMAIN_PAUSED_MIGRATION = 2;
export const VIR_DOMAIN_PAUSED_SAVE = 3;
export const VIR_DOMAIN_PAUSED_DUMP = 4;
export const VIR_DOMAIN_PAUSED_IOERROR = 5;
export const VIR_DOMAIN_PAUSED_WATCHDOG = 6;
export const VIR_DOMAIN_PAUSED_FROM_SNAPSHOT = 7;
export const VIR_DOMAIN_PAUSED_SHUTTING_DOWN = 8;
export const VIR_DOMAIN_PAUSED_SNAPSHOT = 9;
export const VIR_DOMAIN_PAUSED_CRASHED = 10;
export const VIR_DOMAIN_PAUSED_STARTING_UP = 11;
export const VIR_DOMAIN_PAUSED_POSTCOPY = 12;
export const VIR_DOMAIN_PAUSED_POSTCOPY_FAILED = 13;

/** virDomainShutdownReason. */
export const VIR_DOMAIN_SHUTDOWN_UNKNOWN = 0;
export const VIR_DOMAIN_SHUTDOWN_USER = 1;

/** virDomainShutoffReason. */
export const VIR_DOMAIN_SHUTOFF_UNKNOWN = 0;
export const VIR_DOMAIN_SHUTOFF_SHUTDOWN = 1;
export const VIR_DOMAIN_SHUTOFF_DESTROYED = 2;
export const VIR_DOMAIN_SHUTOFF_CRASHED = 3;
export const VIR_DOMAIN_SHUTOFF_MIGRATED = 4;
export const VIR_DOMAIN_SHUTOFF_SAVED = 5;
export const VIR_DOMAIN_SHUTOFF_FAILED = 6;
export const VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT = 7;
export const VIR_DOMAIN_SHUTOFF_DAEMON = 8;

/** virDomainCrashedReason. */
export const VIR_DOMAIN_CRASHED_UNKNOWN = 0;
export const VIR_DOMAIN_CRASHED_PANICKED = 1;

/** Number of reasons libvirt 9.0 defines per state (the `_LAST` values). */
const REASON_COUNT: Record<DomainState, number> = {
  0: 1, // NOSTATE: unknown
  1: 12, // RUNNING: unknown .. post-copy failed
  2: 1, // BLOCKED: unknown
  3: 14, // PAUSED: unknown .. post-copy failed
  4: 2, // SHUTDOWN: unknown, user
  5: 9, // SHUTOFF: unknown .. daemon
  6: 2, // CRASHED: unknown, panicked
  7: 1, // PMSUSPENDED: unknown
};

export function isDomainState(n: unknown): n is DomainState {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 7;
}

/** True when `reason` is a reason libvirt defines for `state`. */
export function isValidReason(state: DomainState, reason: unknown): reason is number {
  return typeof reason === 'number' && Number.isInteger(reason) && reason >= 0 && reason < REASON_COUNT[state];
}

/**
 * States in which a domain is active (has an id). libvirt: everything but SHUTOFF; a
 * CRASHED domain kept by on_crash=preserve is still active until destroyed.
 */
export function isActiveState(state: DomainState): boolean {
  return state !== VIR_DOMAIN_SHUTOFF;
}

/** A state with its reason, as virDomainGetState returns it. */
export interface StateReason {
  state: DomainState;
  reason: number;
}

/** virDomainEventType (lifecycle events). */
export const VIR_DOMAIN_EVENT_DEFINED = 0;
export const VIR_DOMAIN_EVENT_UNDEFINED = 1;
export const VIR_DOMAIN_EVENT_STARTED = 2;
export const VIR_DOMAIN_EVENT_SUSPENDED = 3;
export const VIR_DOMAIN_EVENT_RESUMED = 4;
export const VIR_DOMAIN_EVENT_STOPPED = 5;
export const VIR_DOMAIN_EVENT_SHUTDOWN = 6;
export const VIR_DOMAIN_EVENT_PMSUSPENDED = 7;
export const VIR_DOMAIN_EVENT_CRASHED = 8;

/** Details of the lifecycle event types used here. */
export const VIR_DOMAIN_EVENT_DEFINED_ADDED = 0;
export const VIR_DOMAIN_EVENT_DEFINED_UPDATED = 1;
export const VIR_DOMAIN_EVENT_UNDEFINED_REMOVED = 0;
export const VIR_DOMAIN_EVENT_STARTED_BOOTED = 0;
export const VIR_DOMAIN_EVENT_SUSPENDED_PAUSED = 0;
export const VIR_DOMAIN_EVENT_RESUMED_UNPAUSED = 0;
export const VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0;
export const VIR_DOMAIN_EVENT_STOPPED_DESTROYED = 1;
export const VIR_DOMAIN_EVENT_STOPPED_CRASHED = 2;
export const VIR_DOMAIN_EVENT_STOPPED_FAILED = 5;
export const VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0;
export const VIR_DOMAIN_EVENT_SHUTDOWN_GUEST = 1;
export const VIR_DOMAIN_EVENT_SHUTDOWN_HOST = 2;
export const VIR_DOMAIN_EVENT_CRASHED_PANICKED = 0;

/** virDomainEventID values of the event families the driver emits. */
export const VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0;
export const VIR_DOMAIN_EVENT_ID_REBOOT = 1;

/** Map a shutoff reason to the STOPPED event detail libvirt emits with it. */
export function stoppedDetailFor(shutoffReason: number): number {
  switch (shutoffReason) {
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN:
      return VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
    case VIR_DOMAIN_SHUTOFF_DESTROYED:
      return VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
    case VIR_DOMAIN_SHUTOFF_CRASHED:
      return VIR_DOMAIN_EVENT_STOPPED_CRASHED;
    case VIR_DOMAIN_SHUTOFF_FAILED:
      return VIR_DOMAIN_EVENT_STOPPED_FAILED;
    default:
      // libvirt's bhyve and qemu drivers report an unexplained stop as FAILED.
      return VIR_DOMAIN_EVENT_STOPPED_FAILED;
  }
}
