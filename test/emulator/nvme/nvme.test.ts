import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawFileBackend } from '../../../src/emulator/backends/block/raw-file.js';
import { crc16, defaultEui64 } from '../../../src/emulator/nvme/identify.js';
import { RamBackend } from '../../../src/emulator/nvme/ram-backend.js';
import * as R from '../../../src/emulator/nvme/regs.js';
import { DATA, rig } from './driver.js';

const PAGE = 4096;

async function fileDisk(bytes = 1 << 20) {
  const dir = mkdtempSync(join(tmpdir(), 'nvme-'));
  const path = join(dir, 'disk.img');
  const d = Buffer.alloc(bytes);
  for (let i = 0; i < d.length; i += 512) d.writeUInt32LE(i / 512, i);
  writeFileSync(path, d);
  return { path, backend: await RawFileBackend.open(path) };
}

async function ready(r: ReturnType<typeof rig>) {
  r.enable();
  expect(r.reg(R.NVME_CR_CSTS) & R.NVME_CSTS_RDY).toBe(1);
  const nq = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, cdw: [R.NVME_FEAT_NUMBER_OF_QUEUES, (1 << 16) | 1] });
  expect(nq.status).toBe(0);
  return nq;
}

describe('NVMe controller registers', () => {
  it('identifies as bhyve NVMe with 64-bit BAR0, MSI-X in BAR4 and a PCIe capability', () => {
    const r = rig(new RamBackend(4));
    expect(r.w.cfgRead(0, 4, 0, 0)).toBe(0x0a0afb5d);
    expect(r.w.cfgRead(0, 4, 0, 0x08) >>> 8).toBe(0x010802);
    expect(r.fn.bars[0]!.type).toBe('mem64');
    expect(r.fn.bars[0]!.size).toBe(16384);
    expect(r.fn.msixTable!.count).toBe(5);
    expect(r.findCap(0x10)).toBeGreaterThan(0);
    expect(r.w.cfgRead(0, 4, 0, 0x3c) >>> 8 & 0xff).toBeGreaterThan(0); // INTx pin
    expect(r.reg(R.NVME_CR_CAP_LOW)).toBe(63 | (1 << 16) | (60 << 24));
    expect(r.reg(R.NVME_CR_CAP_HI)).toBe(1 << 5);
    expect(r.reg(R.NVME_CR_VS)).toBe(0x10400);
    expect(r.reg(R.NVME_CR_CSTS)).toBe(0);
  });

  it('becomes ready on CC.EN, keeps CSS/MPS only while disabled, and resets on EN=0', () => {
    const r = rig(new RamBackend(4));
    r.set(R.NVME_CR_CC, 7 << 11); // AMS written while disabled
    expect(r.reg(R.NVME_CR_CC)).toBe(7 << 11);
    r.enable();
    expect(r.reg(R.NVME_CR_CSTS)).toBe(R.NVME_CSTS_RDY);
    expect(r.reg(R.NVME_CR_CC) & 1).toBe(1);
    expect(r.reg(R.NVME_CR_ASQ_LOW)).toBe(0x10000);
    r.set(R.NVME_CR_CC, 0);
    expect(r.reg(R.NVME_CR_CSTS)).toBe(0);
  });

  it('sets controller fatal status when the admin queues are not guest RAM', () => {
    const r = rig(new RamBackend(4));
    r.set(R.NVME_CR_AQA, (15 << 16) | 15);
    r.set(R.NVME_CR_ASQ_LOW, 0xfff00000);
    r.set(R.NVME_CR_ACQ_LOW, 0x11000);
    r.set(R.NVME_CR_CC, 1);
    expect(r.reg(R.NVME_CR_CSTS) & (R.NVME_CSTS_RDY | R.NVME_CSTS_CFS)).toBe(R.NVME_CSTS_CFS);
    // Doorbells are ignored while not ready.
    r.set(R.NVME_DOORBELL_OFFSET, 1);
    expect(r.log.messages.some((m) => /not ready/.test(m))).toBe(true);
  });

  it('reports shutdown complete after flushing the backend', async () => {
    const r = rig(new RamBackend(4));
    r.enable();
    r.set(R.NVME_CR_CC, 1 | (1 << 14) | (6 << 16) | (4 << 20));
    await new Promise((res) => setImmediate(res));
    expect((r.reg(R.NVME_CR_CSTS) >> 2) & 3).toBe(R.NVME_SHST_COMPLETE);
  });

  it('ignores narrow register writes', () => {
    const r = rig(new RamBackend(4));
    r.set(R.NVME_CR_CC, 1, 2);
    expect(r.reg(R.NVME_CR_CC)).toBe(0);
    expect(r.log.messages.some((m) => /2-byte register write/.test(m))).toBe(true);
  });
});

