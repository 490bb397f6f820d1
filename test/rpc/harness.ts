/**
 * Test helpers: an in-process tsvirtd RPC server on a temporary socket directory serving the
 * TEST driver, and a raw socket speaking bytes to it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketFramer, type Packet } from '../../src/rpc/packet.js';
import { RpcServer, type RpcServerOptions } from '../../src/rpc/server/server.js';
import { TestDriver } from '../../src/rpc/test-driver.js';
import { createLogger, type LogFields } from '../../src/rpc/log.js';
import type { DriverApi } from '../../src/rpc/driver-api.js';

export interface Harness {
  dir: string;
  server: RpcServer;
  driver: DriverApi;
  logs: Array<{ level: string; msg: string } & LogFields>;
  stop(): Promise<void>;
}

export async function startHarness(opts: Partial<RpcServerOptions> = {}, driver: DriverApi = new TestDriver()): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-rpc-'));
  chmodSync(dir, 0o755); // other uids must reach the sockets for the peer credential tests
  const logs: Harness['logs'] = [];
  const log = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Harness['logs'][number]) });
  const server = await RpcServer.start({ driver, socketDir: join(dir, 'run'), log, ...opts });
  return {
    dir,
    server,
    driver,
    logs,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A socket that collects the packets the server sends. */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly framer = new PacketFramer();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      for (const p of this.framer.push(c)) this.packets.push(p);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** Waits until `pred` holds over the received packets (or the socket closes), with a timeout. */
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the server');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async reply(serial: number): Promise<Packet> {
    await this.until(() => this.closed || this.packets.some((p) => p.header.serial === serial && p.header.type === 1));
    const p = this.packets.find((q) => q.header.serial === serial && q.header.type === 1);
    if (!p) throw new Error(`no reply to serial ${serial}; socket closed`);
    return p;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export const DOMAIN_XML = (name: string, uuid?: string) => `<domain type='bhyve'>
  <name>${name}</name>${uuid ? `\n  <uuid>${uuid}</uuid>` : ''}
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
`;
