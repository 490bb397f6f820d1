/**
 * One client of tsvirtd's libvirt RPC socket: framing, program and type checks, calls
 * dispatched concurrently with a per-client limit, replies, events, keepalive and streams.
 *
 * Behaviour on bad input (as libvirtd): a bad length word (below the header size or above
 * 32 MiB) closes the connection, since the byte stream can no longer be trusted; a wrong
 * program or version, an unexpected message type or status, an unknown or unimplemented
 * procedure and undecodable arguments each get an error REPLY and the connection goes on.
 * Stream packets for no open stream are dropped (libvirt does the same: they can race a
 * stream's close).
 *
 * Resource bounds: at most `maxInFlight` calls run per client (reading pauses beyond it),
 * at most 1024 event callbacks and 64 open streams per client;
 * a client whose unread output exceeds `maxOutputBytes` is disconnected; a client that
 * enabled keepalive and then stays silent for `count` intervals is disconnected.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DomainEventId, type DomainEvent, type DriverApi } from '../driver-api.js';
import type { Logger } from '../log.js';
import {
  FramingError,
  MessageStatus,
  MessageType,
  PacketFramer,
  decodePayload,
  encodePacket,
  encodeRawPacket,
  type MessageHeader,
  type Packet,
} from '../packet.js';
import { KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION } from '../protocol/keepalive.js';
import { remoteProcedureApi, remoteProcedureName } from '../protocol/procedure-names.js';
import {
  RemoteEvents,
  domainEventCallbackLifecycleMsg,
  domainEventCallbackRebootMsg,
} from '../protocol/remote-procedures.js';
import { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remoteError } from '../protocol/remote-types.js';
import { XdrDecodeError, XdrEncodeError } from '../xdr.js';
import { xvoid } from '../xdr-codec.js';
import { isVirError, toVirError, virErr, type VirError } from '../../xml/errors.js';
import { dispatchEntry, toWire, type CallContext, type ConnectionState, type DispatchEntry } from './dispatch.js';
import { ServerStream, type StreamSink } from './stream.js';

export type SocketKind = 'rw' | 'ro';

export interface ConnectionLimits {
  maxInFlight: number;
  maxOutputBytes: number;
  keepaliveIntervalMs: number;
  keepaliveCount: number;
}

export interface ConnectionEnv {
  readonly driver: DriverApi;
  readonly log: Logger;
  readonly libVersion: number;
  readonly limits: ConnectionLimits;
  nextCallbackId(): number;
  closed(conn: ClientConnection): void;
}

/** The outcome of the peer credential check made when the client connected. */
export interface Admission {
  allowed: boolean;
  reason?: string;
  fields?: Record<string, unknown>;
}

interface EventCallback {
  eventID: number;
  uuid: string | null;
}

/** Bounds on what one client can make the daemon hold (hostile clients). */
const MAX_CALLBACKS_PER_CLIENT = 1024;
const MAX_STREAMS_PER_CLIENT = 64;

function streamKey(proc: number, serial: number): string {
  return `${proc}:${serial}`;
}

function errorToRemote(e: VirError) {
  return {
    code: e.code,
    domain: e.domain,
    message: e.message,
    level: e.level,
    dom: null,
    str1: e.message,
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
    net: null,
  };
}

export class ClientConnection implements ConnectionState, StreamSink {
  readOnly: boolean;
  uri: string | null = null;

