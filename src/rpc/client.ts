/**
 * A libvirt RPC client over a unix socket: what `tsvirsh` uses to talk to tsvirtd, and what
 * works against a real libvirtd/virtqemud socket too (same program, same procedures).
 *
 * What it does: typed calls (`call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name })`) with
 * concurrent outstanding requests matched by serial, libvirt's connect sequence
 * (`open()`: AUTH_LIST, keepalive feature, CONNECT_OPEN), keepalive (answers the server's
 * PINGs), domain event callbacks, and streams (`openConsole()` gives a Duplex). Errors
 * from the server reject with `RemoteCallError` carrying libvirt's code/domain/message.
 * What it does not do: authentication other than REMOTE_AUTH_NONE (SASL/polkit servers
 * are refused with a clear error), TLS/TCP/SSH transports, fd passing.
 */
import { createConnection, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
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
} from './packet.js';
import { KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION } from './protocol/keepalive.js';
import {
  RemoteEvents,
  RemoteProcs,
  VirDrvFeature,
  domainEventCallbackLifecycleMsg,
  domainEventCallbackRebootMsg,
  type ArgsOf,
  type ProcedureDef,
  type RetOf,
} from './protocol/remote-procedures.js';
import { REMOTE_AUTH_NONE, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remoteError } from './protocol/remote-types.js';
import { xvoid } from './xdr-codec.js';
import { XdrDecodeError } from './xdr.js';
import { uuidToString } from '../xml/uuid.js';
import type { DomainEvent } from './driver-api.js';
import { VIR_ERR_AUTH_FAILED, VIR_ERR_ERROR, VirError } from '../xml/errors.js';

/**
 * An error reply from the server: a VirError (libvirt's code, domain, level and message as
 * the server sent them) that says where it came from.
 */
export class RemoteCallError extends VirError {
  constructor(code: number, domain: number, message: string, level: number = VIR_ERR_ERROR) {
    super(code, domain, message, level);
    this.name = 'RemoteCallError';
  }
}

/** The connection failed or closed before a reply arrived. */
export class ConnectionClosedError extends Error {
  constructor(message = 'connection to the daemon closed') {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

interface PendingCall {
  def: ProcedureDef<unknown, unknown>;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export interface RpcClientOptions {
  /** Rejects calls not answered within this many ms (0: never). */
  callTimeoutMs?: number;
}

export class RpcClient {
  private readonly framer = new PacketFramer();
  private serial = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly streams = new Map<number, ClientStream>();
  private readonly eventHandlers = new Map<number, (e: DomainEvent) => void>();
  private closedError: Error | null = null;
  private readonly closeListeners: Array<(e: Error) => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly opts: RpcClientOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new ConnectionClosedError(`connection to the daemon failed: ${e.message}`)));
    socket.on('close', () => this.fail(new ConnectionClosedError()));
  }

