/**
 * The GDB stub's TCP listener (bhyve -G [w][addr:]port, bhyve-userland.md §1.2): one
 * debugger at a time, each connection a {@link GdbSession}. A second connection while one
 * is open is refused (closed at once), as bhyve does. The exit interceptor routes the
 * vmm's mtrap and bpt exits to the session; with no debugger attached an INT3 belongs to
 * the guest and gets its #BP.
 *
 * Called on every exit through {@link intercept}: a kind check, nothing else, for exits
 * that are not the stub's.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { VmExit } from '../vmm/vmm.js';
import { GdbSession } from './session.js';
import type { GdbTarget } from './target.js';

export class GdbServer {
  private session: GdbSession | undefined;
  private socket: Socket | undefined;

  private constructor(
    private readonly server: Server,
    private readonly target: GdbTarget,
    private readonly log: Logger,
  ) {
    server.on('connection', (s) => this.accept(s));
  }

  /** Listens on host:port; rejects with the socket error (EADDRINUSE, ...). */
  static listen(host: string, port: number, target: GdbTarget, log: Logger): Promise<GdbServer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, host, () => {
        server.removeListener('error', reject);
        server.on('error', (e) => log.warn(`gdb: ${e.message}`));
        resolve(new GdbServer(server, target, log));
      });
    });
  }

  /** The bound port (useful when listening on port 0). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private accept(socket: Socket): void {
    if (this.session) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const session = new GdbSession(
      this.target,
      {
        write: (b) => {
          if (!socket.destroyed) socket.write(b);
        },
        close: () => socket.end(),
      },
      this.log,
    );
    this.session = session;
    this.socket = socket;
    void session.attach().catch((e: unknown) => this.log.warn(`gdb: stopping the VM for the debugger: ${(e as Error).message}`));
    socket.on('data', (chunk) => session.receive(chunk));
    const gone = (): void => {
      void session.detach().finally(() => {
        if (this.session === session) {
          this.session = undefined;
          this.socket = undefined;
        }
      });
    };
    socket.on('close', gone);
    socket.on('error', () => socket.destroy());
  }

  /** The run loop's exit interceptor: true for the stub's exits. */
  readonly intercept = (exit: VmExit): boolean => {
    if (exit.kind === 'mtrap') {
      this.session?.onDebugEvent({ kind: 'mtrap', vcpu: exit.vcpu });
      return true;
    }
    if (exit.kind === 'bpt') {
      let answer: 'pass' | 'hold' = 'pass';
      try {
        if (this.session) answer = this.session.onDebugEvent({ kind: 'bpt', vcpu: exit.vcpu, rip: exit.rip });
      } catch (e) {
        // Registers unreadable (the vmm refused): the INT3 cannot be ours to explain.
        this.log.warn(`gdb: INT3 on vCPU ${exit.vcpu}: ${(e as Error).message}`);
      }
      exit.pass = answer === 'pass';
      return true;
    }
    return false;
  };

  /** The VM ended: tell a waiting debugger its exit status. */
  vmEnded(status: number): void {
    this.session?.vmEnded(status);
  }

  /** Lets a last reply (W) reach the debugger (up to a second), then stops listening. */
  async close(): Promise<void> {
    const s = this.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.end();
      });
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
