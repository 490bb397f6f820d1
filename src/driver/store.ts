/**
 * The on-disk state of one driver root (`bhyve:///embed?root=DIR`, or tsvirtd's state
 * directory): persistent configs, status records of domains, autostart links, the files of
 * each run (config tree, pidfile, log), laid out like libvirt's bhyve driver
 * (/etc/libvirt/bhyve, /var/run/libvirt/bhyve, /var/log/libvirt/bhyve) under one root:
 *
 *   config/NAME.xml             persistent definition (inactive XML, as formatted)
 *   autostart/NAME.xml          symlink → ../config/NAME.xml
 *   run/NAME.status.json        status record: state, reason, id, live XML, processes
 *   run/NAME.conf               the `-k` config tree of the current run
 *   run/NAME.pid                pidfile of the VM process (written by its supervisor)
 *   run/NAME.ctl                control socket of the VM process (when the path fits)
 *   log/NAME.log                the VM process's stdout/stderr, appended per run
 *   events.jsonl                lifecycle events (events.ts)
 *
 * Every write is atomic (atomic-file.ts); a corrupt or foreign file is reported as a value
 * (`{ kind: 'corrupt' }`) for the caller to report and skip — it never throws out of a
 * listing. Writers hold the domain's lock (lock.ts); readers need no lock because every
 * file is replaced whole.
 * What it does not: parse domain XML (the driver does) or decide transitions.
 */

import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempName, syncDir, unlinkDurable, writeFileAtomic } from './atomic-file.js';
import { isDomainState, isValidReason, type DomainState } from './domain-state.js';
import { parseIdentity, type ProcessIdentity } from './proc-identity.js';

/** Why a guest-cooperative stop was requested; read by the supervisor when the VM exits. */
export type PendingKind = 'shutdown' | 'reboot' | 'reset' | 'destroy';

/** The status record of a domain: everything about it that is not its persistent XML. */
export interface DomainStatus {
  name: string;
  uuid: string;
  state: DomainState;
  reason: number;
  /** Domain id while active. */
  id?: number;
  /** A transient domain (created without define): gone when it stops. */
  transient?: boolean;
  /** Unique per start; the supervisor of a run only ever acts on its own run. */
  runId?: string;
  /** The live XML (the definition as started, with id, aliases, addresses). */
  liveXml?: string;
  /** The VM process (tsbhyve) and its supervisor. */
  vm?: ProcessIdentity;
  supervisor?: ProcessIdentity;
  /** Control socket path of the VM process. */
  controlSocket?: string;
  /** Set while a start is in progress: the process doing it. */
  startingBy?: ProcessIdentity;
  /** A stop the user asked the guest for (shutdown/reboot) or forced (reset/destroy). */
  pending?: { kind: PendingKind; since: number };
  /** Wall-clock ms when the current run started, and restart times (crash-loop guard). */
  startedAt?: number;
  restarts?: number[];
  /** Start with vCPUs paused (start --paused): applied by the supervisor at boot. */
  paused?: boolean;
  /** What the driver changed or noticed when starting (virDomainGetMessages). */
  messages?: string[];
  /** Tap devices created for the current run, deleted when it ends. */
  taps?: string[];
}

export type StatusRead =
  | { kind: 'ok'; status: DomainStatus }
  | { kind: 'missing' }
  | { kind: 'corrupt'; path: string; error: string };

export type ConfigRead = { kind: 'ok'; xml: string } | { kind: 'missing' } | { kind: 'corrupt'; path: string; error: string };

const STATUS_SUFFIX = '.status.json';
const CONFIG_SUFFIX = '.xml';
/** Largest config or status file read (a bigger one is reported corrupt, not loaded). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** sun_path is 108 bytes; keep a margin. */
const MAX_SOCKET_PATH = 100;

/**
 * Check a domain name for use as a file name. libvirt refuses '/' in names; tsvirt also
 * refuses what would make a hidden, special or unprintable file name.
 * Returns a reason string when the name cannot be used.
 */
export function checkDomainName(name: string): string | undefined {
  if (name.length === 0) return 'domain name must not be empty';
  if (name.includes('/')) return `name '${name}' cannot contain '/'`;
  if (name.startsWith('.')) return `name '${name}' cannot start with '.'`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'domain name cannot contain control characters';
  if (Buffer.byteLength(name) > 200) return 'domain name is longer than 200 bytes';
  return undefined;
}

export class StateStore {
  readonly configDir: string;
  readonly autostartDir: string;
  readonly runDir: string;
  readonly logDir: string;

