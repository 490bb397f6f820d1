/**
 * The NVMe controller as a PCI function (bhyve pci_nvme.c; NVM Express 1.4 §3 registers,
 * §7.6 initialization and shutdown; bhyve-userland.md §6.8): FB5D:0A0A, class 01/08/02,
 * BAR0/1 64-bit registers + doorbells (max(0x1000 + 8 × (maxq + 1), 16 KiB)), MSI-X with
 * maxq + 1 vectors in BAR4, a PCIe root-complex integrated endpoint capability, and INTx.
 *
 * Register behaviour follows bhyve: CAP (MQES = qsz − 1, CQR, TO = 30 s, CSS NVM, 4 KiB
 * pages), VS 1.4, CC with EN/IOSQES/IOCQES always written and CSS/MPS/AMS only while
 * disabled, CSTS.RDY once enabled with no I/O of an earlier enable still pending, EN 1→0
 * resetting queues and asynchronous events. Register writes must be 4 bytes; doorbells
 * past the last queue, doorbells of queues that do not exist and doorbell values outside
 * the queue are ignored (logged once). Unlike bhyve: admin queues outside guest RAM set
 * CSTS.CFS instead of faulting later; a shutdown request (CC.SHN) flushes the backend
 * before CSTS.SHST reports completion; with MSI-X disabled, completions drive INTx
 * (level while an interrupt-enabled CQ holds unconsumed entries and INTMS bit 0 is clear).
 *
 * Commands are fetched when the SQ tail doorbell moves. Admin commands run at once (admin.ts);
 * I/O commands are parsed (request.ts) and run asynchronously on the block backend with
 * guest buffers passed as views; at most `ioslots` I/O commands are in flight, and
 * fetching from a queue pauses while its CQ has completions waiting for room. A reset
 * bumps a generation: completions of an earlier one never touch guest memory.
 * Called on every BAR access: no allocation on register reads or doorbell writes.
 * Doorbells are posted writes where the vmm offers them (pci/posted-writes.ts): aligned
 * 4-byte doorbell writes do not stop the vCPU and reach doorbell() later, in the vCPU's
 * order, with the same checks as a trapped write.
 */
import type { BlockBackend } from '../backends/block/backend.js';
import type { Logger } from '../log.js';
import { OnceLogger } from '../log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { BarPostedWrite } from '../pci/posted-writes.js';
import { PCIC_STORAGE, PCIEM_TYPE_ROOT_INT_EP } from '../pci/regs.js';
import { handleAdminCommand, type AdminHost, type AdminOutcome } from './admin.js';
import { NvmeFeatures } from './features.js';
import { identifyController, identifyNamespace } from './identify.js';
import { NvmeLogs } from './logs.js';
import { segmentViews } from './prp.js';
import { CompletionQueue, SubmissionQueue, type Completion, type NvmeCommand } from './queues.js';
import { parseIoCommand, status, type IoRequest, type NamespaceFacts } from './request.js';
import * as R from './regs.js';

export type DsmMode = 'auto' | 'enable' | 'disable';

export interface NvmeOptions {
  /** I/O queue pairs offered (maxq, 1..16). */
  maxQueues: number;
  /** Entries per queue (qsz, 2..65536). */
  maxEntries: number;
  /** Concurrent I/O requests (ioslots). */
  ioSlots: number;
  /** Logical block size (sectsz 512, 4096 or 8192; else the backend's, a power of two). */
  sectorSize: number;
  serial: string;
  eui64: bigint;
  dsm: DsmMode;
  subnqn: string;
}

const BAR_REGS = 0;
const MAX_AERS = 5; // AERL + 1
const AE_TYPE_MAX = 8;
const ZERO_CHUNK = 1 << 20;

interface PendingAen {
  info: number;
}

export class NvmeController implements PciDeviceOps, AdminHost {
  readonly features = new NvmeFeatures();
  readonly logs = new NvmeLogs();
  readonly maxEntries: number;
  readonly vectors: number;
  readonly maxVector: number;
  readonly eui64: bigint;
  private readonly ns: NamespaceFacts;
  private readonly ctrlId: Uint8Array;
  private readonly nsId: Uint8Array;
  private readonly capLo: number;
  private readonly capHi = 1 << R.NVME_CAP_HI_REG_CSS_NVM_SHIFT;
  private readonly once: OnceLogger;

