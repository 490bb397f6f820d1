/**
 * The RFB (VNC) server of the framebuffer (bhyve rfb.c; RFC 6143): protocol versions 3.3,
 * 3.7 and 3.8, security None or VNC Authentication (when a password is set), ServerInit
 * with the display's size, 32-bpp true colour and the VM's name; client messages
 * SetPixelFormat (any true-colour format), SetEncodings (Raw and the DesktopSize
 * pseudo-encoding are used), FramebufferUpdateRequest, KeyEvent and PointerEvent (to the
 * guest console: the USB tablet and the keyboard), ClientCutText (skipped).
 *
 * Updates: a full request sends the requested rectangle; an incremental one sends the
 * 64×64 tiles that changed since this client last saw them, or waits (polling at about
 * 30 Hz) until something changes. A resized display is announced with DesktopSize to
 * clients that support it. Raw encoding only (bhyve also offers zlib).
 *
 * Network input is hostile: every message is parsed from a bounded buffer (a client that
 * accumulates more than MAX_PENDING bytes without completing a message is dropped),
 * ClientCutText is skipped without being stored, a wrong password closes the connection
 * after the failure result, a colour-map pixel format closes it with a message in the
 * log. Output waits for the socket to drain before more updates are produced. Unlike
 * bhyve, which serves one client at a time, up to MAX_CLIENTS are served at once.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { GuestConsole } from '../../gui/console.js';
import type { Logger } from '../../log.js';
import type { Display } from '../device.js';
import * as R from '../regs.js';
import { checkResponse, newChallenge } from './auth.js';
import { convertRect, decodePixelFormat, encodePixelFormat, NATIVE_FORMAT, unsupportedFormat, type PixelFormat } from './pixel-format.js';

export const MAX_CLIENTS = 8;
const MAX_PENDING = 1 << 20;
const TILE = 64;
const POLL_MS = 33;
const HIGH_WATER = 8 << 20;

export interface RfbOptions {
  host: string;
  port: number;
  password?: string;
  /** Desktop name sent in ServerInit. */
  name: string;
  log: Logger;
}

type Phase = 'version' | 'security-choice' | 'auth' | 'client-init' | 'normal' | 'closed';

class RfbClient {
  private phase: Phase = 'version';
  private minor = 8;
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;
  private challenge: Buffer = Buffer.alloc(0);
  private format: PixelFormat = NATIVE_FORMAT;
  private desktopSize = false;
  private pending: { incremental: boolean; x: number; y: number; w: number; h: number } | undefined;
  private snapshot: Uint8Array | undefined;
  private sentSize = { width: 0, height: 0 };
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;

