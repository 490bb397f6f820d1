import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import { Virtio9p } from '../../../../src/emulator/virtio/9p/device.js';
import * as P from '../../../../src/emulator/virtio/9p/protocol.js';
import { Share } from '../../../../src/emulator/virtio/9p/share.js';
import { VirtioPciTransport } from '../../../../src/emulator/virtio/pci.js';
import * as V from '../../../../src/emulator/virtio/regs.js';
import { pciWorld } from '../../pci/helpers.js';
import { buildError, buildMachine } from '../../helpers/machine-rig.js';
import { makeMemory, PciAccess, RingDriver } from '../driver.js';

const REQ = 0x100000;
const RESP = 0x180000;

async function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'v9p-'));
  writeFileSync(join(dir, 'file'), 'content');
  const log = new CollectingLogger();
  const dev = new Virtio9p(await Share.open(dir, false, log), 'hostshare', log);
  const w = pciWorld();
  const mem = makeMemory(1 << 22);
  const fn = w.host.createFunction(0, 5, 0, 'virtio-9p');
  new VirtioPciTransport(fn, dev, { mode: 'transitional', msix: false, memory: mem, log });
  w.host.assignResources();
  const io = new PciAccess(fn);
  io.legacyInit(1, [{ index: 0, base: 0x10000 }]);
  const ring = RingDriver.legacy(mem, 256, 0x10000);
  let slot = 0;
  /** Posts one T-message with `room` reply bytes; returns the reply. */
  const rpc = async (msg: Uint8Array, room = 8192) => {
    const req = REQ + slot * 0x1000;
    const resp = RESP + slot * 0x2000;
    slot = (slot + 1) % 8;
    mem.writeBytes(req, msg);
    ring.post([
      { addr: req, len: msg.length },
      { addr: resp, len: room, write: true },
    ]);
    io.notifyLegacy(0);
    await dev.idle();
    const used = ring.takeUsed();
    return { used, reply: mem.readBytes(resp, used[0]?.len ?? 0) };
  };
  const msg = (type: number, body: (w: P.Writer) => void) => {
    const w = new P.Writer().reset(type, 1);
    body(w);
    return Uint8Array.from(w.finish());
  };
  return { dir, dev, fn, io, mem, ring, rpc, msg, log, w };
}

describe('virtio-9p device', () => {
  it('identifies as 1AF4:1009 with the mount tag in its config space', async () => {
    const r = await rig();
    expect(r.w.cfgRead(0, 5, 0, 0)).toBe(0x10091af4);
    expect(r.w.cfgRead(0, 5, 0, 0x2c) >>> 16).toBe(9);
    expect(r.w.cfgRead(0, 5, 0, 0x08) >>> 24).toBe(0x01);
    expect(r.io.r(0, V.VIRTIO_PCI_HOST_FEATURES, 4) & 1).toBe(1);
    const cfg = (off: number) => r.io.r(0, 20 + off, 1);
    expect(cfg(0) | (cfg(1) << 8)).toBe(9);
    expect(String.fromCharCode(...Array.from({ length: 9 }, (_, i) => cfg(2 + i)))).toBe('hostshare');
    await r.dev.close();
  });

  it('answers T-messages from the ring, in order', async () => {
    const r = await rig();
    const v = await r.rpc(r.msg(P.P9_TVERSION, (w) => w.u32(65536).str('9P2000.L')));
    expect(v.used[0]!.len).toBe(v.reply.length);
    const rd = new P.Reader(v.reply);
    expect([rd.u32(), rd.u8(), rd.u16(), rd.u32(), rd.str()]).toEqual([v.reply.length, P.P9_TVERSION + 1, 1, 65536, '9P2000.L']);
    await r.rpc(r.msg(P.P9_TATTACH, (w) => w.u32(0).u32(P.P9_NOFID).str('u').str('').u32(0)));
    await r.rpc(r.msg(P.P9_TWALK, (w) => w.u32(0).u32(1).u16(1).str('file')));
    await r.rpc(r.msg(P.P9_TLOPEN, (w) => w.u32(1).u32(0)));
    const rr = await r.rpc(r.msg(P.P9_TREAD, (w) => w.u32(1).u64(0).u32(100)));
    expect(Buffer.from(rr.reply.subarray(11)).toString()).toBe('content');
    // The reply respects the writable room: a 15-byte buffer gets 4 bytes of data.
    const small = await r.rpc(r.msg(P.P9_TREAD, (w) => w.u32(1).u64(0).u32(100)), 15);
    expect(small.reply.length).toBe(15);
    expect(Buffer.from(small.reply.subarray(11)).toString()).toBe('cont');
    await r.dev.close();
  });

  it('completes chains that cannot carry a message with no reply, and stops on a corrupt ring', async () => {
    const r = await rig();
    r.ring.post([{ addr: REQ, len: 4 }, { addr: RESP, len: 100, write: true }]);
    r.io.notifyLegacy(0);
    await r.dev.idle();
    expect(r.ring.takeUsed()).toEqual([{ id: 0, len: 0 }]);
    expect(r.log.messages.some((m) => /without room for a message/.test(m))).toBe(true);
    // A descriptor loop: the transport marks the device NEEDS_RESET.
    r.ring.writeDesc(10, REQ, 16, V.VRING_DESC_F_NEXT, 11);
    r.ring.writeDesc(11, REQ, 16, V.VRING_DESC_F_NEXT, 10);
    r.ring.publish(10);
    r.io.notifyLegacy(0);
    await r.dev.idle();
    expect(r.io.r(0, V.VIRTIO_PCI_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
    await r.dev.close();
  });
});

describe('the virtio-9p PCI model', () => {
  it('shares a directory given as sharename=/path[,ro]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v9p-model-'));
    mkdirSync(join(dir, 'x'));
    const { m, cfg } = await buildMachine(['-s', '0,hostbridge', '-s', `6,virtio-9p,docs=${dir},ro`]);
    expect(cfg(0, 6, 0, 0)).toBe(0x10091af4);
    const dev = (m.pci.getFunction(0, 6, 0)!.ops as VirtioPciTransport).device as Virtio9p;
    expect(dev.server.share.readOnly).toBe(true);
    expect(dev.server.share.root).toBe(dir);
    await m.close();
  });

  it('refuses a missing directory or a missing share name', async () => {
    expect((await buildError(['-s', '6,virtio-9p,docs=/nonexistent/dir'])).message).toMatch(/^pci slot 0:6:0: virtio-9p: cannot share \/nonexistent\/dir: ENOENT/);
    expect((await buildError(['-s', '6,virtio-9p'])).message).toBe('pci slot 0:6:0: virtio-9p: a share is given as sharename=/path');
    const f = join(mkdtempSync(join(tmpdir(), 'v9p-f-')), 'file');
    writeFileSync(f, '');
    expect((await buildError(['-s', `6,virtio-9p,x=${f}`])).message).toMatch(/is not a directory/);
  });
});
