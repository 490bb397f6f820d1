/**
 * A small RFB (VNC) client for the guest tests (RFC 6143), written from the RFC so that it
 * checks our server rather than sharing its code: ProtocolVersion 3.8, security None or
 * VNC Authentication (§7.2.2: DES-ECB of the challenge with the bit-reversed password as
 * key), ClientInit/ServerInit, SetPixelFormat to 32 bpp little-endian 0x00RRGGBB,
 * SetEncodings Raw, FramebufferUpdateRequest and raw-encoded FramebufferUpdate, and
 * PointerEvent. Errors (short reads, refusals) reject with a message; nothing else.
 */
import { createCipheriv } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface ServerInit {
  width: number;
  height: number;
  bpp: number;
  name: string;
}

export class RfbClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;
  init!: ServerInit;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    const end = (e?: Error) => {
      this.ended ??= e ?? new Error('connection closed by the server');
      this.waiter?.();
    };
    sock.on('error', end);
    sock.on('close', () => end());
  }

  /** Connects and completes the handshake; with `password` it insists on VNC Authentication. */
  static async connect(port: number, password?: string, host = '127.0.0.1'): Promise<RfbClient> {
    const sock = connect({ host, port });
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    const c = new RfbClient(sock);
    try {
      await c.handshake(password);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private async read(n: number, timeoutMs = 20_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.ended) throw this.ended;
      if (Date.now() > deadline) throw new Error(`RFB: timed out waiting for ${n} bytes`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 200);
        this.waiter = () => {
          clearTimeout(t);
          res();
        };
      });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private async handshake(password?: string): Promise<void> {
    const version = (await this.read(12)).toString('latin1');
    if (!/^RFB \d{3}\.\d{3}\n$/.test(version)) throw new Error(`RFB: bad ProtocolVersion ${JSON.stringify(version)}`);
    this.sock.write('RFB 003.008\n');
    const n = (await this.read(1))[0]!;
    if (n === 0) {
      const len = (await this.read(4)).readUInt32BE(0);
      throw new Error(`RFB: connection refused: ${(await this.read(len)).toString('latin1')}`);
    }
    const types = [...(await this.read(n))];
    const want = password === undefined ? 1 : 2;
    if (!types.includes(want)) throw new Error(`RFB: server offers security types ${types.join(',')}, not ${want}`);
    this.sock.write(Buffer.of(want));
    if (want === 2) {
      const challenge = await this.read(16);
      this.sock.write(vncResponse(password!, challenge));
    }
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) {
      const len = (await this.read(4)).readUInt32BE(0);
      throw new Error(`RFB: security failed: ${(await this.read(len)).toString('latin1')}`);
    }
    this.sock.write(Buffer.of(1)); // ClientInit: shared
    const si = await this.read(24);
    const name = (await this.read(si.readUInt32BE(20))).toString('latin1');
    this.init = { width: si.readUInt16BE(0), height: si.readUInt16BE(2), bpp: si[4]!, name };
    // SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, 8 bits each, R<<16 G<<8 B.
    const pf = Buffer.alloc(20);
    pf[0] = 0;
    pf.set([32, 24, 0, 1], 4);
    pf.writeUInt16BE(255, 8);
    pf.writeUInt16BE(255, 10);
    pf.writeUInt16BE(255, 12);
    pf.set([16, 8, 0], 14);
    const enc = Buffer.alloc(8);
    enc[0] = 2;
    enc.writeUInt16BE(1, 2);
    enc.writeInt32BE(0, 4); // Raw
    this.sock.write(Buffer.concat([pf, enc]));
  }

  /** One non-incremental update of the rectangle: pixels as 0x00RRGGBB, row-major. */
  async framebuffer(x = 0, y = 0, w = this.init.width, h = this.init.height): Promise<Uint32Array> {
    const req = Buffer.alloc(10);
    req[0] = 3;
    req[1] = 0;
    req.writeUInt16BE(x, 2);
    req.writeUInt16BE(y, 4);
    req.writeUInt16BE(w, 6);
    req.writeUInt16BE(h, 8);
    this.sock.write(req);
    const out = new Uint32Array(w * h);
    let covered = 0;
    while (covered < w * h) {
      const head = await this.read(4);
      if (head[0] !== 0) throw new Error(`RFB: unexpected server message ${head[0]}`);
      const rects = head.readUInt16BE(2);
      for (let i = 0; i < rects; i++) {
        const r = await this.read(12);
        const rx = r.readUInt16BE(0), ry = r.readUInt16BE(2), rw = r.readUInt16BE(4), rh = r.readUInt16BE(6);
        const enc = r.readInt32BE(8);
        if (enc !== 0) throw new Error(`RFB: rectangle with encoding ${enc}`);
        const px = await this.read(rw * rh * 4, 60_000);
        for (let row = 0; row < rh; row++) {
          for (let col = 0; col < rw; col++) {
            const gx = rx + col - x, gy = ry + row - y;
            if (gx >= 0 && gx < w && gy >= 0 && gy < h) out[gy * w + gx] = px.readUInt32LE(4 * (row * rw + col)) & 0xffffff;
          }
        }
        covered += rw * rh;
      }
    }
    return out;
  }

  /** PointerEvent: button mask (bit 0 left) and position. */
  pointer(buttons: number, x: number, y: number): void {
    const m = Buffer.alloc(6);
    m[0] = 5;
    m[1] = buttons;
    m.writeUInt16BE(x, 2);
    m.writeUInt16BE(y, 4);
    this.sock.write(m);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** RFC 6143 §7.2.2 response: DES-ECB with the password (8 bytes, bits of each byte reversed). */
export function vncResponse(password: string, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!, r = 0;
    for (let k = 0; k < 8; k++) r |= ((b >> k) & 1) << (7 - k);
    key[i] = r;
    b = r;
  }
  // Single DES as 3DES-EDE with K1 = K2 = K3 (OpenSSL 3 keeps plain DES in its legacy provider).
  const c = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(challenge), c.final()]);
}

/** A TCP port that was free a moment ago (for servers given a port on their command line). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}
