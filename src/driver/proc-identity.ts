/**
 * Process identity on Linux: a pid plus the process's start time (field 22 of
 * /proc/PID/stat, clock ticks since boot). A pid alone is not an identity — after a VM
 * process dies its pid can be reused by anything — so every pid the driver records is
 * recorded with its start time, and "is it still our process?" compares both.
 *
 * What it does not: signal or wait for processes (process.ts). Zombies count as dead:
 * their exit has happened, only the reaping is pending.
 * Unsupported: hosts without procfs; `readIdentity` then returns undefined and callers
 * treat the process as gone, reported as such.
 */

import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** /proc/PID/stat starttime, as a decimal string (it may exceed 2^53 on long uptimes). */
  start: string;
}

interface StatFields {
  state: string;
  start: string;
}

function readStat(pid: number): StatFields | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after
  // the last ')'. Fields after it start at field 3 (state); starttime is field 22.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0];
  const start = rest[22 - 3];
  if (state === undefined || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, start };
}

/** The identity of a live (non-zombie) process, or undefined when it does not exist. */
export function readIdentity(pid: number): ProcessIdentity | undefined {
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return undefined;
  return { pid, start: st.start };
}

/** True when the process recorded as `id` still runs (same pid, same start time). */
export function identityAlive(id: ProcessIdentity | undefined): boolean {
  if (!id) return false;
  const now = readIdentity(id.pid);
  return now !== undefined && now.start === id.start;
}

/** True when some non-zombie process has this pid (used only for temp-file sweeping). */
export function pidAlive(pid: number): boolean {
  return readIdentity(pid) !== undefined;
}

/** The identity of the calling process. */
export function selfIdentity(): ProcessIdentity {
  const id = readIdentity(process.pid);
  if (!id) throw new Error('cannot read /proc/self/stat: procfs is required');
  return id;
}

/** Validate an identity record read from disk (hostile or corrupt input). */
export function parseIdentity(v: unknown): ProcessIdentity | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { pid, start } = v as { pid?: unknown; start?: unknown };
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid > 0x3fffffff) return undefined;
  if (typeof start !== 'string' || !/^\d{1,20}$/.test(start)) return undefined;
  return { pid, start };
}
