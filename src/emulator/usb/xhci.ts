/**
 * The xHCI host controller as a PCI function (bhyve pci_xhci.c; xHCI 1.1; bhyve-userland.md
 * §6.0, §6.10): Intel 8086:1E31, class 0C/03/30, SBRN 3.0, BAR0 MEM32 with bhyve's layout
 * (capabilities at 0, operational registers at 0x20, ports at 0x420, doorbells at 0x4A0,
 * runtime registers at 0xCC0, supported-protocol capabilities after them), one MSI
 * message and INTx. HCIVERSION 1.00, 64 slots, one interrupter, 8 root-hub ports: 1-4
 * USB 3, 5-8 USB 2; devices take the first free port of their USB version.
 *
 * Registers as bhyve: USBCMD.RS 0→1 reports every attached port with a Port Status Change
 * event; HCRST resets the controller; PORTSC change bits are write-1-to-clear, PR/WPR
 * reset the port (enabled, U0, change event); CRCR sets the command ring while it is not
 * running, CS/CA stop it with a Command Ring Stopped completion; doorbell 0 runs the
 * command ring, doorbell N runs endpoint DCI of slot N. Interrupter 0 raises IMAN.IP and
 * USBSTS.EINT on each event; with IMAN.IE and USBCMD.INTE it sends the MSI or drives
 * INTx (level, while IP is set). Register accesses other than aligned dwords (and
 * qword halves) are ignored; every guest pointer is checked against guest RAM.
 *
 * Only control and interrupt-IN endpoints carry data (what the tablet needs); a doorbell
 * for another endpoint type is completed with a TRB error. The driver side is hostile:
 * rings, contexts and buffers are validated in rings.ts/commands.ts/transfers.ts.
 */
import type { Logger } from '../log.js';
import { OnceLogger } from '../log.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { runCommand, type CommandHost } from './commands.js';
import { EventRing, RingFault, RingReader } from './rings.js';
import * as U from './regs.js';
import type { Slot } from './slots.js';
import { runControl, runInterruptIn, type TransferHost } from './transfers.js';
import type { UsbDevice } from './usb-device.js';

const MAX_COMMANDS_PER_RUN = 256;

interface Port {
  portsc: number;
  device?: UsbDevice;
}

export class XhciController implements PciDeviceOps, CommandHost, TransferHost {
  private readonly once: OnceLogger;
  readonly slots: Array<Slot | undefined> = new Array(U.XHCI_MAX_SLOTS + 1);
  private readonly ports: Port[] = Array.from({ length: U.XHCI_MAX_DEVS + 1 }, () => ({ portsc: 0 }));
  private usbcmd = 0;
  private usbsts = U.XHCI_STS_HCH;
  private dnctrl = 0;
  private crcr = 0;
  private cmdRing: RingReader | undefined;
  private cmdRunning = false;
  dcbaap = 0;
  private config = 0;
  private iman = 0;
  private imod = 4000;
  private erstsz = 0;
  private erstba = 0;
  /** Event ring dequeue pointer (16-byte aligned) and its Event Handler Busy flag. */
  private erdp = 0;
  private ehb = false;
  private readonly events = new EventRing();
  private intxOn = false;
  private readonly hcsparams1 = (U.XHCI_MAX_DEVS << 24) | (1 << 8) | U.XHCI_MAX_SLOTS;
  private readonly hcsparams2 = 0x04; // IST 4, ERST max 2^0
  private readonly hccparams1 = 0x1 | (1 << 7) | (1 << 9) | (1 << 12) | ((U.XHCI_XECP / 4) << 16); // AC64, NSS, SPC, MaxPSASize 1, xECP
  private readonly hccparams2 = 0x1 | (1 << 4); // U3C, LEC
  private readonly started = performance.now();