  private cc = 0;
  private csts = 0;
  private aqa = 0;
  private asqLo = 0;
  private asqHi = 0;
  private acqLo = 0;
  private acqHi = 0;
  private intms = 0;

  private sqs: Array<SubmissionQueue | undefined>;
  private cqs: Array<CompletionQueue | undefined>;
  numSq: number;
  numCq: number;
  private numQSet = false;
  private generation = 0;
  /** I/O requests started and not yet completed (all generations). */
  inFlight = 0;
  private readonly aers: number[] = [];
  private readonly aens: Array<PendingAen | undefined> = new Array(AE_TYPE_MAX);
  private intxOn = false;
  private kicking = false;
  private readonly postedDoorbells: BarPostedWrite;

  constructor(
    readonly pci: PciFunction,
    readonly mem: GuestMemory,
    private readonly backend: BlockBackend,
    private readonly opts: NvmeOptions,
    private readonly log: Logger,
  ) {
    this.once = new OnceLogger(log);
    const { maxQueues: maxq, maxEntries } = opts;
    if (!Number.isInteger(maxq) || maxq < 1 || maxq > R.NVME_QUEUES) throw new RangeError(`nvme: maxq ${maxq} out of range`);
    if (!Number.isInteger(maxEntries) || maxEntries < 2 || maxEntries > 65536) throw new RangeError(`nvme: qsz ${maxEntries} out of range`);
    const ss = opts.sectorSize;
    if (!Number.isInteger(ss) || ss < 512 || ss > 65536 || (ss & (ss - 1)) !== 0) throw new RangeError(`nvme: sector size ${ss}`);
    this.maxEntries = maxEntries;
    this.vectors = maxq + 1;
    this.maxVector = maxq;
    this.numSq = this.numCq = maxq;
    this.sqs = new Array(maxq + 1);
    this.cqs = new Array(maxq + 1);
    this.eui64 = opts.eui64;
    const sectorBits = Math.log2(opts.sectorSize);
    const size = Math.floor(backend.size / opts.sectorSize) * opts.sectorSize;
    const dsmAdvertised = opts.dsm === 'enable' || (opts.dsm === 'auto' && backend.canDelete);
    this.ns = { size, sectorBits, readOnly: backend.readOnly, dsmAdvertised, canDeallocate: backend.canDelete };
    this.ctrlId = identifyController({ serial: opts.serial, dsm: dsmAdvertised, subnqn: opts.subnqn });
    this.nsId = identifyNamespace({ blocks: size / opts.sectorSize, lbads: sectorBits, eui64: opts.eui64, deallocate: dsmAdvertised && backend.canDelete });
    this.capLo = ((maxEntries - 1) & 0xffff) | (1 << R.NVME_CAP_LO_REG_CQR_SHIFT) | (60 << R.NVME_CAP_LO_REG_TO_SHIFT);

    pci.attach(this);
    pci.setIds({
      vendor: R.NVME_PCI_VENDOR,
      device: R.NVME_PCI_DEVICE,
      classCode: PCIC_STORAGE,
      subclass: R.PCIS_STORAGE_NVM,
      progIf: R.PCIP_STORAGE_NVM_ENTERPRISE_NVMHCI_1_0,
    });
    pci.allocBar(BAR_REGS, 'mem64', Math.max(R.NVME_DOORBELL_OFFSET + 8 * (maxq + 1), R.NVME_MMIO_SPACE_MIN));
    this.postedDoorbells = new BarPostedWrite(pci, BAR_REGS, R.NVME_DOORBELL_OFFSET, 8 * (maxq + 1), 4, (off, value) =>
      this.doorbell(off, value >>> 0),
    );
    pci.addMsixCapability(this.vectors, R.NVME_MSIX_BAR);
    pci.addPcieCapability(PCIEM_TYPE_ROOT_INT_EP);
    pci.requestIntx();
  }

  // ---- AdminHost ----

