import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { desEncrypt, vncKey } from '../../../src/emulator/fbuf/rfb/auth.js';
import { RfbServer } from '../../../src/emulator/fbuf/rfb/server.js';
import { FbufDevice } from '../../../src/emulator/fbuf/device.js';
import { GuestConsole } from '../../../src/emulator/gui/console.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { pciWorld } from '../pci/helpers.js';
import { buildError, buildMachine } from '../helpers/machine-rig.js';

const servers: RfbServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(opts: { password?: string; w?: number; h?: number } = {}) {
  const w = pciWorld();
  const fn = w.host.createFunction(0, 9, 0, 'fbuf');
  const console = new GuestConsole();
  const dev = new FbufDevice(fn, opts.w ?? 640, opts.h ?? 480, console);
  w.host.assignResources();
  const log = new CollectingLogger();
  const rfb = await RfbServer.listen(dev, console, { host: '127.0.0.1', port: 0, password: opts.password, name: 'testvm', log });
  servers.push(rfb);
  return { w, fn, dev, console, rfb, log };
}

/** A byte-stream reader over a socket for the test client. */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiters.splice(0).forEach((f) => f());
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((f) => f());
    });
  }
  static async open(port: number): Promise<Conn> {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return new Conn(s);
  }
  async read(n: number): Promise<Buffer> {
    const deadline = Date.now() + 5000;
    while (this.buf.length < n) {
      if (this.closed || Date.now() > deadline) throw new Error(`wanted ${n} bytes, have ${this.buf.length} (closed: ${this.closed})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  write(b: Buffer | number[]): void {
    this.sock.write(Buffer.isBuffer(b) ? b : Buffer.from(b));
  }
  async waitClosed(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}

/** RFB 3.8 handshake with security None; returns width/height/name. */
async function handshake(c: Conn, password?: string) {
  expect((await c.read(12)).toString()).toBe('RFB 003.008\n');
  c.write(Buffer.from('RFB 003.008\n'));
  const types = await c.read(2);
  if (password === undefined) {
    expect([...types]).toEqual([1, 1]);
    c.write([1]);
  } else {
    expect([...types]).toEqual([1, 2]);
    c.write([2]);
    const challenge = await c.read(16);
    c.write(desEncrypt(vncKey(password), challenge));
  }
  expect((await c.read(4)).readUInt32BE(0)).toBe(0);
  c.write([1]); // shared
  const init = await c.read(24);
  const name = (await c.read(init.readUInt32BE(20))).toString();
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), pf: init.subarray(4, 20), name };
}

async function readUpdate(c: Conn, bpp = 4) {
  const h = await c.read(4);
  expect(h[0]).toBe(0);
  const n = h.readUInt16BE(2);
  const rects = [];
  for (let i = 0; i < n; i++) {
    const r = await c.read(12);
    const rect = { x: r.readUInt16BE(0), y: r.readUInt16BE(2), w: r.readUInt16BE(4), h: r.readUInt16BE(6), enc: r.readInt32BE(8), data: Buffer.alloc(0) as Buffer };
    if (rect.enc === 0) rect.data = await c.read(rect.w * rect.h * bpp);
    rects.push(rect);
  }
  return rects;
}

const request = (incremental: boolean, x: number, y: number, w: number, h: number) => {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
};

function paint(dev: FbufDevice, x: number, y: number, w: number, h: number, bgrx: number[]) {
  for (let row = y; row < y + h; row++) for (let col = x; col < x + w; col++) dev.memory.set(bgrx, (row * dev.width + col) * 4);
}

describe('RFB server', () => {
  it('negotiates RFB 3.8 and sends ServerInit with the display size, format and name', async () => {
    const s = await setup();
    const c = await Conn.open(s.rfb.address.port);
    const init = await handshake(c);
    expect(init).toMatchObject({ width: 640, height: 480, name: 'testvm' });
    expect([...init.pf.subarray(0, 4)]).toEqual([32, 24, 0, 1]);
    expect([...init.pf.subarray(10, 13)]).toEqual([16, 8, 0]);
    await s.rfb.firstClient(); // resolved by the handshake
    c.sock.destroy();
  });

  it('speaks RFB 3.3 (server-chosen security) too', async () => {
    const s = await setup();
    const c = await Conn.open(s.rfb.address.port);
    await c.read(12);
    c.write(Buffer.from('RFB 003.003\n'));
    expect((await c.read(4)).readUInt32BE(0)).toBe(1); // None, no security result in 3.3
    c.write([0]);
    expect((await c.read(24)).readUInt16BE(0)).toBe(640);
    c.sock.destroy();
  });

  it('checks VNC passwords and closes on a wrong one', async () => {
    const s = await setup({ password: 'secret' });
    const ok = await Conn.open(s.rfb.address.port);
    expect((await handshake(ok, 'secret')).width).toBe(640);
    ok.sock.destroy();
    const bad = await Conn.open(s.rfb.address.port);
    await bad.read(12);
    bad.write(Buffer.from('RFB 003.008\n'));
    await bad.read(2);
    bad.write([2]);
    const ch = await bad.read(16);
    bad.write(desEncrypt(vncKey('wrong'), ch));
    expect((await bad.read(4)).readUInt32BE(0)).toBe(1);
    const len = (await bad.read(4)).readUInt32BE(0);
    expect((await bad.read(len)).toString()).toBe('authentication failed');
    await bad.waitClosed();
    expect(bad.closed).toBe(true);
  });

  it('sends full updates, then only the tiles that changed', async () => {
    const s = await setup();
    paint(s.dev, 0, 0, 640, 480, [0x10, 0x20, 0x30, 0]);
    const c = await Conn.open(s.rfb.address.port);
    await handshake(c);
    c.write(request(false, 0, 0, 640, 480));
    const full = await readUpdate(c);
    expect(full.map((r) => [r.x, r.y, r.w, r.h])).toEqual([[0, 0, 640, 480]]);
    expect([...full[0]!.data.subarray(0, 4)]).toEqual([0x10, 0x20, 0x30, 0]);
    // Incremental with nothing changed: no answer until something changes.
    c.write(request(true, 0, 0, 640, 480));
    await new Promise((r) => setTimeout(r, 80));
    paint(s.dev, 100, 70, 10, 10, [0xff, 0, 0, 0]);
    const inc = await readUpdate(c);
    expect(inc.map((r) => [r.x, r.y, r.w, r.h])).toEqual([[64, 64, 64, 64]]);
    const px = (x: number, y: number) => [...inc[0]!.data.subarray(((y - 64) * 64 + (x - 64)) * 4, ((y - 64) * 64 + (x - 64)) * 4 + 4)];
    expect(px(100, 70)).toEqual([0xff, 0, 0, 0]);
    expect(px(64, 64)).toEqual([0x10, 0x20, 0x30, 0]);
    c.sock.destroy();
  });

  it('converts to a 16-bit format the client sets, and forwards pointer and key events', async () => {
    const s = await setup();
    paint(s.dev, 0, 0, 640, 480, [0xff, 0x00, 0xff, 0]); // magenta: B=255, R=255
    const events: string[] = [];
    s.console.registerPointer((b, x, y) => events.push(`ptr ${b} ${x} ${y}`), 1);
    s.console.registerKeyboard((d, k) => events.push(`key ${d} ${k.toString(16)}`), 1);
    const c = await Conn.open(s.rfb.address.port);
    await handshake(c);
    const pf = Buffer.alloc(20);
    pf[0] = 0;
    Buffer.from([16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0]).copy(pf, 4); // RGB565 little endian
    c.write(pf);
    c.write(request(false, 0, 0, 2, 1));
    const u = await readUpdate(c, 2);
    expect(u[0]!.data.readUInt16LE(0)).toBe((31 << 11) | 31);
    c.write([5, 1, 0x01, 0x2c, 0x00, 0xc8]); // pointer: left at (300, 200)
    c.write([4, 1, 0, 0, 0, 0, 0xff, 0x0d]); // key down: Return
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['ptr 1 300 200', 'key true ff0d']);
    c.sock.destroy();
  });

  it('announces a resize with DesktopSize to clients that support it', async () => {
    const s = await setup();
    const c = await Conn.open(s.rfb.address.port);
    await handshake(c);
    const enc = Buffer.alloc(12);
    enc[0] = 2;
    enc.writeUInt16BE(2, 2);
    enc.writeInt32BE(0, 4);
    enc.writeInt32BE(-223, 8);
    c.write(enc);
    s.dev.barWrite(0, 4, 2, 800);
    s.dev.barWrite(0, 6, 2, 600);
    expect([s.dev.width, s.dev.height]).toEqual([800, 600]);
    expect(s.console.size).toEqual({ width: 800, height: 600 });
    c.write(request(true, 0, 0, 640, 480));
    const u = await readUpdate(c);
    expect(u.map((r) => [r.enc, r.w, r.h])).toEqual([
      [-223, 800, 600],
      [0, 800, 600],
    ]);
    c.sock.destroy();
  });

  it('drops hostile clients without harming the server', async () => {
    const s = await setup();
    const port = s.rfb.address.port;
    const garbage = await Conn.open(port);
    await garbage.read(12);
    garbage.write(Buffer.from('GET / HTTP/1.1\r\n'));
    await garbage.waitClosed();
    expect(garbage.closed).toBe(true);
    const unknown = await Conn.open(port);
    await handshake(unknown);
    unknown.write([99, 0, 0, 0]);
    await unknown.waitClosed();
    expect(unknown.closed).toBe(true);
    const cmap = await Conn.open(port);
    await handshake(cmap);
    const pf = Buffer.alloc(20);
    pf[4] = 8;
    pf[5] = 8; // true-colour flag 0: colour map
    cmap.write(pf);
    await cmap.waitClosed();
    expect(cmap.closed).toBe(true);
    // A huge ClientCutText is skipped, not stored; the client stays usable.
    const cut = await Conn.open(port);
    await handshake(cut);
    const hdr = Buffer.alloc(8);
    hdr[0] = 6;
    hdr.writeUInt32BE(3 << 20, 4);
    cut.write(hdr);
    for (let i = 0; i < 3; i++) cut.write(Buffer.alloc(1 << 20, 0x41));
    cut.write(request(false, 0, 0, 1, 1));
    expect((await readUpdate(cut)).length).toBe(1);
    cut.sock.destroy();
    expect(s.log.messages.join('\n')).toMatch(/colour-map/);
  });
});

describe('fbuf device and model', () => {
  it('exposes the mode block and framebuffer BARs', async () => {
    const s = await setup({ w: 1024, h: 768 });
    expect(s.w.cfgRead(0, 9, 0, 0)).toBe(0x40fbfb5d);
    expect(s.w.cfgRead(0, 9, 0, 8) >>> 8).toBe(0x030000);
    expect(s.fn.bars[0]!.size).toBe(128);
    expect(s.fn.bars[1]!.size).toBe(32 << 20);
    const bar0 = s.fn.bars[0]!.addr;
    expect(s.w.mmio.read(bar0, 4)).toBe(32 << 20);
    expect(s.w.mmio.read(bar0 + 4, 4)).toBe(1024 | (768 << 16));
    expect(s.w.mmio.read(bar0 + 8, 2)).toBe(32);
    expect(s.w.mmio.read(bar0 + 200, 4)).toBe(0xffffffff); // past the BAR: unclaimed
    const bar1 = s.fn.bars[1]!.addr;
    s.w.mmio.write(bar1 + 8, 4, 0x00112233);
    expect([...s.dev.memory.subarray(8, 12)]).toEqual([0x33, 0x22, 0x11, 0]);
  });

  it('builds from -s with tcp=, w=, h= and VGA registers, and refuses bad options', async () => {
    const { m } = await buildMachine(['-s', '0,hostbridge', '-s', '9,fbuf,tcp=127.0.0.1:0,w=800,h=600']);
    const dev = m.pci.getFunction(0, 9, 0)!.ops as FbufDevice;
    expect([dev.width, dev.height]).toEqual([800, 600]);
    expect(dev.viewer!.address.port).toBeGreaterThan(0);
    // vga=io decodes the VGA registers: the sequencer keeps what is written.
    m.handleExit({ kind: 'inout', port: 0x3c4, size: 1, direction: 'out', value: 2 });
    m.handleExit({ kind: 'inout', port: 0x3c5, size: 1, direction: 'out', value: 0x0f });
    expect(m.handleExit({ kind: 'inout', port: 0x3c5, size: 1, direction: 'in', value: 0 })).toMatchObject({ value: 0x0f });
    await m.close();
    const msg = async (conf: string) => (await buildError(['-s', `9,fbuf,${conf}`])).message;
    expect(await msg('tcp=127.0.0.1:0,vga=on')).toMatch(/vga=on\) is not supported/);
    expect(await msg('tcp=127.0.0.1:0,vga=maybe')).toBe('pci slot 0:9:0: fbuf: Invalid vga setting: "maybe"');
    expect(await msg('tcp=127.0.0.1:0,w=5000')).toBe('pci slot 0:9:0: fbuf: max resolution is 3840x2160');
    expect(await msg('tcp=127.0.0.1:0,h=100')).toBe('pci slot 0:9:0: fbuf: minimum resolution is 640x480');
    expect(await msg('tcp=127.0.0.1:')).toBe('pci slot 0:9:0: fbuf: Invalid address "127.0.0.1:"');
    expect((await buildError(['-s', '9,fbuf,tcp=127.0.0.1:0', '-s', '10,fbuf,tcp=127.0.0.1:0'])).message).toBe('pci slot 0:10:0: Only one frame buffer device is allowed.');
  });
});

describe('fbuf wait', () => {
  it('holds assembly until a VNC client completes the handshake', async () => {
    const probe = (await import('node:net')).createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    let built = false;
    const pending = buildMachine(['-s', '0,hostbridge', '-s', `9,fbuf,tcp=127.0.0.1:${port},wait`]).then((r) => {
      built = true;
      return r;
    });
    // Connect once the server listens (assembly starts it after building the kernel).
    let c: Conn | undefined;
    for (let i = 0; i < 200 && !c; i++) {
      const sock = connect(port, '127.0.0.1');
      const ok = await new Promise<boolean>((r) => {
        sock.once('connect', () => r(true));
        sock.once('error', () => r(false));
      });
      if (ok) c = new Conn(sock);
      else await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(built).toBe(false);
    await handshake(c!);
    const { m, log } = await pending;
    expect(log.messages.join('\n')).toMatch(new RegExp(`waiting for a VNC client on 127.0.0.1:${port}`));
    c!.sock.destroy();
    await m.close();
  }, 30000);
});

const haveSnapshot = existsSync('/usr/bin/vncsnapshot') && existsSync('/usr/bin/djpeg');

describe.skipIf(!haveSnapshot)('a real VNC client (vncsnapshot from Debian)', () => {
  /** Reads a binary PPM (P6). */
  function readPpm(b: Buffer): { w: number; h: number; rgb: Buffer } {
    const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(b.subarray(0, 64).toString('latin1'))!;
    return { w: Number(m[1]), h: Number(m[2]), rgb: b.subarray(m[0].length) };
  }

  it('captures the framebuffer, with and without a password', async () => {
    const s = await setup({ w: 640, h: 480 });
    paint(s.dev, 0, 0, 320, 480, [0x00, 0x00, 0xff, 0]); // left half red
    paint(s.dev, 320, 0, 320, 480, [0xff, 0x00, 0x00, 0]); // right half blue
    const dir = mkdtempSync(join(tmpdir(), 'vnc-'));
    // The client runs asynchronously: this process's event loop serves it meanwhile.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const p = spawn('vncsnapshot', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        const t = setTimeout(() => p.kill(), 20000);
        p.on('exit', (status) => {
          clearTimeout(t);
          resolve({ status, stderr });
        });
      });
    const out = join(dir, 'shot.jpg');
    const r = await run(['-quiet', '-nojpeg', '-encodings', 'raw', '-quality', '100', `127.0.0.1::${s.rfb.address.port}`, out]);
    expect(r.status, r.stderr).toBe(0);
    const ppm = readPpm(execFileSync('djpeg', ['-pnm', out]));
    expect([ppm.w, ppm.h]).toEqual([640, 480]);
    const at = (x: number, y: number) => [...ppm.rgb.subarray((y * ppm.w + x) * 3, (y * ppm.w + x) * 3 + 3)];
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 24);
    expect(near(at(100, 100), [255, 0, 0]), `left pixel ${at(100, 100)}`).toBe(true);
    expect(near(at(500, 300), [0, 0, 255]), `right pixel ${at(500, 300)}`).toBe(true);

    // With VNC authentication: the password file holds the password DES-encrypted with
    // the fixed VNC key (what vncpasswd writes; VNC's DES reverses the bits of key bytes).
    const sp = await setup({ password: 'hunter2', w: 640, h: 480 });
    paint(sp.dev, 0, 0, 640, 480, [0x00, 0xff, 0x00, 0]);
    const fixed = vncKey(String.fromCharCode(23, 82, 107, 6, 35, 78, 88, 7));
    const pw = Buffer.alloc(8);
    pw.write('hunter2', 'latin1');
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, desEncrypt(fixed, pw));
    const out2 = join(dir, 'shot2.jpg');
    const r2 = await run(['-quiet', '-passwd', passwd, '-nojpeg', '-encodings', 'raw', `127.0.0.1::${sp.rfb.address.port}`, out2]);
    expect(r2.status, r2.stderr).toBe(0);
    const ppm2 = readPpm(execFileSync('djpeg', ['-pnm', out2]));
    expect(near([...ppm2.rgb.subarray(0, 3)], [0, 255, 0])).toBe(true);
    // A wrong password fails.
    writeFileSync(passwd, desEncrypt(fixed, Buffer.from('nothim\0\0', 'latin1')));
    const r3 = await run(['-quiet', '-passwd', passwd, `127.0.0.1::${sp.rfb.address.port}`, join(dir, 'shot3.jpg')]);
    expect(r3.status).not.toBe(0);
  }, 60000);
});
