/**
 * Shared plumbing of the serial backends built on Node streams (stdio, tty devices,
 * sockets): holding unaccepted input, pausing the readable while the consumer is full,
 * and writing without blocking the event loop. Concrete backends only say where the
 * streams come from (stdio.ts, socket-server.ts, tty-device.ts).
 */
import type { Readable, Writable } from 'node:stream';
import type { InputSink, SerialBackend } from '../../lpc/uart/backend.js';

/** Caps bytes queued for a slow peer; beyond it output is dropped (a guest can't OOM us). */
export const MAX_QUEUED_OUTPUT = 1 << 20;

export abstract class StreamBackend implements SerialBackend {
  abstract readonly description: string;
  private sink: InputSink | undefined;
  private held: Uint8Array | undefined;
  protected input: Readable | undefined;
  protected output: Writable | undefined;
  dropped = 0;

  protected attachInput(r: Readable | undefined): void {
    this.input = r;
    this.held = undefined;
    if (!r) return;
    r.on('data', (chunk: Buffer) => this.offer(chunk));
    if (!this.sink) r.pause();
  }

  protected attachOutput(w: Writable | undefined): void {
    this.output = w;
  }

  private offer(chunk: Uint8Array): void {
    if (!this.sink) {
      this.held = this.held ? concat(this.held, chunk) : chunk;
      this.input?.pause();
      return;
    }
    const taken = this.sink(chunk);
    if (taken < chunk.length) {
      this.held = chunk.subarray(taken);
      this.input?.pause();
    }
  }

  setInputSink(sink: InputSink | undefined): void {
    this.sink = sink;
    if (sink) this.resume();
    else this.input?.pause();
  }

  resume(): void {
    if (!this.sink) return;
    if (this.held) {
      const h = this.held;
      this.held = undefined;
      const taken = this.sink(h);
      if (taken < h.length) {
        this.held = h.subarray(taken);
        return;
      }
    }
    this.input?.resume();
  }

  write(data: Uint8Array): void {
    const out = this.output;
    if (!out || out.destroyed || !out.writable) {
      this.dropped += data.length;
      return;
    }
    if (out.writableLength > MAX_QUEUED_OUTPUT) {
      this.dropped += data.length;
      return;
    }
    out.write(Buffer.from(data));
  }

  flush(): Promise<void> {
    const out = this.output;
    if (!out || out.destroyed || !out.writable || out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => out.write(Buffer.alloc(0), () => resolve()));
  }

  abstract close(): Promise<void>;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}