  sq(id: number): SubmissionQueue | undefined {
    return id >= 0 && id < this.sqs.length ? this.sqs[id] : undefined;
  }
  cq(id: number): CompletionQueue | undefined {
    return id >= 0 && id < this.cqs.length ? this.cqs[id] : undefined;
  }
  createSq(id: number, base: number, size: number, cqid: number): void {
    this.sqs[id] = new SubmissionQueue(id, base, size, cqid);
  }
  createCq(id: number, base: number, size: number, ien: boolean, vector: number): void {
    this.cqs[id] = new CompletionQueue(id, base, size, ien, vector);
  }
  deleteSq(id: number): void {
    this.sqs[id] = undefined;
  }
  deleteCq(id: number): void {
    this.cqs[id] = undefined;
    this.updateIntx();
  }
  addAer(cid: number): boolean {
    if (this.aers.length >= MAX_AERS) return false;
    this.aers.push(cid);
    queueMicrotask(() => this.processAens());
    return true;
  }
  identifyController(): Uint8Array {
    return this.ctrlId;
  }
  identifyNamespace(): Uint8Array {
    return this.nsId;
  }
  setNumberOfQueues(nsq: number, ncq: number): { nsq: number; ncq: number } | undefined {
    if (this.numQSet) return undefined;
    this.numQSet = true;
    this.numSq = Math.min(nsq, this.opts.maxQueues);
    this.numCq = Math.min(ncq, this.opts.maxQueues);
    return { nsq: this.numSq, ncq: this.numCq };
  }
  vectorInUse(iv: number): boolean {
    return this.cqs.some((c) => c?.vector === iv);
  }
  temperatureWarning(on: boolean): void {
    if (on) this.logs.criticalWarning |= R.NVME_CRIT_WARN_ST_TEMPERATURE;
    else this.logs.criticalWarning &= ~R.NVME_CRIT_WARN_ST_TEMPERATURE;
    if (on) this.postAen(R.NVME_AE_TYPE_SMART, this.logs.criticalWarning);
  }
  async format(): Promise<boolean> {
    if (!this.backend.canDelete || this.backend.readOnly) return false;
    try {
      await this.backend.discard(0, this.ns.size);
      return true;
    } catch (e) {
      this.log.warn(`${this.pci.name}: format: ${(e as Error).message}`);
      return false;
    }
  }

  // ---- asynchronous events (bhyve pci_nvme_aen_*) ----

  private postAen(type: number, info: number): void {
    if (this.aens[type]) return;
    this.aens[type] = { info };
    this.processAens();
  }

  private processAens(): void {
    const acq = this.cqs[0];
    if (!acq || !(this.cc & R.NVME_CC_REG_EN)) return;
    const mask = this.features.aenMask;
    for (let type = 0; type < AE_TYPE_MAX && this.aers.length > 0; type++) {
      const aen = this.aens[type];
      if (!aen) continue;
      let lid: number;
      if (type === R.NVME_AE_TYPE_SMART) {
        if ((mask & 0xff & aen.info) === 0) continue;
        lid = R.NVME_LOG_HEALTH_INFORMATION;
      } else if (type === R.NVME_AE_TYPE_NOTICE) {
        if ((mask & (1 << (aen.info + 8))) === 0) continue;
        lid = R.NVME_LOG_CHANGED_NAMESPACE;
      } else continue;
      const cid = this.aers.shift()!;
      this.aens[type] = undefined;
      this.post(acq, { cdw0: (lid << 16) | (aen.info << 8) | type, sqid: 0, sqhd: this.sqs[0]?.head ?? 0, cid, status: 0 });
      this.interrupt(acq);
    }
  }

  // ---- registers ----

  private readReg32(off: number): number {
    switch (off) {
      case R.NVME_CR_CAP_LOW:
        return this.capLo >>> 0;
      case R.NVME_CR_CAP_HI:
        return this.capHi;
      case R.NVME_CR_VS:
        return R.NVME_VS_1_4;
      case R.NVME_CR_INTMS:
      case R.NVME_CR_INTMC:
        return this.intms;
      case R.NVME_CR_CC:
        return this.cc >>> 0;
      case R.NVME_CR_CSTS:
        return this.csts;
      case R.NVME_CR_AQA:
        return this.aqa >>> 0;
      case R.NVME_CR_ASQ_LOW:
        return this.asqLo;
      case R.NVME_CR_ASQ_HI:
        return this.asqHi;
      case R.NVME_CR_ACQ_LOW:
        return this.acqLo;
      case R.NVME_CR_ACQ_HI:
        return this.acqHi;
      default:
        return 0;
    }
  }

  barMapped(bar: number, mapped: boolean, addr: number): void {
    this.postedDoorbells.barMapped(bar, mapped, addr);
  }

  /** Whether the doorbells are registered as posted write ranges (tests). */
  get doorbellsPosted(): boolean {
    return this.postedDoorbells.registered;
  }