  constructor(
    private readonly server: RfbServer,
    readonly sock: Socket,
  ) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => this.close());
    sock.on('close', () => this.close());
    sock.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
    sock.write(R.RFB_VERSION_3_8);
  }

  close(reason?: string): void {
    if (this.phase === 'closed') return;
    if (reason) this.server.log.warn(`rfb: closing client ${this.sock.remoteAddress}:${this.sock.remotePort}: ${reason}`);
    this.phase = 'closed';
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sock.destroy();
    this.server.forget(this);
  }

  private onData(d: Buffer): void {
    if (this.phase === 'closed') return;
    if (this.skip > 0) {
      const n = Math.min(this.skip, d.length);
      this.skip -= n;
      d = d.subarray(n);
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      while (this.step()) {
        // keep parsing complete messages
      }
    } catch (e) {
      this.close(`protocol error: ${(e as Error).message}`);
      return;
    }
    if ((this.phase as Phase) !== 'closed' && this.buf.length > MAX_PENDING) this.close('too much unparsed input');
  }

  private take(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Parses one unit of input; false when more bytes are needed. */
  private step(): boolean {
    switch (this.phase) {
      case 'version': {
        const v = this.take(12);
        if (!v) return false;
        const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(v.toString('latin1'));
        if (!m || Number(m[1]) !== 3) {
          this.close('not an RFB 3.x client');
          return false;
        }
        const minor = Number(m[2]);
        this.minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
        const type = this.server.password !== undefined ? R.RFB_SECURITY_VNC_AUTH : R.RFB_SECURITY_NONE;
        if (this.minor === 3) {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(type);
          this.sock.write(b);
          this.afterSecurityChosen(type);
        } else {
          this.sock.write(Buffer.from([1, type]));
          this.phase = 'security-choice';
        }
        return true;
      }
      case 'security-choice': {
        const c = this.take(1);
        if (!c) return false;
        const want = this.server.password !== undefined ? R.RFB_SECURITY_VNC_AUTH : R.RFB_SECURITY_NONE;
        if (c[0] !== want) {
          this.securityResult(false, 'security type not offered');
          return false;
        }
        this.afterSecurityChosen(want);
        return true;
      }
      case 'auth': {
        const r = this.take(16);
        if (!r) return false;
        const ok = checkResponse(this.server.password!, this.challenge, r);
        this.securityResult(ok, 'authentication failed');
        return ok;
      }
      case 'client-init': {
        const c = this.take(1);
        if (!c) return false;
        this.serverInit();
        this.phase = 'normal';
        this.server.clientReady();
        return true;
      }
      case 'normal':
        return this.message();
      default:
        return false;
    }
  }

  private afterSecurityChosen(type: number): void {
    if (type === R.RFB_SECURITY_VNC_AUTH) {
      this.challenge = newChallenge();
      this.sock.write(this.challenge);
      this.phase = 'auth';
      return;
    }
    if (this.minor === 8) this.sock.write(Buffer.from([0, 0, 0, 0]));
    this.phase = 'client-init';
  }

  private securityResult(ok: boolean, reason: string): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(ok ? 0 : 1);
    this.sock.write(b);
    if (ok) {
      this.phase = 'client-init';
      return;
    }
    if (this.minor === 8) {
      const r = Buffer.from(reason, 'latin1');
      const l = Buffer.alloc(4);
      l.writeUInt32BE(r.length);
      this.sock.write(Buffer.concat([l, r]));
    }
    this.server.log.warn(`rfb: ${reason} for ${this.sock.remoteAddress}`);
    this.phase = 'closed';
    this.sock.end();
    this.server.forget(this);
  }

  private serverInit(): void {
    const d = this.server.display;
    const name = Buffer.from(this.server.name, 'utf8');
    const b = Buffer.alloc(24 + name.length);
    b.writeUInt16BE(d.width, 0);
    b.writeUInt16BE(d.height, 2);
    Buffer.from(encodePixelFormat(NATIVE_FORMAT)).copy(b, 4);
    b.writeUInt32BE(name.length, 20);
    name.copy(b, 24);
    this.sock.write(b);
    this.sentSize = { width: d.width, height: d.height };
  }

  private message(): boolean {
    if (this.buf.length < 1) return false;
    const type = this.buf[0]!;
    switch (type) {
      case R.RFB_SET_PIXEL_FORMAT: {
        const m = this.take(20);
        if (!m) return false;
        const f = decodePixelFormat(m.subarray(4));
        const why = unsupportedFormat(f);
        if (why) {
          this.close(`SetPixelFormat: ${why}`);
          return false;
        }
        this.format = f;
        this.snapshot = undefined; // resend everything in the new format
        return true;
      }
      case R.RFB_SET_ENCODINGS: {
        if (this.buf.length < 4) return false;
        const n = this.buf.readUInt16BE(2);
        const m = this.take(4 + 4 * n);
        if (!m) return false;
        this.desktopSize = false;
        for (let i = 0; i < n; i++) if (m.readInt32BE(4 + 4 * i) === R.RFB_ENCODING_DESKTOP_SIZE) this.desktopSize = true;
        return true;
      }
      case R.RFB_FB_UPDATE_REQUEST: {
        const m = this.take(10);
        if (!m) return false;
        this.pending = { incremental: m[1] !== 0, x: m.readUInt16BE(2), y: m.readUInt16BE(4), w: m.readUInt16BE(6), h: m.readUInt16BE(8) };
        this.flush();
        return true;
      }
      case R.RFB_KEY_EVENT: {
        const m = this.take(8);
        if (!m) return false;
        this.server.console.keyEvent(m[1] !== 0, m.readUInt32BE(4));
        return true;
      }
      case R.RFB_POINTER_EVENT: {
        const m = this.take(6);
        if (!m) return false;
        this.server.console.pointerEvent(m[1]!, m.readUInt16BE(2), m.readUInt16BE(4));
        return true;
      }
      case R.RFB_CLIENT_CUT_TEXT: {
        if (this.buf.length < 8) return false;
        const len = this.buf.readUInt32BE(4);
        this.take(8);
        const now = Math.min(len, this.buf.length);
        this.take(now);
        this.skip = len - now;
        return true;
      }
      default:
        throw new Error(`unknown client message type ${type}`);
    }
  }

  /** Answers the pending update request if there is something to send. */
  flush(): void {
    if (this.phase !== 'normal' || !this.pending || this.waitingDrain) return;
    if (this.sock.writableLength > HIGH_WATER) {
      this.waitingDrain = true;
      return;
    }
    const d = this.server.display;
    const rects: Array<{ x: number; y: number; w: number; h: number }> = [];
    let resize = false;
    if (d.width !== this.sentSize.width || d.height !== this.sentSize.height) {
      if (!this.desktopSize) {
        // The client cannot follow a resize: send what fits its old size.
        this.snapshot = undefined;
      } else resize = true;
    }
    const W = resize ? d.width : Math.min(d.width, this.sentSize.width);
    const H = resize ? d.height : Math.min(d.height, this.sentSize.height);
    const req = this.pending;
    const x0 = Math.min(req.x, W);
    const y0 = Math.min(req.y, H);
    const x1 = Math.min(req.x + req.w, W);
    const y1 = Math.min(req.y + req.h, H);
    const stride = d.width * 4;
    const px = d.pixels;
    if (resize || !req.incremental || !this.snapshot || this.snapshot.length !== px.length) {
      if (resize) {
        this.sentSize = { width: d.width, height: d.height };
        rects.push({ x: 0, y: 0, w: d.width, h: d.height });
      } else if (x1 > x0 && y1 > y0) rects.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
      this.snapshot = Uint8Array.from(px);
    } else {
      const snap = this.snapshot;
      for (let ty = y0 - (y0 % TILE); ty < y1; ty += TILE) {
        for (let tx = x0 - (x0 % TILE); tx < x1; tx += TILE) {
          const rx = Math.max(tx, x0);
          const ry = Math.max(ty, y0);
          const rw = Math.min(tx + TILE, x1) - rx;
          const rh = Math.min(ty + TILE, y1) - ry;
          let dirty = false;
          for (let row = ry; row < ry + rh && !dirty; row++) {
            const s = row * stride + rx * 4;
            if (Buffer.compare(Buffer.from(px.buffer, px.byteOffset + s, rw * 4), Buffer.from(snap.buffer, snap.byteOffset + s, rw * 4)) !== 0) dirty = true;
          }
          if (!dirty) continue;
          rects.push({ x: rx, y: ry, w: rw, h: rh });
          for (let row = ry; row < ry + rh; row++) {
            const s = row * stride + rx * 4;
            snap.set(px.subarray(s, s + rw * 4), s);
          }
        }
      }
    }
    if (rects.length === 0) {
      // Nothing changed: look again shortly.
      this.timer ??= setInterval(() => this.flush(), POLL_MS);
      this.timer.unref?.();
      return;
    }
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.pending = undefined;
    const bpp = this.format.bpp / 8;
    let size = 4 + (resize ? 12 : 0);
    for (const r of rects) size += 12 + r.w * r.h * bpp;
    const out = Buffer.alloc(size);
    out[0] = R.RFB_FB_UPDATE;
    out.writeUInt16BE(rects.length, 2);
    let at = 4;
    const header = (x: number, y: number, w: number, h: number, enc: number) => {
      out.writeUInt16BE(x, at);
      out.writeUInt16BE(y, at + 2);
      out.writeUInt16BE(w, at + 4);
      out.writeUInt16BE(h, at + 6);
      out.writeInt32BE(enc, at + 8);
      at += 12;
    };
    if (resize) {
      out.writeUInt16BE(rects.length + 1, 2);
      header(0, 0, d.width, d.height, R.RFB_ENCODING_DESKTOP_SIZE);
    }
    for (const r of rects) {
      header(r.x, r.y, r.w, r.h, R.RFB_ENCODING_RAW);
      at = convertRect(px, stride, r.x, r.y, r.w, r.h, this.format, out, at);
    }
    if (!this.sock.write(out)) this.waitingDrain = true;
  }
}