  /** `root` must be absolute. */
  constructor(readonly root: string) {
    this.configDir = join(root, 'config');
    this.autostartDir = join(root, 'autostart');
    this.runDir = join(root, 'run');
    this.logDir = join(root, 'log');
  }

  /** Create the directory tree (mode 0700: it holds domain secrets). */
  async init(): Promise<void> {
    for (const d of [this.root, this.configDir, this.autostartDir, this.runDir, this.logDir]) {
      await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    }
  }

  configPath(name: string): string {
    return join(this.configDir, name + CONFIG_SUFFIX);
  }
  autostartPath(name: string): string {
    return join(this.autostartDir, name + CONFIG_SUFFIX);
  }
  statusPath(name: string): string {
    return join(this.runDir, name + STATUS_SUFFIX);
  }
  confPath(name: string): string {
    return join(this.runDir, `${name}.conf`);
  }
  pidPath(name: string): string {
    return join(this.runDir, `${name}.pid`);
  }
  logPath(name: string): string {
    return join(this.logDir, `${name}.log`);
  }
  eventsPath(): string {
    return join(this.root, 'events.jsonl');
  }
  idSeqPath(): string {
    return join(this.runDir, 'idseq');
  }
  autostartMarkerPath(): string {
    return join(this.runDir, 'autostart.boot');
  }

  /**
   * Control socket path for a domain. `run/NAME.ctl` when it fits in sun_path; otherwise
   * a short path under the temp directory derived from the root and the uuid.
   */
  controlSocketPath(name: string, uuid: string): string {
    const p = join(this.runDir, `${name}.ctl`);
    if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p;
    const h = createHash('sha256').update(this.root).digest('hex').slice(0, 16);
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    return join(tmpdir(), `tsvirt-${uid}`, `${h}-${uuid}.ctl`);
  }

  /** Names with a persistent config (temp files and foreign files are ignored). */
  async listConfigNames(): Promise<string[]> {
    return this.listWithSuffix(this.configDir, CONFIG_SUFFIX);
  }

  /** Names with a status record. */
  async listStatusNames(): Promise<string[]> {
    return this.listWithSuffix(this.runDir, STATUS_SUFFIX);
  }

  private async listWithSuffix(dir: string, suffix: string): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: string[] = [];
    for (const n of names) {
      if (isTempName(n) || !n.endsWith(suffix)) continue;
      const name = n.slice(0, -suffix.length);
      if (checkDomainName(name) === undefined) out.push(name);
    }
    return out.sort();
  }

  async readConfig(name: string): Promise<ConfigRead> {
    const path = this.configPath(name);
    const r = await readBounded(path);
    if (r.kind !== 'ok') return r;
    if (r.text.length === 0) return { kind: 'corrupt', path, error: 'file is empty' };
    return { kind: 'ok', xml: r.text };
  }

  async writeConfig(name: string, xml: string): Promise<void> {
    await writeFileAtomic(this.configPath(name), xml);
  }

  async removeConfig(name: string): Promise<void> {
    await unlinkDurable(this.configPath(name));
  }

  async readStatus(name: string): Promise<StatusRead> {
    const path = this.statusPath(name);
    const r = await readBounded(path);
    if (r.kind !== 'ok') return r;
    let v: unknown;
    try {
      v = JSON.parse(r.text);
    } catch (err) {
      return { kind: 'corrupt', path, error: `invalid JSON: ${(err as Error).message}` };
    }
    const checked = validateStatus(v, name);
    if (typeof checked === 'string') return { kind: 'corrupt', path, error: checked };
    return { kind: 'ok', status: checked };
  }

  async writeStatus(status: DomainStatus): Promise<void> {
    await writeFileAtomic(this.statusPath(status.name), `${JSON.stringify(status)}\n`);
  }

  async removeStatus(name: string): Promise<void> {
    await unlinkDurable(this.statusPath(name));
  }

  /** Remove the per-run files (config tree, pidfile, control socket); the log stays. */
  async removeRunFiles(name: string, controlSocket?: string): Promise<void> {
    await fsp.rm(this.confPath(name), { force: true });
    await fsp.rm(this.pidPath(name), { force: true });
    if (controlSocket) await fsp.rm(controlSocket, { force: true });
  }

  async isAutostart(name: string): Promise<boolean> {
    try {
      await fsp.lstat(this.autostartPath(name));
      return true;
    } catch {
      return false;
    }
  }

  /** Create or remove the autostart link (libvirt: a symlink to the config file). */
  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartPath(name);
    if (on) {
      try {
        await fsp.symlink(join('..', 'config', name + CONFIG_SUFFIX), link);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      await syncDir(this.autostartDir);
    } else {
      await unlinkDurable(link);
    }
  }

  /** Autostart links whose domain still has a config. */
  async listAutostartNames(): Promise<string[]> {
    return this.listWithSuffix(this.autostartDir, CONFIG_SUFFIX);
  }
}