  barRead(bar: number, offset: number, size: number): number {
    if (bar !== BAR_REGS || offset >= R.NVME_DOORBELL_OFFSET) return 0;
    const v = this.readReg32(offset & ~3) >>> (8 * (offset & 3));
    return size === 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (bar !== BAR_REGS) return;
    if (size !== 4 || offset & 3) {
      this.once.warn(`size@${offset}`, `${this.pci.name}: ignoring ${size}-byte register write at 0x${offset.toString(16)}`);
      return;
    }
    const v = value >>> 0;
    if (offset >= R.NVME_DOORBELL_OFFSET) {
      this.doorbell(offset - R.NVME_DOORBELL_OFFSET, v);
      return;
    }
    switch (offset) {
      case R.NVME_CR_INTMS:
        this.intms = (this.intms | v) >>> 0;
        this.updateIntx();
        break;
      case R.NVME_CR_INTMC:
        this.intms = (this.intms & ~v) >>> 0;
        this.updateIntx();
        break;
      case R.NVME_CR_CC:
        this.writeCc(v);
        break;
      case R.NVME_CR_AQA:
        this.aqa = v;
        break;
      case R.NVME_CR_ASQ_LOW:
        this.asqLo = (v & 0xfffff000) >>> 0;
        break;
      case R.NVME_CR_ASQ_HI:
        this.asqHi = v;
        break;
      case R.NVME_CR_ACQ_LOW:
        this.acqLo = (v & 0xfffff000) >>> 0;
        break;
      case R.NVME_CR_ACQ_HI:
        this.acqHi = v;
        break;
      default:
        break; // CAP, VS, CSTS, NSSR (no subsystem reset) are read-only or ignored
    }
  }

  private writeCc(v: number): void {
    const wasEnabled = (this.cc & R.NVME_CC_REG_EN) !== 0;
    const enable = (v & R.NVME_CC_REG_EN) !== 0;
    if (v & R.NVME_CC_SHN_MASK) this.shutdown();
    if (enable !== wasEnabled) {
      if (enable) this.initController();
      else this.reset();
    }
    this.cc = ((this.cc & ~R.NVME_CC_WRITE_MASK) | (v & R.NVME_CC_WRITE_MASK)) >>> 0;
    if (!enable) {
      this.cc = ((this.cc & ~R.NVME_CC_NEN_WRITE_MASK) | (v & R.NVME_CC_NEN_WRITE_MASK)) >>> 0;
      this.csts &= ~R.NVME_CSTS_RDY;
    } else this.maybeReady();
  }

  private maybeReady(): void {
    if (this.cc & R.NVME_CC_REG_EN && !(this.csts & R.NVME_CSTS_CFS) && this.inFlight === 0) this.csts |= R.NVME_CSTS_RDY;
  }

  /** CC.SHN: flush, then report shutdown complete (occurring meanwhile). */
  private shutdown(): void {
    this.csts = (this.csts & ~R.NVME_CSTS_SHST_MASK) | (1 << R.NVME_CSTS_SHST_SHIFT);
    const done = () => {
      this.csts = (this.csts & ~R.NVME_CSTS_SHST_MASK) | (R.NVME_SHST_COMPLETE << R.NVME_CSTS_SHST_SHIFT);
    };
    this.backend.flush().then(done, (e: unknown) => {
      this.log.warn(`${this.pci.name}: flush on shutdown: ${(e as Error).message}`);
      done();
    });
  }

  /** CC.EN 0→1: admin queues from AQA/ASQ/ACQ (pci_nvme_init_controller). */
  private initController(): void {
    const asqs = (this.aqa & R.NVME_AQA_ASQS_MASK) + 1;
    const acqs = ((this.aqa >>> R.NVME_AQA_ACQS_SHIFT) & R.NVME_AQA_ASQS_MASK) + 1;
    const asq = this.asqHi * 0x1_0000_0000 + this.asqLo;
    const acq = this.acqHi * 0x1_0000_0000 + this.acqLo;
    const bad = asqs < 2 || acqs < 2 || !this.mem.contains(asq, asqs * R.NVME_SQE_SIZE) || !this.mem.contains(acq, acqs * R.NVME_CQE_SIZE);
    if (bad) {
      this.log.warn(`${this.pci.name}: invalid admin queues (ASQ 0x${asq.toString(16)}×${asqs}, ACQ 0x${acq.toString(16)}×${acqs}); controller fatal status`);
      this.csts |= R.NVME_CSTS_CFS;
      return;
    }
    this.sqs[0] = new SubmissionQueue(0, asq, asqs, 0);
    this.cqs[0] = new CompletionQueue(0, acq, acqs, true, 0);
  }

