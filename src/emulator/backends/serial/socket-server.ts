/**
 * Listening-socket serial backends: `tcp=IP:PORT` / `tcp=[IPv6]:PORT` (bhyve 14.2+) and
 * tsbhyve's `unix=PATH` (a UNIX stream socket a driver attaches `tsvirsh console` to).
 * One client at a time, as bhyve: a second connection is closed at once; output is
 * dropped while no client is connected; the UNIX socket path is unlinked first and
 * removed on close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { StreamBackend } from './stream-backend.js';

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export class SocketServerBackend extends StreamBackend {
  readonly description: string;
  private readonly server: Server;
  private client: Socket | undefined;
  /** Told when a client connects (true) or goes away (false). */
  onConnection: ((connected: boolean) => void) | undefined;

  get connected(): boolean {
    return this.client !== undefined;
  }

  private constructor(readonly address: ListenAddress, server: Server) {
    super();
    this.server = server;
    this.description = address.kind === 'tcp' ? `tcp ${address.host}:${address.port}` : `unix ${address.path}`;
    server.on('connection', (s) => this.accept(s));
  }

  /** Starts listening; rejects with the host error (EADDRINUSE, EACCES...). */
  static async listen(address: ListenAddress): Promise<SocketServerBackend> {
    const server = createServer({ pauseOnConnect: true });
    if (address.kind === 'unix') rmSync(address.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (address.kind === 'tcp') server.listen(address.port, address.host, () => resolve());
      else server.listen(address.path, () => resolve());
    });
    const b = new SocketServerBackend(address, server);
    if (address.kind === 'tcp' && address.port === 0) {
      const a = server.address();
      if (a && typeof a === 'object') (b.address as { port: number }).port = a.port;
    }
    server.removeAllListeners('error');
    server.on('error', () => {});
    return b;
  }

  /** The TCP port actually bound (useful with port 0). */
  get port(): number | undefined {
    return this.address.kind === 'tcp' ? this.address.port : undefined;
  }

  private accept(s: Socket): void {
    if (this.client) {
      s.destroy();
      return;
    }
    this.client = s;
    s.on('error', () => {});
    s.on('close', () => {
      if (this.client === s) {
        this.client = undefined;
        this.attachInput(undefined);
        this.attachOutput(undefined);
        this.onConnection?.(false);
      }
    });
    this.attachOutput(s);
    this.attachInput(s);
    this.resume();
    this.onConnection?.(true);
  }

  async close(): Promise<void> {
    this.client?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.address.kind === 'unix') rmSync(this.address.path, { force: true });
  }
}