  /** Connects to a daemon socket (no libvirt calls yet; see `open()`). */
  static connect(path: string, opts: RpcClientOptions = {}): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RpcClient(s, opts));
      });
      s.once('error', reject);
    });
  }

  /** libvirt's connect sequence: auth, keepalive and event features, CONNECT_OPEN. */
  async open(uri: string | null, flags = 0): Promise<void> {
    const { types } = await this.call(RemoteProcs.AUTH_LIST, undefined);
    if (!types.includes(REMOTE_AUTH_NONE)) {
      throw new RemoteCallError(VIR_ERR_AUTH_FAILED, 0, `authentication failed: unsupported auth types ${types.join(',')}`);
    }
    await this.call(RemoteProcs.CONNECT_SUPPORTS_FEATURE, { feature: VirDrvFeature.PROGRAM_KEEPALIVE });
    await this.call(RemoteProcs.CONNECT_OPEN, { name: uri, flags });
  }

  /** Sends CONNECT_CLOSE (when the connection is open) and closes the socket. */
  async close(): Promise<void> {
    if (!this.closedError) {
      await this.call(RemoteProcs.CONNECT_CLOSE, undefined).catch(() => {});
    }
    this.socket.end();
    this.socket.destroy();
  }

  /** Closes the socket at once, with calls in flight. */
  destroy(): void {
    this.socket.destroy();
  }

  onClose(fn: (e: Error) => void): void {
    this.closeListeners.push(fn);
  }

  get isClosed(): boolean {
    return this.closedError !== null;
  }

  call<P extends ProcedureDef<any, any>>(def: P, args: ArgsOf<P>): Promise<RetOf<P>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const serial = this.nextSerial();
    let buf: Buffer;
    try {
      buf = encodePacket(this.header(def.proc, MessageType.CALL, serial, MessageStatus.OK), def.args, args);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<RetOf<P>>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.pending.delete(serial);
      };
      this.pending.set(serial, {
        def: def as ProcedureDef<unknown, unknown>,
        resolve: (v) => {
          done();
          resolve(v as RetOf<P>);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      if (this.opts.callTimeoutMs) {
        timer = setTimeout(() => {
          this.pending.get(serial)?.reject(new Error(`${def.name} timed out after ${this.opts.callTimeoutMs} ms`));
        }, this.opts.callTimeoutMs);
      }
      this.socket.write(buf);
    });
  }

  /**
   * Registers a domain event callback (eventID from `DomainEventId`); returns a function
   * that deregisters it.
   */
  async registerDomainEvent(eventID: number, handler: (e: DomainEvent) => void, domain: { name: string; uuid: Buffer; id: number } | null = null): Promise<() => Promise<void>> {
    await this.call(RemoteProcs.CONNECT_SUPPORTS_FEATURE, { feature: VirDrvFeature.REMOTE_EVENT_CALLBACK });
    const { callbackID } = await this.call(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID, dom: domain });
    this.eventHandlers.set(callbackID, handler);
    return async () => {
      this.eventHandlers.delete(callbackID);
      await this.call(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, { callbackID });
    };
  }

  /** DOMAIN_OPEN_CONSOLE: a Duplex carrying the console's bytes both ways. */
  async openConsole(dom: { name: string; uuid: Buffer; id: number }, devName: string | null = null, flags = 0): Promise<Duplex> {
    const serial = this.serial;
    const stream = new ClientStream(this, RemoteProcs.DOMAIN_OPEN_CONSOLE.proc, serial);
    this.streams.set(serial, stream);
    try {
      await this.call(RemoteProcs.DOMAIN_OPEN_CONSOLE, { dom, dev_name: devName, flags });
    } catch (e) {
      this.streams.delete(serial);
      throw e;
    }
    return stream;
  }

  /** @internal used by ClientStream */
  sendStream(proc: number, serial: number, status: number, data: Uint8Array): void {
    if (this.closedError) return;
    this.socket.write(encodeRawPacket(this.header(proc, MessageType.STREAM, serial, status), data));
  }

  /** @internal */
  dropStream(serial: number): void {
    this.streams.delete(serial);
  }

  private nextSerial(): number {
    const s = this.serial;
    this.serial = (this.serial + 1) >>> 0;
    return s;
  }

  private header(proc: number, type: number, serial: number, status: number): MessageHeader {
    return { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc, type, serial, status };
  }

  private onData(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.framer.push(chunk);
    } catch (e) {
      if (e instanceof FramingError) {
        this.fail(new ConnectionClosedError(`bad packet from the daemon: ${e.message}`));
        this.socket.destroy();
        return;
      }
      throw e;
    }
    for (const p of packets) this.handle(p);
  }

  private handle(p: Packet): void {
    const h = p.header;
    if (h.prog === KEEPALIVE_PROGRAM) {
      if (h.proc === KEEPALIVE_PROC_PING && h.type === MessageType.MESSAGE) {
        this.socket.write(
          encodePacket({ prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc: KEEPALIVE_PROC_PONG, type: MessageType.MESSAGE, serial: 0, status: 0 }, xvoid, undefined),
        );
      }
      return;
    }
    if (h.prog !== REMOTE_PROGRAM) return;
    try {
      switch (h.type) {
        case MessageType.REPLY:
          this.onReply(p);
          return;
        case MessageType.MESSAGE:
          this.onEvent(p);
          return;
        case MessageType.STREAM:
          this.streams.get(h.serial)?.onPacket(p);
          return;
        default:
          return;
      }
    } catch (e) {
      if (!(e instanceof XdrDecodeError)) throw e;
      this.fail(new ConnectionClosedError(`undecodable packet from the daemon: ${e.message}`));
      this.socket.destroy();
    }
  }

  private onReply(p: Packet): void {
    const call = this.pending.get(p.header.serial);
    if (!call) return;
    if (p.header.status === MessageStatus.OK) {
      call.resolve(decodePayload(call.def.ret, p.payload));
    } else {
      const e = decodePayload(remoteError, p.payload);
      call.reject(new RemoteCallError(e.code, e.domain, e.message ?? 'unknown error', e.level));
    }
  }

  private onEvent(p: Packet): void {
    const proc = p.header.proc;
    if (proc === RemoteEvents.DOMAIN_EVENT_CALLBACK_LIFECYCLE) {
      const m = decodePayload(domainEventCallbackLifecycleMsg, p.payload);
      const d = m.msg.dom;
      this.eventHandlers.get(m.callbackID)?.({
        kind: 'lifecycle',
        dom: { name: d.name, uuid: uuidToString(d.uuid), id: d.id },
        event: m.msg.event,
        detail: m.msg.detail,
      });
    } else if (proc === RemoteEvents.DOMAIN_EVENT_CALLBACK_REBOOT) {
      const m = decodePayload(domainEventCallbackRebootMsg, p.payload);
      const d = m.msg.dom;
      this.eventHandlers.get(m.callbackID)?.({ kind: 'reboot', dom: { name: d.name, uuid: uuidToString(d.uuid), id: d.id } });
    }
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const c of [...this.pending.values()]) c.reject(e);
    this.pending.clear();
    for (const s of this.streams.values()) s.destroy(s.readableEnded ? undefined : e);
    this.streams.clear();
    for (const l of this.closeListeners) l(e);
  }
}

/** The client end of a libvirt stream. */
class ClientStream extends Duplex {
  private finishing: (() => void) | null = null;

  constructor(
    private readonly client: RpcClient,
    private readonly proc: number,
    private readonly serial: number,
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.client.sendStream(this.proc, this.serial, MessageStatus.CONTINUE, chunk);
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finishing = () => cb();
    this.client.sendStream(this.proc, this.serial, MessageStatus.OK, Buffer.alloc(0));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.writableFinished) this.client.sendStream(this.proc, this.serial, MessageStatus.ERROR, Buffer.alloc(0));
    this.client.dropStream(this.serial);
    cb(err);
  }

  onPacket(p: Packet): void {
    const status = p.header.status;
    if (status === MessageStatus.CONTINUE) {
      this.push(Buffer.from(p.payload));
    } else if (status === MessageStatus.OK) {
      if (this.finishing) {
        const f = this.finishing;
        this.finishing = null;
        f();
        this.client.dropStream(this.serial);
      }
      this.push(null);
    } else {
      const e = decodePayload(remoteError, p.payload);
      this.destroy(new RemoteCallError(e.code, e.domain, e.message ?? 'stream error'));
    }
  }
}
