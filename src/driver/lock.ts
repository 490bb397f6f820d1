/**
 * Cross-process locks for the lifecycle code: one per domain (state changes are serialised
 * per domain, like libvirt's per-domain job) plus a few driver-wide ones (the name/uuid
 * registry, id allocation).
 *
 * How: a lock is a listening unix socket in Linux's abstract namespace, named after the
 * state root and the key. Binding is atomic (EADDRINUSE when held), and the kernel releases
 * the name the instant the holder dies — kill -9 included — so a killed holder never
 * leaves a stale lock and there is no pid-file guessing. A waiter connects to the holder's
 * socket: the holder answers with a line saying who holds it (for the timeout message) and
 * the connection closes when the lock is released or the holder dies, which wakes the
 * waiter to bind again.
 *
 * What it does not: re-entrancy (taking a held key again from the same process waits like
 * any other caller: callers never nest the same key) or fairness among waiters.
 * Lock order (deadlock freedom): `registry` before `domain/<uuid>` before `ids`; never the
 * other way round.
 * Unsupported: non-Linux hosts (no abstract namespace): acquiring reports
 * VIR_ERR_NO_SUPPORT.
 */

import { createHash } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { VirError, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_BHYVE } from '../xml/errors.js';

/** libvirt waits 30 s for a domain job before giving up (VIR_JOB_WAIT_TIME). */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

export interface LockOptions {
  /** Give up after this long (VIR_ERR_OPERATION_TIMEOUT). */
  timeoutMs?: number;
  /** What the holder is doing, shown to waiters that time out ("start", "destroy"...). */
  purpose?: string;
}

/** What a holder tells waiters. */
interface HolderInfo {
  pid: number;
  purpose: string;
  since: number;
}

export class LockHandle {
  private released = false;

  constructor(
    readonly key: string,
    private readonly server: Server,
    private readonly waiters: Set<Socket>,
  ) {}

  get held(): boolean {
    return !this.released;
  }

  /** Release the lock; waiters are woken. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.waiters) s.destroy();
      this.waiters.clear();
    });
  }
}

/** The lock namespace of one state root. */
export class LockSpace {
  private readonly prefix: string;

  /** `root` must be the absolute, resolved state root (two spellings, two namespaces). */
  constructor(root: string) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    const h = createHash('sha256').update(`${uid}\0${root}`).digest('hex').slice(0, 32);
    this.prefix = `\0tsvirt-lock/${h}/`;
  }

  private address(key: string): string {
    const a = this.prefix + key;
    if (Buffer.byteLength(a) > 107) throw new Error(`lock key too long: ${key}`);
    return a;
  }

  /** Take the lock if it is free right now; undefined when someone holds it. */
  async tryAcquire(key: string, purpose = 'unknown'): Promise<LockHandle | undefined> {
    const r = await this.bind(key, purpose);
    return r === 'busy' ? undefined : r;
  }

  /** Take the lock, waiting for the holder to release it or die. */
  async acquire(key: string, opts: LockOptions = {}): Promise<LockHandle> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const purpose = opts.purpose ?? 'unknown';
    const deadline = Date.now() + timeoutMs;
    let holder: HolderInfo | undefined;
    let backoff = 2;
    for (;;) {
      const r = await this.bind(key, purpose);
      if (r !== 'busy') return r;
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError(key, holder);
      const w = await this.waitForRelease(key, left);
      if (w.info) holder = w.info;
      if (w.outcome === 'refused') {
        // Between bind and listen, or mid-release: try again shortly.
        await sleep(Math.min(backoff, Math.max(1, deadline - Date.now())));
        backoff = Math.min(backoff * 2, 50);
      } else {
        backoff = 2;
      }
    }
  }

  private bind(key: string, purpose: string): Promise<LockHandle | 'busy'> {
    if (process.platform !== 'linux') {
      return Promise.reject(
        new VirError(VIR_ERR_NO_SUPPORT, VIR_FROM_BHYVE, 'this function is not supported by the connection driver: domain locks need Linux abstract unix sockets'),
      );
    }
    const address = this.address(key);
    return new Promise((resolve, reject) => {
      const waiters = new Set<Socket>();
      const info: HolderInfo = { pid: process.pid, purpose, since: Date.now() };
      const server = createServer((sock) => {
        sock.unref();
        waiters.add(sock);
        sock.on('error', () => undefined);
        sock.on('close', () => waiters.delete(sock));
        sock.write(`${JSON.stringify(info)}\n`);
      });
      server.once('error', (err: NodeJS.ErrnoException) => {
        server.close();
        if (err.code === 'EADDRINUSE') resolve('busy');
        else reject(err);
      });
      server.listen({ path: address }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        server.unref();
        resolve(new LockHandle(key, server, waiters));
      });
    });
  }

  private waitForRelease(key: string, timeoutMs: number): Promise<{ outcome: 'released' | 'refused' | 'timeout'; info?: HolderInfo }> {
    return new Promise((resolve) => {
      let info: HolderInfo | undefined;
      let buf = '';
      let done = false;
      const sock = connect({ path: this.address(key) });
      const finish = (outcome: 'released' | 'refused' | 'timeout') => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve({ outcome, info });
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => {
        if (buf.length > 4096) return;
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl >= 0 && !info) info = parseHolder(buf.slice(0, nl));
      });
      sock.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'refused' : 'released'));
      sock.on('close', () => finish('released'));
    });
  }
}

function parseHolder(line: string): HolderInfo | undefined {
  try {
    const v = JSON.parse(line) as Partial<HolderInfo>;
    if (typeof v.pid === 'number' && typeof v.purpose === 'string' && typeof v.since === 'number') {
      return { pid: v.pid, purpose: v.purpose.slice(0, 64), since: v.since };
    }
  } catch {
    /* a holder that speaks garbage is still a holder */
  }
  return undefined;
}

function timeoutError(key: string, holder: HolderInfo | undefined): VirError {
  const who = holder
    ? ` (held by pid ${holder.pid} for '${holder.purpose}' since ${Math.round((Date.now() - holder.since) / 1000)}s)`
    : '';
  return new VirError(VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_BHYVE, `Timed out during operation: cannot acquire state change lock '${key}'${who}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