  private readonly framer = new PacketFramer();
  private gated: Packet[] | null = [];
  private refusal: string | null = null;
  private inFlight = 0;
  private readPaused = false;
  private isClosed = false;
  private readonly callbacks = new Map<number, EventCallback>();
  private readonly streams = new Map<string, ServerStream>();
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private lastRx = Date.now();
  private pingsUnanswered = 0;
  private closeCallback = false;
  private readonly packetsScratch: Packet[] = [];

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    readonly kind: SocketKind,
    private readonly env: ConnectionEnv,
    admission: Promise<Admission>,
  ) {
    this.readOnly = kind === 'ro';
    socket.pause();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => env.log.log('debug', 'client socket error', { client: id, error: e.message }));
    socket.on('close', () => this.onClose());
    admission.then(
      (a) => this.admit(a),
      (e: Error) => this.admit({ allowed: false, reason: `peer check failed: ${e.message}` }),
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private admit(a: Admission): void {
    if (this.isClosed) return;
    this.env.log.log(a.allowed ? 'info' : 'warn', a.allowed ? 'client connected' : 'client refused', {
      client: this.id,
      socket: this.kind,
      ...(a.reason ? { reason: a.reason } : {}),
      ...a.fields,
    });
    if (!a.allowed) this.refusal = a.reason ?? 'access denied';
    const queued = this.gated ?? [];
    this.gated = null;
    for (const p of queued) this.handlePacket(p);
    if (!this.isClosed) this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    this.pingsUnanswered = 0;
    const packets = this.packetsScratch;
    packets.length = 0;
    try {
      this.framer.push(chunk, packets);
    } catch (e) {
      if (e instanceof FramingError) {
        this.env.log.log('warn', 'closing client: bad packet framing', { client: this.id, error: e.message });
        this.socket.destroy();
        return;
      }
      throw e;
    }
    for (const p of packets) {
      if (this.isClosed) return;
      if (this.gated) this.gated.push(p);
      else this.handlePacket(p);
    }
  }

  private handlePacket(p: Packet): void {
    const h = p.header;
    if (h.prog === KEEPALIVE_PROGRAM) {
      this.handleKeepalive(h);
      return;
    }
    if (h.prog !== REMOTE_PROGRAM || h.vers !== REMOTE_PROTOCOL_VERSION) {
      if (h.type === MessageType.CALL) {
        this.replyError(h, virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `cannot find program ${h.prog} version ${h.vers}`));
      } else {
        this.env.log.log('debug', 'dropping packet of unknown program', { client: this.id, prog: h.prog, vers: h.vers, type: h.type });
      }
      return;
    }
    switch (h.type) {
      case MessageType.CALL:
        if (h.status !== MessageStatus.OK) {
          this.replyError(h, virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `Unexpected message status ${h.status}`));
          return;
        }
        this.dispatchCall(p);
        return;
      case MessageType.STREAM:
      case MessageType.STREAM_HOLE: {
        const s = this.streams.get(streamKey(h.proc, h.serial));
        if (s) s.handle(p);
        else this.env.log.log('debug', 'ignoring stream packet for no open stream', { client: this.id, proc: h.proc, serial: h.serial });
        return;
      }
      case MessageType.CALL_WITH_FDS:
        this.replyError(h, virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', 'file descriptor passing is not supported'));
        return;
      default:
        this.replyError(h, virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `Unexpected message type ${h.type}`));
    }
  }

  private handleKeepalive(h: MessageHeader): void {
    if (h.vers !== KEEPALIVE_PROTOCOL_VERSION || h.type !== MessageType.MESSAGE) return;
    if (h.proc === KEEPALIVE_PROC_PING) {
      this.send(
        encodePacket(
          { prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc: KEEPALIVE_PROC_PONG, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK },
          xvoid,
          undefined,
        ),
      );
    }
  }

  private dispatchCall(p: Packet): void {
    const h = p.header;
    if (this.refusal !== null) {
      this.replyError(h, virErr('VIR_ERR_ACCESS_DENIED', 'VIR_FROM_RPC', this.refusal));
      this.socket.end();
      return;
    }
    const entry = dispatchEntry(h.proc);
    if (!entry) {
      const name = remoteProcedureName(h.proc);
      this.env.log.log('info', 'unimplemented procedure', { client: this.id, proc: h.proc, name: name ?? 'unknown' });
      const api = remoteProcedureApi(h.proc);
      this.replyError(
        h,
        api === null
          ? virErr('VIR_ERR_NO_SUPPORT', 'VIR_FROM_RPC', `unknown procedure ${h.proc}`)
          : virErr('VIR_ERR_NO_SUPPORT', api.startsWith('virDomain') ? 'VIR_FROM_DOMAIN' : 'VIR_FROM_NONE', api),
      );
      return;
    }
    if (!entry.preOpen && this.uri === null) {
      this.replyError(h, virErr('VIR_ERR_INTERNAL_ERROR', 'VIR_FROM_RPC', 'connection not open'));
      return;
    }
    let args: unknown;
    try {
      args = decodePayload(entry.def.args, p.payload);
    } catch (e) {
      if (!(e instanceof XdrDecodeError)) throw e;
      this.replyError(h, virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `Unable to decode message payload of ${entry.def.name}: ${e.message}`));
      return;
    }
    if (entry.def.writes && this.readOnly) {
      this.replyError(h, virErr('VIR_ERR_OPERATION_DENIED', 'VIR_FROM_DOMAIN', `read only access prevents ${entry.def.api}`));
      return;
    }
    const after: Array<() => void> = [];
    const ctx: CallContext = {
      driver: this.env.driver,
      conn: this,
      proc: h.proc,
      serial: h.serial,
      libVersion: this.env.libVersion,
      afterReply: (fn) => after.push(fn),
    };
    this.inFlight++;
    if (this.inFlight >= this.env.limits.maxInFlight && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
    void this.runCall(entry, h, args, ctx, after);
  }

  /** Runs one call to completion: reply, post-reply actions, in-flight accounting. */
  private async runCall(entry: DispatchEntry, h: MessageHeader, args: unknown, ctx: CallContext, after: Array<() => void>): Promise<void> {
    const t0 = this.env.log.enabled('debug') ? process.hrtime.bigint() : 0n;
    try {
      let ret: unknown;
      try {
        ret = await entry.handle(ctx, args);
      } catch (e) {
        if (!isVirError(e)) {
          this.env.log.log('error', 'driver call failed unexpectedly', {
            client: this.id,
            proc: entry.def.name,
            error: e instanceof Error ? (e.stack ?? e.message) : String(e),
          });
        }
        this.replyError(h, toVirError(e));
        return;
      }
      let buf: Buffer;
      try {
        buf = encodePacket({ ...h, type: MessageType.REPLY, status: MessageStatus.OK }, entry.def.ret, ret);
      } catch (e) {
        if (!(e instanceof XdrEncodeError)) throw e;
        this.env.log.log('error', 'driver result cannot be encoded', { client: this.id, proc: entry.def.name, error: e.message });
        this.replyError(h, virErr('VIR_ERR_INTERNAL_ERROR', 'VIR_FROM_RPC', `cannot encode reply of ${entry.def.name}: ${e.message}`));
        return;
      }
      this.send(buf);
      for (const fn of after) fn();
    } catch (e) {
      this.env.log.log('error', 'reply failed', { client: this.id, proc: entry.def.name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    } finally {
      this.inFlight--;
      if (t0 !== 0n) this.env.log.log('debug', 'call', { client: this.id, proc: entry.def.name, us: Number((process.hrtime.bigint() - t0) / 1000n) });
      if (this.readPaused && this.inFlight < this.env.limits.maxInFlight && !this.isClosed) {
        this.readPaused = false;
        this.socket.resume();
      }
    }
  }

  private replyError(h: MessageHeader, e: VirError): void {
    this.send(encodePacket({ ...h, type: MessageType.REPLY, status: MessageStatus.ERROR }, remoteError, errorToRemote(e)));
  }

  /** Queues bytes for the client; false when its buffer is above the high-water mark. */
  private send(buf: Buffer): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    const ok = this.socket.write(buf);
    if (this.socket.writableLength > this.env.limits.maxOutputBytes) {
      this.env.log.log('warn', 'closing client that does not read its replies', { client: this.id, buffered: this.socket.writableLength });
      this.socket.destroy();
      return false;
    }
    return ok;
  }

  // ---- ConnectionState ----

  open(uri: string, readOnly: boolean): void {
    this.uri = uri;
    if (readOnly) this.readOnly = true;
    this.env.log.log('info', 'connection opened', { client: this.id, uri, readOnly: this.readOnly });
  }

  close(): void {
    this.uri = null;
    this.callbacks.clear();
    for (const s of this.streams.values()) s.abort();
    this.streams.clear();
  }

  enableKeepalive(): void {
    if (this.keepaliveTimer || this.isClosed) return;
    const { keepaliveIntervalMs: interval, keepaliveCount: count } = this.env.limits;
    if (interval <= 0) return;
    this.keepaliveTimer = setInterval(() => {
      if (Date.now() - this.lastRx < interval) return;
      if (this.pingsUnanswered >= count) {
        this.env.log.log('warn', 'closing client: no keepalive response', { client: this.id, pings: this.pingsUnanswered });
        this.socket.destroy();
        return;
      }
      this.pingsUnanswered++;
      this.env.log.log('debug', 'keepalive ping', { client: this.id, unanswered: this.pingsUnanswered });
      this.send(
        encodePacket(
          { prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc: KEEPALIVE_PROC_PING, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK },
          xvoid,
          undefined,
        ),
      );
    }, interval);
    this.keepaliveTimer.unref();
  }

  registerDomainEvent(eventID: number, domUuid: string | null): number {
    if (this.callbacks.size >= MAX_CALLBACKS_PER_CLIENT) {
      throw virErr('VIR_ERR_OPERATION_FAILED', 'VIR_FROM_RPC', `too many event callbacks on one connection (limit ${MAX_CALLBACKS_PER_CLIENT})`);
    }
    const id = this.env.nextCallbackId();
    this.callbacks.set(id, { eventID, uuid: domUuid });
    return id;
  }

  deregisterDomainEvent(callbackID: number): boolean {
    return this.callbacks.delete(callbackID);
  }

  setCloseCallback(on: boolean): void {
    this.closeCallback = on;
  }

  attachStream(proc: number, serial: number, stream: Duplex): void {
    if (this.isClosed || this.streams.size >= MAX_STREAMS_PER_CLIENT) {
      if (!this.isClosed) {
        this.sendStreamError(proc, serial, virErr('VIR_ERR_OPERATION_FAILED', 'VIR_FROM_STREAMS', `too many open streams on one connection (limit ${MAX_STREAMS_PER_CLIENT})`));
      }
      stream.destroy();
      return;
    }
    this.streams.set(streamKey(proc, serial), new ServerStream(proc, serial, stream, this));
  }

  // ---- StreamSink ----

  sendStreamData(proc: number, serial: number, status: number, data: Uint8Array): boolean {
    return this.send(encodeRawPacket({ prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc, type: MessageType.STREAM, serial, status }, data));
  }

  sendStreamError(proc: number, serial: number, err: VirError): void {
    this.send(
      encodePacket(
        { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc, type: MessageType.STREAM, serial, status: MessageStatus.ERROR },
        remoteError,
        errorToRemote(err),
      ),
    );
  }

  onDrain(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  removeStream(stream: ServerStream): void {
    this.streams.delete(streamKey(stream.proc, stream.serial));
  }

  // ---- events ----

  /** Sends `e` to every matching callback this client registered. */
  deliver(e: DomainEvent): void {
    if (this.isClosed || this.uri === null || this.callbacks.size === 0) return;
    const wantId = e.kind === 'lifecycle' ? DomainEventId.LIFECYCLE : DomainEventId.REBOOT;
    for (const [callbackID, cb] of this.callbacks) {
      if (cb.eventID !== wantId) continue;
      if (cb.uuid !== null && cb.uuid !== e.dom.uuid) continue;
      const header = { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK };
      if (e.kind === 'lifecycle') {
        this.send(
          encodePacket({ ...header, proc: RemoteEvents.DOMAIN_EVENT_CALLBACK_LIFECYCLE }, domainEventCallbackLifecycleMsg, {
            callbackID,
            msg: { dom: toWire(e.dom), event: e.event, detail: e.detail },
          }),
        );
      } else {
        this.send(
          encodePacket({ ...header, proc: RemoteEvents.DOMAIN_EVENT_CALLBACK_REBOOT }, domainEventCallbackRebootMsg, {
            callbackID,
            msg: { dom: toWire(e.dom) },
          }),
        );
      }
    }
  }

  /** Ends the connection (daemon shutdown). */
  shutdown(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.callbacks.clear();
    for (const s of this.streams.values()) s.abort();
    this.streams.clear();
    this.env.log.log('info', 'client disconnected', { client: this.id, closeCallback: this.closeCallback });
    this.env.closed(this);
  }
}
