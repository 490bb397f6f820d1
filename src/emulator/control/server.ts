/**
 * The VM process's side of the control socket (docs/control-socket.md, version 1): a unix
 * stream socket where the driver asks for the ACPI power button, pause/resume of the vCPUs,
 * the VM's status, and attaches serial consoles.
 *
 * Framing: UTF-8 JSON, one object per line; a greeting line on accept; replies in request
 * order (each connection's requests run one after another); a line over 65536 bytes gets
 * `bad-request` with id null and the connection closes. A client that sends garbage or
 * vanishes loses only its own connection. After a successful `console` request the
 * connection is handed, raw, to that port's ConsoleSocketBackend.
 *
 * The socket is bound with mode 0600 (umask around bind, then chmod), a stale file at the
 * path is removed first, and close() unlinks it. What the commands do to the VM is the
 * ControlTarget's business (tsbhyve wires it to the runner and the machine).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { ConsoleSocketBackend } from '../backends/serial/console-socket.js';
import { listenUnixWithMode } from '../../rpc/listen-unix.js';

export const CONTROL_PROTOCOL_VERSION = 1;
export const MAX_LINE = 65536;

export interface ControlTarget {
  readonly name: string;
  readonly vcpus: number;
  paused(): boolean;
  acpiEnabled(): boolean;
  /** Presses the power button; false when the guest has not enabled ACPI. */
  powerButton(): boolean;
  pause(): Promise<void>;
  resume(): void;
  consoles: ReadonlyMap<string, ConsoleSocketBackend>;
}

type ErrorCode = 'bad-request' | 'unknown-command' | 'invalid-state' | 'busy' | 'failed';

class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Id = number | string | null;
type Reply = Record<string, unknown>;

const CONSOLE_NAME = /^com[1-4]$/;

export class ControlServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly target: ControlTarget,
  ) {}

  /** Binds and listens at `path` (resolves once listening). */
  static async listen(path: string, target: ControlTarget): Promise<ControlServer> {
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path);
    } catch {
      // nothing there
    }
    let self: ControlServer | undefined;
    const server = createServer((s) => self?.accept(s));
    self = new ControlServer(server, path, target);
    await listenUnixWithMode(server, path, 0o600);
    server.on('error', () => {});
    return self;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const t = this.target;
    this.send(socket, { 'tsvirt-control': CONTROL_PROTOCOL_VERSION, vm: t.name, pid: process.pid, state: t.paused() ? 'paused' : 'running' });
    let buf: Buffer = Buffer.alloc(0);
    let busy = false;
    let raw = false;
    // Lines are taken from `buf` one at a time, each request finished before the next is
    // read: replies keep request order, and bytes after an accepted `console` request stay
    // in `buf` and become that console's first input.
    const goRaw = (): Buffer => {
      raw = true;
      socket.off('data', onData);
      const rest = buf;
      buf = Buffer.alloc(0);
      return rest;
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (!raw && !socket.destroyed) {
          const nl = buf.indexOf(0x0a);
          if (nl > MAX_LINE || (nl < 0 && buf.length > MAX_LINE)) return this.overlong(socket);
          if (nl < 0) return;
          const line = buf.subarray(0, nl).toString('utf8');
          buf = buf.subarray(nl + 1);
          const reply = await this.request(socket, line, goRaw);
          if (reply) this.send(socket, reply);
        }
      } finally {
        busy = false;
      }
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      pump().catch(() => socket.destroy());
    };
    socket.on('data', onData);
  }

  private overlong(socket: Socket): void {
    this.send(socket, { id: null, ok: false, error: { code: 'bad-request', message: `request line longer than ${MAX_LINE} bytes` } });
    socket.end();
    socket.destroySoon?.();
  }

  private send(socket: Socket, obj: Reply): void {
    if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(obj)}\n`);
  }

  /** Runs one request line; returns the reply, or undefined when a console took over. */
  private async request(socket: Socket, line: string, goRaw: () => Buffer): Promise<Reply | undefined> {
    let id: Id = null;
    try {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        throw new RequestError('bad-request', 'request is not JSON');
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new RequestError('bad-request', 'request is not a JSON object');
      const o = msg as Record<string, unknown>;
      if (typeof o.id === 'number' || typeof o.id === 'string') id = o.id;
      else if (o.id !== undefined && o.id !== null) throw new RequestError('bad-request', "'id' must be a number or a string");
      if (typeof o.cmd !== 'string') throw new RequestError('bad-request', "request has no 'cmd'");
      const t = this.target;
      switch (o.cmd) {
        case 'query-status':
          return { id, ok: true, state: t.paused() ? 'paused' : 'running', vcpus: t.vcpus, acpi: t.acpiEnabled() };
        case 'shutdown':
          return { id, ok: true, acpi: t.powerButton() };
        case 'pause':
          await t.pause();
          return { id, ok: true, state: 'paused' };
        case 'resume':
          t.resume();
          return { id, ok: true, state: 'running' };
        case 'console': {
          const dev = o.dev ?? 'com1';
          if (typeof dev !== 'string') throw new RequestError('bad-request', "'dev' must be a string");
          for (const k of ['replay', 'force'] as const) {
            if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new RequestError('bad-request', `'${k}' must be a boolean`);
          }
          if (!CONSOLE_NAME.test(dev)) throw new RequestError('bad-request', `'dev' must be com1..com4, not '${dev}'`);
          const port = t.consoles.get(dev);
          if (!port) throw new RequestError('invalid-state', `${dev} is not attachable (its backend is not tsvirt-console)`);
          if (port.attached && o.force !== true) throw new RequestError('busy', `${dev} already has a console client`);
          this.send(socket, { id, ok: true });
          const pending = goRaw();
          port.attach(socket, { replay: o.replay === true, force: o.force === true, pending });
          return undefined;
        }
        default:
          throw new RequestError('unknown-command', `unknown command '${o.cmd}'`);
      }
    } catch (e) {
      if (e instanceof RequestError) return { id, ok: false, error: { code: e.code, message: e.message } };
      return { id, ok: false, error: { code: 'failed', message: (e as Error).message } };
    }
  }

  /**
   * Stops listening, ends every connection (written bytes still go out; a peer that does
   * not read is cut after a second) and removes the socket file.
   */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) {
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    }
    await closing;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
