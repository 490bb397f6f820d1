/**
 * A small xHCI host driver for tests, shaped like Linux's xhci-hcd bring-up: reset,
 * DCBAA, command ring with a toggling Link TRB, one event ring segment, run; then slot
 * enable, Address Device, control transfers, Configure Endpoint and interrupt IN
 * transfers. Events are read by cycle bit and acknowledged through ERDP.
 */
import { GuestConsole } from '../../../src/emulator/gui/console.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import * as U from '../../../src/emulator/usb/regs.js';
import { UsbTablet } from '../../../src/emulator/usb/tablet.js';
import { XhciController } from '../../../src/emulator/usb/xhci.js';
import { pciWorld } from '../pci/helpers.js';
import { makeMemory } from '../virtio/driver.js';

export const DCBAA = 0x10000;
export const CMD_RING = 0x11000;
export const ERST = 0x12000;
export const EVENT_RING = 0x13000;
export const INPUT_CTX = 0x14000;
export const OUT_CTX = 0x15000;
export const EP0_RING = 0x16000;
export const EP1_RING = 0x17000;
export const BUF = 0x100000;
const RING_TRBS = 32;
const EVENT_TRBS = 16;

export interface Event {
  addr: number;
  param: bigint;
  status: number;
  control: number;
  type: number;
  code: number;
  slot: number;
  ep: number;
}

/** A producer of one ring (command or transfer) with a Link TRB back to the start. */
export class Producer {
  index = 0;
  cycle = 1;
  constructor(
    readonly mem: ReturnType<typeof makeMemory>,
    readonly base: number,
    readonly size = RING_TRBS,
  ) {
    mem.fill(base, size * 16);
  }
  push(param: bigint, status: number, control: number): number {
    const at = this.base + this.index * 16;
    this.mem.write64(at, param);
    this.mem.write32(at + 8, status);
    this.mem.write32(at + 12, ((control & ~1) | this.cycle) >>> 0);
    this.index++;
    if (this.index === this.size - 1) {
      const link = this.base + this.index * 16;
      this.mem.write64(link, BigInt(this.base));
      this.mem.write32(link + 8, 0);
      this.mem.write32(link + 12, ((U.XHCI_TRB_TYPE_LINK << 10) | U.XHCI_TRB_3_TC | this.cycle) >>> 0);
      this.index = 0;
      this.cycle ^= 1;
    }
    return at;
  }
}

