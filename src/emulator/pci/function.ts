/**
 * One emulated PCI function: configuration-space semantics, BARs, MSI, MSI-X and INTx,
 * exactly as bhyve's pci_emul.c gives them to every device model (bhyve-userland.md §5.2,
 * §5.4). The device model supplies only its register behaviour (PciDeviceOps); this class
 * does everything generic:
 *
 * - reads: absent/unaligned/odd-size accesses are the host's business (host.ts); device
 *   cfgRead override, else stored bytes; header-type multifunction bit computed on read.
 * - writes: device cfgWrite override; BAR and ROM registers only as aligned dwords, with
 *   sizing (address masked by ~(size-1), type bits kept) and decode moves; capability
 *   writes through per-capability handlers (MSI: MME and enable; MSI-X: enable and
 *   function mask; ID/next read-only, a dword write at the ID trimmed to its upper half);
 *   Command/Status with read-only mask 0xFFFFF880, decode enables (un)registering BARs and
 *   INTx-disable re-evaluating a pending line.
 * - INTx: IDLE/ASSERTED/PENDING as pci_lintr_*: asserted only while permitted (no MSI,
 *   no MSI-X, INTx not disabled), pending otherwise.
 *
 * Devices never see their BAR addresses: the host maps BARs onto the buses and calls
 * barRead/barWrite with (bar index, offset, size). MSI-X table/PBA accesses are served
 * here before the device sees its BAR. Called on every config and BAR access of the guest:
 * no allocation on those paths.
 */
import type { InterruptLine, MsiSink } from '../irq/lines.js';
import { ConfigSpace } from './config-space.js';
import { MsixTable } from './msix.js';
import type { PostedWrites } from './posted-writes.js';
import {
  MSIX_TABLE_ENTRY_SIZE,
  PCIECAP_VERSION,
  PCIEM_TYPE_ENDPOINT,
  PCIEM_TYPE_ROOT_INT_EP,
  PCIM_BAR_IO_SPACE,
  PCIM_BAR_MEM_32,
  PCIM_BAR_MEM_64,
  PCIM_BAR_MEM_PREFETCH,
  PCIM_BIOS_ADDR_MASK,
  PCIM_BIOS_ENABLE,
  PCIM_CMD_BUSMASTEREN,
  PCIM_CMD_INTxDIS,
  PCIM_CMD_MEMEN,
  PCIM_CMD_PORTEN,
  PCIM_MFDEV,
  PCIM_MSICTRL_64BIT,
  PCIM_MSICTRL_MME_MASK,
  PCIM_MSICTRL_MSI_ENABLE,
  PCIM_MSIXCTRL_FUNCTION_MASK,
  PCIM_MSIXCTRL_MSIX_ENABLE,
  PCIM_MSIX_BIR_MASK,
  PCIM_STATUS_CAPPRESENT,
  PCIR_BAR,
  PCIR_BIOS,
  PCIR_CAP_PTR,
  PCIR_COMMAND,
  PCIR_HDRTYPE,
  PCIR_INTLINE,
  PCIR_INTPIN,
  PCIR_REVID,
  PCIR_STATUS,
  PCIY_EXPRESS,
  PCIY_MSI,
  PCIY_MSIX,
  PCI_BARMAX,
  PCI_REGMAX,
  PCI_ROM_IDX,
} from './regs.js';

export type BarType = 'none' | 'io' | 'mem32' | 'mem64' | 'memhi64' | 'rom';

export interface Bar {
  type: BarType;
  addr: number;
  size: number;
  lobits: number;
}

/** What a device model implements. */
export interface PciDeviceOps {
  barRead(bar: number, offset: number, size: number): number;
  barWrite(bar: number, offset: number, size: number, value: number): void;
  /** Overrides a config read; return undefined to use the stored bytes. */
  cfgRead?(offset: number, size: number): number | undefined;
  /** Overrides a config write; return true when handled. */
  cfgWrite?(offset: number, size: number, value: number): boolean;
  /** Called after a BAR was (un)mapped at `addr` (pe_baraddr). */
  barMapped?(bar: number, mapped: boolean, addr: number): void;
}