  constructor(
    readonly pci: PciFunction,
    readonly mem: GuestMemory,
    devices: UsbDevice[],
    private readonly log: Logger,
  ) {
    this.once = new OnceLogger(log);
    let usb3 = U.XHCI_USB3_PORT_START;
    let usb2 = U.XHCI_USB2_PORT_START;
    for (const d of devices) {
      const port = d.usbVersion === 3 ? usb3++ : usb2++;
      if ((d.usbVersion === 3 && port >= U.XHCI_USB2_PORT_START) || port > U.XHCI_MAX_DEVS) {
        throw new RangeError(`xhci: at most ${U.XHCI_MAX_DEVS / 2} USB ${d.usbVersion} devices`);
      }
      this.ports[port]!.device = d;
      d.setWake((ep) => this.deviceWake(d, ep));
    }
    pci.attach(this);
    pci.setIds({ vendor: U.XHCI_PCI_VENDOR, device: U.XHCI_PCI_DEVICE, classCode: U.PCIC_SERIALBUS, subclass: U.PCIS_SERIALBUS_USB, progIf: U.PCIP_SERIALBUS_USB_XHCI });
    pci.cfg.set8(U.PCI_USBREV, U.PCI_USB_REV_3_0);
    pci.addMsiCapability(1);
    pci.allocBar(0, 'mem32', U.XHCI_BAR_SIZE);
    pci.requestIntx();
    this.resetController();
  }

  // ---- host interfaces for commands and transfers ----

  get maxSlotsEnabled(): number {
    return this.config & 0xff;
  }

  portDevice(port: number): UsbDevice | undefined {
    return port >= 1 && port <= U.XHCI_MAX_DEVS ? this.ports[port]!.device : undefined;
  }

  warn(key: string, message: string): void {
    this.once.warn(key, message);
  }

  event(param: bigint, status: number, control: number): void {
    if (!this.events.push(this.mem, this.erdp, param, status, control)) {
      this.once.warn('ev-drop', `${this.pci.name}: event ring full or not set up; events dropped`);
      return;
    }
    this.iman |= U.XHCI_IMAN_IP;
    this.usbsts |= U.XHCI_STS_EINT;
    this.ehb = true;
    this.signal();
  }

  private signal(): void {
    const want = (this.iman & U.XHCI_IMAN_IP) !== 0 && (this.iman & U.XHCI_IMAN_IE) !== 0 && (this.usbcmd & U.XHCI_CMD_INTE) !== 0;
    if (this.pci.msiEnabled()) {
      if (want) this.pci.generateMsi(0);
      this.setIntx(false);
    } else this.setIntx(want);
  }

  private setIntx(on: boolean): void {
    if (on === this.intxOn) return;
    this.intxOn = on;
    if (on) this.pci.intxAssert();
    else this.pci.intxDeassert();
  }

  // ---- reset and ports ----

  private resetController(): void {
    this.slots.fill(undefined);
    this.usbcmd = 0;
    this.usbsts = U.XHCI_STS_HCH;
    this.dnctrl = this.crcr = this.dcbaap = this.config = 0;
    this.cmdRing = undefined;
    this.cmdRunning = false;
    this.iman = 0;
    this.imod = 4000;
    this.erstsz = this.erstba = this.erdp = 0;
    this.ehb = false;
    this.events.reset();
    this.setIntx(false);
    for (let i = 1; i <= U.XHCI_MAX_DEVS; i++) this.initPort(i);
  }

  /** pci_xhci_init_port: powered; a USB 3 device is connected and enabled in U0, a USB 2 one polling. */
  private initPort(n: number): void {
    const p = this.ports[n]!;
    const d = p.device;
    p.portsc = U.XHCI_PS_PP;
    if (!d) {
      p.portsc |= U.UPS_PORT_LS_RX_DET << U.XHCI_PS_PLS_SHIFT;
      return;
    }
    p.portsc |= U.XHCI_PS_CCS | (d.speed << U.XHCI_PS_SPEED_SHIFT);
    if (d.usbVersion === 3) p.portsc |= U.XHCI_PS_PED | (U.UPS_PORT_LS_U0 << U.XHCI_PS_PLS_SHIFT);
    else p.portsc |= U.UPS_PORT_LS_POLL << U.XHCI_PS_PLS_SHIFT;
  }

  private portEvent(n: number): void {
    this.usbsts |= U.XHCI_STS_PCD;
    this.event(BigInt(n) << 24n, U.XHCI_TRB_ERROR_SUCCESS << 24, U.XHCI_TRB_EVENT_PORT_STS_CHANGE << U.XHCI_TRB_3_TYPE_SHIFT);
  }