  /** CC.EN 1→0 (pci_nvme_reset_locked). */
  private reset(): void {
    this.generation++;
    this.sqs.fill(undefined);
    this.cqs.fill(undefined);
    this.numSq = this.numCq = this.opts.maxQueues;
    this.numQSet = false;
    this.aers.length = 0;
    this.aens.fill(undefined);
    this.csts = 0;
    this.updateIntx();
  }

  // ---- doorbells ----

  private doorbell(belloff: number, value: number): void {
    if (belloff > (this.opts.maxQueues + 1) * 8 - 4) {
      this.once.warn('bell-range', `${this.pci.name}: doorbell write beyond the last queue (offset 0x${belloff.toString(16)})`);
      return;
    }
    if (!(this.csts & R.NVME_CSTS_RDY)) {
      this.once.warn('bell-not-ready', `${this.pci.name}: doorbell write while the controller is not ready`);
      return;
    }
    const idx = belloff >>> 3;
    const isSq = (belloff & 7) < 4;
    const v = value & 0xffff;
    if (isSq) {
      const q = this.sqs[idx];
      if (!q || (idx > 0 && idx > this.numSq)) {
        this.once.warn(`sq${idx}`, `${this.pci.name}: doorbell of submission queue ${idx}, which does not exist`);
        return;
      }
      if (!q.setTail(v)) {
        this.once.warn(`sqv${idx}`, `${this.pci.name}: submission queue ${idx} tail ${v} beyond its ${q.size} entries`);
        return;
      }
      this.kick();
    } else {
      const q = this.cqs[idx];
      if (!q) {
        this.once.warn(`cq${idx}`, `${this.pci.name}: doorbell of completion queue ${idx}, which does not exist`);
        return;
      }
      if (!q.setHead(v)) {
        this.once.warn(`cqv${idx}`, `${this.pci.name}: completion queue ${idx} head ${v} beyond its ${q.size} entries`);
        return;
      }
      if (q.drain(this.mem) > 0) this.interrupt(q);
      this.updateIntx();
      this.kick();
    }
  }

  /**
   * Fetches from every submission queue with work, admin first, as far as slots and CQ
   * room allow. Called after doorbells and completions; never re-entered.
   */
  private kick(): void {
    if (this.kicking) return;
    this.kicking = true;
    try {
      if (this.sqs[0]) this.processAdmin();
      for (let i = 1; i < this.sqs.length; i++) {
        const sq = this.sqs[i];
        if (sq) this.processIo(sq);
      }
    } finally {
      this.kicking = false;
    }
  }

  private processAdmin(): void {
    const sq = this.sqs[0]!;
    const cq = this.cqs[0]!;
    let fetched = false;
    while (!sq.empty && cq.overflow.length === 0 && this.sqs[0] === sq) {
      const cmd = sq.fetch(this.mem);
      fetched = true;
      let outcome: AdminOutcome;
      try {
        outcome = handleAdminCommand(this, cmd);
      } catch (e) {
        this.log.warn(`${this.pci.name}: admin command 0x${cmd.opc.toString(16)}: ${(e as Error).message}`);
        outcome = { status: status(R.NVME_SCT_GENERIC, R.NVME_SC_INTERNAL_DEVICE_ERROR), cdw0: 0 };
      }
      if (outcome === 'deferred') continue;
      if (outcome instanceof Promise) {
        const gen = this.generation;
        this.inFlight++;
        outcome.then((r) => {
          this.inFlight--;
          if (gen === this.generation && this.cqs[0] === cq) {
            this.post(cq, { cdw0: r.cdw0, sqid: 0, sqhd: sq.head, cid: cmd.cid, status: r.status });
            this.interrupt(cq);
          }
          this.maybeReady();
          this.kick();
        });
        continue;
      }
      this.post(cq, { cdw0: outcome.cdw0, sqid: 0, sqhd: sq.head, cid: cmd.cid, status: outcome.status });
    }
    if (fetched && this.cqs[0] === cq) this.interrupt(cq);
  }

