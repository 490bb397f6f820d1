/**
 * `tsvirt-console`: a serial port whose far end is whichever client attached to it
 * through the control socket's `console` request (docs/control-socket.md §3 "console";
 * the driver writes `lpc.comN.path=tsvirt-console` for `<serial type='pty'>`), which is
 * how `tsvirsh console` reaches a VM it did not start in its own terminal.
 *
 * - One client at a time; attach() answers 'busy' for a second one unless `force`, which
 *   closes the previous client first (virsh console --force).
 * - No client: the guest is never blocked; its output goes into a ring of the last
 *   65536 bytes, which an attach with `replay` sends first. Input is empty.
 * - A client: output goes to its socket (dropped beyond 1 MiB queued, as the other stream
 *   backends do, so a stalled client cannot grow our memory); its bytes feed the UART's
 *   receive side with back-pressure (the socket is paused while the RX FIFO is full).
 * What it does not do: speak the JSON protocol (control/server.ts hands it a raw socket).
 */
import type { Socket } from 'node:net';
import type { InputSink, SerialBackend } from '../../lpc/uart/backend.js';
import { MAX_QUEUED_OUTPUT } from './stream-backend.js';

export const CONSOLE_RING_BYTES = 65536;

export type AttachResult = 'attached' | 'busy';

export class ConsoleSocketBackend implements SerialBackend {
  readonly description: string;
  private readonly ring = new Uint8Array(CONSOLE_RING_BYTES);
  private ringStart = 0;
  private ringLength = 0;
  private client: Socket | undefined;
  private sink: InputSink | undefined;
  private held: Uint8Array | undefined;
  private closed = false;
  dropped = 0;

  constructor(readonly device: string) {
    this.description = `tsvirt-console ${device}`;
  }

  get attached(): boolean {
    return this.client !== undefined;
  }

  /** Makes `socket` this port's console; its first bytes may already be in `pending`. */
  attach(socket: Socket, opts: { replay: boolean; force: boolean; pending?: Uint8Array }): AttachResult {
    if (this.closed) {
      socket.end();
      return 'attached';
    }
    if (this.client) {
      if (!opts.force) return 'busy';
      const old = this.client;
      this.detach(old);
      old.destroy();
    }
    this.client = socket;
    this.held = opts.pending && opts.pending.length ? opts.pending : undefined;
    socket.on('data', (chunk: Buffer) => this.offer(socket, chunk));
    const gone = () => this.detach(socket);
    socket.on('close', gone);
    socket.on('error', gone);
    if (opts.replay && this.ringLength > 0) socket.write(Buffer.from(this.ringContents()));
    this.ringStart = 0;
    this.ringLength = 0;
    if (this.held) this.resume();
    return 'attached';
  }

  private detach(socket: Socket): void {
    if (this.client !== socket) return;
    this.client = undefined;
    this.held = undefined;
    socket.removeAllListeners('data');
  }

  private offer(socket: Socket, chunk: Uint8Array): void {
    if (this.client !== socket) return;
    if (this.held || !this.sink) {
      this.held = this.held ? concat(this.held, chunk) : chunk;
      socket.pause();
      return;
    }
    const taken = this.sink(chunk);
    if (taken < chunk.length) {
      this.held = chunk.subarray(taken);
      socket.pause();
    }
  }

  private ringContents(): Uint8Array {
    const out = new Uint8Array(this.ringLength);
    const first = Math.min(this.ringLength, CONSOLE_RING_BYTES - this.ringStart);
    out.set(this.ring.subarray(this.ringStart, this.ringStart + first));
    out.set(this.ring.subarray(0, this.ringLength - first), first);
    return out;
  }

  private keep(data: Uint8Array): void {
    let d = data;
    if (d.length >= CONSOLE_RING_BYTES) {
      d = d.subarray(d.length - CONSOLE_RING_BYTES);
      this.ring.set(d);
      this.ringStart = 0;
      this.ringLength = CONSOLE_RING_BYTES;
      return;
    }
    for (let i = 0; i < d.length; ) {
      const end = (this.ringStart + this.ringLength) % CONSOLE_RING_BYTES;
      const n = Math.min(d.length - i, CONSOLE_RING_BYTES - end);
      this.ring.set(d.subarray(i, i + n), end);
      i += n;
      this.ringLength += n;
      if (this.ringLength > CONSOLE_RING_BYTES) {
        const over = this.ringLength - CONSOLE_RING_BYTES;
        this.ringStart = (this.ringStart + over) % CONSOLE_RING_BYTES;
        this.ringLength = CONSOLE_RING_BYTES;
      }
    }
  }

  write(data: Uint8Array): void {
    const c = this.client;
    if (!c || c.destroyed || !c.writable) {
      this.keep(data);
      return;
    }
    if (c.writableLength > MAX_QUEUED_OUTPUT) {
      this.dropped += data.length;
      return;
    }
    c.write(Buffer.from(data));
  }

  setInputSink(sink: InputSink | undefined): void {
    this.sink = sink;
    if (sink) this.resume();
  }

  resume(): void {
    if (!this.sink || !this.client) return;
    if (this.held) {
      const h = this.held;
      this.held = undefined;
      const taken = this.sink(h);
      if (taken < h.length) {
        this.held = h.subarray(taken);
        return;
      }
    }
    this.client.resume();
  }

  flush(): Promise<void> {
    const c = this.client;
    if (!c || c.destroyed || !c.writable || c.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => c.write(Buffer.alloc(0), () => resolve()));
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    c?.end();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}
