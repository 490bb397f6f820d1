/**
 * tsvirtd's libvirt RPC server: listens on a read-write and a read-only unix socket, admits
 * clients after checking their peer credentials, and fans the driver's events out to the
 * clients that registered for them.
 *
 * Access policy (as libvirt's unix socket defaults): the read-write socket is created with
 * mode 0600 and admits only root and the daemon's own user (plus `allowedUids`). When its
 * mode lets others connect, a client whose credentials cannot be established is refused
 * (every call answers VIR_ERR_ACCESS_DENIED, then the connection closes); with an
 * owner-only mode the kernel's permission check already gave that guarantee. The read-only socket (mode 0666)
 * admits anyone; its connections are read-only, so every state-changing call answers
 * VIR_ERR_OPERATION_DENIED.
 *
 * Socket files: a stale file left by a dead daemon is replaced; a live daemon already
 * listening on the path is an error (two daemons must not share a socket). `stop()` closes
 * the listeners, disconnects clients and removes the files.
 */
import { mkdir, unlink, lstat } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { DriverApi } from '../driver-api.js';
import { silentLogger, type Logger } from '../log.js';
import { ClientConnection, type Admission, type ConnectionEnv, type ConnectionLimits, type SocketKind } from './connection.js';
import { PeerCredResolver } from './peer-cred.js';
import { listenUnixWithMode } from '../listen-unix.js';

export const RW_SOCKET_NAME = 'tsvirt-sock';
export const RO_SOCKET_NAME = 'tsvirt-sock-ro';

/** The libvirt release whose remote protocol this server speaks (virConnectGetLibVersion). */
export const PROTOCOL_LIBVIRT_VERSION = 9_000_000;

export interface RpcServerOptions {
  driver: DriverApi;
  socketDir: string;
  log?: Logger;
  rwMode?: number;
  roMode?: number;
  /** Uids admitted on the read-write socket besides root and the daemon's own. */
  allowedUids?: number[];
  /** null disables the peer credential check (all clients admitted). */
  peerCred?: PeerCredResolver | null;
  maxClients?: number;
  limits?: Partial<ConnectionLimits>;
}

const DEFAULT_LIMITS: ConnectionLimits = {
  maxInFlight: 32,
  maxOutputBytes: 64 * 1024 * 1024,
  keepaliveIntervalMs: 5000,
  keepaliveCount: 5,
};

async function prepareSocketPath(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another daemon is already listening on ${path}`);
  await unlink(path);
}

async function listenUnix(server: Server, path: string, mode: number): Promise<void> {
  await prepareSocketPath(path);
  await listenUnixWithMode(server, path, mode);
}

export class RpcServer {
  private readonly rw: Server;
  private readonly ro: Server;
  private readonly conns = new Set<ClientConnection>();
  private readonly log: Logger;
  private readonly env: ConnectionEnv;
  private readonly resolver: PeerCredResolver | null;
  private readonly allowedUids: Set<number>;
  private unsubscribe: (() => void) | null = null;
  private nextClientId = 1;
  private nextCallback = 1;
  private stopped = false;
  readonly rwPath: string;
  readonly roPath: string;

  private constructor(private readonly opts: RpcServerOptions) {
    this.log = opts.log ?? silentLogger;
    this.rwPath = join(opts.socketDir, RW_SOCKET_NAME);
    this.roPath = join(opts.socketDir, RO_SOCKET_NAME);
    this.resolver = opts.peerCred === undefined ? new PeerCredResolver() : opts.peerCred;
    const euid = process.geteuid?.() ?? 0;
    this.allowedUids = new Set([0, euid, ...(opts.allowedUids ?? [])]);
    this.env = {
      driver: opts.driver,
      log: this.log,
      libVersion: PROTOCOL_LIBVIRT_VERSION,
      limits: { ...DEFAULT_LIMITS, ...opts.limits },
      nextCallbackId: () => this.nextCallback++,
      closed: (c) => this.conns.delete(c),
    };
    this.rw = createServer((s) => this.accept(s, 'rw'));
    this.ro = createServer((s) => this.accept(s, 'ro'));
    const max = opts.maxClients ?? 5000;
    this.rw.maxConnections = max;
    this.ro.maxConnections = max;
  }

  static async start(opts: RpcServerOptions): Promise<RpcServer> {
    const s = new RpcServer(opts);
    await mkdir(opts.socketDir, { recursive: true, mode: 0o755 });
    await listenUnix(s.rw, s.rwPath, opts.rwMode ?? 0o600);
    try {
      await listenUnix(s.ro, s.roPath, opts.roMode ?? 0o666);
    } catch (e) {
      s.rw.close();
      await unlink(s.rwPath).catch(() => {});
      throw e;
    }
    s.unsubscribe = opts.driver.subscribe((e) => {
      for (const c of s.conns) c.deliver(e);
    });
    s.log.log('info', 'listening', { rw: s.rwPath, ro: s.roPath, driver: opts.driver.type });
    return s;
  }

  get clientCount(): number {
    return this.conns.size;
  }

  private accept(socket: Socket, kind: SocketKind): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const conn = new ClientConnection(this.nextClientId++, socket, kind, this.env, this.admit(socket, kind));
    this.conns.add(conn);
  }

  private async admit(socket: Socket, kind: SocketKind): Promise<Admission> {
    if (!this.resolver) return { allowed: true, reason: 'peer credential check disabled' };
    const r = await this.resolver.lookup(socket);
    const fields = r.ok ? { pid: r.creds.pid, uid: r.creds.uid, gid: r.creds.gid } : { credentials: r.reason };
    if (kind === 'ro') return { allowed: true, fields };
    if (!r.ok) {
      // Owner-only socket: the kernel already limited connect() to the daemon's user and
      // root, which is all this check would admit. Anything wider needs the credentials.
      if (((this.opts.rwMode ?? 0o600) & 0o077) === 0) return { allowed: true, reason: 'owner-only socket; peer unidentified', fields };
      return { allowed: false, reason: `cannot verify peer credentials: ${r.reason}`, fields };
    }
    if (!this.allowedUids.has(r.creds.uid)) {
      return { allowed: false, reason: `client uid ${r.creds.uid} (pid ${r.creds.pid}) may not use the read-write socket`, fields };
    }
    return { allowed: true, fields };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    const closing = [this.rw, this.ro].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    for (const c of this.conns) c.shutdown();
    await Promise.all(closing);
    await unlink(this.rwPath).catch(() => {});
    await unlink(this.roPath).catch(() => {});
    this.log.log('info', 'stopped', {});
  }
}
