/**
 * A tiny NVMe host driver for tests: builds an NvmeController on a small PCI world,
 * brings it up through its BAR exactly as a guest driver would (AQA/ASQ/ACQ, CC.EN),
 * places submission entries, rings doorbells and reads completions by phase tag.
 * Hostile tests write raw entries and registers directly.
 */
import type { BlockBackend } from '../../../src/emulator/backends/block/backend.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { NvmeController, type NvmeOptions } from '../../../src/emulator/nvme/device.js';
import * as R from '../../../src/emulator/nvme/regs.js';
import { pciWorld } from '../pci/helpers.js';
import { makeMemory } from '../virtio/driver.js';

export const ASQ = 0x10000;
export const ACQ = 0x11000;
export const IOSQ = 0x20000;
export const IOCQ = 0x30000;
export const DATA = 0x100000;

export interface Cqe {
  cdw0: number;
  sqhd: number;
  sqid: number;
  cid: number;
  status: number;
  sc: number;
  sct: number;
  dnr: boolean;
}

export class HostQueue {
  tail = 0;
  head = 0;
  phase = 1;
  constructor(
    readonly id: number,
    readonly sqBase: number,
    readonly cqBase: number,
    readonly size: number,
  ) {}
}

export function rig(backend: BlockBackend, opts: Partial<NvmeOptions> = {}) {
  const w = pciWorld();
  const mem = makeMemory(8 << 20);
  const log = new CollectingLogger();
  const fn = w.host.createFunction(0, 4, 0, 'nvme');
  const nvme = new NvmeController(
    fn,
    mem,
    backend,
    {
      maxQueues: 4,
      maxEntries: 64,
      ioSlots: 8,
      sectorSize: backend.sectorSize,
      serial: 'TESTSERIAL',
      eui64: 0x589cfc2012340001n,
      dsm: 'auto',
      subnqn: 'nqn.2013-12.org.freebsd:bhyve-vm-0-4-0',
      ...opts,
    },
    log,
  );
  w.host.assignResources();
  const bar = fn.bars[0]!.addr;
  const reg = (off: number) => w.mmio.read(bar + off, 4);
  const set = (off: number, v: number, size = 4) => w.mmio.write(bar + off, size, v >>> 0);
  const admin = new HostQueue(0, ASQ, ACQ, 16);
  const queues = new Map<number, HostQueue>([[0, admin]]);

  const enable = () => {
    set(R.NVME_CR_AQA, ((admin.size - 1) << 16) | (admin.size - 1));
    set(R.NVME_CR_ASQ_LOW, ASQ);
    set(R.NVME_CR_ASQ_HI, 0);
    set(R.NVME_CR_ACQ_LOW, ACQ);
    set(R.NVME_CR_ACQ_HI, 0);
    set(R.NVME_CR_CC, R.NVME_CC_REG_EN | (6 << 16) | (4 << 20));
  };

  /** Writes a 64-byte command at the queue's tail (not rung). */
  const place = (q: HostQueue, c: { opc: number; cid: number; nsid?: number; prp1?: number; prp2?: number; cdw?: number[] }) => {
    const at = q.sqBase + q.tail * 64;
    mem.fill(at, 64);
    mem.write32(at, c.opc | (c.cid << 16));
    mem.write32(at + 4, c.nsid ?? 0);
    mem.write64(at + 24, BigInt(c.prp1 ?? 0));
    mem.write64(at + 32, BigInt(c.prp2 ?? 0));
    (c.cdw ?? []).forEach((v, i) => mem.write32(at + 40 + 4 * i, v >>> 0));
    q.tail = (q.tail + 1) % q.size;
  };
  const ring = (q: HostQueue) => set(R.NVME_DOORBELL_OFFSET + 8 * q.id, q.tail);
  /** Completions with the current phase, consumed (head doorbell rung when `ack`). */
  const reap = (q: HostQueue, ack = true): Cqe[] => {
    const out: Cqe[] = [];
    for (;;) {
      const at = q.cqBase + q.head * 16;
      const dw3 = mem.read32(at + 12);
      const st = dw3 >>> 16;
      if ((st & 1) !== q.phase) break;
      const dw2 = mem.read32(at + 8);
      out.push({
        cdw0: mem.read32(at),
        sqhd: dw2 & 0xffff,
        sqid: dw2 >>> 16,
        cid: dw3 & 0xffff,
        status: st & ~1,
        sc: (st >>> 1) & 0xff,
        sct: (st >>> 9) & 7,
        dnr: (st & 0x8000) !== 0,
      });
      q.head = (q.head + 1) % q.size;
      if (q.head === 0) q.phase ^= 1;
    }
    if (ack && out.length) set(R.NVME_DOORBELL_OFFSET + 8 * q.id + 4, q.head);
    return out;
  };
  let cid = 1;
  /** Submits one command, waits for the device, returns its completion. */
  const cmd = async (q: HostQueue, c: { opc: number; nsid?: number; prp1?: number; prp2?: number; cdw?: number[] }): Promise<Cqe> => {
    const id = cid++ & 0xffff;
    place(q, { ...c, cid: id });
    ring(q);
    await nvme.idle();
    const done = reap(q);
    const mine = done.find((e) => e.cid === id);
    if (!mine) throw new Error(`no completion for cid ${id} (got ${JSON.stringify(done)})`);
    return mine;
  };
  const adminCmd = (c: Parameters<typeof cmd>[1]) => cmd(admin, c);
  /** Sets the queue count and creates I/O queue pair `id` (vector = id). */
  const createPair = async (id: number, size = 16, opts: { vector?: number; ien?: boolean } = {}) => {
    const q = new HostQueue(id, IOSQ + (id - 1) * 0x2000, IOCQ + (id - 1) * 0x1000, size);
    const ien = opts.ien ?? true;
    const cq = await adminCmd({ opc: R.NVME_OPC_CREATE_IO_CQ, prp1: q.cqBase, cdw: [id | ((size - 1) << 16), 1 | (ien ? 2 : 0) | ((opts.vector ?? id) << 16)] });
    const sq = await adminCmd({ opc: R.NVME_OPC_CREATE_IO_SQ, prp1: q.sqBase, cdw: [id | ((size - 1) << 16), 1 | (id << 16)] });
    if (cq.status || sq.status) throw new Error(`queue creation failed: ${JSON.stringify([cq, sq])}`);
    queues.set(id, q);
    return q;
  };
  const io = (q: HostQueue, c: Parameters<typeof cmd>[1]) => cmd(q, { nsid: 1, ...c });
  /** MSI-X: enable in the capability and program vector `v` unmasked. */
  const enableMsix = (vectors: number) => {
    const cap = findCap(0x11);
    w.cfgWrite(0, 4, 0, cap + 2, 0x8000 | (vectors - 1), 2);
    const tbar = fn.bars[R.NVME_MSIX_BAR]!.addr;
    for (let v = 0; v < vectors; v++) {
      w.mmio.write(tbar + 16 * v, 4, 0xfee00000);
      w.mmio.write(tbar + 16 * v + 4, 4, 0);
      w.mmio.write(tbar + 16 * v + 8, 4, 0x40 + v);
      w.mmio.write(tbar + 16 * v + 12, 4, 0);
    }
  };
  const findCap = (id: number): number => {
    let p = w.cfgRead(0, 4, 0, 0x34) & 0xff;
    while (p) {
      const v = w.cfgRead(0, 4, 0, p);
      if ((v & 0xff) === id) return p;
      p = (v >> 8) & 0xff;
    }
    throw new Error(`no capability ${id}`);
  };
  return { w, mem, log, fn, nvme, reg, set, enable, admin, place, ring, reap, adminCmd, createPair, io, enableMsix, findCap, queues };
}
