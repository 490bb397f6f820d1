/**
 * Packet framing of libvirt's RPC (libvirt `src/rpc/virnetprotocol.x`): a 4-byte total length
 * (including itself), a 24-byte header (program, version, procedure, type, serial, status),
 * then the XDR payload.
 *
 * What it does: `PacketFramer` splits a byte stream into packets, refusing lengths below the
 * header size or above libvirt's 32 MiB message limit (a fatal framing error: the peer is
 * out of sync and the connection must be closed); `encodePacket` builds one packet from a
 * header and a payload codec. What it does not do: interpret programs or procedures.
 *
 * Invariants: the framer copies a packet only when it spans several socket chunks; a packet
 * inside one chunk is a view of that chunk. Memory held per connection is bounded by one
 * partial packet (at most VIR_NET_MESSAGE_MAX + 4 bytes).
 */
import { XdrReader, XdrWriter } from './xdr.js';
import type { Codec } from './xdr-codec.js';

/** Maximum serialised message size, header and payload, excluding the length word. */
export const VIR_NET_MESSAGE_MAX = 33554432;
export const VIR_NET_MESSAGE_LEN_MAX = 4;
export const VIR_NET_MESSAGE_HEADER_MAX = 24;
/** Payload buffer size of libvirt's stream packets (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX). */
export const VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX = 262144;

export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

export const MessageStatus = {
  OK: 0,
  ERROR: 1,
  CONTINUE: 2,
} as const;

export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

export interface Packet {
  header: MessageHeader;
  /** The XDR payload: a view into the received bytes. */
  payload: Buffer;
}

export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

const MIN_PACKET = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX;
const MAX_PACKET = VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX;

/** Reads the header of a complete packet (length word included in `buf`). */
export function decodeHeader(buf: Buffer): MessageHeader {
  return {
    prog: buf.readUInt32BE(4),
    vers: buf.readUInt32BE(8),
    proc: buf.readInt32BE(12),
    type: buf.readInt32BE(16),
    serial: buf.readUInt32BE(20),
    status: buf.readInt32BE(24),
  };
}

/**
 * Splits a byte stream into packets. `push` returns the complete packets found so far; a
 * bad length word throws `FramingError` (after which the framer must not be used again).
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;
  private readonly maxPacket: number;

  constructor(maxPacket = MAX_PACKET) {
    this.maxPacket = maxPacket;
  }

  /** Bytes held for an incomplete packet. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer, out: Packet[] = []): Packet[] {
    if (chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) return out;
        const len = this.peekLength();
        if (len < MIN_PACKET) throw new FramingError(`packet length ${len} is below the minimum of ${MIN_PACKET}`);
        if (len > this.maxPacket) throw new FramingError(`packet length ${len} exceeds the maximum of ${this.maxPacket}`);
        this.expected = len;
      }
      if (this.buffered < this.expected) return out;
      const buf = this.take(this.expected);
      this.expected = -1;
      out.push({ header: decodeHeader(buf), payload: buf.subarray(MIN_PACKET) });
    }
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.allocUnsafe(4);
    let got = 0;
    for (const c of this.chunks) {
      const n = Math.min(4 - got, c.length);
      c.copy(head, got, 0, n);
      got += n;
      if (got === 4) break;
    }
    return head.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      const v = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(n - got, c.length);
      c.copy(out, got, 0, k);
      got += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

/** One scratch writer for every packet built in this process (single-threaded). */
const scratch = new XdrWriter(65536);

/**
 * Encodes one packet. `body` is either a codec and value, or raw bytes (stream data). The
 * result is a new Buffer owned by the caller (safe to hand to socket.write).
 */
export function encodePacket<T>(header: MessageHeader, codec: Codec<T>, value: T): Buffer {
  scratch.reset();
  writeHeader(header);
  codec.encode(scratch, value);
  return finish();
}

export function encodeRawPacket(header: MessageHeader, data: Uint8Array): Buffer {
  scratch.reset();
  writeHeader(header);
  scratch.raw(data);
  return finish();
}

function writeHeader(h: MessageHeader): void {
  scratch.uint(0); // length, patched in finish()
  scratch.uint(h.prog);
  scratch.uint(h.vers);
  scratch.int(h.proc);
  scratch.int(h.type);
  scratch.uint(h.serial);
  scratch.int(h.status);
}

function finish(): Buffer {
  const len = scratch.offset;
  if (len > MAX_PACKET) {
    scratch.reset();
    throw new FramingError(`encoded packet of ${len} bytes exceeds the maximum of ${MAX_PACKET}`);
  }
  scratch.patchUint(0, len);
  return scratch.copy();
}

/** Decodes a payload with `codec`, requiring that it consumes every byte. */
export function decodePayload<T>(codec: Codec<T>, payload: Buffer): T {
  const r = new XdrReader(payload);
  const v = codec.decode(r);
  r.done();
  return v;
}
