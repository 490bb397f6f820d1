/**
 * The virtio PCI transport (Virtio 1.2 §4.1; bhyve virtio.c for the legacy 0.9.5
 * interface). One transport wraps one VirtioDevice and presents, per `transport` mode:
 *
 * - legacy: BAR0 I/O with bhyve's register layout (features, PFN, queue num/select/
 *   notify, status, ISR, MSI-X vectors, device config at 20 or 24);
 * - modern: vendor capabilities (common, notify, ISR, device config, PCI-config access)
 *   pointing into BAR4 (64-bit memory, 16 KiB), VIRTIO_F_VERSION_1 offered;
 * - transitional (default): both, with the legacy (0x1000+) device ID and subsystem ID
 *   = device type, so legacy drivers (bhyve guests) and current Linux (modern) both bind.
 *
 * Interrupts as bhyve: MSI-X table in BAR1 (queues + 1 vectors, unless virtio_msix=false),
 * one MSI message, and INTx (ISR bit, level, deasserted when ISR is read). Feature
 * negotiation drops bits the device never offered; a modern driver must accept
 * VERSION_1 for FEATURES_OK to stick. A queue or driver error sets NEEDS_RESET, raises
 * the configuration interrupt and silences the device until reset.
 * Register access allocates nothing except on status transitions.
 *
 * Queue notifications are posted writes where the vmm offers them (pci/posted-writes.ts):
 * the 2-byte legacy QUEUE_NOTIFY port and the 2-byte writes of the modern notify window
 * do not stop the vCPU; they reach notify() later, in the vCPU's order, with the same checks
 * as a trapped write (queue index validated, inactive or failed device ignores it).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Logger } from '../log.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { BarPostedWrite } from '../pci/posted-writes.js';
import { PCIY_VENDOR } from '../pci/regs.js';
import type { VirtioDevice, VirtioActivation } from './device.js';
import { Virtqueue, VirtqueueError } from './queue.js';
import * as V from './regs.js';

export type VirtioTransportMode = 'legacy' | 'modern' | 'transitional';

export interface VirtioPciOptions {
  mode: VirtioTransportMode;
  msix: boolean;
  memory: GuestMemory;
  log: Logger;
}

const BAR_LEGACY = 0;
const BAR_MSIX = 1;
const BAR_MODERN = 4;
const MODERN_BAR_SIZE = 0x4000;
const OFF_COMMON = 0x0000;
const OFF_ISR = 0x1000;
const OFF_DEVICE = 0x2000;
const OFF_NOTIFY = 0x3000;
const NOTIFY_MULTIPLIER = 4;

function roundPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const allOnes = (size: number) => (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);

export class VirtioPciTransport implements PciDeviceOps {
  readonly queues: Virtqueue[];
  private status = 0;
  private driverFeatures = 0n;
  private dfSelect = 0;
  private gfSelect = 0;
  private queueSel = 0;
  private configVector = V.VIRTIO_MSI_NO_VECTOR;
  private isr = 0;
  private configGeneration = 0;
  /** Whether the driver talks to the modern interface (decided by its first access). */
  private modernDriver = false;
  private active = false;
  private failed = false;
  private pciCfgCapOff = 0;
  private vendorCapStart = 0;
  private vendorCapEnd = 0;
  private readonly postedNotify: BarPostedWrite[] = [];

  constructor(
    readonly pci: PciFunction,
    readonly device: VirtioDevice,
    private readonly opts: VirtioPciOptions,
  ) {
    pci.attach(this);
    this.activation.memory = opts.memory;
    this.queues = device.queueSizes.map((s, i) => new Virtqueue(i, s));
    const legacy = opts.mode !== 'modern';
    const modern = opts.mode !== 'legacy';
    pci.setIds({
      vendor: V.VIRTIO_VENDOR,
      device: legacy ? V.TRANSITIONAL_DEVICE_ID[device.deviceType]! : V.MODERN_DEVICE_ID_BASE + device.deviceType,
      classCode: device.pciClass,
      revision: legacy ? 0 : 1,
      subVendor: V.VIRTIO_VENDOR,
      subDevice: device.deviceType,
    });
    if (opts.msix) pci.addMsixCapability(this.queues.length + 1, BAR_MSIX);
    pci.addMsiCapability(1);
    pci.requestIntx();
    if (legacy) pci.allocBar(BAR_LEGACY, 'io', roundPow2(V.VIRTIO_PCI_CONFIG_OFF_MSIX + device.configSize));
    if (modern) {
      pci.allocBar(BAR_MODERN, 'mem64', MODERN_BAR_SIZE);
      const cap = (type: number, offset: number, length: number, extra: number[] = []) => {
        const c = new Uint8Array(16 + extra.length * 4);
        const dv = new DataView(c.buffer);
        c[0] = PCIY_VENDOR;
        c[2] = c.length;
        c[3] = type;
        c[4] = type === V.VIRTIO_PCI_CAP_PCI_CFG ? 0 : BAR_MODERN;
        dv.setUint32(8, offset, true);
        dv.setUint32(12, length, true);
        extra.forEach((v, i) => dv.setUint32(16 + 4 * i, v, true));
        return pci.addCapability(c);
      };
      const first = cap(V.VIRTIO_PCI_CAP_COMMON_CFG, OFF_COMMON, V.COMMON_CFG_SIZE);
      cap(V.VIRTIO_PCI_CAP_NOTIFY_CFG, OFF_NOTIFY, NOTIFY_MULTIPLIER * this.queues.length, [NOTIFY_MULTIPLIER]);
      cap(V.VIRTIO_PCI_CAP_ISR_CFG, OFF_ISR, 1);
      cap(V.VIRTIO_PCI_CAP_DEVICE_CFG, OFF_DEVICE, Math.max(device.configSize, 1));
      this.pciCfgCapOff = cap(V.VIRTIO_PCI_CAP_PCI_CFG, 0, 0, [0]);
      this.vendorCapStart = first;
      this.vendorCapEnd = this.pciCfgCapOff + 20;
      // Drivers write the 16-bit queue index (no VIRTIO_F_NOTIFICATION_DATA offered).
      this.postedNotify.push(
        new BarPostedWrite(pci, BAR_MODERN, OFF_NOTIFY, NOTIFY_MULTIPLIER * this.queues.length, 2, (off) => {
          this.modernDriver = true;
          this.notify(Math.floor(off / NOTIFY_MULTIPLIER));
        }),
      );
    }
    if (legacy) {
      this.postedNotify.push(
        new BarPostedWrite(pci, BAR_LEGACY, V.VIRTIO_PCI_QUEUE_NOTIFY, 2, 2, (_off, value) => this.notify(value & 0xffff)),
      );
    }
  }

  /** Features the device offers through the interface in use. */
  private offered(modern: boolean): bigint {
    let f = this.device.features() | V.bit(V.VIRTIO_RING_F_INDIRECT_DESC);
    if (modern) f |= V.bit(V.VIRTIO_F_VERSION_1);
    return f;
  }

  // ---- interrupts ----

  private deliver(vector: number, isrBit: number): void {
    if (this.pci.msixEnabled()) {
      if (vector !== V.VIRTIO_MSI_NO_VECTOR) this.pci.generateMsix(vector);
    } else if (this.pci.msiEnabled()) {
      this.pci.generateMsi(0);
    } else {
      this.isr |= isrBit;
      this.pci.intxAssert();
    }
  }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.pci.intxDeassert();
    return v;
  }

  private readonly activation: VirtioActivation = {
    memory: undefined as unknown as GuestMemory, // set in the constructor
    queues: [],
    features: 0n,
    modern: false,
    notifyQueue: (q) => {
      if (!this.active || this.failed) return;
      if (q.shouldInterrupt()) this.deliver(q.msixVector, V.VIRTIO_PCI_ISR_INTR);
    },
    notifyConfig: () => this.configChanged(),
    fail: (reason) => this.fail(reason),
  };

  private configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    this.deliver(this.configVector, V.VIRTIO_PCI_ISR_CONFIG);
  }

  /** Marks the device broken by the driver: NEEDS_RESET, config interrupt, quiet. */
  fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.log.warn(`${this.pci.name}: ${reason}; device needs reset`);
    this.status |= V.VIRTIO_CONFIG_S_NEEDS_RESET;
    if (this.active) {
      this.active = false;
      this.device.reset();
    }
    this.configChanged();
  }

  // ---- status and lifecycle ----

  private resetDevice(): void {
    if (this.active) this.device.reset();
    this.active = false;
    this.failed = false;
    this.status = 0;
    this.driverFeatures = 0n;
    this.dfSelect = this.gfSelect = this.queueSel = 0;
    this.configVector = V.VIRTIO_MSI_NO_VECTOR;
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.pci.intxDeassert();
    this.modernDriver = false;
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.resetDevice();
      return;
    }
    let v = value & 0xff;
    if (this.modernDriver && v & V.VIRTIO_CONFIG_S_FEATURES_OK && !(this.status & V.VIRTIO_CONFIG_S_FEATURES_OK)) {
      const ok = (this.driverFeatures & ~this.offered(true)) === 0n && (this.driverFeatures & V.bit(V.VIRTIO_F_VERSION_1)) !== 0n;
      if (!ok) v &= ~V.VIRTIO_CONFIG_S_FEATURES_OK;
    }
    const becameOk = v & V.VIRTIO_CONFIG_S_DRIVER_OK && !(this.status & V.VIRTIO_CONFIG_S_DRIVER_OK);
    this.status = (this.status & V.VIRTIO_CONFIG_S_NEEDS_RESET) | v;
    if (becameOk && !this.failed) this.activate();
  }

  private activate(): void {
    const f = this.driverFeatures;
    const ringFeatures = { indirect: (f & V.bit(V.VIRTIO_RING_F_INDIRECT_DESC)) !== 0n, eventIdx: (f & V.bit(V.VIRTIO_RING_F_EVENT_IDX)) !== 0n };
    try {
      for (const q of this.queues) {
        if (!q.ready) continue;
        q.activate(this.opts.memory, ringFeatures);
        q.validateRings();
      }
    } catch (e) {
      if (e instanceof VirtqueueError) {
        this.fail(e.message);
        return;
      }
      throw e;
    }
    this.activation.queues = this.queues;
    this.activation.features = f;
    this.activation.modern = this.modernDriver;
    this.active = true;
    this.device.activate(this.activation);
  }

  private notify(index: number): void {
    if (!this.active || this.failed || index >= this.queues.length) return;
    if (!this.queues[index]!.active) return;
    try {
      this.device.queueNotify(index);
    } catch (e) {
      if (e instanceof VirtqueueError) this.fail(e.message);
      else throw e;
    }
  }

  // ---- legacy interface (BAR0) ----

  private legacyConfigOffset(): number {
    return this.pci.msixEnabled() ? V.VIRTIO_PCI_CONFIG_OFF_MSIX : V.VIRTIO_PCI_CONFIG_OFF_NOMSIX;
  }

  private legacyRead(off: number, size: number): number {
    const cfg = this.legacyConfigOffset();
    if (off >= cfg) return this.device.readConfig(off - cfg, size);
    const q = this.queues[this.queueSel];
    const want = (n: number, v: () => number) => (size === n ? v() : allOnes(size));
    switch (off) {
      case V.VIRTIO_PCI_HOST_FEATURES:
        return want(4, () => Number(this.offered(false) & 0xffffffffn));
      case V.VIRTIO_PCI_GUEST_FEATURES:
        return want(4, () => Number(this.driverFeatures & 0xffffffffn));
      case V.VIRTIO_PCI_QUEUE_PFN:
        return want(4, () => (q ? Math.floor(q.descAddr / 4096) : 0));
      case V.VIRTIO_PCI_QUEUE_NUM:
        return want(2, () => (q ? q.maxSize : 0));
      case V.VIRTIO_PCI_QUEUE_SEL:
        return want(2, () => this.queueSel);
      case V.VIRTIO_PCI_QUEUE_NOTIFY:
        return want(2, () => 0);
      case V.VIRTIO_PCI_STATUS:
        return want(1, () => this.status);
      case V.VIRTIO_PCI_ISR:
        return want(1, () => this.readIsr());
      case V.VIRTIO_MSI_CONFIG_VECTOR:
        return want(2, () => this.configVector);
      case V.VIRTIO_MSI_QUEUE_VECTOR:
        return want(2, () => (q ? q.msixVector : V.VIRTIO_MSI_NO_VECTOR));
      default:
        return allOnes(size);
    }
  }

  private legacyWrite(off: number, size: number, value: number): void {
    const cfg = this.legacyConfigOffset();
    if (off >= cfg) {
      this.device.writeConfig(off - cfg, size, value);
      return;
    }
    const q = this.queues[this.queueSel];
    const is = (n: number) => size === n;
    switch (off) {
      case V.VIRTIO_PCI_GUEST_FEATURES:
        if (is(4)) this.driverFeatures = BigInt(value >>> 0) & this.offered(false);
        break;
      case V.VIRTIO_PCI_QUEUE_PFN:
        if (is(4) && q) {
          q.setLegacyPfn(value >>> 0);
          if (this.active && q.ready) {
            try {
              const f = this.driverFeatures;
              q.activate(this.opts.memory, { indirect: (f & V.bit(V.VIRTIO_RING_F_INDIRECT_DESC)) !== 0n, eventIdx: (f & V.bit(V.VIRTIO_RING_F_EVENT_IDX)) !== 0n });
              q.validateRings();
            } catch (e) {
              if (e instanceof VirtqueueError) this.fail(e.message);
              else throw e;
            }
          }
        }
        break;
      case V.VIRTIO_PCI_QUEUE_SEL:
        if (is(2)) this.queueSel = value & 0xffff;
        break;
      case V.VIRTIO_PCI_QUEUE_NOTIFY:
        if (is(2)) this.notify(value & 0xffff);
        break;
      case V.VIRTIO_PCI_STATUS:
        if (is(1)) this.writeStatus(value);
        break;
      case V.VIRTIO_MSI_CONFIG_VECTOR:
        if (is(2)) this.configVector = this.validVector(value);
        break;
      case V.VIRTIO_MSI_QUEUE_VECTOR:
        if (is(2) && q) q.msixVector = this.validVector(value);
        break;
      default:
        break;
    }
  }

  private validVector(v: number): number {
    const n = this.pci.msixTable?.count ?? 0;
    return (v & 0xffff) < n ? v & 0xffff : V.VIRTIO_MSI_NO_VECTOR;
  }

  // ---- modern interface (BAR4) ----

  private commonRead(off: number, size: number): number {
    const q = this.queues[this.queueSel];
    const sized = (n: number, v: number) => (size === n ? v >>> 0 : allOnes(size));
    const lo = (a: number) => a % 0x1_0000_0000;
    const hi = (a: number) => Math.floor(a / 0x1_0000_0000);
    switch (off) {
      case V.COMMON_DFSELECT:
        return sized(4, this.dfSelect);
      case V.COMMON_DF: {
        const f = this.offered(true);
        return sized(4, this.dfSelect < 2 ? Number((f >> BigInt(32 * this.dfSelect)) & 0xffffffffn) : 0);
      }
      case V.COMMON_GFSELECT:
        return sized(4, this.gfSelect);
      case V.COMMON_GF:
        return sized(4, this.gfSelect < 2 ? Number((this.driverFeatures >> BigInt(32 * this.gfSelect)) & 0xffffffffn) : 0);
      case V.COMMON_MSIX:
        return sized(2, this.configVector);
      case V.COMMON_NUMQ:
        return sized(2, this.queues.length);
      case V.COMMON_STATUS:
        return sized(1, this.status);
      case V.COMMON_CFGGENERATION:
        return sized(1, this.configGeneration);
      case V.COMMON_Q_SELECT:
        return sized(2, this.queueSel);
      case V.COMMON_Q_SIZE:
        return sized(2, q ? q.size : 0);
      case V.COMMON_Q_MSIX:
        return sized(2, q ? q.msixVector : V.VIRTIO_MSI_NO_VECTOR);
      case V.COMMON_Q_ENABLE:
        return sized(2, q?.ready ? 1 : 0);
      case V.COMMON_Q_NOFF:
        return sized(2, q ? this.queueSel : 0);
      case V.COMMON_Q_DESCLO:
        return sized(4, q ? lo(q.descAddr) : 0);
      case V.COMMON_Q_DESCHI:
        return sized(4, q ? hi(q.descAddr) : 0);
      case V.COMMON_Q_AVAILLO:
        return sized(4, q ? lo(q.availAddr) : 0);
      case V.COMMON_Q_AVAILHI:
        return sized(4, q ? hi(q.availAddr) : 0);
      case V.COMMON_Q_USEDLO:
        return sized(4, q ? lo(q.usedAddr) : 0);
      case V.COMMON_Q_USEDHI:
        return sized(4, q ? hi(q.usedAddr) : 0);
      case V.COMMON_Q_NDATA:
        return sized(2, 0);
      case V.COMMON_Q_RESET:
        return sized(2, 0);
      default:
        return allOnes(size);
    }
  }

  private commonWrite(off: number, size: number, value: number): void {
    const q = this.queues[this.queueSel];
    const v = value >>> 0;
    // Queue addresses and size are frozen once the queue is enabled (§4.1.4.3.2).
    const qw = (n: number, f: (q: Virtqueue) => void) => {
      if (size === n && q && !q.ready) f(q);
    };
    // GPAs are kept below 2^53: higher dwords above 0x1FFFFF make the address invalid.
    const setHi = (a: number, h: number) => (h > 0x1fffff ? Number.MAX_SAFE_INTEGER : h * 0x1_0000_0000 + (a % 0x1_0000_0000));
    const setLo = (a: number, l: number) => Math.floor(a / 0x1_0000_0000) * 0x1_0000_0000 + l;
    switch (off) {
      case V.COMMON_DFSELECT:
        if (size === 4) this.dfSelect = v;
        break;
      case V.COMMON_GFSELECT:
        if (size === 4) this.gfSelect = v;
        break;
      case V.COMMON_GF:
        if (size === 4 && this.gfSelect < 2 && !(this.status & V.VIRTIO_CONFIG_S_FEATURES_OK)) {
          const shift = BigInt(32 * this.gfSelect);
          const mask = 0xffffffffn << shift;
          this.driverFeatures = ((this.driverFeatures & ~mask) | (BigInt(v) << shift)) & this.offered(true);
        }
        break;
      case V.COMMON_MSIX:
        if (size === 2) this.configVector = this.validVector(v);
        break;
      case V.COMMON_STATUS:
        if (size === 1) this.writeStatus(v);
        break;
      case V.COMMON_Q_SELECT:
        if (size === 2) this.queueSel = v & 0xffff;
        break;
      case V.COMMON_Q_SIZE:
        qw(2, (q) => (q.size = v & 0xffff));
        break;
      case V.COMMON_Q_MSIX:
        if (size === 2 && q) q.msixVector = this.validVector(v);
        break;
      case V.COMMON_Q_ENABLE:
        if (size === 2 && q && (v & 1) === 1 && !q.ready) this.enableModernQueue(q);
        break;
      case V.COMMON_Q_DESCLO:
        qw(4, (q) => (q.descAddr = setLo(q.descAddr, v)));
        break;
      case V.COMMON_Q_DESCHI:
        qw(4, (q) => (q.descAddr = setHi(q.descAddr, v)));
        break;
      case V.COMMON_Q_AVAILLO:
        qw(4, (q) => (q.availAddr = setLo(q.availAddr, v)));
        break;
      case V.COMMON_Q_AVAILHI:
        qw(4, (q) => (q.availAddr = setHi(q.availAddr, v)));
        break;
      case V.COMMON_Q_USEDLO:
        qw(4, (q) => (q.usedAddr = setLo(q.usedAddr, v)));
        break;
      case V.COMMON_Q_USEDHI:
        qw(4, (q) => (q.usedAddr = setHi(q.usedAddr, v)));
        break;
      default:
        break;
    }
  }

  private enableModernQueue(q: Virtqueue): void {
    const s = q.size;
    if (s < 1 || s > q.maxSize || (s & (s - 1)) !== 0) {
      this.fail(`queue ${q.index}: invalid size ${s} (maximum ${q.maxSize}, power of two)`);
      return;
    }
    q.ready = true;
    q.lastAvail = q.usedIdx = 0;
  }

  private modernRead(off: number, size: number): number {
    this.modernDriver = true;
    if (off >= OFF_COMMON && off < OFF_COMMON + V.COMMON_CFG_SIZE) return this.commonRead(off - OFF_COMMON, size);
    if (off === OFF_ISR) return size === 1 ? this.readIsr() : allOnes(size);
    if (off >= OFF_DEVICE && off < OFF_DEVICE + 0x1000) return this.device.readConfig(off - OFF_DEVICE, size);
    return 0;
  }

  private modernWrite(off: number, size: number, value: number): void {
    this.modernDriver = true;
    if (off >= OFF_COMMON && off < OFF_COMMON + V.COMMON_CFG_SIZE) this.commonWrite(off - OFF_COMMON, size, value);
    else if (off >= OFF_DEVICE && off < OFF_DEVICE + 0x1000) this.device.writeConfig(off - OFF_DEVICE, size, value);
    else if (off >= OFF_NOTIFY && off < OFF_NOTIFY + NOTIFY_MULTIPLIER * this.queues.length) {
      this.notify(Math.floor((off - OFF_NOTIFY) / NOTIFY_MULTIPLIER));
    }
  }

  // ---- PciDeviceOps ----

  barMapped(bar: number, mapped: boolean, addr: number): void {
    for (const p of this.postedNotify) p.barMapped(bar, mapped, addr);
  }

  /** Whether the notify window of `bar` is registered as a posted write range (tests). */
  notifyPosted(bar: number): boolean {
    return this.postedNotify.some((p) => p.bar === bar && p.registered);
  }

  barRead(bar: number, offset: number, size: number): number {
    if (bar === BAR_LEGACY && this.opts.mode !== 'modern') return this.legacyRead(offset, size);
    if (bar === BAR_MODERN && this.opts.mode !== 'legacy') return this.modernRead(offset, size);
    return allOnes(size);
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (bar === BAR_LEGACY && this.opts.mode !== 'modern') this.legacyWrite(offset, size, value);
    else if (bar === BAR_MODERN && this.opts.mode !== 'legacy') this.modernWrite(offset, size, value);
  }

  /** The VIRTIO_PCI_CAP_PCI_CFG window: pci_cfg_data accesses the BAR it names. */
  cfgRead(offset: number, size: number): number | undefined {
    const c = this.pciCfgCapOff;
    if (c && offset >= c + 16 && offset + size <= c + 20) {
      const bar = this.pci.cfg.get8(c + 4);
      const off = this.pci.cfg.get32(c + 8);
      const len = this.pci.cfg.get32(c + 12);
      if ((len === 1 || len === 2 || len === 4) && bar === BAR_MODERN) {
        const v = this.pci.barRead(bar, off, len);
        return (v >>> ((offset - (c + 16)) * 8)) & allOnes(size);
      }
      return 0;
    }
    return undefined;
  }

  cfgWrite(offset: number, size: number, value: number): boolean {
    const c = this.pciCfgCapOff;
    if (!c || offset < this.vendorCapStart || offset >= this.vendorCapEnd) return false;
    if (offset >= c + 16 && offset + size <= c + 20) {
      const bar = this.pci.cfg.get8(c + 4);
      const off = this.pci.cfg.get32(c + 8);
      const len = this.pci.cfg.get32(c + 12);
      if ((len === 1 || len === 2 || len === 4) && bar === BAR_MODERN && size === len) this.pci.barWrite(bar, off, len, value);
      return true;
    }
    // In the access capability only bar, offset and length are writable; the other
    // virtio capabilities are read-only.
    if (offset >= c + 4 && offset + size <= c + 16 && offset !== c + 5 && offset !== c + 6) {
      this.pci.cfg.set(offset, size, value);
    }
    return true;
  }
}