export function rig(opts: { devices?: number } = {}) {
  const w = pciWorld();
  const mem = makeMemory(8 << 20);
  const log = new CollectingLogger();
  const console = new GuestConsole();
  const tablet = new UsbTablet(console);
  const fn = w.host.createFunction(0, 7, 0, 'xhci');
  const xhci = new XhciController(fn, mem, opts.devices === 0 ? [] : [tablet], log);
  w.host.assignResources();
  fn.cfgWrite(0x04, 2, 0x6); // memory + bus master
  const bar = fn.bars[0]!.addr;
  const reg = (off: number) => w.mmio.read(bar + off, 4) >>> 0;
  const set = (off: number, v: number) => w.mmio.write(bar + off, 4, v >>> 0);
  const op = (off: number) => reg(U.XHCI_CAPLEN + off);
  const setOp = (off: number, v: number) => set(U.XHCI_CAPLEN + off, v);
  const rt = (off: number) => reg(U.XHCI_RTSOFF + off);
  const setRt = (off: number, v: number) => set(U.XHCI_RTSOFF + off, v);
  const doorbell = (slot: number, target: number) => set(U.XHCI_DBOFF + 4 * slot, target);
  let cmd = new Producer(mem, CMD_RING);
  let evIndex = 0;
  let evCycle = 1;

  const start = () => {
    setOp(U.XHCI_USBCMD, U.XHCI_CMD_HCRST);
    setOp(U.XHCI_CONFIG, 64);
    mem.fill(DCBAA, 65 * 8);
    setOp(U.XHCI_DCBAAP_LO, DCBAA);
    setOp(U.XHCI_DCBAAP_HI, 0);
    cmd = new Producer(mem, CMD_RING);
    setOp(U.XHCI_CRCR_LO, CMD_RING | 1);
    setOp(U.XHCI_CRCR_HI, 0);
    mem.fill(EVENT_RING, EVENT_TRBS * 16);
    mem.write64(ERST, BigInt(EVENT_RING));
    mem.write32(ERST + 8, EVENT_TRBS);
    setRt(U.XHCI_IR0 + U.XHCI_ERSTSZ, 1);
    setRt(U.XHCI_IR0 + U.XHCI_ERDP_LO, EVENT_RING);
    setRt(U.XHCI_IR0 + U.XHCI_ERDP_HI, 0);
    setRt(U.XHCI_IR0 + U.XHCI_ERSTBA_LO, ERST);
    setRt(U.XHCI_IR0 + U.XHCI_ERSTBA_HI, 0);
    evIndex = 0;
    evCycle = 1;
    setRt(U.XHCI_IR0 + U.XHCI_IMAN, U.XHCI_IMAN_IE);
    setOp(U.XHCI_USBCMD, U.XHCI_CMD_RS | U.XHCI_CMD_INTE);
  };

  /** Events posted since the last call, acknowledged (ERDP + EHB, IMAN.IP). */
  const events = (ack = true): Event[] => {
    const out: Event[] = [];
    for (;;) {
      const at = EVENT_RING + evIndex * 16;
      const control = mem.read32(at + 12);
      if ((control & 1) !== evCycle) break;
      const status = mem.read32(at + 8);
      out.push({ addr: at, param: mem.read64(at), status, control, type: (control >>> 10) & 0x3f, code: status >>> 24, slot: control >>> 24, ep: (control >>> 16) & 0x1f });
      evIndex++;
      if (evIndex === EVENT_TRBS) {
        evIndex = 0;
        evCycle ^= 1;
      }
    }
    if (ack && out.length) {
      setRt(U.XHCI_IR0 + U.XHCI_ERDP_LO, (EVENT_RING + evIndex * 16) | U.XHCI_ERDP_EHB);
      setRt(U.XHCI_IR0 + U.XHCI_IMAN, U.XHCI_IMAN_IE | U.XHCI_IMAN_IP);
    }
    return out;
  };

  /** Issues one command and returns its completion event. */
  const command = (type: number, param = 0n, control = 0): Event => {
    const at = cmd.push(param, 0, (type << 10) | control);
    doorbell(0, 0);
    const ev = events().find((e) => e.type === U.XHCI_TRB_EVENT_CMD_COMPLETE && Number(e.param) === at);
    if (!ev) throw new Error(`no completion for command ${type}`);
    return ev;
  };

  /** Enable Slot + Address Device on port 1; returns the slot ID and EP0's ring. */
  const address = (port = 1) => {
    const en = command(U.XHCI_TRB_TYPE_ENABLE_SLOT);
    const slot = en.slot;
    mem.fill(INPUT_CTX, 33 * 32);
    mem.fill(OUT_CTX, 32 * 32);
    mem.write64(DCBAA + 8 * slot, BigInt(OUT_CTX));
    mem.write32(INPUT_CTX + 4, 3); // A0, A1
    mem.write32(INPUT_CTX + 32, (1 << 27) | (U.USB_SPEED_SUPER << 20)); // context entries 1, speed
    mem.write32(INPUT_CTX + 32 + 4, port << 16);
    mem.write32(INPUT_CTX + 64 + 4, (512 << 16) | (U.XHCI_EPTYPE_CONTROL << 3) | (3 << 1));
    const ep0 = new Producer(mem, EP0_RING);
    mem.write64(INPUT_CTX + 64 + 8, BigInt(EP0_RING | 1));
    const ad = command(U.XHCI_TRB_TYPE_ADDRESS_DEVICE, BigInt(INPUT_CTX), slot << 24);
    return { slot, ep0, ad };
  };

  /** A control transfer on EP0; `dataLen` > 0 adds an IN (or OUT) data stage at BUF. */
  const control = (slot: number, ep0: Producer, setup: number[], dataLen: number, dirIn = true) => {
    const s = new Uint8Array(8);
    s.set(setup);
    const param = new DataView(s.buffer).getBigUint64(0, true);
    const trt = dataLen === 0 ? 0 : dirIn ? 3 : 2;
    ep0.push(param, 8, (U.XHCI_TRB_TYPE_SETUP_STAGE << 10) | U.XHCI_TRB_3_IDT | (trt << 16));
    let dataTrb = 0;
    if (dataLen > 0) dataTrb = ep0.push(BigInt(BUF), dataLen, (U.XHCI_TRB_TYPE_DATA_STAGE << 10) | U.XHCI_TRB_3_ISP | (dirIn ? U.XHCI_TRB_3_DIR_IN : 0));
    const statusTrb = ep0.push(0n, 0, (U.XHCI_TRB_TYPE_STATUS_STAGE << 10) | U.XHCI_TRB_3_IOC | (dataLen > 0 && dirIn ? 0 : U.XHCI_TRB_3_DIR_IN));
    doorbell(slot, 1);
    return { events: events(), dataTrb, statusTrb };
  };

  return { w, mem, log, console, tablet, fn, xhci, reg, set, op, setOp, rt, setRt, doorbell, start, events, command, address, control, get cmd() { return cmd; } };
}
