/**
 * The Intel 82545EM (e1000) as a PCI function (bhyve pci_e82545.c; 82545EM manual §13;
 * bhyve-userland.md §6.0, §6.10): 8086:100F rev 4, subsystem 8086:1008, class 02/00,
 * BAR0 MEM32 128 KiB registers, BAR1 MEM32 64 KiB flash (not implemented: reads zero),
 * BAR2 I/O 8 bytes (IOADDR/IODATA indirect register access), INTx only (bhyve offers no
 * MSI either).
 *
 * Registers as bhyve keeps them (reserved bits stripped on write), STATUS reporting a
 * 1000 Mb/s full-duplex link, EEPROM through EECD (eeprom.ts) and the EERD read register,
 * PHY through MDIC (phy.ts),
 * interrupts through ICR/ICS/IMS/IMC with bhyve's ITR throttling (an assertion starts a
 * timer of ITR × 256 ns rounded up to milliseconds; causes arriving meanwhile are
 * delivered when it fires). Transmit runs when TDT is written (tx.ts); receive places
 * frames from the network backend (rx.ts), keeping up to RX_BACKLOG frames while the ring
 * is full (the backend is paused meanwhile) and counting the rest as missed.
 *
 * Hostile input: accesses other than aligned dwords are ignored; TDH/TDT/RDH/RDT at or
 * beyond the ring stop that direction (logged once) instead of looping; ring and buffer
 * addresses are checked against guest RAM on every use. Differences from bhyve: the
 * receive address/multicast filter is applied, statistics registers clear on read as the
 * datasheet says (Linux accumulates them), IMC deasserts a line no longer unmasked, EERD
 * (absent from bhyve, present on the 82545EM) reads EEPROM words in one step.
 */
import type { NetBackend } from '../backends/net/backend.js';
import type { Logger } from '../log.js';
import { OnceLogger } from '../log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { PCIC_NETWORK } from '../pci/regs.js';
import { Eeprom } from './eeprom.js';
import { readPhy } from './phy.js';
import * as R from './regs.js';
import { filterFrame, placeFrame, type RxFilterState } from './rx.js';
import { TxEngine } from './tx.js';
import { E1000Stats } from './stats.js';

export const RX_BACKLOG = 256;

export class E1000Device implements PciDeviceOps {
  private readonly once: OnceLogger;
  private readonly eeprom: Eeprom;
  private readonly tx = new TxEngine();
  readonly stats = new E1000Stats();
  private readonly filter: RxFilterState = {
    ral: new Uint32Array(16),
    rah: new Uint32Array(16),
    mta: new Uint32Array(128),
    vfta: new Uint32Array(128),
    vet: 0,
  };

  private ctrl = 0;
  private fcal = 0;
  private fcah = 0;
  private fct = 0;
  private fcttv = 0;
  private ledctl = 0;
  private pba = 0;
  private icr = 0;
  private itr = 0;
  private ims = 0;
  private irqAsserted = false;
  private itrTimer: NodeJS.Timeout | undefined;
  private txcw = 0;
  private tctl = 0;
  private tipg = 0;
  private ait = 0;
  private tdbal = 0;
  private tdbah = 0;
  private tdlen = 0;
  private tdh = 0;
  private tdt = 0;
  private tidv = 0;
  private txdctl = 0;
  private tadv = 0;
  private rctl = 0;
  private fcrtl = 0;
  private fcrth = 0;
  private rdbal = 0;
  private rdbah = 0;
  private rdlen = 0;
  private rdh = 0;
  private rdt = 0;
  private rdtr = 0;
  private rxdctl = 0;
  private radv = 0;
  private rsrpd = 0;
  private rxcsum = 0;
  private mdic = 0;
  private eerd = 0;
  private ioAddr = 0;
  private readonly backlog: Uint8Array[] = [];
  private paused = false;
  private closed = false;

