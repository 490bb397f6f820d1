/**
 * One server-side libvirt stream (as for DOMAIN_OPEN_CONSOLE), following libvirt's
 * `remote_daemon_stream.c` semantics on the wire:
 * - data from the source (guest console output) goes out as STREAM packets, status
 *   CONTINUE, at most 256 KiB each; end of source is an empty STREAM with status OK;
 * - client STREAM/CONTINUE packets are written to the source, unacknowledged;
 * - client STREAM/OK (finish) ends the source and is confirmed with an empty STREAM/OK;
 * - client STREAM/ERROR (abort) destroys the source and is confirmed the same way;
 * - a source error is sent as STREAM/ERROR with a `remote_error` payload.
 * Backpressure: the source is paused while the client socket's buffer is above its mark.
 */
import type { Duplex } from 'node:stream';
import { MessageStatus, MessageType, VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX, type Packet } from '../packet.js';
import { toVirError, virErr, type VirError } from '../../xml/errors.js';

export interface StreamSink {
  sendStreamData(proc: number, serial: number, status: number, data: Uint8Array): boolean;
  sendStreamError(proc: number, serial: number, err: VirError): void;
  onDrain(fn: () => void): void;
  removeStream(stream: ServerStream): void;
}

export class ServerStream {
  private closed = false;
  private sentEof = false;

  constructor(
    readonly proc: number,
    readonly serial: number,
    private readonly source: Duplex,
    private readonly sink: StreamSink,
  ) {
    source.on('data', (chunk: Buffer) => this.forward(chunk));
    source.on('end', () => {
      if (this.closed || this.sentEof) return;
      this.sentEof = true;
      this.sink.sendStreamData(proc, serial, MessageStatus.OK, Buffer.alloc(0));
    });
    source.on('error', (e: Error) => this.fail(toVirError(e)));
    source.on('close', () => {
      if (this.closed) return;
      if (!this.sentEof) {
        this.sentEof = true;
        this.sink.sendStreamData(proc, serial, MessageStatus.OK, Buffer.alloc(0));
      }
    });
  }

  private forward(chunk: Buffer): void {
    if (this.closed) return;
    let ok = true;
    for (let off = 0; off < chunk.length; off += VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX) {
      ok = this.sink.sendStreamData(this.proc, this.serial, MessageStatus.CONTINUE, chunk.subarray(off, off + VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX));
    }
    if (!ok) {
      this.source.pause();
      this.sink.onDrain(() => {
        if (!this.closed) this.source.resume();
      });
    }
  }

  private fail(err: VirError): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.sendStreamError(this.proc, this.serial, err);
    this.sink.removeStream(this);
  }

  /** A STREAM packet from the client for this stream. */
  handle(pkt: Packet): void {
    if (this.closed) return;
    const { type, status } = pkt.header;
    if (type !== MessageType.STREAM) {
      this.fail(virErr('VIR_ERR_RPC', 'VIR_FROM_STREAMS', 'Unexpected stream hole'));
      this.source.destroy();
      return;
    }
    switch (status) {
      case MessageStatus.CONTINUE:
        if (pkt.payload.length > 0 && !this.source.writableEnded) this.source.write(pkt.payload);
        return;
      case MessageStatus.OK:
        this.closed = true;
        this.source.end();
        this.sink.sendStreamData(this.proc, this.serial, MessageStatus.OK, Buffer.alloc(0));
        this.sink.removeStream(this);
        return;
      default:
        this.closed = true;
        this.source.destroy();
        this.sink.sendStreamData(this.proc, this.serial, MessageStatus.OK, Buffer.alloc(0));
        this.sink.removeStream(this);
    }
  }

  /** The client connection went away. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.destroy();
  }
}