export class RfbServer {
  private readonly clients = new Set<RfbClient>();
  private readonly ready: Promise<void>;
  private resolveReady!: () => void;
  readonly log: Logger;

  private constructor(
    private readonly server: Server,
    readonly display: Display,
    readonly console: GuestConsole,
    readonly password: string | undefined,
    readonly name: string,
    log: Logger,
  ) {
    this.log = log;
    this.ready = new Promise((r) => (this.resolveReady = r));
    server.on('connection', (sock) => {
      if (this.clients.size >= MAX_CLIENTS) {
        sock.destroy();
        return;
      }
      this.clients.add(new RfbClient(this, sock));
    });
  }

  static async listen(display: Display, console: GuestConsole, opts: RfbOptions): Promise<RfbServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    return new RfbServer(server, display, console, opts.password, opts.name, opts.log);
  }

  get address(): { host: string; port: number } {
    const a = this.server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: '', port: 0 };
  }

  /** Resolves when the first client finished the handshake (`wait`). */
  firstClient(): Promise<void> {
    return this.ready;
  }

  /** @internal */
  clientReady(): void {
    this.resolveReady();
  }

  /** @internal */
  forget(c: RfbClient): void {
    this.clients.delete(c);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async close(): Promise<void> {
    for (const c of [...this.clients]) c.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
