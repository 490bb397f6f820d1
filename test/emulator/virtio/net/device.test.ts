import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UdpBackend } from '../../../../src/emulator/backends/net/udp.js';
import type { NetBackend } from '../../../../src/emulator/backends/net/backend.js';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import { VirtioNet, defaultMac, formatMac, parseMac } from '../../../../src/emulator/virtio/net/device.js';
import { VirtioPciTransport } from '../../../../src/emulator/virtio/pci.js';
import * as V from '../../../../src/emulator/virtio/regs.js';
import { pciWorld } from '../../pci/helpers.js';
import { makeMemory, PciAccess, RingDriver } from '../driver.js';

class LoopBackend implements NetBackend {
  description = 'test';
  sent: Uint8Array[] = [];
  rx: ((f: Uint8Array) => void) | undefined;
  paused = false;
  send(f: Uint8Array) {
    this.sent.push(f.slice());
  }
  setReceiver(rx: ((f: Uint8Array) => void) | undefined) {
    this.rx = rx;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  async close() {}
}

const RXQ = 0x100000;
const TXQ = 0x200000;

function nic(backend: NetBackend, opts: { legacyFeatures?: number; modern?: boolean } = {}) {
  const w = pciWorld();
  const mem = makeMemory(1 << 23);
  const log = new CollectingLogger();
  const dev = new VirtioNet(backend, parseMac('52:54:00:12:34:56'));
  const fn = w.host.createFunction(0, 3, 0, 'virtio-net');
  new VirtioPciTransport(fn, dev, { mode: 'transitional', msix: false, memory: mem, log });
  w.host.assignResources();
  const io = new PciAccess(fn);
  let rx: RingDriver;
  let tx: RingDriver;
  let hdr: number;
  if (opts.modern) {
    io.modernInit(V.bit(V.VIRTIO_F_VERSION_1), [
      { index: 0, desc: RXQ, avail: RXQ + 0x4000, used: RXQ + 0x8000 },
      { index: 1, desc: TXQ, avail: TXQ + 0x4000, used: TXQ + 0x8000 },
    ]);
    rx = new RingDriver(mem, 1024, RXQ, RXQ + 0x4000, RXQ + 0x8000);
    tx = new RingDriver(mem, 1024, TXQ, TXQ + 0x4000, TXQ + 0x8000);
    hdr = 12;
  } else {
    const f = opts.legacyFeatures ?? 1 << 15;
    io.legacyInit(f, [
      { index: 0, base: RXQ },
      { index: 1, base: TXQ },
    ]);
    rx = RingDriver.legacy(mem, 1024, RXQ);
    tx = RingDriver.legacy(mem, 1024, TXQ);
    hdr = f & (1 << 15) ? 12 : 10;
  }
  const send = (frame: Uint8Array, at = 0x400000) => {
    mem.fill(at, hdr, 0);
    mem.writeBytes(at + hdr, frame);
    tx.post([{ addr: at, len: hdr + frame.length }]);
    if (opts.modern) io.notifyModern(1);
    else io.notifyLegacy(1);
  };
  const postRx = (addr: number, len: number) => {
    rx.post([{ addr, len, write: true }]);
    if (opts.modern) io.notifyModern(0);
    else io.notifyLegacy(0);
  };
  return { w, mem, dev, io, rx, tx, hdr, send, postRx, log };
}

const frame = (n: number, fill = 0x42) => Uint8Array.from({ length: n }, (_, i) => (i < 12 ? i : fill));

describe('virtio-net', () => {
  it('exposes MAC, link status, pairs and features', () => {
    const n = nic(new LoopBackend());
    const cfg = (o: number, s: number) => n.io.r(0, 20 + o, s);
    expect([0, 1, 2, 3, 4, 5].map((i) => cfg(i, 1))).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(cfg(6, 2)).toBe(1);
    expect(cfg(8, 2)).toBe(1);
    const f = n.io.r(0, 0, 4);
    expect(f & ((1 << 5) | (1 << 15) | (1 << 16) | (1 << 24))).toBe((1 << 5) | (1 << 15) | (1 << 16) | (1 << 24));
  });

  it('transmits frames without the virtio header (legacy 10-byte header)', () => {
    const be = new LoopBackend();
    const n = nic(be, { legacyFeatures: 0 });
    expect(n.hdr).toBe(10);
    n.send(frame(60));
    expect(be.sent).toEqual([frame(60)]);
    expect(n.tx.takeUsed()).toEqual([{ id: 0, len: 0 }]);
  });

  it('receives into one buffer with a zeroed 12-byte header and num_buffers', () => {
    const be = new LoopBackend();
    const n = nic(be);
    n.postRx(0x500000, 2048);
    be.rx!(frame(100, 7));
    const used = n.rx.takeUsed();
    expect(used).toEqual([{ id: 0, len: 112 }]);
    expect(n.mem.read16(0x500000 + 10)).toBe(1);
    expect([...n.mem.readBytes(0x500000 + 12, 100)]).toEqual([...frame(100, 7)]);
  });

  it('merges several small RX buffers for a large frame', () => {
    const be = new LoopBackend();
    const n = nic(be);
    for (let i = 0; i < 4; i++) n.postRx(0x500000 + i * 0x1000, 512);
    be.rx!(frame(1400, 9));
    const used = n.rx.takeUsed();
    expect(used.map((u) => u.len)).toEqual([512, 512, 388]);
    expect(n.mem.read16(0x500000 + 10)).toBe(3);
    expect(n.mem.read8(0x501000)).toBe(frame(1400, 9)[500]); // second buffer continues at frame byte 500
  });

  it('keeps frames in a backlog until buffers arrive, then delivers in order', () => {
    const be = new LoopBackend();
    const n = nic(be);
    be.rx!(frame(60, 1));
    be.rx!(frame(60, 2));
    expect(n.rx.takeUsed()).toEqual([]);
    n.postRx(0x500000, 2048);
    n.postRx(0x501000, 2048);
    expect(n.rx.takeUsed().length).toBe(2);
    expect(n.mem.read8(0x500000 + 12 + 20)).toBe(1);
    expect(n.mem.read8(0x501000 + 12 + 20)).toBe(2);
  });

  it('pauses the backend when the backlog fills and resumes after draining', () => {
    const be = new LoopBackend();
    const n = nic(be);
    for (let i = 0; i < 300; i++) be.rx!(frame(60));
    expect(be.paused).toBe(true);
    expect(n.dev.stats.rxDropped).toBe(44);
    for (let i = 0; i < 256; i++) n.rx.post([{ addr: 0x500000 + i * 128, len: 128, write: true }]);
    n.io.notifyLegacy(0);
    expect(be.paused).toBe(false);
    expect(n.rx.takeUsed().length).toBe(256);
  });

  it('puts the device in NEEDS_RESET for RX buffers the device cannot write', () => {
    const be = new LoopBackend();
    const n = nic(be);
    n.rx.post([{ addr: 0x500000, len: 2048 }]); // device-readable: wrong direction
    be.rx!(frame(60));
    expect(n.io.r(0, V.VIRTIO_PCI_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
  });

  it('works with a modern driver (always a 12-byte header)', () => {
    const be = new LoopBackend();
    const n = nic(be, { modern: true });
    n.send(frame(64));
    expect(be.sent).toEqual([frame(64)]);
    n.postRx(0x500000, 2048);
    be.rx!(frame(70));
    expect(n.rx.takeUsed()).toEqual([{ id: 0, len: 82 }]);
  });

  it('validates MAC addresses and derives bhyve default MACs', () => {
    expect(formatMac(parseMac('52:54:0:b9:94:2'))).toBe('52:54:00:b9:94:02');
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(() => parseMac('00:00:00:00:00:00')).toThrow(/all zeros/);
    expect(() => parseMac('zz')).toThrow(/Invalid MAC/);
    const m = defaultMac(3, 0, 'vm0');
    expect(formatMac(m).startsWith('00:a0:98:')).toBe(true);
    expect(defaultMac(3, 0, 'vm0')).toEqual(m);
    expect(defaultMac(4, 0, 'vm0')).not.toEqual(m);
    expect(() => new VirtioNet(new LoopBackend(), m, 20)).toThrow(/Invalid MTU/);
  });
});

describe('UDP network backend', () => {
  it('links two NICs over UDP and exchanges frames with a host test socket', async () => {
    const a = await UdpBackend.open({ host: '127.0.0.1', port: 1 });
    await a.close();
    // Real ports: A <-> B, then a host socket plays the peer of C.
    const pa = await UdpBackend.open({ host: '127.0.0.1', port: 0 });
    const portA = pa.local.port;
    await pa.close();
    const beB = await UdpBackend.open({ host: '127.0.0.1', port: portA });
    const beA = await UdpBackend.open({ host: '127.0.0.1', port: beB.local.port }, { host: '127.0.0.1', port: portA });
    const A = nic(beA);
    const B = nic(beB);
    B.postRx(0x500000, 2048);
    A.send(frame(60, 0xab));
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const check = () => (B.rx.takeUsed().length ? resolve() : Date.now() - t0 > 3000 ? reject(new Error('no frame')) : setTimeout(check, 10));
      check();
    });
    expect(B.mem.read8(0x500000 + 12 + 30)).toBe(0xab);

    const host = createSocket('udp4');
    await new Promise<void>((r) => host.bind(0, '127.0.0.1', () => r()));
    const beC = await UdpBackend.open({ host: '127.0.0.1', port: host.address().port });
    const C = nic(beC);
    const got = new Promise<Buffer>((r) => host.once('message', (m) => r(m)));
    C.send(frame(80, 0x33));
    expect([...(await got)]).toEqual([...frame(80, 0x33)]);
    C.postRx(0x500000, 2048);
    host.send(Buffer.from(frame(90, 0x44)), beC.local.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const check = () => (C.rx.takeUsed().length ? resolve() : Date.now() - t0 > 3000 ? reject(new Error('no frame')) : setTimeout(check, 10));
      check();
    });
    expect(C.mem.read8(0x500000 + 12 + 50)).toBe(0x44);
    // a stranger's datagram is ignored
    const stranger = createSocket('udp4');
    stranger.send(Buffer.from(frame(60)), beC.local.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    expect(beC.droppedForeign).toBe(1);
    stranger.close();
    host.close();
    await Promise.all([beA.close(), beB.close(), beC.close()]);
  });
});
