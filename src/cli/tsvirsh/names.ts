/**
 * virsh's words for domain states, state reasons and lifecycle events (tools/
 * virsh-domain-monitor.c and virsh-domain-event.c of libvirt 9.0), indexed by libvirt's
 * numbers (src/driver/domain-state.ts). Presentation only: the driver deals in numbers.
 */

const STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

const REASONS: string[][] = [
  ['unknown'],
  ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled', 'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  ['unknown'],
  ['unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot', 'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed'],
  ['unknown', 'user'],
  ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  ['unknown', 'panicked'],
  ['unknown'],
];

const EVENTS = ['Defined', 'Undefined', 'Started', 'Suspended', 'Resumed', 'Stopped', 'Shutdown', 'PMSuspended', 'Crashed'];

const DETAILS: string[][] = [
  ['Added', 'Updated', 'Renamed', 'Snapshot'],
  ['Removed', 'Renamed'],
  ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup'],
  ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error'],
  ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error'],
  ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot'],
  ['Finished', 'Finished after guest request', 'Finished after host request'],
  ['Memory', 'Disk'],
  ['Panicked', 'Crashloaded'],
];

/** virsh's event type names (virshDomainEventCallbacks), indexed by virDomainEventID. */
export const EVENT_IDS = [
  'lifecycle', 'reboot', 'rtc-change', 'watchdog', 'io-error', 'graphics', 'io-error-reason', 'control-error', 'block-job',
  'disk-change', 'tray-change', 'pm-wakeup', 'pm-suspend', 'balloon-change', 'pm-suspend-disk', 'device-removed',
  'block-job-2', 'tunable', 'agent-lifecycle', 'device-added', 'migration-iteration', 'job-completed',
  'device-removal-failed', 'metadata-change', 'block-threshold', 'memory-failure', 'memory-device-size-change',
];

export function stateName(state: number): string {
  return STATES[state] ?? 'no state';
}

export function reasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? 'unknown';
}

export function eventName(event: number): string {
  return EVENTS[event] ?? 'unknown';
}

export function eventDetailName(event: number, detail: number): string {
  return DETAILS[event]?.[detail] ?? 'unknown';
}

/** Machine-readable names for --json output (libvirt's enum suffixes, lower case). */
const STATE_KEYS = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'];
export function stateKey(state: number): string {
  return STATE_KEYS[state] ?? 'nostate';
}