  private resetPort(n: number, warm: boolean): void {
    const p = this.ports[n]!;
    const d = p.device;
    if (!d) return;
    d.reset();
    p.portsc = (p.portsc & ~(U.XHCI_PS_PLS_MASK | U.XHCI_PS_PR | U.XHCI_PS_WPR)) | U.XHCI_PS_PED | U.XHCI_PS_PRC | (U.UPS_PORT_LS_U0 << U.XHCI_PS_PLS_SHIFT);
    if (warm && d.usbVersion === 3) p.portsc |= U.XHCI_PS_WRC;
    this.portEvent(n);
  }

  private writePortsc(n: number, v: number): void {
    const p = this.ports[n]!;
    if (v & (U.XHCI_PS_PR | U.XHCI_PS_WPR)) {
      this.resetPort(n, (v & U.XHCI_PS_WPR) !== 0);
      return;
    }
    // Change bits and PED are write-1-to-clear; PP and the wake enables are read/write.
    p.portsc &= ~(v & (U.XHCI_PS_CHANGE_BITS | U.XHCI_PS_PED));
    const rw = U.XHCI_PS_PP | U.XHCI_PS_WCE | U.XHCI_PS_WDE | U.XHCI_PS_WOE | U.XHCI_PS_PIC_MASK;
    p.portsc = (p.portsc & ~rw) | (v & rw);
    if (v & U.XHCI_PS_LWS && p.device) {
      const pls = (v & U.XHCI_PS_PLS_MASK) >>> U.XHCI_PS_PLS_SHIFT;
      // The driver moves the link to U0 (resume) or U3 (suspend); a resume completes at once.
      if (pls === U.UPS_PORT_LS_U0 || pls === U.UPS_PORT_LS_U3 || pls === U.UPS_PORT_LS_RESUME) {
        const now = pls === U.UPS_PORT_LS_RESUME ? U.UPS_PORT_LS_U0 : pls;
        p.portsc = (p.portsc & ~U.XHCI_PS_PLS_MASK) | (now << U.XHCI_PS_PLS_SHIFT);
        if (pls !== U.UPS_PORT_LS_U3) {
          p.portsc |= U.XHCI_PS_PLC;
          this.portEvent(n);
        }
      }
    }
    p.portsc >>>= 0;
  }

  // ---- operational registers ----

  private writeUsbcmd(v: number): void {
    if (v & U.XHCI_CMD_HCRST) {
      for (const s of this.slots) s?.device?.reset();
      this.resetController();
      return;
    }
    const wasRunning = (this.usbcmd & U.XHCI_CMD_RS) !== 0;
    this.usbcmd = v & ~(U.XHCI_CMD_CSS | U.XHCI_CMD_CRS | U.XHCI_CMD_HCRST);
    if (v & U.XHCI_CMD_RS) {
      this.usbsts &= ~U.XHCI_STS_HCH;
      if (!wasRunning) {
        for (let i = 1; i <= U.XHCI_MAX_DEVS; i++) {
          const p = this.ports[i]!;
          if (!p.device) continue;
          p.portsc |= U.XHCI_PS_CSC | U.XHCI_PS_CCS;
          this.portEvent(i);
        }
      }
    } else {
      this.usbsts |= U.XHCI_STS_HCH;
      this.cmdRunning = false;
    }
    this.signal();
  }

  private writeCrcr(lo: number, hi: number | undefined): void {
    if (lo & (U.XHCI_CRCR_CS | U.XHCI_CRCR_CA)) {
      if (this.cmdRunning && this.cmdRing) {
        this.cmdRunning = false;
        this.event(BigInt(this.cmdRing.dequeue), U.XHCI_TRB_ERROR_CMD_RING_STOP << 24, U.XHCI_TRB_EVENT_CMD_COMPLETE << U.XHCI_TRB_3_TYPE_SHIFT);
      }
      return;
    }
    if (this.cmdRunning) return; // the pointer is read-only while the ring runs
    const cur = this.crcr;
    const high = hi ?? Math.floor(cur / 0x1_0000_0000);
    const low = hi === undefined ? lo : cur % 0x1_0000_0000;
    this.crcr = (high & 0x1fffff) * 0x1_0000_0000 + ((low & ~0x3f) >>> 0);
    this.cmdRing = new RingReader(this.crcr, lo & U.XHCI_CRCR_RCS);
  }