  private processIo(sq: SubmissionQueue): void {
    const cq = this.cqs[sq.cqid];
    if (!cq) return;
    let posted = false;
    while (!sq.empty && this.inFlight < this.opts.ioSlots && cq.overflow.length === 0) {
      const cmd = sq.fetch(this.mem);
      const req = parseIoCommand(this.mem, cmd, this.ns);
      if (req.kind === 'done') {
        if (req.reason && req.status !== 0) this.once.warn(`io${req.status}`, `${this.pci.name}: I/O command 0x${cmd.opc.toString(16)}: ${req.reason}`);
        if (cmd.opc === R.NVME_OPC_READ || cmd.opc === R.NVME_OPC_WRITE) this.logs.account(cmd.opc === R.NVME_OPC_WRITE, 0, false);
        this.post(cq, { cdw0: 0, sqid: sq.id, sqhd: sq.head, cid: cmd.cid, status: req.status });
        posted = true;
        continue;
      }
      this.start(sq, cmd, req);
    }
    if (posted) this.interrupt(cq);
  }

  private start(sq: SubmissionQueue, cmd: NvmeCommand, req: Exclude<IoRequest, { kind: 'done' }>): void {
    const gen = this.generation;
    this.inFlight++;
    let op: Promise<unknown>;
    switch (req.kind) {
      case 'read':
        op = this.backend.read(req.offset, segmentViews(this.mem, req.segs)).then(() => {
          for (const s of req.segs) this.mem.written(s.addr, s.len);
        });
        break;
      case 'write':
        op = this.backend.write(req.offset, segmentViews(this.mem, req.segs));
        break;
      case 'flush':
        op = this.backend.flush();
        break;
      case 'write-zeroes':
        op = this.writeZeroes(req.offset, req.bytes);
        break;
      case 'deallocate':
        op = req.ranges.reduce<Promise<unknown>>((p, r) => p.then(() => this.backend.discard(r.offset, r.bytes)), Promise.resolve());
        break;
    }
    const finish = (sc: number) => {
      this.inFlight--;
      if (req.kind === 'read' || req.kind === 'write') this.logs.account(req.kind === 'write', req.bytes, sc === R.NVME_SC_SUCCESS);
      if (gen === this.generation && this.sqs[sq.id] === sq) {
        const cq = this.cqs[sq.cqid];
        if (cq) {
          this.post(cq, { cdw0: 0, sqid: sq.id, sqhd: sq.head, cid: cmd.cid, status: status(R.NVME_SCT_GENERIC, sc) });
          this.interrupt(cq);
        }
      }
      this.maybeReady();
      this.kick();
    };
    op.then(
      () => finish(R.NVME_SC_SUCCESS),
      (e: unknown) => {
        const kind = (e as { kind?: string }).kind;
        this.once.warn(`ioerr-${kind}`, `${this.pci.name}: ${req.kind}: ${(e as Error).message}`);
        finish(req.kind === 'flush' || req.kind === 'deallocate' ? R.NVME_SC_INTERNAL_DEVICE_ERROR : R.NVME_SC_DATA_TRANSFER_ERROR);
      },
    );
  }

  /** Write Zeroes: one shared zero buffer, written in 1 MiB pieces. */
  private async writeZeroes(offset: number, bytes: number): Promise<void> {
    const zero = new Uint8Array(Math.min(bytes, ZERO_CHUNK));
    for (let done = 0; done < bytes; done += zero.length) {
      const n = Math.min(zero.length, bytes - done);
      await this.backend.write(offset + done, [n === zero.length ? zero : zero.subarray(0, n)]);
    }
  }

  // ---- completions and interrupts ----

  private post(cq: CompletionQueue, c: Completion): void {
    cq.post(this.mem, c);
  }

  private interrupt(cq: CompletionQueue): void {
    if (!cq.ien || !cq.pending) return;
    if (this.pci.msixEnabled()) this.pci.generateMsix(cq.vector);
    else this.updateIntx();
  }

  /** Pin-based interrupt: asserted while an interrupt-enabled CQ holds entries and INTMS bit 0 is clear. */
  private updateIntx(): void {
    let want = false;
    if (!this.pci.msixEnabled() && !(this.intms & 1)) {
      for (const cq of this.cqs) {
        if (cq && cq.ien && cq.pending) {
          want = true;
          break;
        }
      }
    }
    if (want === this.intxOn) return;
    this.intxOn = want;
    if (want) this.pci.intxAssert();
    else this.pci.intxDeassert();
  }

  /** Resolves once no backend operation is in flight (tests, orderly shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise((r) => setImmediate(r));
  }
}