  constructor(
    readonly pci: PciFunction,
    private readonly mem: GuestMemory,
    private readonly backend: NetBackend,
    readonly mac: Uint8Array,
    private readonly log: Logger,
  ) {
    this.once = new OnceLogger(log);
    this.eeprom = new Eeprom(mac);
    pci.attach(this);
    pci.setIds({
      vendor: R.E82545_VENDOR_ID_INTEL,
      device: R.E82545_DEV_ID_82545EM_COPPER,
      classCode: PCIC_NETWORK,
      subclass: R.PCIS_NETWORK_ETHERNET,
      revision: R.E82545_REVISION_4,
      subVendor: R.E82545_VENDOR_ID_INTEL,
      subDevice: R.E82545_SUBDEV_ID,
    });
    pci.requestIntx();
    pci.allocBar(R.E82545_BAR_REGISTER, 'mem32', R.E82545_BAR_REGISTER_LEN);
    pci.allocBar(R.E82545_BAR_FLASH, 'mem32', R.E82545_BAR_FLASH_LEN);
    pci.allocBar(R.E82545_BAR_IO, 'io', R.E82545_BAR_IO_LEN);
    this.reset(false);
    backend.setReceiver((f) => this.receive(f));
  }

  /** e82545_reset: power-on (`driver` false) or CTRL.RST (`driver` true). */
  private reset(driver: boolean): void {
    this.setIrq(false);
    this.clearItrTimer();
    if (!driver) {
      this.fcal = this.fcah = this.fct = this.filter.vet = this.fcttv = 0;
    }
    this.ledctl = 0x07061302;
    this.pba = 0x00100030;
    this.eeprom.reset();
    this.eerd = 0;
    this.icr = 0;
    this.itr = 250;
    this.ims = 0;
    if (!driver) {
      this.filter.vfta.fill(0);
      this.filter.mta.fill(0);
      this.filter.ral.fill(0);
      this.filter.rah.fill(0);
      const m = this.mac;
      this.filter.ral[0] = (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0;
      this.filter.rah[0] = (m[4]! | (m[5]! << 8) | R.E1000_RAH_AV) >>> 0;
      this.rdbal = this.rdbah = 0;
      this.tdbal = this.tdbah = this.tipg = this.ait = this.tidv = this.tadv = 0;
    } else {
      for (let i = 0; i < 16; i++) this.filter.rah[i]! &= ~R.E1000_RAH_AV >>> 0;
    }
    this.rctl = this.fcrtl = this.fcrth = this.rdlen = this.rdh = this.rdt = this.rdtr = this.radv = this.rxcsum = 0;
    this.rxdctl = (1 << 24) | (1 << 16);
    this.txcw = this.tctl = this.tdlen = this.tdt = this.tdh = this.txdctl = 0;
    this.backlog.length = 0;
    this.resumeBackend();
  }

  // ---- interrupts (e82545_icr_assert / ims_change / icr_deassert) ----

  private setIrq(on: boolean): void {
    if (on === this.irqAsserted) return;
    this.irqAsserted = on;
    if (on) this.pci.intxAssert();
    else this.pci.intxDeassert();
  }

  private clearItrTimer(): void {
    if (this.itrTimer) clearTimeout(this.itrTimer);
    this.itrTimer = undefined;
  }

  /** Raises the line for newly unmasked causes unless throttled. */
  private trigger(newBits: number): void {
    if (newBits === 0 || this.itrTimer || this.irqAsserted) return;
    this.setIrq(true);
    if (this.itr !== 0) this.armItr();
  }

  private armItr(): void {
    if (this.closed) return;
    const ms = Math.ceil(this.itr / 3906) || 1;
    this.itrTimer = setTimeout(() => {
      this.itrTimer = undefined;
      if (this.icr & this.ims && !this.irqAsserted) {
        this.setIrq(true);
        this.armItr();
      }
    }, ms);
    this.itrTimer.unref?.();
  }

  private icrAssert(bits: number): void {
    const fresh = bits & ~this.icr & this.ims;
    this.icr = (this.icr | bits) >>> 0;
    this.trigger(fresh);
  }

  private icrDeassert(bits: number): void {
    this.icr = (this.icr & ~bits) >>> 0;
    if (this.irqAsserted && !(this.icr & this.ims)) this.setIrq(false);
  }

  // ---- register file ----

  private ringSize(len: number): number {
    return len / R.E1000_DESC_SIZE;
  }

  readRegister(off: number): number {
    if (off & 3) return 0;
    if (off >= R.E1000_STATS_BASE && off < R.E1000_STATS_END) return this.stats.read(off);
    if (off >= R.E1000_RAL0 && off <= R.E1000_RAH15) {
      const i = (off - R.E1000_RAL0) >>> 3;
      return (off & 4 ? this.filter.rah[i]! : this.filter.ral[i]!) >>> 0;
    }
    if (off >= R.E1000_MTA && off < R.E1000_MTA + 512) return this.filter.mta[(off - R.E1000_MTA) >>> 2]!;
    if (off >= R.E1000_VFTA && off < R.E1000_VFTA + 512) return this.filter.vfta[(off - R.E1000_VFTA) >>> 2]!;
    switch (off) {
      case R.E1000_CTRL:
        return this.ctrl;
      case R.E1000_STATUS:
        return R.E1000_STATUS_FD | R.E1000_STATUS_LU | R.E1000_STATUS_SPEED_1000;
      case R.E1000_EECD:
        return this.eeprom.eecd;
      case R.E1000_EERD:
        return this.eerd >>> 0;
      case R.E1000_MDIC:
        return this.mdic >>> 0;
      case R.E1000_FCAL:
        return this.fcal;
      case R.E1000_FCAH:
        return this.fcah;
      case R.E1000_FCT:
        return this.fct;
      case R.E1000_VET:
        return this.filter.vet;
      case R.E1000_FCTTV:
        return this.fcttv;
      case R.E1000_LEDCTL:
        return this.ledctl;
      case R.E1000_PBA:
        return this.pba;
      case R.E1000_ICR: {
        const v = this.icr;
        this.icrDeassert(0xffffffff);
        return v;
      }
      case R.E1000_ITR:
        return this.itr;
      case R.E1000_IMS:
        return this.ims;
      case R.E1000_RCTL:
        return this.rctl;
      case R.E1000_FCRTL:
        return this.fcrtl;
      case R.E1000_FCRTH:
        return this.fcrth;
      case R.E1000_RDBAL:
        return this.rdbal;
      case R.E1000_RDBAH:
        return this.rdbah;
      case R.E1000_RDLEN:
        return this.rdlen;
      case R.E1000_RDH:
        return this.rdh;
      case R.E1000_RDT:
        return this.rdt;
      case R.E1000_RDTR:
        return this.rdtr;
      case R.E1000_RXDCTL:
        return this.rxdctl;
      case R.E1000_RADV:
        return this.radv;
      case R.E1000_RSRPD:
        return this.rsrpd;
      case R.E1000_RXCSUM:
        return this.rxcsum;
      case R.E1000_TXCW:
        return this.txcw;
      case R.E1000_TCTL:
        return this.tctl;
      case R.E1000_TIPG:
        return this.tipg;
      case R.E1000_AIT:
        return this.ait;
      case R.E1000_TDBAL:
        return this.tdbal;
      case R.E1000_TDBAH:
        return this.tdbah;
      case R.E1000_TDLEN:
        return this.tdlen;
      case R.E1000_TDH:
        return this.tdh;
      case R.E1000_TDT:
        return this.tdt;
      case R.E1000_TIDV:
        return this.tidv;
      case R.E1000_TXDCTL:
        return this.txdctl;
      case R.E1000_TADV:
        return this.tadv;
      default:
        return 0; // ICS, IMC (write-only), MANC and unknown registers
    }
  }

  writeRegister(off: number, value: number): void {
    if (off & 3) return;
    const v = value >>> 0;
    if (off >= R.E1000_RAL0 && off <= R.E1000_RAH15) {
      const i = (off - R.E1000_RAL0) >>> 3;
      if (off & 4) this.filter.rah[i] = (v & (R.E1000_RAH_AV | 0x3ffff)) >>> 0;
      else this.filter.ral[i] = v;
      return;
    }
    if (off >= R.E1000_MTA && off < R.E1000_MTA + 512) {
      this.filter.mta[(off - R.E1000_MTA) >>> 2] = v;
      return;
    }
    if (off >= R.E1000_VFTA && off < R.E1000_VFTA + 512) {
      this.filter.vfta[(off - R.E1000_VFTA) >>> 2] = v;
      return;
    }
    switch (off) {
      case R.E1000_CTRL:
      case R.E1000_CTRL_DUP:
        this.ctrl = (v & ~R.E1000_CTRL_RST) >>> 0;
        if (v & R.E1000_CTRL_RST) this.reset(true);
        break;
      case R.E1000_FCAL:
        this.fcal = v;
        break;
      case R.E1000_FCAH:
        this.fcah = v & 0xffff;
        break;
      case R.E1000_FCT:
        this.fct = v & 0xffff;
        break;
      case R.E1000_VET:
        this.filter.vet = v & 0xffff;
        break;
      case R.E1000_FCTTV:
        this.fcttv = v & 0xffff;
        break;
      case R.E1000_LEDCTL:
        this.ledctl = (v & ~0x30303000) >>> 0;
        break;
      case R.E1000_PBA:
        this.pba = v & 0xff80;
        break;
      case R.E1000_ICR:
        this.icrDeassert(v);
        break;
      case R.E1000_ITR:
        this.itr = v & 0xffff;
        break;
      case R.E1000_ICS:
        this.icrAssert(v);
        break;
      case R.E1000_IMS: {
        const fresh = v & this.icr & ~this.ims;
        this.ims = (this.ims | v) >>> 0;
        this.trigger(fresh);
        break;
      }
      case R.E1000_IMC:
        this.ims = (this.ims & ~v) >>> 0;
        if (this.irqAsserted && !(this.icr & this.ims)) this.setIrq(false);
        break;
      case R.E1000_RCTL:
        this.writeRctl(v);
        break;
      case R.E1000_FCRTL:
        this.fcrtl = v & 0xfff8;
        break;
      case R.E1000_FCRTH:
        this.fcrth = v & 0xfff8;
        break;
      case R.E1000_RDBAL:
        this.rdbal = (v & ~0xf) >>> 0;
        break;
      case R.E1000_RDBAH:
        this.rdbah = v;
        break;
      case R.E1000_RDLEN:
        this.rdlen = v & 0x000fff80;
        break;
      case R.E1000_RDH:
        this.rdh = v & 0xffff;
        break;
      case R.E1000_RDT:
        this.rdt = v & 0xffff;
        this.drainBacklog();
        break;
      case R.E1000_RDTR:
        this.rdtr = v & 0xffff;
        break;
      case R.E1000_RXDCTL:
        this.rxdctl = (v & ~0xfec0c0c0) >>> 0;
        break;
      case R.E1000_RADV:
        this.radv = v & 0xffff;
        break;
      case R.E1000_RSRPD:
        this.rsrpd = v & 0xfff;
        break;
      case R.E1000_RXCSUM:
        this.rxcsum = v & 0x7ff;
        break;
      case R.E1000_TXCW:
        this.txcw = (v & ~0x3fff0000) >>> 0;
        break;
      case R.E1000_TCTL:
        this.tctl = (v & ~0xfe800005) >>> 0; // reserved bits 31:25, 23, 2, 0
        if (v & R.E1000_TCTL_EN) this.transmit();
        break;
      case R.E1000_TIPG:
        this.tipg = v;
        break;
      case R.E1000_AIT:
        this.ait = v & 0xffff;
        break;
      case R.E1000_TDBAL:
        this.tdbal = (v & ~0xf) >>> 0;
        break;
      case R.E1000_TDBAH:
        this.tdbah = v;
        break;
      case R.E1000_TDLEN:
        this.tdlen = v & 0x000fff80;
        break;
      case R.E1000_TDH:
        this.tdh = v & 0xffff;
        break;
      case R.E1000_TDT:
        this.tdt = v & 0xffff;
        this.transmit();
        break;
      case R.E1000_TIDV:
        this.tidv = v & 0xffff;
        break;
      case R.E1000_TXDCTL:
        this.txdctl = (v & ~0xc0c0c0) >>> 0;
        break;
      case R.E1000_TADV:
        this.tadv = v & 0xffff;
        break;
      case R.E1000_EECD:
        this.eeprom.write(v);
        break;
      case R.E1000_EERD: {
        // A read completes at once: DONE with the word (0 past the 64-word EEPROM).
        const addr = (v >>> R.E1000_EERD_ADDR_SHIFT) & 0xff;
        if (!(v & R.E1000_EERD_START)) this.eerd = addr << R.E1000_EERD_ADDR_SHIFT;
        else this.eerd = ((this.eeprom.words[addr] ?? 0) << R.E1000_EERD_DATA_SHIFT) | (addr << R.E1000_EERD_ADDR_SHIFT) | R.E1000_EERD_DONE;
        break;
      }
      case R.E1000_MDIC:
        this.writeMdic(v);
        break;
      default:
        break; // STATUS, MANC, statistics and unknown registers: read-only or ignored
    }
  }

  private writeMdic(v: number): void {
    this.mdic = (v & ~(R.E1000_MDIC_ERROR | R.E1000_MDIC_DEST)) >>> 0;
    if (v & R.E1000_MDIC_READY) return;
    const op = v & R.E1000_MDIC_OP_MASK;
    if (op === R.E1000_MDIC_OP_READ) {
      this.mdic = ((this.mdic & ~0xffff) | readPhy((v >>> R.E1000_MDIC_REG_SHIFT) & 0x1f)) >>> 0;
    } else if (op !== R.E1000_MDIC_OP_WRITE) return;
    this.mdic = (this.mdic | R.E1000_MDIC_READY) >>> 0;
  }

  private writeRctl(v: number): void {
    const was = (this.rctl & R.E1000_RCTL_EN) !== 0;
    this.rctl = (v & ~0xf9204c01) >>> 0; // reserved bits 31:27, 24, 21, 14, 11:10, 0
    if (!(v & R.E1000_RCTL_EN)) this.backlog.length = 0;
    if (!was && v & R.E1000_RCTL_EN) this.drainBacklog();
    this.resumeBackend();
  }

  // ---- transmit ----

  private transmit(): void {
    if (!(this.tctl & R.E1000_TCTL_EN)) return;
    const size = this.ringSize(this.tdlen);
    if (size === 0) return;
    if (this.tdh >= size || this.tdt >= size) {
      this.once.warn('tx-index', `${this.pci.name}: transmit ring indexes TDH ${this.tdh} / TDT ${this.tdt} beyond its ${size} descriptors`);
      return;
    }
    const base = this.tdbah * 0x1_0000_0000 + this.tdbal;
    const r = this.tx.run(this.mem, base, size, this.tdh, this.tdt, { vlan: (this.ctrl & R.E1000_CTRL_VME) !== 0, vet: this.filter.vet });
    for (const why of r.dropped) this.once.warn(`tx:${why}`, `${this.pci.name}: transmit packet dropped: ${why}`);
    if (r.ringFault) this.once.warn('tx-ring', `${this.pci.name}: transmit ring at 0x${base.toString(16)} is not guest RAM`);
    for (const f of r.frames) {
      this.stats.transmitted(f);
      this.backend.send(f);
    }
    this.stats.tsoContexts(r.tso);
    const moved = r.head !== this.tdh;
    this.tdh = r.head;
    let cause = 0;
    if (r.descDone) cause |= R.E1000_ICR_TXDW;
    if (moved && this.tdh === this.tdt) cause |= R.E1000_ICR_TXQE;
    if (cause) this.icrAssert(cause);
  }

  // ---- receive ----

  private receive(frame: Uint8Array): void {
    if (!(this.rctl & R.E1000_RCTL_EN) || (this.rctl & R.E1000_RCTL_LBM_TCVR) === R.E1000_RCTL_LBM_TCVR) return;
    if (filterFrame(frame, this.rctl, this.filter) === 'filtered') return;
    if (this.backlog.length > 0 || !this.place(frame)) {
      if (this.backlog.length >= RX_BACKLOG) {
        this.stats.missed(frame.length);
        this.icrAssert(R.E1000_ICR_RXO);
        return;
      }
      this.backlog.push(Uint8Array.from(frame));
      if (this.backlog.length >= RX_BACKLOG && !this.paused) {
        this.paused = true;
        this.backend.pause();
      }
    }
  }

  /** Places one frame; false when the ring has no room now. */
  private place(frame: Uint8Array): boolean {
    const size = this.ringSize(this.rdlen);
    if (size === 0) return false;
    if (this.rdh >= size || this.rdt >= size) {
      this.once.warn('rx-index', `${this.pci.name}: receive ring indexes RDH ${this.rdh} / RDT ${this.rdt} beyond its ${size} descriptors`);
      return false;
    }
    const base = this.rdbah * 0x1_0000_0000 + this.rdbal;
    const p = placeFrame(this.mem, base, size, this.rdh, this.rdt, this.rctl, frame);
    switch (p.kind) {
      case 'no-room':
        return false;
      case 'oversize':
        this.stats.oversize(frame.length);
        return true;
      case 'ring-fault':
        this.once.warn('rx-ring', `${this.pci.name}: receive ring at 0x${base.toString(16)} is not guest RAM`);
        this.stats.missed(frame.length);
        return true;
      case 'placed': {
        if (p.badBuffer) this.once.warn('rx-buf', `${this.pci.name}: receive buffer outside guest RAM; frame dropped`);
        else this.stats.received(frame, p.len);
        this.rdh = p.head;
        let cause = R.E1000_ICR_RXT0;
        if (p.len <= this.rsrpd) cause |= R.E1000_ICR_SRPD;
        const left = (size + this.rdt - this.rdh) % size;
        if (left < size >> (((this.rctl >>> 8) & 3) + 1)) cause |= R.E1000_ICR_RXDMT0;
        this.icrAssert(cause);
        return true;
      }
    }
  }

  private drainBacklog(): void {
    if (!(this.rctl & R.E1000_RCTL_EN)) return;
    while (this.backlog.length > 0 && this.place(this.backlog[0]!)) this.backlog.shift();
    this.resumeBackend();
  }

  private resumeBackend(): void {
    if (this.paused && this.backlog.length < RX_BACKLOG) {
      this.paused = false;
      this.backend.resume();
    }
  }

  // ---- BARs ----

  barRead(bar: number, offset: number, size: number): number {
    if (bar === R.E82545_BAR_REGISTER) return size === 4 ? this.readRegister(offset) >>> 0 : 0;
    if (bar === R.E82545_BAR_IO && size === 4) {
      if (offset === R.E82545_IOADDR) return this.ioAddr;
      if (offset === R.E82545_IODATA) return this.ioAddr <= R.E82545_IO_REGISTER_MAX ? this.readRegister(this.ioAddr) >>> 0 : 0;
    }
    return 0; // flash BAR and odd sizes
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (size !== 4) {
      this.once.warn(`w${bar}:${size}`, `${this.pci.name}: ignoring ${size}-byte write to BAR${bar}`);
      return;
    }
    if (bar === R.E82545_BAR_REGISTER) this.writeRegister(offset, value);
    else if (bar === R.E82545_BAR_IO) {
      if (offset === R.E82545_IOADDR) this.ioAddr = value >>> 0;
      else if (offset === R.E82545_IODATA && this.ioAddr <= R.E82545_IO_REGISTER_MAX) this.writeRegister(this.ioAddr, value);
    }
  }

  /** Stops timers and detaches from the backend (the machine closes the backend). */
  close(): void {
    this.closed = true;
    this.clearItrTimer();
    this.backend.setReceiver(undefined);
  }

  /** Frames waiting for receive descriptors (tests). */
  get backlogLength(): number {
    return this.backlog.length;
  }
}
