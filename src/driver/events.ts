/**
 * Domain events shared between processes: every process that changes a domain (a tsvirsh
 * call, a daemon, a VM supervisor noticing the guest powered off) appends one JSON line to
 * `ROOT/events.jsonl`; every listener (tsvirsh `event --loop`, the daemon's RPC event
 * callbacks) tails that file. That is how an event raised by a supervisor with no daemon
 * running reaches whoever listens.
 *
 * Appends happen under the `events` lock (a leaf lock), so rotation (at 1 MiB, to
 * `events.jsonl.1`) never loses a line: a tailer that sees the file replaced drains its
 * old descriptor before switching, like `tail -F`.
 * What it does not: deliver events from before a listener started (libvirt does not
 * either), or filter (callers do).
 */

import { promises as fsp, constants, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_REBOOT } from './domain-state.js';
import type { LockSpace } from './lock.js';

export interface DomainEventRecord {
  /** Wall-clock milliseconds. */
  time: number;
  name: string;
  uuid: string;
  /** Domain id at the time of the event, -1 when inactive. */
  id: number;
  /** virDomainEventID: lifecycle (0) or reboot (1). */
  eventId: typeof VIR_DOMAIN_EVENT_ID_LIFECYCLE | typeof VIR_DOMAIN_EVENT_ID_REBOOT;
  /** Lifecycle only: virDomainEventType and its detail. */
  event?: number;
  detail?: number;
}

const ROTATE_BYTES = 1024 * 1024;
const MAX_LINE = 4096;
const POLL_MS = 50;

export class EventLog {
  constructor(
    readonly path: string,
    private readonly locks: LockSpace,
  ) {}

  async append(ev: DomainEventRecord): Promise<void> {
    const line = `${JSON.stringify(ev)}\n`;
    const lock = await this.locks.acquire('events', { purpose: 'event', timeoutMs: 10_000 });
    try {
      let size = 0;
      try {
        size = (await fsp.stat(this.path)).size;
      } catch {
        /* absent: created below */
      }
      if (size > ROTATE_BYTES) await fsp.rename(this.path, `${this.path}.1`);
      await fsp.appendFile(this.path, line, { mode: 0o600 });
    } finally {
      await lock.release();
    }
  }

  /** Current end of the log (where a follower started now would begin). */
  endOffset(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /**
   * Follow the log from its current end (or from `fromOffset`, taken earlier with
   * endOffset(), so nothing appended since is missed); `onEvent` is called for each new
   * record in order.
   * Returns a function that stops following.
   */
  async follow(onEvent: (ev: DomainEventRecord) => void, fromOffset?: number): Promise<() => Promise<void>> {
    const t = new Tailer(this.path, onEvent);
    await t.start(fromOffset);
    return () => t.stop();
  }
}

class Tailer {
  private fh: FileHandle | undefined;
  private ino = 0;
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly onEvent: (ev: DomainEventRecord) => void,
  ) {}

  async start(fromOffset?: number): Promise<void> {
    await this.open(fromOffset === undefined);
    if (fromOffset !== undefined && this.fh) this.offset = fromOffset;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }

  private async open(atEnd: boolean): Promise<void> {
    try {
      const fh = await fsp.open(this.path, constants.O_RDONLY);
      const st = await fh.stat();
      this.fh = fh;
      this.ino = st.ino;
      this.offset = atEnd ? st.size : 0;
      this.partial = '';
    } catch {
      this.fh = undefined; // not created yet: every event after this starts it at 0
    }
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (!this.fh) {
        await this.open(false);
        if (!this.fh) return;
      }
      await this.drain();
      let pathIno = this.ino;
      try {
        pathIno = (await fsp.stat(this.path)).ino;
      } catch {
        return;
      }
      if (pathIno !== this.ino) {
        // Rotated: everything appended to the old file was written before the rename.
        await this.drain();
        await this.fh?.close();
        await this.open(false);
        await this.drain();
      }
    } catch {
      /* transient I/O trouble: try again next tick */
    } finally {
      this.busy = false;
    }
  }

  private async drain(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const buf = Buffer.allocUnsafe(65536);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      this.partial += buf.subarray(0, bytesRead).toString('utf8');
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        const ev = parseEvent(line);
        if (ev && !this.stopped) this.onEvent(ev);
      }
      if (this.partial.length > MAX_LINE) this.partial = '';
    }
  }
}

function parseEvent(line: string): DomainEventRecord | undefined {
  if (line.length > MAX_LINE) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  const o = v as Partial<DomainEventRecord>;
  if (typeof o !== 'object' || o === null) return undefined;
  if (typeof o.time !== 'number' || typeof o.name !== 'string' || typeof o.uuid !== 'string' || typeof o.id !== 'number') return undefined;
  if (o.eventId !== VIR_DOMAIN_EVENT_ID_LIFECYCLE && o.eventId !== VIR_DOMAIN_EVENT_ID_REBOOT) return undefined;
  if (o.eventId === VIR_DOMAIN_EVENT_ID_LIFECYCLE && (typeof o.event !== 'number' || typeof o.detail !== 'number')) return undefined;
  return o as DomainEventRecord;
}
