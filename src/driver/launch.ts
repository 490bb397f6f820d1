/**
 * The launch record of a run (`run/NAME.launch.json`): everything a supervisor needs to
 * start, restart or adopt the VM process without parsing domain XML — the full argv of the
 * VM process, the lifecycle actions, the paths of the run's files.
 *
 * Written by the driver (holding the domain lock) before it spawns the supervisor; read by
 * the supervisor, including a supervisor started later to adopt an orphaned VM.
 * Validated field by field when read: it is a file on disk, not trusted data.
 */

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { LifecycleAction } from '../xml/types.js';
import { writeFileAtomic } from './atomic-file.js';
import type { LifecycleActions } from './monitor.js';

export interface LaunchRecord {
  runId: string;
  name: string;
  uuid: string;
  /** Full argv of the VM process: program first. */
  argv: string[];
  /** Working directory of the VM process. */
  cwd: string;
  /** Extra environment variables for the VM process. */
  env: Record<string, string>;
  actions: LifecycleActions;
  controlSocket: string;
  logPath: string;
  /** How long to wait for the control socket greeting before declaring the start failed. */
  readyTimeoutMs: number;
}

export function launchPath(runDir: string, name: string): string {
  return join(runDir, `${name}.launch.json`);
}

export async function writeLaunch(runDir: string, rec: LaunchRecord): Promise<void> {
  await writeFileAtomic(launchPath(runDir, rec.name), `${JSON.stringify(rec)}\n`);
}

const ACTIONS: readonly LifecycleAction[] = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'];

export async function readLaunch(runDir: string, name: string): Promise<LaunchRecord | string> {
  let text: string;
  try {
    text = await fsp.readFile(launchPath(runDir, name), 'utf8');
  } catch (err) {
    return `cannot read launch record: ${(err as Error).message}`;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'launch record is not JSON';
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) return 'launch record is not an object';
  const strs = ['runId', 'name', 'uuid', 'cwd', 'controlSocket', 'logPath'] as const;
  for (const k of strs) if (typeof o[k] !== 'string') return `launch record: invalid ${k}`;
  if (o.name !== name) return 'launch record is for another domain';
  if (!Array.isArray(o.argv) || o.argv.length === 0 || !o.argv.every((a) => typeof a === 'string')) return 'launch record: invalid argv';
  const env = o.env as Record<string, unknown>;
  if (typeof env !== 'object' || env === null || !Object.values(env).every((x) => typeof x === 'string')) return 'launch record: invalid env';
  const a = o.actions as Record<string, unknown>;
  if (typeof a !== 'object' || a === null) return 'launch record: invalid actions';
  for (const k of ['on_poweroff', 'on_reboot', 'on_crash']) {
    if (!ACTIONS.includes(a[k] as LifecycleAction)) return `launch record: invalid ${k}`;
  }
  if (typeof o.readyTimeoutMs !== 'number' || !(o.readyTimeoutMs >= 0)) return 'launch record: invalid readyTimeoutMs';
  return o as unknown as LaunchRecord;
}
