import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawFileBackend } from '../../../../src/emulator/backends/block/raw-file.js';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import { VirtioBlock, blockSerial } from '../../../../src/emulator/virtio/block/device.js';
import { VirtioPciTransport } from '../../../../src/emulator/virtio/pci.js';
import * as V from '../../../../src/emulator/virtio/regs.js';
import { pciWorld } from '../../pci/helpers.js';
import { makeMemory, PciAccess, RingDriver, type Buf } from '../driver.js';

const HDR = 0x100000;
const DATA = 0x110000;
const STATUS = 0x1f0000;

async function rig(opts: { readOnly?: boolean; bytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vblk-'));
  const path = join(dir, 'disk.img');
  const init = Buffer.alloc(opts.bytes ?? 1 << 20);
  for (let i = 0; i < init.length; i += 512) init.writeUInt32LE(i / 512, i); // sector number in each sector
  writeFileSync(path, init);
  const be = await RawFileBackend.open(path, { readOnly: opts.readOnly });
  const w = pciWorld();
  const mem = makeMemory(1 << 22);
  const log = new CollectingLogger();
  const dev = new VirtioBlock(be, log, 'SERIAL-1234');
  const fn = w.host.createFunction(0, 4, 0, 'virtio-blk');
  new VirtioPciTransport(fn, dev, { mode: 'transitional', msix: false, memory: mem, log });
  w.host.assignResources();
  const io = new PciAccess(fn);
  io.legacyInit(1 << 28, [{ index: 0, base: 0x10000 }]);
  const ring = RingDriver.legacy(mem, 128, 0x10000);
  let hdrSlot = 0;
  const request = async (type: number, sector: bigint, data: Buf[] = []) => {
    const h = HDR + 16 * hdrSlot;
    const st = STATUS + hdrSlot;
    hdrSlot++;
    mem.write32(h, type);
    mem.write32(h + 4, 0);
    mem.write64(h + 8, sector);
    mem.write8(st, 0xee);
    ring.post([{ addr: h, len: 16 }, ...data, { addr: st, len: 1, write: true }]);
    io.notifyLegacy(0);
    await dev.idle();
    const used = ring.takeUsed();
    return { status: mem.read8(st), used };
  };
  return { path, be, w, mem, dev, io, ring, log, request };
}

describe('virtio-blk', () => {
  it('reports capacity, seg_max and block size in its config space', async () => {
    const r = await rig();
    const cfg = (off: number, size: number) => r.io.r(0, 20 + off, size);
    expect(cfg(0, 4)).toBe(2048);
    expect(cfg(4, 4)).toBe(0);
    expect(cfg(12, 4)).toBe(126);
    expect(cfg(20, 4)).toBe(512);
    const f = r.io.r(0, 0, 4);
    expect(f & (1 << 9)).toBeTruthy(); // FLUSH
    expect(f & (1 << 5)).toBe(0); // not read-only
    await r.be.close();
  });

  it('reads sectors into guest buffers and writes them back to the image', async () => {
    const r = await rig();
    const rd = await r.request(0, 5n, [{ addr: DATA, len: 512, write: true }, { addr: DATA + 0x1000, len: 512, write: true }]);
    expect(rd.status).toBe(0);
    expect(rd.used).toEqual([{ id: 0, len: 1025 }]);
    expect(r.mem.read32(DATA)).toBe(5);
    expect(r.mem.read32(DATA + 0x1000)).toBe(6);
    r.mem.fill(DATA + 0x2000, 1024, 0x5a);
    const wr = await r.request(1, 100n, [{ addr: DATA + 0x2000, len: 1024 }]);
    expect(wr.status).toBe(0);
    expect(wr.used[0]!.len).toBe(1);
    const fl = await r.request(4, 0n);
    expect(fl.status).toBe(0);
    const file = readFileSync(r.path);
    expect([...file.subarray(100 * 512, 102 * 512)].every((b) => b === 0x5a)).toBe(true);
    expect(file.readUInt32LE(102 * 512)).toBe(102);
    await r.be.close();
  });

  it('answers GET_ID with the configured serial, zero-padded, and the default from the path', async () => {
    const r = await rig();
    const id = await r.request(8, 0n, [{ addr: DATA, len: 32, write: true }]);
    expect(id.status).toBe(0);
    expect(Buffer.from(r.mem.readBytes(DATA, 20)).toString('latin1')).toBe('SERIAL-1234' + '\0'.repeat(9));
    expect(blockSerial('/var/vm/disk.img')).toMatch(/^BHYVE-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/);
    await r.be.close();
  });

  it('completes bad requests with IOERR or UNSUPP and keeps serving', async () => {
    const r = await rig();
    const cases: Array<[string, number, bigint, Buf[], number]> = [
      ['past the end', 0, 2047n, [{ addr: DATA, len: 1024, write: true }], 1],
      ['huge sector', 0, 0xffff_ffff_ffff_ff00n, [{ addr: DATA, len: 512, write: true }], 1],
      ['odd length', 0, 0n, [{ addr: DATA, len: 100, write: true }], 1],
      ['read with readable data', 0, 0n, [{ addr: DATA, len: 512 }], 1],
      ['write with writable data', 1, 0n, [{ addr: DATA, len: 512, write: true }], 1],
      ['unknown type', 77, 0n, [], 2],
      ['discard unsupported', 11, 0n, [{ addr: DATA, len: 16 }], 2],
    ];
    for (const [what, type, sector, data, status] of cases) {
      const res = await r.request(type, sector, data);
      expect(res.status, what).toBe(status);
      expect(res.used.length, what).toBe(1);
    }
    const ok = await r.request(0, 0n, [{ addr: DATA, len: 512, write: true }]);
    expect(ok.status).toBe(0);
    await r.be.close();
  });

  it('fails writes on a read-only image with IOERR and advertises RO', async () => {
    const r = await rig({ readOnly: true });
    expect(r.io.r(0, 0, 4) & (1 << 5)).toBeTruthy();
    const res = await r.request(1, 0n, [{ addr: DATA, len: 512 }]);
    expect(res.status).toBe(1);
    await r.be.close();
  });

  it('goes to NEEDS_RESET on a chain without header or status', async () => {
    const r = await rig();
    r.ring.post([{ addr: HDR, len: 8 }, { addr: STATUS, len: 1, write: true }]);
    r.io.notifyLegacy(0);
    expect(r.io.r(0, V.VIRTIO_PCI_STATUS, 1) & V.VIRTIO_CONFIG_S_NEEDS_RESET).toBeTruthy();
    expect(r.log.messages.join('\n')).toMatch(/request header needs 16 readable bytes/);
    await r.be.close();
  });

  it('drops completions that land after a reset', async () => {
    const r = await rig();
    r.mem.write32(HDR, 0);
    r.mem.write64(HDR + 8, 0n);
    r.mem.write8(STATUS, 0xee);
    r.ring.post([{ addr: HDR, len: 16 }, { addr: DATA, len: 512, write: true }, { addr: STATUS, len: 1, write: true }]);
    r.mem.fill(DATA, 512, 0x77);
    r.io.notifyLegacy(0);
    r.io.w(0, V.VIRTIO_PCI_STATUS, 1, 0); // reset while the read is in flight
    await r.dev.idle();
    expect(r.mem.read8(STATUS)).toBe(0xee);
    expect(r.mem.read16(r.ring.used + 2)).toBe(0);
    await r.be.close();
  });
});