/** What the host provides to a function. */
export interface PciFunctionHost {
  mapBar(fn: PciFunction, idx: number): void;
  unmapBar(fn: PciFunction, idx: number): void;
  isMultiFunction(bus: number, slot: number): boolean;
  /** Reserves an INTx pin in the function's slot (pci_lintr_request); returns 1..4. */
  requestIntx(fn: PciFunction): number;
  /** Asserts/deasserts the routed INTx of a function. */
  intxLine(fn: PciFunction): InterruptLine;
  msi: MsiSink;
  /** The vmm's posted write ranges, when it has them (posted-writes.ts). */
  readonly postedWrites?: PostedWrites;
}

/** A BAR request collected until the host assigns addresses (largest first). */
export interface BarRequest {
  fn: PciFunction;
  idx: number;
  type: 'io' | 'mem32' | 'mem64' | 'rom';
  size: number;
}

const CAP_START_OFFSET = 0x40;
const enum Lintr {
  Idle,
  Asserted,
  Pending,
}

function roundPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class PciFunction {
  readonly cfg = new ConfigSpace();
  readonly bars: Bar[] = Array.from({ length: PCI_ROM_IDX + 1 }, () => ({ type: 'none', addr: 0, size: 0, lobits: 0 }));
  readonly barRequests: BarRequest[] = [];
  msixTable: MsixTable | undefined;
  private prevCap = 0;
  private capEnd = 0;
  private msiCapOff = 0;
  readonly msi = { enabled: false, addr: 0, data: 0, maxmsgnum: 0 };
  /** INTx pin 1..4 (0 = none), and the routing filled in by the host. */
  readonly lintr = { pin: 0, state: Lintr.Idle as Lintr, ioapicPin: 0, link: 0 };
  private line: InterruptLine | undefined;
  ops!: PciDeviceOps;
  readonly name: string;

  constructor(
    readonly host: PciFunctionHost,
    readonly bus: number,
    readonly slot: number,
    readonly func: number,
    model: string,
  ) {
    this.name = `${model}@pci.${bus}.${slot}.${func}`;
    // pci_emul_init: legacy interrupts disabled until requested, bus mastering on.
    this.cfg.set8(PCIR_INTLINE, 255);
    this.cfg.set8(PCIR_INTPIN, 0);
    this.cfg.set8(PCIR_COMMAND, PCIM_CMD_BUSMASTEREN);
  }

  /** Binds the device model (done by the model's constructor). */
  attach(ops: PciDeviceOps): void {
    this.ops = ops;
  }

  setIds(ids: { vendor: number; device: number; classCode: number; subclass?: number; progIf?: number; revision?: number; subVendor?: number; subDevice?: number }): void {
    this.cfg.set16(0x00, ids.vendor);
    this.cfg.set16(0x02, ids.device);
    this.cfg.set8(0x0b, ids.classCode);
    this.cfg.set8(0x0a, ids.subclass ?? 0);
    this.cfg.set8(0x09, ids.progIf ?? 0);
    this.cfg.set8(0x08, ids.revision ?? 0);
    this.cfg.set16(0x2c, ids.subVendor ?? 0);
    this.cfg.set16(0x2e, ids.subDevice ?? 0);
  }

  // ---- BAR allocation (pci_emul_alloc_bar) ----

  /** Requests a BAR; the address is assigned by the host after all functions are built. */
  allocBar(idx: number, type: 'io' | 'mem32' | 'mem64' | 'rom', size: number): void {
    if (type === 'rom' ? idx !== PCI_ROM_IDX : idx < 0 || idx > PCI_BARMAX || (type === 'mem64' && idx === PCI_BARMAX)) {
      throw new RangeError(`${this.name}: invalid BAR ${idx} for ${type}`);
    }
    let s = roundPow2(Math.max(1, size));
    if (type === 'io') s = Math.max(s, 4);
    else if (type === 'rom') s = Math.max(s, (~PCIM_BIOS_ADDR_MASK >>> 0) + 1);
    else s = Math.max(s, 16);
    this.barRequests.push({ fn: this, idx, type, size: s });
    const enbit = type === 'io' ? PCIM_CMD_PORTEN : type === 'rom' ? 0 : PCIM_CMD_MEMEN;
    this.cfg.set16(PCIR_COMMAND, this.cfg.get16(PCIR_COMMAND) | enbit);
  }

  /** pci_emul_assign_bar: called by the host with the address it chose. */
  assignBar(req: BarRequest, addr: number, prefetch64: boolean): void {
    const { idx, type, size } = req;
    let lobits: number;
    let mask: number;
    if (type === 'io') {
      lobits = PCIM_BAR_IO_SPACE;
      mask = 0xfffffffc;
    } else if (type === 'mem32') {
      lobits = PCIM_BAR_MEM_32;
      mask = 0xfffffff0;
    } else if (type === 'mem64') {
      lobits = PCIM_BAR_MEM_64 | (prefetch64 ? PCIM_BAR_MEM_PREFETCH : 0);
      mask = 0xfffffff0;
    } else {
      lobits = 0;
      mask = PCIM_BIOS_ADDR_MASK;
    }
    const bar = this.bars[idx]!;
    bar.type = type;
    bar.addr = addr;
    bar.size = size;
    bar.lobits = lobits;
    const lo = ((addr % 0x1_0000_0000) & mask) >>> 0;
    this.cfg.set32(type === 'rom' ? PCIR_BIOS : PCIR_BAR(idx), (lo | lobits) >>> 0);
    if (type === 'mem64') {
      const hi = this.bars[idx + 1]!;
      hi.type = 'memhi64';
      this.cfg.set32(PCIR_BAR(idx + 1), Math.floor(addr / 0x1_0000_0000));
    }
    if (type !== 'rom' && this.decodes(type)) this.host.mapBar(this, idx);
  }

  private decodes(type: BarType): boolean {
    const cmd = this.cfg.get16(PCIR_COMMAND);
    if (type === 'io') return (cmd & PCIM_CMD_PORTEN) !== 0;
    if (type === 'mem32' || type === 'mem64') return (cmd & PCIM_CMD_MEMEN) !== 0;
    if (type === 'rom') return (cmd & PCIM_CMD_MEMEN) !== 0 && (this.bars[PCI_ROM_IDX]!.lobits & PCIM_BIOS_ENABLE) !== 0;
    return false;
  }

  /** Whether BAR `idx` currently decodes (is mapped on its bus). */
  barDecodes(idx: number): boolean {
    return this.decodes(this.bars[idx]!.type);
  }

  // ---- capabilities (pci_emul_add_capability and friends) ----

  /** Appends a capability; returns its offset. */
  addCapability(data: Uint8Array): number {
    const reallen = (data.length + 3) & ~3;
    const sts = this.cfg.get16(PCIR_STATUS);
    const capoff = (sts & PCIM_STATUS_CAPPRESENT) === 0 ? CAP_START_OFFSET : this.capEnd + 1;
    if (capoff + reallen > PCI_REGMAX + 1) throw new RangeError(`${this.name}: no room for capability 0x${data[0]!.toString(16)}`);
    if ((sts & PCIM_STATUS_CAPPRESENT) === 0) {
      this.cfg.set8(PCIR_CAP_PTR, capoff);
      this.cfg.set16(PCIR_STATUS, sts | PCIM_STATUS_CAPPRESENT);
    } else {
      this.cfg.set8(this.prevCap + 1, capoff);
    }
    this.cfg.bytes.set(data, capoff);
    this.cfg.set8(capoff + 1, 0);
    this.prevCap = capoff;
    this.capEnd = capoff + reallen - 1;
    return capoff;
  }

  /** MSI capability, 64-bit address format, `msgnum` messages (power of two, 1..32). */
  addMsiCapability(msgnum: number): number {
    if (![1, 2, 4, 8, 16, 32].includes(msgnum)) throw new RangeError(`MSI message count ${msgnum}`);
    const mmc = Math.log2(msgnum);
    const cap = new Uint8Array(14);
    cap[0] = PCIY_MSI;
    const ctrl = PCIM_MSICTRL_64BIT | (mmc << 1);
    cap[2] = ctrl & 0xff;
    cap[3] = ctrl >> 8;
    this.msiCapOff = this.addCapability(cap);
    return this.msiCapOff;
  }

  /** MSI-X capability with its table and PBA in BAR `bar` (a MEM32 BAR sized for them). */
  addMsixCapability(msgnum: number, bar: number): number {
    const t = new MsixTable(msgnum, bar);
    this.msixTable = t;
    const cap = new Uint8Array(12);
    cap[0] = PCIY_MSIX;
    const ctrl = msgnum - 1;
    cap[2] = ctrl & 0xff;
    cap[3] = ctrl >> 8;
    new DataView(cap.buffer).setUint32(4, bar & PCIM_MSIX_BIR_MASK, true);
    new DataView(cap.buffer).setUint32(8, (t.pbaOffset | (bar & PCIM_MSIX_BIR_MASK)) >>> 0, true);
    this.allocBar(bar, 'mem32', t.barSize);
    return this.addCapability(cap);
  }

  /** PCIe capability v2; endpoints on bus 0 become root-complex integrated endpoints. */
  addPcieCapability(type: number): number {
    let t = type;
    if (t === PCIEM_TYPE_ENDPOINT && this.bus === 0) t = PCIEM_TYPE_ROOT_INT_EP;
    const cap = new Uint8Array(60);
    const dv = new DataView(cap.buffer);
    cap[0] = PCIY_EXPRESS;
    dv.setUint16(2, PCIECAP_VERSION | t, true);
    if (t !== PCIEM_TYPE_ROOT_INT_EP) {
      dv.setUint32(12, 0x411, true); // link capabilities: gen1, x1
      dv.setUint16(18, 0x11, true); // link status: gen1, x1
    }
    return this.addCapability(cap);
  }

  private isCap(off: number): boolean {
    return (this.cfg.get16(PCIR_STATUS) & PCIM_STATUS_CAPPRESENT) !== 0 && off >= CAP_START_OFFSET && off <= this.capEnd;
  }

  // ---- interrupts ----

  /** pci_lintr_request: this function uses INTx. */
  requestIntx(): void {
    this.lintr.pin = this.host.requestIntx(this);
    this.cfg.set8(PCIR_INTPIN, this.lintr.pin);
  }

  /** Called by the host once routing is known. */
  setIntxRoute(ioapicPin: number, link: number, isaIrq: number): void {
    this.lintr.ioapicPin = ioapicPin;
    this.lintr.link = link;
    this.cfg.set8(PCIR_INTLINE, isaIrq);
  }

  private lintrPermitted(): boolean {
    return !(this.msi.enabled || (this.msixTable?.enabled ?? false) || (this.cfg.get16(PCIR_COMMAND) & PCIM_CMD_INTxDIS) !== 0);
  }

  private intx(): InterruptLine {
    return (this.line ??= this.host.intxLine(this));
  }

  intxAssert(): void {
    if (this.lintr.pin === 0) throw new Error(`${this.name}: INTx asserted without a pin`);
    if (this.lintr.state !== Lintr.Idle) return;
    if (this.lintrPermitted()) {
      this.lintr.state = Lintr.Asserted;
      this.intx().assert();
    } else this.lintr.state = Lintr.Pending;
  }

  intxDeassert(): void {
    if (this.lintr.pin === 0) return;
    if (this.lintr.state === Lintr.Asserted) {
      this.lintr.state = Lintr.Idle;
      this.intx().deassert();
    } else if (this.lintr.state === Lintr.Pending) this.lintr.state = Lintr.Idle;
  }

  private lintrUpdate(): void {
    if (this.lintr.pin === 0) return;
    if (this.lintr.state === Lintr.Asserted && !this.lintrPermitted()) {
      this.intx().deassert();
      this.lintr.state = Lintr.Pending;
    } else if (this.lintr.state === Lintr.Pending && this.lintrPermitted()) {
      this.lintr.state = Lintr.Asserted;
      this.intx().assert();
    }
  }

  /** Whether INTx is currently driven (for tests and the ISR logic of devices). */
  get intxAsserted(): boolean {
    return this.lintr.state === Lintr.Asserted;
  }

  msiEnabled(): boolean {
    return this.msi.enabled;
  }

  msiMessages(): number {
    return this.msi.enabled ? this.msi.maxmsgnum : 0;
  }

  /** pci_msix_enabled: MSI-X on and plain MSI off. */
  msixEnabled(): boolean {
    return (this.msixTable?.enabled ?? false) && !this.msi.enabled;
  }

  /** pci_generate_msi. */
  generateMsi(index: number): void {
    if (this.msi.enabled && index < this.msi.maxmsgnum) this.host.msi.msi(this.msi.addr, (this.msi.data + index) & 0xffff);
  }

  /** pci_generate_msix (with pending-bit semantics while masked). */
  generateMsix(index: number): void {
    if (!this.msixEnabled()) return;
    this.msixTable!.raise(index, this.host.msi);
  }

  // ---- config access (the per-function part of pci_cfgrw) ----

  /** Config read of an aligned 1/2/4-byte access below 0x100. */
  cfgRead(coff: number, bytes: number): number {
    let v = this.ops.cfgRead?.(coff, bytes);
    if (v === undefined) v = this.cfg.get(coff, bytes);
    if (coff <= PCIR_HDRTYPE && coff + bytes > PCIR_HDRTYPE) {
      const shift = (PCIR_HDRTYPE - coff) * 8;
      v &= ~(PCIM_MFDEV << shift);
      if (this.host.isMultiFunction(this.bus, this.slot)) v |= PCIM_MFDEV << shift;
    }
    return v >>> 0;
  }

  /** Config write of an aligned 1/2/4-byte access below 0x100. */
  cfgWrite(coff: number, bytes: number, value: number): void {
    if (this.ops.cfgWrite?.(coff, bytes, value)) return;
    if ((coff >= PCIR_BAR(0) && coff < PCIR_BAR(PCI_BARMAX + 1)) || (coff >= PCIR_BIOS && coff < PCIR_BIOS + 4)) {
      if (bytes !== 4 || (coff & 3) !== 0) return;
      this.barRegisterWrite(coff, value >>> 0);
    } else if (this.isCap(coff)) {
      this.capWrite(coff, bytes, value);
    } else if (coff >= PCIR_COMMAND && coff < PCIR_REVID) {
      this.cmdStatusWrite(coff, bytes, value);
    } else {
      this.cfg.set(coff, bytes, value);
    }
  }

  private barRegisterWrite(coff: number, value: number): void {
    const idx = coff >= PCIR_BIOS ? PCI_ROM_IDX : (coff - PCIR_BAR(0)) / 4;
    const bar = this.bars[idx]!;
    let reg: number;
    switch (bar.type) {
      case 'none':
        bar.addr = 0;
        reg = 0;
        break;
      case 'io': {
        const addr = (value & ~(bar.size - 1)) & 0xffff;
        reg = (addr | bar.lobits) >>> 0;
        if (addr !== bar.addr) this.updateBarAddress(idx, addr);
        break;
      }
      case 'mem32': {
        const addr = (value & ~(bar.size - 1)) >>> 0;
        reg = (addr | bar.lobits) >>> 0;
        if (addr !== bar.addr) this.updateBarAddress(idx, addr);
        break;
      }
      case 'mem64': {
        // Low dword; sizes of 4 GiB or more have no writable low address bits.
        const lowMask = bar.size >= 0x1_0000_0000 ? 0 : ~(bar.size - 1) >>> 0;
        const addrLo = (value & lowMask) >>> 0;
        reg = (addrLo | bar.lobits) >>> 0;
        const hi = Math.floor(bar.addr / 0x1_0000_0000);
        if (addrLo !== bar.addr % 0x1_0000_0000) this.updateBarAddress(idx, hi * 0x1_0000_0000 + addrLo);
        break;
      }
      case 'memhi64': {
        const lo = this.bars[idx - 1]!;
        const hiMask = lo.size > 0x1_0000_0000 ? ~(lo.size / 0x1_0000_0000 - 1) >>> 0 : 0xffffffff;
        // The register keeps every writable bit (a driver sizing the BAR reads back all
        // ones, as on bhyve and hardware). GPAs are JavaScript numbers: an address at or
        // above 2^52 (beyond MAXPHYADDR, so no guest access can reach it) is decoded at an
        // equally unreachable address below 2^53 instead of aliasing a low one.
        reg = (value & hiMask) >>> 0;
        const hi = reg >= 0x100000 ? 0x100000 | (reg & 0xfffff) : reg;
        if (hi !== Math.floor(lo.addr / 0x1_0000_0000)) this.updateBarAddress(idx - 1, hi * 0x1_0000_0000 + (lo.addr % 0x1_0000_0000));
        break;
      }
      case 'rom': {
        const addr = (value & ~(bar.size - 1) & PCIM_BIOS_ADDR_MASK) >>> 0;
        const wasDecoding = this.decodes('rom');
        if (wasDecoding) this.host.unmapBar(this, idx);
        bar.addr = addr;
        bar.lobits = value & PCIM_BIOS_ENABLE;
        if (this.decodes('rom')) this.host.mapBar(this, idx);
        reg = (addr | bar.lobits) >>> 0;
        break;
      }
    }
    this.cfg.set32(coff, reg);
  }

  private updateBarAddress(idx: number, addr: number): void {
    const bar = this.bars[idx]!;
    const decode = this.decodes(bar.type);
    if (decode) this.host.unmapBar(this, idx);
    bar.addr = addr;
    if (decode) this.host.mapBar(this, idx);
  }

  private cmdStatusWrite(coff: number, bytes: number, value: number): void {
    const oldCmd = this.cfg.get16(PCIR_COMMAND);
    const rshift = (coff & 3) * 8;
    const readonly = (0xfffff880 >>> rshift) >>> 0;
    const old = this.cfg.get(coff, bytes);
    const v = ((value & ~readonly) | (old & readonly)) >>> 0;
    this.cfg.set(coff, bytes, v);
    this.cmdChanged(oldCmd);
  }

  /** pci_emul_cmd_changed: (un)maps BARs when decode enables change, re-evaluates INTx. */
  private cmdChanged(oldCmd: number): void {
    const cmd = this.cfg.get16(PCIR_COMMAND);
    const changed = oldCmd ^ cmd;
    for (let i = 0; i <= PCI_ROM_IDX; i++) {
      const bar = this.bars[i]!;
      if (bar.type === 'io') {
        if (changed & PCIM_CMD_PORTEN) {
          if (cmd & PCIM_CMD_PORTEN) this.host.mapBar(this, i);
          else this.host.unmapBar(this, i);
        }
      } else if (bar.type === 'mem32' || bar.type === 'mem64' || (bar.type === 'rom' && (bar.lobits & PCIM_BIOS_ENABLE) !== 0)) {
        if (changed & PCIM_CMD_MEMEN) {
          if (cmd & PCIM_CMD_MEMEN) this.host.mapBar(this, i);
          else this.host.unmapBar(this, i);
        }
      }
    }
    this.lintrUpdate();
  }

  private capWrite(offset: number, bytes: number, value: number): void {
    if ((offset & (bytes - 1)) !== 0) return;
    let capoff = CAP_START_OFFSET;
    for (;;) {
      const next = this.cfg.get8(capoff + 1);
      if (next === 0 || (offset >= capoff && offset < next)) break;
      capoff = next;
    }
    const capid = this.cfg.get8(capoff);
    let off = offset;
    let n = bytes;
    let v = value >>> 0;
    if (off === capoff || off === capoff + 1) {
      if (off === capoff && n === 4) {
        n = 2;
        off += 2;
        v >>>= 16;
      } else return;
    }
    if (capid === PCIY_MSI) this.msiCapWrite(capoff, off, n, v);
    else if (capid === PCIY_MSIX) this.msixCapWrite(capoff, off, n, v);
    else this.cfg.set(off, n, v); // PCIe and vendor capabilities: stored as written
  }

  private msiCapWrite(capoff: number, off: number, n: number, value: number): void {
    let v = value;
    if (off - capoff === 2 && n === 2) {
      const rw = PCIM_MSICTRL_MME_MASK | PCIM_MSICTRL_MSI_ENABLE;
      v = (this.cfg.get16(off) & ~rw) | (v & rw);
    }
    this.cfg.set(off, n, v);
    const ctrl = this.cfg.get16(capoff + 2);
    const addrlo = this.cfg.get32(capoff + 4);
    const addrhi = ctrl & PCIM_MSICTRL_64BIT ? this.cfg.get32(capoff + 8) : 0;
    const data = ctrl & PCIM_MSICTRL_64BIT ? this.cfg.get16(capoff + 12) : this.cfg.get16(capoff + 8);
    const mme = (ctrl & PCIM_MSICTRL_MME_MASK) >> 4;
    this.msi.enabled = (ctrl & PCIM_MSICTRL_MSI_ENABLE) !== 0;
    if (this.msi.enabled) {
      this.msi.addr = (addrhi & 0x1fffff) * 0x1_0000_0000 + addrlo;
      this.msi.data = data;
      this.msi.maxmsgnum = 1 << mme;
    } else this.msi.maxmsgnum = 0;
    this.lintrUpdate();
  }

  private msixCapWrite(capoff: number, off: number, n: number, value: number): void {
    let v = value;
    if (off - capoff === 2 && n === 2) {
      const rw = PCIM_MSIXCTRL_MSIX_ENABLE | PCIM_MSIXCTRL_FUNCTION_MASK;
      v = (this.cfg.get16(off) & ~rw) | (v & rw);
      const t = this.msixTable!;
      t.enabled = (v & PCIM_MSIXCTRL_MSIX_ENABLE) !== 0;
      t.functionMask = (v & PCIM_MSIXCTRL_FUNCTION_MASK) !== 0;
      this.cfg.set(off, n, v);
      this.lintrUpdate();
      t.flushPending(this.host.msi);
      return;
    }
    // Table offset/BIR and PBA registers are read-only.
  }

  // ---- BAR access (pci_emul_io_handler / pci_emul_mem_handler) ----

  barRead(idx: number, offset: number, size: number): number {
    const t = this.msixTable;
    if (t && idx === t.bar && t.owns(offset)) return t.read(offset, size);
    return this.ops.barRead(idx, offset, size);
  }

  barWrite(idx: number, offset: number, size: number, value: number): void {
    const t = this.msixTable;
    if (t && idx === t.bar && t.owns(offset)) {
      if (offset < t.count * MSIX_TABLE_ENTRY_SIZE) {
        const vec = t.write(offset, size, value);
        if (vec >= 0) t.flushPending(this.host.msi);
      }
      return;
    }
    this.ops.barWrite(idx, offset, size, value);
  }
}
