/**
 * GDB remote serial protocol framing (gdb manual, "Remote Protocol" E.1 Overview): turns
 * the byte stream from the debugger into packets, acknowledgements and interrupts, and
 * frames replies.
 *
 * A packet is `$payload#cc`, cc the two-hex-digit modulo-256 sum of the payload bytes. In
 * the payload `}` escapes the next byte (XOR 0x20); `$`, `#`, `}` and `*` are escaped in
 * replies. A lone 0x03 outside a packet is the debugger's interrupt (Ctrl-C). `+`/`-` are
 * acknowledgements (until QStartNoAckMode). Run-length encoding is never sent to a stub, and
 * this module does not decode it (a `*` arrives as a plain byte, which no command we answer
 * contains).
 *
 * The debugger's input is hostile: bytes outside packets are ignored, a bad checksum yields
 * a `bad-checksum` event (the session answers `-`), and a payload longer than
 * {@link MAX_PACKET} is dropped with an `oversized` event instead of growing without bound.
 * Payloads are binary-safe (Buffer), since X packets carry raw bytes.
 */

/** The largest payload accepted (and advertised as PacketSize). */
export const MAX_PACKET = 0x4000;

export type PacketEvent =
  | { kind: 'packet'; data: Buffer }
  | { kind: 'interrupt' }
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'bad-checksum' }
  | { kind: 'oversized' };

const enum State {
  Idle,
  Payload,
  Escape,
  Sum1,
  Sum2,
  Discard,
  DiscardSum1,
  DiscardSum2,
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Incremental decoder of the debugger's byte stream. */
export class PacketReader {
  private state = State.Idle;
  private readonly buf = Buffer.alloc(MAX_PACKET);
  private len = 0;
  private sum = 0;
  private given = 0;

  /** Feeds bytes; returns the events they complete, in order. */
  push(chunk: Uint8Array): PacketEvent[] {
    const out: PacketEvent[] = [];
    for (const c of chunk) {
      switch (this.state) {
        case State.Idle:
          if (c === 0x24) this.start();
          else if (c === 0x03) out.push({ kind: 'interrupt' });
          else if (c === 0x2b) out.push({ kind: 'ack' });
          else if (c === 0x2d) out.push({ kind: 'nack' });
          break;
        case State.Payload:
          this.sum = (this.sum + c) & 0xff;
          if (c === 0x23) {
            this.sum = (this.sum - c) & 0xff;
            this.state = State.Sum1;
          } else if (c === 0x24) {
            this.start();  // a new packet restarts framing (the old one was cut short)
          } else if (c === 0x7d) {
            this.state = State.Escape;
          } else {
            this.append(c, out);
          }
          break;
        case State.Escape:
          this.sum = (this.sum + c) & 0xff;
          this.state = State.Payload;
          this.append(c ^ 0x20, out);
          break;
        case State.Sum1: {
          const v = hexValue(c);
          this.given = v < 0 ? -1 : v << 4;
          this.state = State.Sum2;
          break;
        }
        case State.Sum2: {
          const v = hexValue(c);
          this.state = State.Idle;
          if (this.given < 0 || v < 0 || (this.given | v) !== this.sum) {
            out.push({ kind: 'bad-checksum' });
          } else {
            out.push({ kind: 'packet', data: Buffer.from(this.buf.subarray(0, this.len)) });
          }
          break;
        }
        case State.Discard:
          // Skip to the end of an oversized packet (its checksum follows the '#').
          if (c === 0x23) this.state = State.DiscardSum1;
          break;
        case State.DiscardSum1:
          this.state = State.DiscardSum2;
          break;
        case State.DiscardSum2:
          this.state = State.Idle;
          break;
      }
    }
    return out;
  }

  private start(): void {
    this.state = State.Payload;
    this.len = 0;
    this.sum = 0;
  }

  private append(c: number, out: PacketEvent[]): void {
    if (this.len >= MAX_PACKET) {
      out.push({ kind: 'oversized' });
      this.state = State.Discard;
      return;
    }
    this.buf[this.len++] = c;
  }
}

/** Frames a reply: `$` + escaped payload + `#` + checksum. */
export function encodePacket(payload: string | Uint8Array): Buffer {
  const src = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  let extra = 0;
  for (const c of src) if (c === 0x23 || c === 0x24 || c === 0x7d || c === 0x2a) extra++;
  const out = Buffer.allocUnsafe(src.length + extra + 4);
  let o = 0;
  let sum = 0;
  out[o++] = 0x24;
  for (const c of src) {
    if (c === 0x23 || c === 0x24 || c === 0x7d || c === 0x2a) {
      out[o++] = 0x7d;
      out[o++] = c ^ 0x20;
      sum += 0x7d + (c ^ 0x20);
    } else {
      out[o++] = c;
      sum += c;
    }
  }
  out[o++] = 0x23;
  out.write((sum & 0xff).toString(16).padStart(2, '0'), o, 'latin1');
  return out;
}