  private readOp(off: number): number {
    if (off >= U.XHCI_PORTREGS_START) {
      const n = ((off - U.XHCI_PORTREGS_START) >> 4) + 1;
      const reg = (off - U.XHCI_PORTREGS_START) & 0xf;
      if (n > U.XHCI_MAX_DEVS) return 0;
      return reg === 0 ? this.ports[n]!.portsc >>> 0 : 0;
    }
    switch (off) {
      case U.XHCI_USBCMD:
        return this.usbcmd;
      case U.XHCI_USBSTS:
        return this.usbsts;
      case U.XHCI_PAGESIZE:
        return 1; // 4 KiB
      case U.XHCI_DNCTRL:
        return this.dnctrl;
      case U.XHCI_CRCR_LO:
        return this.cmdRunning ? U.XHCI_CRCR_CRR : 0;
      case U.XHCI_DCBAAP_LO:
        return this.dcbaap % 0x1_0000_0000;
      case U.XHCI_DCBAAP_HI:
        return Math.floor(this.dcbaap / 0x1_0000_0000);
      case U.XHCI_CONFIG:
        return this.config;
      default:
        return 0;
    }
  }

  private writeOp(off: number, v: number): void {
    if (off >= U.XHCI_PORTREGS_START) {
      const n = ((off - U.XHCI_PORTREGS_START) >> 4) + 1;
      if (n <= U.XHCI_MAX_DEVS && ((off - U.XHCI_PORTREGS_START) & 0xf) === 0) this.writePortsc(n, v);
      return;
    }
    switch (off) {
      case U.XHCI_USBCMD:
        this.writeUsbcmd(v);
        break;
      case U.XHCI_USBSTS:
        this.usbsts &= ~(v & U.XHCI_STS_RW1C);
        break;
      case U.XHCI_DNCTRL:
        this.dnctrl = v & 0xffff;
        break;
      case U.XHCI_CRCR_LO:
        this.writeCrcr(v, undefined);
        break;
      case U.XHCI_CRCR_HI:
        if (!this.cmdRunning) this.writeCrcr((this.crcr % 0x1_0000_0000) | (this.cmdRing?.ccs ?? 0), v);
        break;
      case U.XHCI_DCBAAP_LO:
        this.dcbaap = Math.floor(this.dcbaap / 0x1_0000_0000) * 0x1_0000_0000 + ((v & ~0x3f) >>> 0);
        break;
      case U.XHCI_DCBAAP_HI:
        this.dcbaap = (v & 0x1fffff) * 0x1_0000_0000 + (this.dcbaap % 0x1_0000_0000);
        break;
      case U.XHCI_CONFIG:
        this.config = Math.min(v & 0xff, U.XHCI_MAX_SLOTS) | (v & 0x300);
        break;
      default:
        break;
    }
  }

  // ---- runtime registers ----

  private readRt(off: number): number {
    if (off === U.XHCI_MFINDEX) return Math.floor((performance.now() - this.started) * 8) & 0x3fff;
    switch (off - U.XHCI_IR0) {
      case U.XHCI_IMAN:
        return this.iman;
      case U.XHCI_IMOD:
        return this.imod;
      case U.XHCI_ERSTSZ:
        return this.erstsz;
      case U.XHCI_ERSTBA_LO:
        return this.erstba % 0x1_0000_0000;
      case U.XHCI_ERSTBA_HI:
        return Math.floor(this.erstba / 0x1_0000_0000);
      case U.XHCI_ERDP_LO:
        return ((this.erdp % 0x1_0000_0000) | (this.ehb ? U.XHCI_ERDP_EHB : 0)) >>> 0;
      case U.XHCI_ERDP_HI:
        return Math.floor(this.erdp / 0x1_0000_0000);
      default:
        return 0;
    }
  }

