/**
 * Client side of the tsbhyve control socket (docs/control-socket.md, version 1): JSON
 * lines over a unix stream socket; a greeting, request/reply pairs matched by id, and the
 * `console` request that turns the connection into a raw byte stream.
 *
 * What it does not: decide what a reply means for the domain's state (driver.ts), or
 * retry. The server is another process and may be hostile or broken: every reply is
 * checked, lines are bounded, every wait has a timeout, and failures are `ControlError`
 * values with a kind the driver maps to libvirt errors.
 */

import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

export const CONTROL_PROTOCOL_VERSION = 1;
/** Longest line accepted from the server (the document's limit). */
const MAX_LINE = 65536;
const DEFAULT_TIMEOUT_MS = 10_000;

export type ControlErrorKind = 'unreachable' | 'protocol' | 'timeout' | 'remote' | 'closed';

export class ControlError extends Error {
  constructor(
    readonly kind: ControlErrorKind,
    message: string,
    /** The server's error code for kind 'remote' (`busy`, `invalid-state`, ...). */
    readonly remoteCode?: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export interface Greeting {
  version: number;
  vm: string;
  pid: number;
  state: 'running' | 'paused';
}

export type Reply = { ok: true } & Record<string, unknown>;

interface Waiter {
  id: number;
  /** A `console` request: the connection turns raw right after its ok reply. */
  raw: boolean;
  resolve: (r: Reply) => void;
  reject: (e: ControlError) => void;
  timer: NodeJS.Timeout;
}

export class ControlClient {
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly waiters: Waiter[] = [];
  private failure: ControlError | undefined;
  private rawMode = false;
  private readonly onDataBound = (chunk: Buffer) => this.onData(chunk);

  private constructor(
    private readonly sock: Socket,
    readonly greeting: Greeting,
  ) {}

  /** Connect and read the greeting. */
  static connect(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = connect({ path });
      let buf = Buffer.alloc(0);
      let settled = false;
      const fail = (e: ControlError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new ControlError('timeout', `no greeting on control socket ${path} within ${timeoutMs} ms`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(0x0a);
        if (nl < 0) {
          if (buf.length > MAX_LINE) fail(new ControlError('protocol', 'control socket greeting is too long'));
          return;
        }
        const g = parseGreeting(buf.subarray(0, nl).toString('utf8'));
        if (typeof g === 'string') return fail(new ControlError('protocol', g));
        settled = true;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', onError);
        sock.off('close', onClose);
        const client = new ControlClient(sock, g);
        client.attach(buf.subarray(nl + 1));
        resolve(client);
      };
      const onError = (err: NodeJS.ErrnoException) => fail(new ControlError('unreachable', `cannot connect to control socket ${path}: ${err.code ?? err.message}`));
      const onClose = () => fail(new ControlError('closed', `control socket ${path} closed before its greeting`));
      sock.on('data', onData);
      sock.on('error', onError);
      sock.on('close', onClose);
    });
  }

  private attach(rest: Buffer): void {
    this.sock.on('data', this.onDataBound);
    this.sock.on('error', (err) => this.fail(new ControlError('closed', `control socket error: ${err.message}`)));
    this.sock.on('close', () => this.fail(new ControlError('closed', 'control socket closed')));
    if (rest.length) this.onData(rest);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.rawMode) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) break;
      const line = this.buf.subarray(0, nl).toString('utf8');
      this.buf = this.buf.subarray(nl + 1);
      this.onLine(line);
    }
    if (!this.rawMode && this.buf.length > MAX_LINE) this.fail(new ControlError('protocol', 'control socket reply line is too long'));
  }

  private onLine(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return this.fail(new ControlError('protocol', 'control socket sent a line that is not JSON'));
    }
    if (typeof v !== 'object' || v === null) return this.fail(new ControlError('protocol', 'control socket reply is not an object'));
    const o = v as Record<string, unknown>;
    if (o.event !== undefined && o.id === undefined) return; // asynchronous notices are ignored
    const w = this.waiters.shift();
    if (!w) return this.fail(new ControlError('protocol', 'control socket sent a reply nobody asked for'));
    clearTimeout(w.timer);
    if (o.id !== w.id) return this.fail(new ControlError('protocol', `control socket reply id ${JSON.stringify(o.id)} does not match request ${w.id}`));
    if (o.ok === true) {
      if (w.raw) this.rawMode = true;
      return w.resolve(o as Reply);
    }
    const err = (o.error ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof err.code === 'string' ? err.code.slice(0, 64) : 'failed';
    const message = typeof err.message === 'string' ? err.message.slice(0, 1024) : 'request failed';
    w.reject(new ControlError('remote', message, code));
  }

  private fail(e: ControlError): void {
    if (!this.failure) this.failure = e;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    if (!this.rawMode) this.sock.destroy();
  }

  /** Send a request and wait for its reply. */
  request(cmd: string, args: Record<string, unknown> = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    return this.send(cmd, args, timeoutMs, false);
  }

  private send(cmd: string, args: Record<string, unknown>, timeoutMs: number, raw: boolean): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.rawMode) return Promise.reject(new ControlError('protocol', 'connection is a console stream'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new ControlError('timeout', `no reply to '${cmd}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ id, raw, resolve, reject, timer });
      this.sock.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
  }

  /**
   * Attach to a UART's console. On success the connection is handed over as a raw byte
   * stream: a Duplex with ordinary stream semantics (nothing flows until it is read or
   * piped; backpressure reaches the socket), starting with any bytes that arrived right
   * after the reply. This client is then unusable for requests.
   */
  async console(dev: string, opts: { replay?: boolean; force?: boolean } = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Duplex> {
    if (this.waiters.length) throw new ControlError('protocol', 'console requested while other requests are pending');
    await this.send('console', { dev, replay: opts.replay ?? false, force: opts.force ?? false }, timeoutMs, true);
    this.sock.off('data', this.onDataBound);
    this.sock.removeAllListeners('close');
    this.sock.removeAllListeners('error');
    const sock = this.sock;
    sock.pause();
    let ended = false;
    const stream = new Duplex({
      read() {
        sock.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        sock.write(chunk, cb);
      },
      final(cb) {
        sock.end();
        cb();
      },
      destroy(err, cb) {
        sock.destroy();
        cb(err);
      },
    });
    const end = () => {
      if (ended) return;
      ended = true;
      stream.push(null);
    };
    sock.on('data', (b: Buffer) => {
      if (!stream.push(b)) sock.pause();
    });
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', (e) => stream.destroy(e));
    if (this.buf.length) stream.push(this.buf);
    this.buf = Buffer.alloc(0);
    return stream;
  }

  close(): void {
    this.sock.destroy();
  }
}

function parseGreeting(line: string): Greeting | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'control socket greeting is not JSON';
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const version = o['tsvirt-control'];
  if (version !== CONTROL_PROTOCOL_VERSION) return `unsupported control protocol version ${JSON.stringify(version)}`;
  if (o.state !== 'running' && o.state !== 'paused') return 'control socket greeting has no valid state';
  return {
    version,
    vm: typeof o.vm === 'string' ? o.vm : '',
    pid: typeof o.pid === 'number' ? o.pid : 0,
    state: o.state,
  };
}