describe('NVMe admin commands', () => {
  it('answers Identify Controller and Namespace through PRP1 and PRP2', async () => {
    const { backend } = await fileDisk(1 << 20);
    const r = rig(backend);
    r.enable();
    // PRP1 in the middle of a page: the structure spans into PRP2's page.
    const c = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, prp1: DATA + 0x800, prp2: DATA + 0x2000, cdw: [R.NVME_CNS_CONTROLLER] });
    expect(c.status).toBe(0);
    const id = new Uint8Array(4096);
    id.set(r.mem.readBytes(DATA + 0x800, 0x800), 0);
    id.set(r.mem.readBytes(DATA + 0x2000, 0x800), 0x800);
    const str = (o: number, n: number) => Buffer.from(id.subarray(o, o + n)).toString('latin1');
    expect(id[0]! | (id[1]! << 8)).toBe(0xfb5d);
    expect(str(4, 20)).toBe('TESTSERIAL          ');
    expect(str(24, 40).trim()).toBe('bhyve-NVMe');
    expect(str(64, 8).trim()).toBe('1.0');
    expect(id[77]).toBe(9);
    expect([...id.subarray(73, 76)]).toEqual([0x58, 0x9c, 0xfc]);
    expect(id[512]).toBe(0x66);
    expect(id[513]).toBe(0x44);
    expect(id[516]).toBe(1);
    expect(id[520]! & 4).toBe(0); // raw files cannot deallocate: no DSM with dsm=auto
    expect(str(768, 40)).toBe('nqn.2013-12.org.freebsd:bhyve-vm-0-4-0\0\0');

    const n = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, nsid: 1, prp1: DATA, cdw: [R.NVME_CNS_NAMESPACE] });
    expect(n.status).toBe(0);
    const ns = r.mem.readBytes(DATA, 4096);
    const dv = new DataView(ns.buffer);
    expect(Number(dv.getBigUint64(0, true))).toBe(2048);
    expect((dv.getUint32(128, true) >> 16) & 0xff).toBe(9);
    expect(dv.getBigUint64(120, false)).toBe(0x589cfc2012340001n);

    const list = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, nsid: 0, prp1: DATA, cdw: [R.NVME_CNS_ACTIVE_NS_LIST] });
    expect(list.status).toBe(0);
    expect(r.mem.read32(DATA)).toBe(1);
    const desc = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, nsid: 1, prp1: DATA, cdw: [R.NVME_CNS_NS_ID_DESCRIPTORS] });
    expect(desc.status).toBe(0);
    expect([r.mem.read8(DATA), r.mem.read8(DATA + 1)]).toEqual([1, 8]);
    const bad = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, nsid: 2, prp1: DATA, cdw: [R.NVME_CNS_NS_ID_DESCRIPTORS] });
    expect(bad.sc).toBe(R.NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
    const cns = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, prp1: DATA, cdw: [0x55] });
    expect(cns.sc).toBe(R.NVME_SC_INVALID_FIELD);
    await backend.close();
  });

  it('derives bhyve default EUI-64s from CRC-16/ARC', () => {
    expect(crc16(0, Buffer.from('123456789'))).toBe(0xbb3d);
    const crc = crc16(0, Buffer.from('vm040'));
    expect(defaultEui64('vm', 0, 4, 0)).toBe(((0x589cfc200000n | BigInt(crc)) << 16n) | 1n);
  });

  it('grants min(requested, maxq) queues once per enable', async () => {
    const r = rig(new RamBackend(4));
    r.enable();
    const a = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, cdw: [R.NVME_FEAT_NUMBER_OF_QUEUES, (31 << 16) | 1] });
    expect(a.status).toBe(0);
    expect(a.cdw0).toBe((3 << 16) | 1);
    const again = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, cdw: [R.NVME_FEAT_NUMBER_OF_QUEUES, 0] });
    expect(again.sc).toBe(R.NVME_SC_COMMAND_SEQUENCE_ERROR);
    const get = await r.adminCmd({ opc: R.NVME_OPC_GET_FEATURES, cdw: [R.NVME_FEAT_NUMBER_OF_QUEUES] });
    expect(get.cdw0).toBe((3 << 16) | 1);
    const vwc = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, cdw: [R.NVME_FEAT_VOLATILE_WRITE_CACHE, 1] });
    expect(vwc.sc).toBe(R.NVME_SC_INVALID_FIELD);
    const nsSpecific = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, nsid: 1, cdw: [R.NVME_FEAT_ARBITRATION, 0] });
    expect([nsSpecific.sct, nsSpecific.sc]).toEqual([1, R.NVME_SC_FEATURE_NOT_NS_SPECIFIC]);
    // After a reset the count can be set again.
    r.set(R.NVME_CR_CC, 0);
    r.admin.tail = r.admin.head = 0;
    r.admin.phase = 1;
    r.mem.fill(0x11000, 4096);
    r.enable();
    const b = await r.adminCmd({ opc: R.NVME_OPC_SET_FEATURES, cdw: [R.NVME_FEAT_NUMBER_OF_QUEUES, 0] });
    expect(b.status).toBe(0);
  });

  it('validates queue creation and deletion', async () => {
    const r = rig(new RamBackend(4));
    await ready(r);
    const cq = (cdw10: number, cdw11: number, prp1 = 0x30000) => r.adminCmd({ opc: R.NVME_OPC_CREATE_IO_CQ, prp1, cdw: [cdw10, cdw11] });
    const sq = (cdw10: number, cdw11: number, prp1 = 0x20000) => r.adminCmd({ opc: R.NVME_OPC_CREATE_IO_SQ, prp1, cdw: [cdw10, cdw11] });
    expect((await cq(1 | (15 << 16), 0)).sc).toBe(R.NVME_SC_INVALID_FIELD); // not contiguous
    expect((await cq(0 | (15 << 16), 1)).sc).toBe(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
    expect((await cq(3 | (15 << 16), 1)).sc).toBe(R.NVME_SC_INVALID_QUEUE_IDENTIFIER); // beyond the 2 granted
    expect((await cq(1 | (15 << 16), 1 | (5 << 16))).sc).toBe(R.NVME_SC_INVALID_INTERRUPT_VECTOR);
    expect((await cq(1 | (64 << 16), 1)).sc).toBe(R.NVME_SC_MAXIMUM_QUEUE_SIZE_EXCEEDED);
    expect((await cq(1 | (0 << 16), 1)).sc).toBe(R.NVME_SC_MAXIMUM_QUEUE_SIZE_EXCEEDED);
    expect((await cq(1 | (15 << 16), 1, 0x30010)).sc).toBe(R.NVME_SC_INVALID_PRP_OFFSET);
    expect((await cq(1 | (15 << 16), 1, 0x800000)).sc).toBe(R.NVME_SC_DATA_TRANSFER_ERROR); // beyond RAM
    expect((await sq(1 | (15 << 16), 1 | (1 << 16))).sc).toBe(R.NVME_SC_COMPLETION_QUEUE_INVALID);
    expect((await cq(1 | (15 << 16), 3 | (1 << 16))).status).toBe(0);
    expect((await cq(1 | (15 << 16), 3 | (1 << 16))).sc).toBe(R.NVME_SC_INVALID_QUEUE_IDENTIFIER); // exists
    expect((await sq(1 | (15 << 16), 1 | (0 << 16))).sc).toBe(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
    expect((await sq(1 | (15 << 16), 1 | (1 << 16), 0xffff0000)).sc).toBe(R.NVME_SC_DATA_TRANSFER_ERROR);
    expect((await sq(1 | (15 << 16), 1 | (1 << 16))).status).toBe(0);
    const delCq = await r.adminCmd({ opc: R.NVME_OPC_DELETE_IO_CQ, cdw: [1] });
    expect(delCq.sc).toBe(R.NVME_SC_INVALID_QUEUE_DELETION);
    expect((await r.adminCmd({ opc: R.NVME_OPC_DELETE_IO_SQ, cdw: [1] })).status).toBe(0);
    expect((await r.adminCmd({ opc: R.NVME_OPC_DELETE_IO_SQ, cdw: [1] })).sc).toBe(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
    expect((await r.adminCmd({ opc: R.NVME_OPC_DELETE_IO_CQ, cdw: [1] })).status).toBe(0);
  });

  it('answers unsupported admin commands as bhyve does', async () => {
    const r = rig(new RamBackend(4));
    r.enable();
    expect((await r.adminCmd({ opc: R.NVME_OPC_FIRMWARE_ACTIVATE })).sc).toBe(R.NVME_SC_INVALID_FIRMWARE_SLOT);
    expect((await r.adminCmd({ opc: R.NVME_OPC_SANITIZE })).sc).toBe(R.NVME_SC_INVALID_FIELD);
    expect((await r.adminCmd({ opc: 0x0d })).sc).toBe(R.NVME_SC_INVALID_OPCODE);
    const abort = await r.adminCmd({ opc: R.NVME_OPC_ABORT, cdw: [0] });
    expect([abort.status, abort.cdw0]).toEqual([0, 1]);
    expect((await r.adminCmd({ opc: R.NVME_OPC_GET_LOG_PAGE, prp1: DATA, cdw: [0x7f | (127 << 16)] })).sc).toBe(R.NVME_SC_INVALID_LOG_PAGE);
    expect((await r.adminCmd({ opc: R.NVME_OPC_FORMAT_NVM, cdw: [1] })).sc).toBe(R.NVME_SC_INVALID_FORMAT);
  });

  it('completes an Asynchronous Event Request when a temperature threshold is crossed', async () => {
    const r = rig(new RamBackend(4));
    r.enable();
    r.place(r.admin, { opc: R.NVME_OPC_ASYNC_EVENT_REQUEST, cid: 0x77 });
    r.ring(r.admin);
    await new Promise((res) => setImmediate(res));
    expect(r.reap(r.admin)).toEqual([]);
    // Over-temperature threshold below the reported 296 K.
    r.place(r.admin, { opc: R.NVME_OPC_SET_FEATURES, cid: 0x78, cdw: [R.NVME_FEAT_TEMPERATURE_THRESHOLD, 290] });
    r.ring(r.admin);
    const done = r.reap(r.admin);
    const aer = done.find((c) => c.cid === 0x77)!;
    expect(aer.status).toBe(0);
    // log page 02h, event info = critical warning (temperature), type SMART/health.
    expect(aer.cdw0).toBe((R.NVME_LOG_HEALTH_INFORMATION << 16) | (R.NVME_CRIT_WARN_ST_TEMPERATURE << 8) | R.NVME_AE_TYPE_SMART);
    expect(done.find((c) => c.cid === 0x78)!.status).toBe(0);
    const log = await r.adminCmd({ opc: R.NVME_OPC_GET_LOG_PAGE, prp1: DATA, cdw: [R.NVME_LOG_HEALTH_INFORMATION | (127 << 16)] });
    expect(log.status).toBe(0);
    expect(r.mem.read8(DATA) & R.NVME_CRIT_WARN_ST_TEMPERATURE).toBeTruthy();
    expect(r.mem.read16(DATA + 1)).toBe(296);
    expect(r.mem.read8(DATA + 3)).toBe(100);
  });

  it('refuses more than AERL+1 outstanding event requests', async () => {
    const r = rig(new RamBackend(4));
    r.enable();
    for (let i = 0; i < 5; i++) r.place(r.admin, { opc: R.NVME_OPC_ASYNC_EVENT_REQUEST, cid: 100 + i });
    r.ring(r.admin);
    expect(r.reap(r.admin)).toEqual([]);
    const sixth = await r.adminCmd({ opc: R.NVME_OPC_ASYNC_EVENT_REQUEST });
    expect([sixth.sct, sixth.sc]).toEqual([1, R.NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED]);
  });
});

describe('NVMe I/O', () => {
  it('writes through a PRP list, reads back, flushes, and the image holds the data', async () => {
    const { path, backend } = await fileDisk(1 << 20);
    const r = rig(backend);
    await ready(r);
    const q = await r.createPair(1);
    // 16 KiB write at LBA 8: PRP1 page + PRP list at 0x90000 naming three scattered pages.
    const pages = [DATA, DATA + 0x5000, DATA + 0x9000, DATA + 0x3000];
    pages.forEach((p, i) => r.mem.fill(p, PAGE, 0xa0 + i));
    const list = 0x90000;
    pages.slice(1).forEach((p, i) => r.mem.write64(list + 8 * i, BigInt(p)));
    const w = await r.io(q, { opc: R.NVME_OPC_WRITE, prp1: pages[0], prp2: list, cdw: [8, 0, 31] });
    expect(w.status).toBe(0);
    expect(w.sqid).toBe(1);
    const f = await r.io(q, { opc: R.NVME_OPC_FLUSH });
    expect(f.status).toBe(0);
    const img = readFileSync(path);
    for (let i = 0; i < 4; i++) expect(img.subarray(8 * 512 + i * PAGE, 8 * 512 + (i + 1) * PAGE).every((b) => b === 0xa0 + i)).toBe(true);
    expect(img.readUInt32LE(7 * 512)).toBe(7);
    // Read back 4 KiB from LBA 12 into the middle of a page (PRP1 offset, PRP2 direct).
    const rd = await r.io(q, { opc: R.NVME_OPC_READ, prp1: 0x200800, prp2: 0x202000, cdw: [12, 0, 7] });
    expect(rd.status).toBe(0);
    expect(r.mem.read8(0x200800)).toBe(0xa0);
    expect(r.mem.read8(0x200fff)).toBe(0xa0);
    expect(r.mem.read8(0x202000)).toBe(0xa1);
    expect(r.mem.read8(0x2027ff)).toBe(0xa1);
    expect(r.mem.read8(0x202800)).toBe(0);
    const smart = await r.adminCmd({ opc: R.NVME_OPC_GET_LOG_PAGE, prp1: DATA, cdw: [R.NVME_LOG_HEALTH_INFORMATION | (127 << 16)] });
    expect(smart.status).toBe(0);
    expect(Number(r.mem.read64(DATA + 32))).toBe(1); // data units read (rounded up)
    expect(Number(r.mem.read64(DATA + 64))).toBe(1); // read commands
    expect(Number(r.mem.read64(DATA + 80))).toBe(1); // write commands
    await backend.close();
  });

  it('signals completions by MSI-X on the CQ vector, or by INTx until the host consumes them', async () => {
    const r = rig(new RamBackend(4));
    await ready(r);
    const q = await r.createPair(1, 16, { vector: 2 });
    // INTx first (MSI-X disabled): level while entries are unconsumed.
    r.place(q, { opc: R.NVME_OPC_FLUSH, cid: 9, nsid: 1 });
    r.ring(q);
    await r.nvme.idle();
    expect(r.fn.intxAsserted).toBe(true);
    r.set(R.NVME_CR_INTMS, 1);
    expect(r.fn.intxAsserted).toBe(false);
    r.set(R.NVME_CR_INTMC, 1);
    expect(r.fn.intxAsserted).toBe(true);
    expect(r.reap(q).map((c) => c.cid)).toContain(9);
    expect(r.fn.intxAsserted).toBe(false);
    r.enableMsix(5);
    r.w.irq.msis.length = 0;
    await r.io(q, { opc: R.NVME_OPC_FLUSH });
    expect(r.w.irq.msis).toEqual([{ addr: 0xfee00000, data: 0x42 }]);
  });

  it('rejects bad namespaces, ranges, transfers and PRPs with NVMe status codes', async () => {
    const r = rig(new RamBackend(4)); // 4 MiB, 4096-byte sectors: 1024 LBAs
    await ready(r);
    const q = await r.createPair(1);
    const read = (cdw: number[], prp1 = DATA, prp2 = 0, nsid = 1) => r.io(q, { opc: R.NVME_OPC_READ, nsid, prp1, prp2, cdw });
    const ns2 = await read([0, 0, 0], DATA, 0, 2);
    expect([ns2.sc, ns2.dnr]).toEqual([R.NVME_SC_INVALID_NAMESPACE_OR_FORMAT, true]);
    expect((await read([1023, 0, 1])).sc).toBe(R.NVME_SC_LBA_OUT_OF_RANGE);
    expect((await read([0, 0xffffffff, 0])).sc).toBe(R.NVME_SC_LBA_OUT_OF_RANGE); // 64-bit LBA overflow
    expect((await read([0xfffffff0, 0x000fffff, 0])).sc).toBe(R.NVME_SC_LBA_OUT_OF_RANGE);
    expect((await read([0, 0, 512])).sc).toBe(R.NVME_SC_INVALID_FIELD); // 513 × 4 KiB > MDTS
    expect((await read([0, 0, 0], 0xfffff000)).sc).toBe(R.NVME_SC_DATA_TRANSFER_ERROR);
    expect((await read([0, 0, 1], DATA, 0x12345)).sc).toBe(R.NVME_SC_INVALID_PRP_OFFSET);
    expect((await read([0, 0, 1], DATA, 0x7fff000)).sc).toBe(R.NVME_SC_DATA_TRANSFER_ERROR);
    // PRP list whose entries point outside RAM or are unaligned.
    r.mem.write64(0x90000, BigInt(0x40000000));
    expect((await read([0, 0, 3], DATA, 0x90000)).sc).toBe(R.NVME_SC_DATA_TRANSFER_ERROR);
    r.mem.write64(0x90000, BigInt(DATA + 0x100));
    expect((await read([0, 0, 3], DATA, 0x90000)).sc).toBe(R.NVME_SC_INVALID_PRP_OFFSET);
    expect((await r.io(q, { opc: 0x7e })).sc).toBe(R.NVME_SC_INVALID_OPCODE);
    // The controller is still healthy.
    expect((await read([0, 0, 0])).status).toBe(0);
  });

  it('walks a chained PRP list and stops a self-referencing one', async () => {
    const r = rig(new RamBackend(8));
    await ready(r);
    const q = await r.createPair(1);
    // 2 MiB read (512 pages): PRP1 + a list starting at slot 256 of its page, so slots
    // 256..510 hold 255 pages, slot 511 chains to a second list with the last 256.
    const list1 = 0x400000 + 8 * 256;
    const list2 = 0x401000;
    const pageOf = (i: number) => 0x500000 + i * PAGE;
    for (let i = 0; i < 255; i++) r.mem.write64(list1 + 8 * i, BigInt(pageOf(i)));
    r.mem.write64(0x400000 + 8 * 511, BigInt(list2));
    for (let i = 0; i < 256; i++) r.mem.write64(list2 + 8 * i, BigInt(pageOf(255 + i)));
    r.mem.fill(pageOf(510), PAGE, 0x77);
    const w = await r.io(q, { opc: R.NVME_OPC_WRITE, prp1: 0x300000, prp2: list1, cdw: [0, 0, 511] });
    expect(w.status).toBe(0);
    r.mem.fill(pageOf(510), PAGE, 0);
    const ok = await r.io(q, { opc: R.NVME_OPC_READ, prp1: 0x300000, prp2: list1, cdw: [0, 0, 511] });
    expect(ok.status).toBe(0);
    expect(r.mem.read8(pageOf(510))).toBe(0x77);
    // A chain entry pointing back at its own list: the walk still ends (every entry it
    // takes consumes a page of the bounded transfer).
    r.mem.write64(0x400000 + 8 * 511, BigInt(0x400000));
    const loop = await r.io(q, { opc: R.NVME_OPC_READ, prp1: 0x300000, prp2: list1, cdw: [0, 0, 511] });
    expect(loop.status).toBe(0);
    // A chain entry that is not page aligned is refused.
    r.mem.write64(0x400000 + 8 * 511, BigInt(list2 + 8));
    expect((await r.io(q, { opc: R.NVME_OPC_READ, prp1: 0x300000, prp2: list1, cdw: [0, 0, 511] })).sc).toBe(R.NVME_SC_INVALID_PRP_OFFSET);
  });

  it('keeps completions for a full CQ until the host frees slots, without fetching more', async () => {
    const r = rig(new RamBackend(4));
    await ready(r);
    const q = await r.createPair(1, 4); // CQ holds 3 entries at most
    const sqSlots = 4;
    for (let i = 0; i < sqSlots - 1; i++) r.place(q, { opc: R.NVME_OPC_FLUSH, cid: 200 + i, nsid: 1 });
    r.ring(q);
    await r.nvme.idle();
    // Two more after the CQ filled.
    r.place(q, { opc: R.NVME_OPC_FLUSH, cid: 210, nsid: 1 });
    r.place(q, { opc: R.NVME_OPC_FLUSH, cid: 211, nsid: 1 });
    r.ring(q);
    await r.nvme.idle();
    const first = r.reap(q);
    expect(first.map((c) => c.cid)).toEqual([200, 201, 202]);
    await r.nvme.idle();
    await new Promise((res) => setImmediate(res));
    const second = r.reap(q);
    expect(second.map((c) => c.cid).sort()).toEqual([210, 211]);
  });

  it('ignores doorbells beyond the queue or for missing queues (no hang)', async () => {
    const r = rig(new RamBackend(4));
    await ready(r);
    const q = await r.createPair(1, 8);
    r.set(R.NVME_DOORBELL_OFFSET + 8, 8); // tail == size
    r.set(R.NVME_DOORBELL_OFFSET + 8, 0xffff);
    r.set(R.NVME_DOORBELL_OFFSET + 8 * 2, 1); // SQ 2 does not exist
    r.set(R.NVME_DOORBELL_OFFSET + 8 * 5, 1); // past the last queue
    r.set(R.NVME_DOORBELL_OFFSET + 8 + 4, 9); // CQ head beyond the queue
    await r.nvme.idle();
    expect(r.log.messages.join('\n')).toMatch(/tail 8 beyond its 8 entries/);
    expect(r.log.messages.join('\n')).toMatch(/submission queue 2, which does not exist/);
    expect(r.log.messages.join('\n')).toMatch(/beyond the last queue/);
    expect(r.log.messages.join('\n')).toMatch(/head 9 beyond/);
    expect((await r.io(q, { opc: R.NVME_OPC_FLUSH })).status).toBe(0);
  });

  it('limits in-flight I/O to ioslots and still completes everything', async () => {
    const r = rig(new RamBackend(4), { ioSlots: 1 });
    await ready(r);
    const q = await r.createPair(1, 16);
    for (let i = 0; i < 6; i++) r.place(q, { opc: R.NVME_OPC_WRITE, cid: 300 + i, nsid: 1, prp1: DATA, cdw: [i, 0, 0] });
    r.ring(q);
    expect(r.nvme.inFlight).toBe(1);
    await r.nvme.idle();
    await r.nvme.idle();
    expect(r.reap(q).map((c) => c.cid)).toEqual([300, 301, 302, 303, 304, 305]);
  });

  it('deallocates ranges (DSM) and writes zeroes on a RAM namespace', async () => {
    const ram = new RamBackend(4);
    const r = rig(ram);
    await ready(r);
    const q = await r.createPair(1);
    const id = await r.adminCmd({ opc: R.NVME_OPC_IDENTIFY, prp1: DATA, cdw: [R.NVME_CNS_CONTROLLER] });
    expect(id.status).toBe(0);
    expect(r.mem.read16(DATA + 520) & 4).toBe(4);
    r.mem.fill(DATA, 4 * PAGE, 0x5a);
    expect((await r.io(q, { opc: R.NVME_OPC_WRITE, prp1: DATA, prp2: DATA + PAGE, cdw: [10, 0, 1] })).status).toBe(0);
    expect((await r.io(q, { opc: R.NVME_OPC_WRITE, prp1: DATA, prp2: DATA + PAGE, cdw: [20, 0, 1] })).status).toBe(0);
    // Two ranges: LBA 10 (1 block) and LBA 21 (1 block).
    const ranges = 0x80000;
    r.mem.write32(ranges + 4, 1);
    r.mem.write64(ranges + 8, 10n);
    r.mem.write32(ranges + 16 + 4, 1);
    r.mem.write64(ranges + 16 + 8, 21n);
    const dsm = await r.io(q, { opc: R.NVME_OPC_DATASET_MANAGEMENT, prp1: ranges, cdw: [1, R.NVME_DSM_ATTR_DEALLOCATE] });
    expect(dsm.status).toBe(0);
    const back = async (lba: number) => {
      r.mem.fill(0x300000, PAGE, 0xee);
      expect((await r.io(q, { opc: R.NVME_OPC_READ, prp1: 0x300000, cdw: [lba, 0, 0] })).status).toBe(0);
      return r.mem.read8(0x300000);
    };
    expect([await back(10), await back(11), await back(20), await back(21)]).toEqual([0, 0x5a, 0x5a, 0]);
    const wz = await r.io(q, { opc: R.NVME_OPC_WRITE_ZEROES, cdw: [11, 0, 0] });
    expect(wz.status).toBe(0);
    expect(await back(11)).toBe(0);
    r.mem.write64(ranges + 8, 5000n);
    expect((await r.io(q, { opc: R.NVME_OPC_DATASET_MANAGEMENT, prp1: ranges, cdw: [1, R.NVME_DSM_ATTR_DEALLOCATE] })).sc).toBe(R.NVME_SC_LBA_OUT_OF_RANGE);
    // Format NVM erases everything.
    expect((await r.adminCmd({ opc: R.NVME_OPC_FORMAT_NVM, cdw: [0] })).status).toBe(0);
    expect(await back(20)).toBe(0);
    expect(ram.allocated).toBe(0);
  });

  it('refuses DSM when disabled and writes on read-only backends', async () => {
    const { path, backend } = await fileDisk(1 << 20);
    await backend.close();
    const ro = await RawFileBackend.open(path, { readOnly: true });
    const r = rig(ro, { dsm: 'disable' });
    await ready(r);
    const q = await r.createPair(1);
    expect((await r.io(q, { opc: R.NVME_OPC_DATASET_MANAGEMENT, prp1: DATA, cdw: [0, 4] })).sc).toBe(R.NVME_SC_INVALID_OPCODE);
    expect((await r.io(q, { opc: R.NVME_OPC_WRITE, prp1: DATA, cdw: [0, 0, 0] })).sc).toBe(R.NVME_SC_NAMESPACE_IS_WRITE_PROTECTED);
    expect((await r.io(q, { opc: R.NVME_OPC_READ, prp1: DATA, cdw: [3, 0, 0] })).status).toBe(0);
    expect(r.mem.read32(DATA)).toBe(3);
    await ro.close();
  });

  it('drops completions of commands in flight across a controller reset', async () => {
    const { backend } = await fileDisk(1 << 20);
    const r = rig(backend);
    await ready(r);
    const q = await r.createPair(1);
    r.mem.fill(0x30000, 4096, 0); // CQ
    r.place(q, { opc: R.NVME_OPC_READ, cid: 5, nsid: 1, prp1: DATA, cdw: [0, 0, 0] });
    r.ring(q);
    r.set(R.NVME_CR_CC, 0);
    expect(r.reg(R.NVME_CR_CSTS)).toBe(0);
    r.set(R.NVME_CR_CC, 1);
    // Not ready while the old read is pending.
    expect(r.reg(R.NVME_CR_CSTS) & 1).toBe(0);
    await r.nvme.idle();
    expect(r.mem.read32(0x30000 + 12)).toBe(0); // nothing posted
    // RDY comes once the earlier I/O drained (reported on the next register read).
    expect(r.reg(R.NVME_CR_CSTS) & 1).toBe(1);
    await backend.close();
  });
});