  private writeRt(off: number, v: number): void {
    switch (off - U.XHCI_IR0) {
      case U.XHCI_IMAN:
        this.iman = (this.iman & ~(v & U.XHCI_IMAN_IP) & ~U.XHCI_IMAN_IE) | (v & U.XHCI_IMAN_IE);
        this.signal();
        break;
      case U.XHCI_IMOD:
        this.imod = v;
        break;
      case U.XHCI_ERSTSZ:
        this.erstsz = v & 0xffff;
        break;
      case U.XHCI_ERSTBA_LO:
        this.erstba = Math.floor(this.erstba / 0x1_0000_0000) * 0x1_0000_0000 + ((v & ~0x3f) >>> 0);
        this.configureEventRing();
        break;
      case U.XHCI_ERSTBA_HI:
        this.erstba = (v & 0x1fffff) * 0x1_0000_0000 + (this.erstba % 0x1_0000_0000);
        this.configureEventRing();
        break;
      case U.XHCI_ERDP_LO:
        if (v & U.XHCI_ERDP_EHB) this.ehb = false;
        this.erdp = Math.floor(this.erdp / 0x1_0000_0000) * 0x1_0000_0000 + ((v & ~0xf) >>> 0);
        break;
      case U.XHCI_ERDP_HI:
        this.erdp = (v & 0x1fffff) * 0x1_0000_0000 + (this.erdp % 0x1_0000_0000);
        break;
      default:
        break;
    }
  }

  /** Writing ERSTBA (either half: drivers write the low dword first) (re)starts the event ring. */
  private configureEventRing(): void {
    if (!this.events.configure(this.mem, this.erstba, this.erstsz)) {
      this.once.warn(`erst${this.erstba}`, `${this.pci.name}: event ring segment table at 0x${this.erstba.toString(16)} (${this.erstsz} entries) is unusable`);
    }
  }

  // ---- doorbells ----

  private doorbell(index: number, v: number): void {
    if (this.usbsts & U.XHCI_STS_HCH) return;
    const target = v & 0xff;
    if (index === 0) {
      if (target === 0) this.runCommandRing();
      return;
    }
    const slot = index <= U.XHCI_MAX_SLOTS ? this.slots[index] : undefined;
    const ep = slot && target >= 1 && target < U.XHCI_MAX_ENDPOINTS ? slot.eps[target] : undefined;
    if (!slot || !ep) {
      this.once.warn(`db${index}:${target}`, `${this.pci.name}: doorbell for slot ${index} endpoint ${target}, which is not enabled`);
      return;
    }
    if (ep.state === U.XHCI_ST_EPCTX_STOPPED) ep.state = U.XHCI_ST_EPCTX_RUNNING;
    this.runEndpoint(slot, target);
  }

  private runEndpoint(slot: Slot, dci: number): void {
    const ep = slot.eps[dci];
    if (!ep || ep.state !== U.XHCI_ST_EPCTX_RUNNING) return;
    try {
      if (dci === 1) runControl(this, slot, ep);
      else if (ep.type === U.XHCI_EPTYPE_INT_IN) runInterruptIn(this, slot, ep);
      else {
        this.once.warn(`eptype${ep.type}`, `${this.pci.name}: endpoint type ${ep.type} is not supported by the emulated devices`);
        const t = ep.ring.peek(this.mem);
        if (t) {
          ep.ring.advance();
          this.event(BigInt(t.addr), U.XHCI_TRB_ERROR_TRB << 24, (U.XHCI_TRB_EVENT_TRANSFER << U.XHCI_TRB_3_TYPE_SHIFT) | (dci << 16) | (slot.id << 24));
        }
      }
    } catch (e) {
      if (!(e instanceof RingFault) && !(e instanceof Error && e.name === 'GuestMemoryFault')) throw e;
      this.once.warn(`ring${slot.id}:${dci}`, `${this.pci.name}: slot ${slot.id} endpoint ${dci}: ${e.message}; endpoint halted`);
      ep.state = U.XHCI_ST_EPCTX_HALTED;
      slot.syncEndpoint(this.mem, dci);
    }
    slot.syncEndpoint(this.mem, dci);
  }

