import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawFileBackend } from '../../../src/emulator/backends/block/raw-file.js';
import { AhciController } from '../../../src/emulator/ahci/device.js';
import * as H from '../../../src/emulator/ahci/index.js';
import { chsGeometry } from '../../../src/emulator/ahci/identify.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { pciWorld } from '../pci/helpers.js';
import { makeMemory } from '../virtio/driver.js';

const CLB = 0x10000;
const FB = 0x11000;
const CT = 0x20000; // command tables, 0x1000 apart per slot
const BUF = 0x100000;

async function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'ahci-'));
  const disk = join(dir, 'disk.img');
  const iso = join(dir, 'cd.iso');
  const d = Buffer.alloc(1 << 20);
  for (let i = 0; i < d.length; i += 512) d.writeUInt32LE(i / 512, i);
  writeFileSync(disk, d);
  const c = Buffer.alloc(2048 * 64);
  for (let i = 0; i < c.length; i += 2048) c.write(`BLOCK${i / 2048}`, i);
  writeFileSync(iso, c);
  const hd = await RawFileBackend.open(disk);
  const cd = await RawFileBackend.open(iso, { readOnly: true });
  const w = pciWorld();
  const mem = makeMemory(1 << 22);
  const log = new CollectingLogger();
  const fn = w.host.createFunction(0, 2, 0, 'ahci');
  const ahci = new AhciController(fn, mem, [
    { port: 0, type: 'hd', backend: hd, path: disk, ser: 'DISK-SERIAL' },
    { port: 1, type: 'cd', backend: cd, path: iso },
  ], log);
  w.host.assignResources();
  const abar = fn.bars[5]!.addr;
  const reg = (off: number) => w.mmio.read(abar + off, 4);
  const set = (off: number, v: number) => w.mmio.write(abar + off, 4, v);
  const P = (port: number, off: number) => 0x100 + 0x80 * port + off;
  // Driver bring-up on a port: CLB/FB, FRE then ST, enable interrupts.
  const start = (port: number) => {
    set(P(port, H.AHCI_P_CLB), CLB + port * 0x40000);
    set(P(port, H.AHCI_P_FB), FB + port * 0x40000);
    set(P(port, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE);
    set(P(port, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ST);
    set(P(port, H.AHCI_P_IE), 0xffffffff);
  };
  /** Builds a command in `slot` and issues it; returns when its I/O settled. */
  const issue = async (port: number, slot: number, fis: number[], prd: Array<{ addr: number; len: number }>, opts: { atapi?: Uint8Array; write?: boolean; ncq?: boolean } = {}) => {
    const clb = CLB + port * 0x40000;
    const ct = CT + port * 0x40000 + slot * 0x1000;
    const hdr = clb + 32 * slot;
    mem.write32(hdr, 5 | (opts.atapi ? 1 << 5 : 0) | (opts.write ? 1 << 6 : 0) | (prd.length << 16));
    mem.write32(hdr + 4, 0);
    mem.write64(hdr + 8, BigInt(ct));
    const cfis = new Uint8Array(64);
    cfis.set(fis);
    mem.writeBytes(ct, cfis);
    if (opts.atapi) mem.writeBytes(ct + 0x40, opts.atapi);
    prd.forEach((p, i) => {
      mem.write64(ct + 0x80 + 16 * i, BigInt(p.addr));
      mem.write32(ct + 0x80 + 16 * i + 8, 0);
      mem.write32(ct + 0x80 + 16 * i + 12, p.len - 1);
    });
    if (opts.ncq) set(P(port, H.AHCI_P_SACT), 1 << slot);
    set(P(port, H.AHCI_P_CI), 1 << slot);
    await ahci.idle();
    return { prdbc: mem.read32(hdr + 4) };
  };
  const h2d = (cmd: number, lba = 0, count = 0, features = 0, device = 0x40) => [
    0x27, 0x80, cmd, features & 0xff, lba & 0xff, (lba >> 8) & 0xff, (lba >> 16) & 0xff, device, (lba / 2 ** 24) & 0xff, 0, 0, (features >> 8) & 0xff, count & 0xff, (count >> 8) & 0xff, 0, 0,
  ];
  return { w, mem, ahci, fn, reg, set, P, start, issue, h2d, disk, log, hd, cd };
}

describe('AHCI controller', () => {
  it('identifies as ICH8 AHCI with 6 reported ports and bhyve capabilities', async () => {
    const r = await rig();
    expect(r.w.cfgRead(0, 2, 0, 0)).toBe(0x28218086);
    expect(r.w.cfgRead(0, 2, 0, 0x08) >>> 8).toBe(0x010601);
    expect(r.fn.bars[5]!.size).toBe(0x400);
    expect(r.reg(H.AHCI_CAP) & 0x1f).toBe(5);
    expect(r.reg(H.AHCI_CAP) & H.AHCI_CAP_SNCQ).toBeTruthy();
    expect(r.reg(H.AHCI_PI)).toBe(3);
    expect(r.reg(H.AHCI_VS)).toBe(0x10300);
    expect(r.reg(H.AHCI_GHC) >>> 0).toBe(H.AHCI_GHC_AE >>> 0);
    expect(r.reg(r.P(0, H.AHCI_P_SIG))).toBe(H.ATA_SIGNATURE_DISK);
    expect(r.reg(r.P(1, H.AHCI_P_SIG)) >>> 0).toBe(H.ATA_SIGNATURE_ATAPI);
    expect(r.reg(r.P(0, H.AHCI_P_SSTS))).toBe(0x133);
    expect(r.reg(r.P(2, H.AHCI_P_SSTS))).toBe(0); // no device
    expect(r.w.cfgRead(0, 2, 0, 0x40) >>> 16).toBe(0x86); // 64-bit MSI, 8 messages
    await r.hd.close();
    await r.cd.close();
  });

  it('answers IDENTIFY with model, serial, capacity and LBA48 support, raising INTx', async () => {
    const r = await rig();
    r.set(H.AHCI_GHC, H.AHCI_GHC_IE);
    r.start(0);
    const { prdbc } = await r.issue(0, 0, r.h2d(H.ATA_ATA_IDENTIFY), [{ addr: BUF, len: 512 }]);
    expect(prdbc).toBe(512);
    const id = r.mem.readBytes(BUF, 512);
    const word = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    const str = (first: number, n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(word(first + i) >> 8, word(first + i) & 0xff);
      return s.trim();
    };
    expect(str(27, 20)).toBe('BHYVE SATA DISK');
    expect(str(10, 10)).toBe('DISK-SERIAL');
    expect(str(23, 4)).toBe('001');
    expect(word(60) | (word(61) << 16)).toBe(2048);
    expect(word(100)).toBe(2048);
    expect(word(83) & (1 << 10)).toBeTruthy();
    expect(word(76) & (1 << 8)).toBeTruthy();
    expect(r.reg(r.P(0, H.AHCI_P_CI))).toBe(0);
    expect(r.reg(r.P(0, H.AHCI_P_IS)) & (H.AHCI_P_IX_DHR | H.AHCI_P_IX_PS)).toBe(H.AHCI_P_IX_DHR);
    expect(r.reg(r.P(0, H.AHCI_P_TFD)) & 0xff).toBe(0x50);
    expect(r.mem.read8(FB + 0x40)).toBe(H.FIS_TYPE_REGD2H);
    expect(r.mem.read8(FB + 0x20)).toBe(H.FIS_TYPE_PIOSETUP);
    expect(r.reg(H.AHCI_IS)).toBe(1);
    expect(r.w.irq.events).toEqual(['isa+3/16']);
    r.set(r.P(0, H.AHCI_P_IS), 0xffffffff);
    r.set(H.AHCI_IS, 1);
    expect(r.w.irq.events).toEqual(['isa+3/16', 'isa-3/16']);
    await r.hd.close();
    await r.cd.close();
  });

  it('reads and writes with DMA EXT and NCQ, flushes, and the image changes', async () => {
    const r = await rig();
    r.start(0);
    await r.issue(0, 0, r.h2d(H.ATA_READ_DMA48, 10, 2), [{ addr: BUF, len: 512 }, { addr: BUF + 0x1000, len: 512 }]);
    expect(r.mem.read32(BUF)).toBe(10);
    expect(r.mem.read32(BUF + 0x1000)).toBe(11);
    r.mem.fill(BUF + 0x2000, 1024, 0xc3);
    await r.issue(0, 1, r.h2d(H.ATA_WRITE_FPDMA_QUEUED, 300, 1 << 3, 2), [{ addr: BUF + 0x2000, len: 1024 }], { write: true, ncq: true });
    expect(r.reg(r.P(0, H.AHCI_P_SACT))).toBe(0);
    expect(r.reg(r.P(0, H.AHCI_P_IS)) & H.AHCI_P_IX_SDB).toBeTruthy();
    expect(r.mem.read8(FB + 0x58)).toBe(H.FIS_TYPE_SETDEVBITS);
    await r.issue(0, 2, r.h2d(H.ATA_FLUSHCACHE48), []);
    const img = readFileSync(r.disk);
    expect([...img.subarray(300 * 512, 302 * 512)].every((b) => b === 0xc3)).toBe(true);
    await r.issue(0, 3, r.h2d(H.ATA_READ_FPDMA_QUEUED, 300, 3 << 3, 1), [{ addr: BUF + 0x3000, len: 512 }], { ncq: true });
    expect(r.mem.read8(BUF + 0x3000)).toBe(0xc3);
    await r.hd.close();
    await r.cd.close();
  });

  it('aborts bad commands with TFES and waits for the driver to stop the port', async () => {
    const r = await rig();
    r.start(0);
    await r.issue(0, 0, r.h2d(0xb0 /* SMART */), []);
    expect(r.reg(r.P(0, H.AHCI_P_TFD))).toBe((H.ATA_E_ABORT << 8) | 0x41);
    expect(r.reg(r.P(0, H.AHCI_P_IS)) & H.AHCI_P_IX_TFE).toBeTruthy();
    expect(r.reg(r.P(0, H.AHCI_P_CI))).toBe(1);
    // Beyond the end of the disk
    r.set(r.P(0, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE); // stop
    expect(r.reg(r.P(0, H.AHCI_P_CI))).toBe(0);
    r.set(r.P(0, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ST);
    await r.issue(0, 0, r.h2d(H.ATA_READ_DMA48, 2047, 8), [{ addr: BUF, len: 4096 }]);
    expect(r.reg(r.P(0, H.AHCI_P_TFD)) & 1).toBe(1);
    await r.hd.close();
    await r.cd.close();
  });

  it('refuses command tables and PRDs outside guest memory with a host bus fatal error', async () => {
    const r = await rig();
    r.start(0);
    const hdr = CLB;
    r.mem.write32(hdr, 5 | (1 << 16));
    r.mem.write64(hdr + 8, 0x7fff_0000n); // command table beyond guest RAM
    r.set(r.P(0, H.AHCI_P_CI), 1);
    expect(r.reg(r.P(0, H.AHCI_P_IS)) & H.AHCI_P_IX_HBF).toBeTruthy();
    r.set(r.P(0, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE);
    r.set(r.P(0, H.AHCI_P_IS), 0xffffffff);
    r.set(r.P(0, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ST);
    await r.issue(0, 0, r.h2d(H.ATA_READ_DMA48, 0, 1), [{ addr: 0x3ff000, len: 0x2000 }]); // PRD runs past the end
    expect(r.reg(r.P(0, H.AHCI_P_IS)) & H.AHCI_P_IX_HBF).toBeTruthy();
    expect(r.log.messages.some((m) => /PRD 0 .* is not guest RAM/.test(m))).toBe(true);
    await r.hd.close();
    await r.cd.close();
  });

  it('runs ATAPI INQUIRY, READ CAPACITY, READ(10) and reports sense for bad opcodes', async () => {
    const r = await rig();
    r.start(1);
    const cdb = (...b: number[]) => Uint8Array.from([...b, ...new Array(16 - b.length).fill(0)]);
    await r.issue(1, 0, r.h2d(H.ATA_PACKET_CMD, 0, 0, 0), [{ addr: BUF, len: 96 }], { atapi: cdb(0x12, 0, 0, 0, 96) });
    const inq = r.mem.readBytes(BUF, 36);
    expect(inq[0]).toBe(5);
    expect(Buffer.from(inq.subarray(8, 32)).toString()).toBe('BHYVE   BHYVE DVD-ROM   ');
    await r.issue(1, 1, r.h2d(H.ATA_PACKET_CMD), [{ addr: BUF, len: 8 }], { atapi: cdb(0x25) });
    expect([...r.mem.readBytes(BUF, 8)]).toEqual([0, 0, 0, 63, 0, 0, 8, 0]);
    await r.issue(1, 2, r.h2d(H.ATA_PACKET_CMD, 0, 0, 1), [{ addr: BUF, len: 4096 }], { atapi: cdb(0x28, 0, 0, 0, 0, 7, 0, 0, 2) });
    expect(Buffer.from(r.mem.readBytes(BUF, 6)).toString()).toBe('BLOCK7');
    expect(Buffer.from(r.mem.readBytes(BUF + 2048, 6)).toString()).toBe('BLOCK8');
    await r.issue(1, 3, r.h2d(H.ATA_PACKET_CMD), [], { atapi: cdb(0xff) });
    expect(r.reg(r.P(1, H.AHCI_P_TFD))).toBe((5 << 12) | 0x41);
    r.set(r.P(1, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE);
    r.set(r.P(1, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE | H.AHCI_P_CMD_ST);
    await r.issue(1, 0, r.h2d(H.ATA_PACKET_CMD), [{ addr: BUF, len: 18 }], { atapi: cdb(0x03, 0, 0, 0, 18) });
    expect([r.mem.read8(BUF + 2), r.mem.read8(BUF + 12)]).toEqual([5, 0x20]);
    // IDENTIFY PACKET DEVICE works; IDENTIFY DEVICE is aborted on ATAPI
    await r.issue(1, 1, r.h2d(H.ATA_ATAPI_IDENTIFY), [{ addr: BUF, len: 512 }]);
    expect(r.mem.read16(BUF) >> 14).toBe(2);
    await r.hd.close();
    await r.cd.close();
  });

  it('resets the port on COMRESET and the HBA on GHC.HR', async () => {
    const r = await rig();
    r.start(0);
    r.set(r.P(0, H.AHCI_P_CMD), H.AHCI_P_CMD_FRE);
    r.set(r.P(0, H.AHCI_P_SCTL), 1);
    r.set(r.P(0, H.AHCI_P_SCTL), 0);
    expect(r.mem.read8(FB + 0x40)).toBe(H.FIS_TYPE_REGD2H);
    r.set(H.AHCI_GHC, H.AHCI_GHC_HR);
    expect(r.reg(r.P(0, H.AHCI_P_CLB))).toBe(0);
    expect(r.reg(H.AHCI_GHC) >>> 0).toBe(H.AHCI_GHC_AE >>> 0);
    await r.hd.close();
    await r.cd.close();
  });

  it('computes CHS geometry like the VHD algorithm', () => {
    expect(chsGeometry(1 << 20, 512)).toEqual({ c: 30, h: 4, s: 17 });
    expect(chsGeometry(2 ** 40, 512)).toEqual({ c: 65535, h: 16, s: 255 });
  });
});