async function readBounded(path: string): Promise<{ kind: 'ok'; text: string } | { kind: 'missing' } | { kind: 'corrupt'; path: string; error: string }> {
  let fh;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', path, error: `cannot open: ${(err as Error).message}` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { kind: 'corrupt', path, error: 'not a regular file' };
    if (st.size > MAX_FILE_BYTES) return { kind: 'corrupt', path, error: `file is larger than ${MAX_FILE_BYTES} bytes` };
    const buf = await fh.readFile();
    let text: string;
    try {
      text = UTF8.decode(buf);
    } catch {
      return { kind: 'corrupt', path, error: 'file is not valid UTF-8' };
    }
    return { kind: 'ok', text };
  } catch (err) {
    return { kind: 'corrupt', path, error: `cannot read: ${(err as Error).message}` };
  } finally {
    await fh.close();
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PENDING_KINDS: readonly PendingKind[] = ['shutdown', 'reboot', 'reset', 'destroy'];

/** Check a status record read from disk field by field; a string says what is wrong. */
function validateStatus(v: unknown, fileName: string): DomainStatus | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'status record is not an object';
  const o = v as Record<string, unknown>;
  if (o.name !== fileName) return `status record names domain ${JSON.stringify(o.name)}, file is for '${fileName}'`;
  if (typeof o.uuid !== 'string' || !UUID_RE.test(o.uuid)) return 'status record has no valid uuid';
  if (!isDomainState(o.state)) return `invalid state ${JSON.stringify(o.state)}`;
  if (!isValidReason(o.state, o.reason)) return `invalid reason ${JSON.stringify(o.reason)} for state ${o.state}`;
  const s: DomainStatus = { name: o.name, uuid: o.uuid, state: o.state, reason: o.reason };
  if (o.id !== undefined) {
    if (typeof o.id !== 'number' || !Number.isInteger(o.id) || o.id < 1 || o.id > 0x7fffffff) return `invalid id ${JSON.stringify(o.id)}`;
    s.id = o.id;
  }
  if (o.transient !== undefined) {
    if (typeof o.transient !== 'boolean') return 'invalid transient flag';
    s.transient = o.transient;
  }
  if (o.paused !== undefined) {
    if (typeof o.paused !== 'boolean') return 'invalid paused flag';
    s.paused = o.paused;
  }
  for (const k of ['runId', 'liveXml', 'controlSocket'] as const) {
    if (o[k] !== undefined) {
      if (typeof o[k] !== 'string') return `invalid ${k}`;
      s[k] = o[k] as string;
    }
  }
  for (const k of ['vm', 'supervisor', 'startingBy'] as const) {
    if (o[k] !== undefined) {
      const id = parseIdentity(o[k]);
      if (!id) return `invalid process record '${k}'`;
      s[k] = id;
    }
  }
  if (o.pending !== undefined) {
    const p = o.pending as { kind?: unknown; since?: unknown } | null;
    if (typeof p !== 'object' || p === null || !PENDING_KINDS.includes(p.kind as PendingKind) || typeof p.since !== 'number') {
      return 'invalid pending request';
    }
    s.pending = { kind: p.kind as PendingKind, since: p.since };
  }
  if (o.messages !== undefined) {
    if (!Array.isArray(o.messages) || o.messages.length > 256 || !o.messages.every((x) => typeof x === 'string')) return 'invalid messages';
    s.messages = o.messages as string[];
  }
  if (o.taps !== undefined) {
    if (!Array.isArray(o.taps) || o.taps.length > 64 || !o.taps.every((x) => typeof x === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(x))) return 'invalid taps';
    s.taps = o.taps as string[];
  }
  if (o.startedAt !== undefined) {
    if (typeof o.startedAt !== 'number') return 'invalid startedAt';
    s.startedAt = o.startedAt;
  }
  if (o.restarts !== undefined) {
    if (!Array.isArray(o.restarts) || o.restarts.length > 64 || !o.restarts.every((x) => typeof x === 'number')) return 'invalid restarts';
    s.restarts = o.restarts as number[];
  }
  return s;
}