  private runCommandRing(): void {
    const ring = this.cmdRing;
    if (!ring) return;
    this.cmdRunning = true;
    try {
      for (let n = 0; n < MAX_COMMANDS_PER_RUN && this.cmdRunning; n++) {
        const trb = ring.peek(this.mem);
        if (!trb) break;
        ring.advance();
        const r = runCommand(this, trb);
        this.event(BigInt(trb.addr), r.code << 24, (U.XHCI_TRB_EVENT_CMD_COMPLETE << U.XHCI_TRB_3_TYPE_SHIFT) | (r.slot << 24));
      }
    } catch (e) {
      if (!(e instanceof RingFault)) throw e;
      this.once.warn('cmdring', `${this.pci.name}: command ring: ${e.message}; ring stopped`);
      this.cmdRunning = false;
    }
  }

  /** A device has IN data on endpoint `ep`: run the matching interrupt endpoint. */
  private deviceWake(dev: UsbDevice, ep: number): void {
    if (this.usbsts & U.XHCI_STS_HCH) return;
    for (const s of this.slots) {
      if (s?.device === dev && s.eps[2 * ep + 1]) this.runEndpoint(s, 2 * ep + 1);
    }
  }

  // ---- BAR ----

  private readXecp(off: number): number {
    switch (off) {
      case 0:
        return (0x02 << 24) | (4 << 8) | U.XHCI_ID_PROTOCOLS; // USB 2.0, next capability 4 dwords on
      case 4:
      case 20:
        return U.XHCI_PROTOCOL_NAME_USB;
      case 8:
        return ((U.XHCI_MAX_DEVS / 2) << 8) | U.XHCI_USB2_PORT_START;
      case 16:
        return (0x03 << 24) | U.XHCI_ID_PROTOCOLS; // USB 3.0, last capability
      case 24:
        return ((U.XHCI_MAX_DEVS / 2) << 8) | U.XHCI_USB3_PORT_START;
      default:
        return 0;
    }
  }

  private readCap(off: number): number {
    switch (off) {
      case U.XHCI_CAPLENGTH:
        return (0x0100 << 16) | U.XHCI_CAPLEN;
      case U.XHCI_HCSPARAMS1:
        return this.hcsparams1 >>> 0;
      case U.XHCI_HCSPARAMS2:
        return this.hcsparams2;
      case U.XHCI_HCSPARAMS3:
        return 0;
      case U.XHCI_HCCPARAMS1:
        return this.hccparams1 >>> 0;
      case U.XHCI_DBOFF_REG:
        return U.XHCI_DBOFF;
      case U.XHCI_RTSOFF_REG:
        return U.XHCI_RTSOFF;
      case U.XHCI_HCCPARAMS2:
        return this.hccparams2;
      default:
        return 0;
    }
  }

  private read32(off: number): number {
    if (off < U.XHCI_CAPLEN) return this.readCap(off);
    if (off < U.XHCI_DBOFF) return this.readOp(off - U.XHCI_CAPLEN);
    if (off < U.XHCI_RTSOFF) return 0; // doorbells read as zero
    if (off < U.XHCI_REGSEND) return this.readRt(off - U.XHCI_RTSOFF);
    if (off < U.XHCI_BAR_SIZE) return this.readXecp(off - U.XHCI_XECP);
    return 0;
  }

  barRead(bar: number, offset: number, size: number): number {
    if (bar !== 0) return 0;
    const v = this.read32(offset & ~3) >>> (8 * (offset & 3));
    return size === 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (bar !== 0) return;
    if (size !== 4 || offset & 3) {
      this.once.warn(`w${size}`, `${this.pci.name}: ignoring ${size}-byte register write at 0x${offset.toString(16)}`);
      return;
    }
    const v = value >>> 0;
    if (offset < U.XHCI_CAPLEN) return;
    if (offset < U.XHCI_DBOFF) this.writeOp(offset - U.XHCI_CAPLEN, v);
    else if (offset < U.XHCI_RTSOFF) {
      const index = (offset - U.XHCI_DBOFF) >> 2;
      if (index <= U.XHCI_MAX_SLOTS) this.doorbell(index, v);
    } else if (offset < U.XHCI_REGSEND) this.writeRt(offset - U.XHCI_RTSOFF, v);
  }

  /** Events dropped because the ring was full or unset (tests, diagnostics). */
  get droppedEvents(): number {
    return this.events.dropped;
  }
}
