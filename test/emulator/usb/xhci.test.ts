import { describe, expect, it } from 'vitest';
import * as U from '../../../src/emulator/usb/regs.js';
import { CONFIG_DESCRIPTOR, DEVICE_DESCRIPTOR, REPORT_DESCRIPTOR } from '../../../src/emulator/usb/tablet.js';
import { buildError, buildMachine } from '../helpers/machine-rig.js';
import { BUF, EP1_RING, INPUT_CTX, OUT_CTX, Producer, rig } from './driver.js';

const GET_DESCRIPTOR = (type: number, index: number, len: number, recipient = 0) => [0x80 | recipient, 6, index, type, 0, 0, len & 0xff, len >> 8];

/** Configures the tablet's interrupt IN endpoint (DCI 3) and returns its ring. */
function configureTablet(r: ReturnType<typeof rig>, slot: number) {
  r.mem.fill(INPUT_CTX, 33 * 32);
  r.mem.write32(INPUT_CTX + 4, (1 << 3) | 1); // A3 (EP1 IN) and A0 (slot)
  r.mem.write32(INPUT_CTX + 32, 3 << 27); // context entries 3
  const ep1 = new Producer(r.mem, EP1_RING);
  r.mem.write32(INPUT_CTX + 32 * 4, 0x0a << 16); // interval
  r.mem.write32(INPUT_CTX + 32 * 4 + 4, (8 << 16) | (U.XHCI_EPTYPE_INT_IN << 3) | (3 << 1));
  r.mem.write64(INPUT_CTX + 32 * 4 + 8, BigInt(EP1_RING | 1));
  const ev = r.command(U.XHCI_TRB_TYPE_CONFIGURE_EP, BigInt(INPUT_CTX), slot << 24);
  return { ep1, ev };
}

describe('xHCI registers and ports', () => {
  it('presents bhyve capabilities, layout and supported protocols', () => {
    const r = rig();
    expect(r.w.cfgRead(0, 7, 0, 0)).toBe(0x1e318086);
    expect(r.w.cfgRead(0, 7, 0, 8) >>> 8).toBe(0x0c0330);
    expect(r.w.cfgRead(0, 7, 0, 0x60) & 0xff).toBe(0x30);
    expect(r.reg(U.XHCI_CAPLENGTH)).toBe(0x01000020);
    expect(r.reg(U.XHCI_HCSPARAMS1)).toBe((8 << 24) | (1 << 8) | 64);
    expect(r.reg(U.XHCI_DBOFF_REG)).toBe(0x4a0);
    expect(r.reg(U.XHCI_RTSOFF_REG)).toBe(0xcc0);
    const xecp = (r.reg(U.XHCI_HCCPARAMS1) >>> 16) * 4;
    expect(xecp).toBe(0xd00);
    expect(r.reg(xecp)).toBe(0x02000402); // USB 2.0, next 4 dwords
    expect(r.reg(xecp + 8)).toBe((4 << 8) | 5); // ports 5-8
    expect(r.reg(xecp + 16)).toBe(0x03000002); // USB 3.0
    expect(r.reg(xecp + 24)).toBe((4 << 8) | 1); // ports 1-4
    expect(r.op(U.XHCI_USBSTS) & U.XHCI_STS_HCH).toBe(1);
    expect(r.op(U.XHCI_PAGESIZE)).toBe(1);
    // Port 1 holds the SuperSpeed tablet, connected and enabled in U0; port 2 is empty.
    const p1 = r.op(U.XHCI_PORTREGS_START);
    expect(p1 & (U.XHCI_PS_CCS | U.XHCI_PS_PED | U.XHCI_PS_PP)).toBe(U.XHCI_PS_CCS | U.XHCI_PS_PED | U.XHCI_PS_PP);
    expect((p1 >> 10) & 0xf).toBe(U.USB_SPEED_SUPER);
    expect(r.op(U.XHCI_PORTREGS_START + 0x10) & U.XHCI_PS_CCS).toBe(0);
  });

  it('reports connected ports when started, resets ports and clears change bits', () => {
    const r = rig();
    r.start();
    expect(r.op(U.XHCI_USBSTS) & U.XHCI_STS_HCH).toBe(0);
    const ev = r.events();
    expect(ev.map((e) => [e.type, Number(e.param >> 24n)])).toEqual([[U.XHCI_TRB_EVENT_PORT_STS_CHANGE, 1]]);
    expect(r.op(U.XHCI_PORTREGS_START) & U.XHCI_PS_CSC).toBeTruthy();
    r.setOp(U.XHCI_PORTREGS_START, U.XHCI_PS_PP | U.XHCI_PS_CSC);
    expect(r.op(U.XHCI_PORTREGS_START) & U.XHCI_PS_CSC).toBe(0);
    r.setOp(U.XHCI_PORTREGS_START, U.XHCI_PS_PP | U.XHCI_PS_PR);
    expect(r.op(U.XHCI_PORTREGS_START) & (U.XHCI_PS_PRC | U.XHCI_PS_PED)).toBe(U.XHCI_PS_PRC | U.XHCI_PS_PED);
    expect(r.events()[0]!.type).toBe(U.XHCI_TRB_EVENT_PORT_STS_CHANGE);
  });

  it('drives INTx while IMAN.IP is set, and MSI when enabled', () => {
    const r = rig();
    r.start();
    expect(r.fn.intxAsserted).toBe(true);
    r.events(); // acknowledges IP
    expect(r.fn.intxAsserted).toBe(false);
    // MSI: enable the capability, then an event sends a message.
    r.w.cfgWrite(0, 7, 0, 0x40 + 4, 0xfee00000);
    r.w.cfgWrite(0, 7, 0, 0x40 + 12, 0x4021, 2);
    r.w.cfgWrite(0, 7, 0, 0x40 + 2, 1, 2);
    r.command(U.XHCI_TRB_TYPE_NOOP_CMD);
    expect(r.w.irq.msis.at(-1)).toEqual({ addr: 0xfee00000, data: 0x4021 });
    expect(r.fn.intxAsserted).toBe(false);
  });
});

describe('xHCI commands and the USB tablet', () => {
  it('enumerates the tablet: slot, address, descriptors, configuration', () => {
    const r = rig();
    r.start();
    r.events();
    const { slot, ep0, ad } = r.address();
    expect(slot).toBe(1);
    expect(ad.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    // Output slot context: addressed, address = slot ID; EP0 running.
    expect(r.mem.read32(OUT_CTX + 12) >>> 27).toBe(U.XHCI_SLOT_ST_ADDRESSED);
    expect(r.mem.read32(OUT_CTX + 12) & 0xff).toBe(1);
    expect(r.mem.read32(OUT_CTX + 32) & 7).toBe(U.XHCI_ST_EPCTX_RUNNING);
    // GET_DESCRIPTOR(device): data then status events.
    const dev = r.control(slot, ep0, GET_DESCRIPTOR(U.UDESC_DEVICE, 0, 18), 18);
    expect(dev.events.map((e) => [e.type, e.code, e.ep])).toEqual([[U.XHCI_TRB_EVENT_TRANSFER, U.XHCI_TRB_ERROR_SUCCESS, 1]]);
    expect(Number(dev.events[0]!.param)).toBe(dev.statusTrb);
    expect([...r.mem.readBytes(BUF, 18)]).toEqual([...DEVICE_DESCRIPTOR]);
    // A longer buffer than the descriptor: short packet on the data stage (ISP), then status.
    const cfg = r.control(slot, ep0, GET_DESCRIPTOR(U.UDESC_CONFIG, 0, 64), 64);
    expect(cfg.events.map((e) => [e.code, e.status & 0xffffff])).toEqual([
      [U.XHCI_TRB_ERROR_SHORT_PKT, 64 - CONFIG_DESCRIPTOR.length],
      [U.XHCI_TRB_ERROR_SUCCESS, 0],
    ]);
    expect([...r.mem.readBytes(BUF, CONFIG_DESCRIPTOR.length)]).toEqual([...CONFIG_DESCRIPTOR]);
    const str = r.control(slot, ep0, GET_DESCRIPTOR(U.UDESC_STRING, 2, 255), 255);
    expect(str.events.at(-1)!.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    const s = r.mem.readBytes(BUF, r.mem.read8(BUF));
    expect(Buffer.from(s.subarray(2)).toString('utf16le')).toBe('HID Tablet');
    const rep = r.control(slot, ep0, GET_DESCRIPTOR(0x22, 0, REPORT_DESCRIPTOR.length, 1), REPORT_DESCRIPTOR.length);
    expect(rep.events.at(-1)!.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    expect([...r.mem.readBytes(BUF, REPORT_DESCRIPTOR.length)]).toEqual([...REPORT_DESCRIPTOR]);
    // SET_CONFIGURATION (no data stage) and HID SET_IDLE.
    expect(r.control(slot, ep0, [0, 9, 1, 0, 0, 0, 0, 0], 0).events[0]!.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    expect(r.control(slot, ep0, [0x21, 0x0a, 0, 0, 0, 0, 0, 0], 0).events[0]!.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    const { ev } = configureTablet(r, slot);
    expect(ev.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    expect(r.mem.read32(OUT_CTX + 12) >>> 27).toBe(U.XHCI_SLOT_ST_CONFIGURED);
    expect(r.mem.read32(OUT_CTX + 32 * 3) & 7).toBe(U.XHCI_ST_EPCTX_RUNNING);
  });

  it('reports pointer events on the interrupt endpoint, scaled to 0..0x7FFF', () => {
    const r = rig();
    r.start();
    r.events();
    const { slot } = r.address();
    const { ep1 } = configureTablet(r, slot);
    r.console.setSize(1024, 768);
    const trb = ep1.push(BigInt(BUF + 0x100), 8, (U.XHCI_TRB_TYPE_NORMAL << 10) | U.XHCI_TRB_3_IOC | U.XHCI_TRB_3_ISP);
    r.doorbell(slot, 3);
    expect(r.events()).toEqual([]); // nothing to report: the TD stays pending
    r.console.pointerEvent(0x01 | 0x04, 512, 384); // left + right, centre
    const ev = r.events();
    expect(ev.map((e) => [Number(e.param), e.code, e.status & 0xffffff, e.ep])).toEqual([[trb, U.XHCI_TRB_ERROR_SHORT_PKT, 2, 3]]);
    const rep = r.mem.readBytes(BUF + 0x100, 6);
    const dv = new DataView(rep.buffer);
    expect(rep[0]).toBe(0x03);
    expect(dv.getInt16(1, true)).toBe(0x4000);
    expect(dv.getInt16(3, true)).toBe(0x4000);
    // Wheel up, pointer beyond the screen is clamped.
    ep1.push(BigInt(BUF + 0x200), 8, (U.XHCI_TRB_TYPE_NORMAL << 10) | U.XHCI_TRB_3_IOC | U.XHCI_TRB_3_ISP);
    r.doorbell(slot, 3);
    r.console.pointerEvent(0x08, 5000, -3);
    expect(r.events().length).toBe(1);
    const w = new DataView(r.mem.readBytes(BUF + 0x200, 6).buffer);
    expect([w.getInt16(1, true), w.getInt16(3, true), w.getInt8(5)]).toEqual([Math.floor((0x8000 * 1023) / 1024), 0, 1]);
  });

  it('stalls unknown requests, halting EP0 until Reset Endpoint', () => {
    const r = rig();
    r.start();
    r.events();
    const { slot, ep0 } = r.address();
    const st = r.control(slot, ep0, GET_DESCRIPTOR(0x44, 0, 8), 8);
    expect(st.events.map((e) => [e.code, Number(e.param)])).toEqual([[U.XHCI_TRB_ERROR_STALL, st.dataTrb]]);
    expect(r.mem.read32(OUT_CTX + 32) & 7).toBe(U.XHCI_ST_EPCTX_HALTED);
    expect(r.control(slot, ep0, GET_DESCRIPTOR(U.UDESC_DEVICE, 0, 18), 18).events).toEqual([]); // halted: nothing runs
    expect(r.command(U.XHCI_TRB_TYPE_STOP_EP, 0n, (slot << 24) | (1 << 16)).code).toBe(U.XHCI_TRB_ERROR_CONTEXT_STATE);
    expect(r.command(U.XHCI_TRB_TYPE_RESET_EP, 0n, (slot << 24) | (1 << 16)).code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    expect(r.mem.read32(OUT_CTX + 32) & 7).toBe(U.XHCI_ST_EPCTX_STOPPED);
    // The pending GET_DESCRIPTOR runs when the doorbell rings again.
    r.doorbell(slot, 1);
    expect(r.events().at(-1)!.code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
  });

  it('refuses hostile commands with completion codes', () => {
    const r = rig();
    r.start();
    r.events();
    expect(r.command(U.XHCI_TRB_TYPE_ADDRESS_DEVICE, 0n, 9 << 24).code).toBe(U.XHCI_TRB_ERROR_SLOT_NOT_ON);
    const en = r.command(U.XHCI_TRB_TYPE_ENABLE_SLOT);
    expect(r.command(U.XHCI_TRB_TYPE_ADDRESS_DEVICE, 0xfff00000n, en.slot << 24).code).toBe(U.XHCI_TRB_ERROR_PARAMETER);
    // Input context naming an empty root-hub port.
    r.mem.fill(INPUT_CTX, 33 * 32);
    r.mem.write32(INPUT_CTX + 4, 3);
    r.mem.write32(INPUT_CTX + 32 + 4, 2 << 16);
    r.mem.write64(0x10000 + 8 * en.slot, BigInt(OUT_CTX));
    expect(r.command(U.XHCI_TRB_TYPE_ADDRESS_DEVICE, BigInt(INPUT_CTX), en.slot << 24).code).toBe(U.XHCI_TRB_ERROR_PARAMETER);
    // Output context pointer outside RAM.
    r.mem.write32(INPUT_CTX + 32 + 4, 1 << 16);
    r.mem.write64(0x10000 + 8 * en.slot, 0xfff00000n);
    expect(r.command(U.XHCI_TRB_TYPE_ADDRESS_DEVICE, BigInt(INPUT_CTX), en.slot << 24).code).toBe(U.XHCI_TRB_ERROR_PARAMETER);
    expect(r.command(U.XHCI_TRB_TYPE_CONFIGURE_EP, BigInt(INPUT_CTX), en.slot << 24).code).toBe(U.XHCI_TRB_ERROR_CONTEXT_STATE);
    expect(r.command(U.XHCI_TRB_TYPE_NORMAL).code).toBe(U.XHCI_TRB_ERROR_TRB);
    expect(r.command(U.XHCI_TRB_TYPE_DISABLE_SLOT, 0n, en.slot << 24).code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    // Slots beyond CONFIG.MaxSlotsEn are not handed out.
    r.setOp(U.XHCI_CONFIG, 1);
    expect(r.command(U.XHCI_TRB_TYPE_ENABLE_SLOT).code).toBe(U.XHCI_TRB_ERROR_SUCCESS);
    expect(r.command(U.XHCI_TRB_TYPE_ENABLE_SLOT).code).toBe(U.XHCI_TRB_ERROR_NO_SLOTS);
  });

  it('survives hostile rings: link loops, buffers outside RAM, an unconsumed event ring', () => {
    const r = rig();
    r.start();
    r.events();
    const { slot, ep0 } = r.address();
    // A data stage buffer outside guest RAM.
    const s = new Uint8Array(GET_DESCRIPTOR(U.UDESC_DEVICE, 0, 18));
    ep0.push(new DataView(s.buffer).getBigUint64(0, true), 8, (U.XHCI_TRB_TYPE_SETUP_STAGE << 10) | U.XHCI_TRB_3_IDT | (3 << 16));
    ep0.push(0xfff00000n, 18, (U.XHCI_TRB_TYPE_DATA_STAGE << 10) | U.XHCI_TRB_3_DIR_IN);
    ep0.push(0n, 0, (U.XHCI_TRB_TYPE_STATUS_STAGE << 10) | U.XHCI_TRB_3_IOC);
    r.doorbell(slot, 1);
    expect(r.events().map((e) => e.code)).toEqual([U.XHCI_TRB_ERROR_DATA_BUF]);
    // A command ring made of Link TRBs pointing at each other.
    const loop = 0x30000;
    r.mem.write64(loop, BigInt(loop + 16));
    r.mem.write32(loop + 12, (U.XHCI_TRB_TYPE_LINK << 10) | 1);
    r.mem.write64(loop + 16, BigInt(loop));
    r.mem.write32(loop + 28, (U.XHCI_TRB_TYPE_LINK << 10) | 1);
    r.setOp(U.XHCI_CRCR_LO, U.XHCI_CRCR_CA); // stop the running ring first
    r.events();
    r.setOp(U.XHCI_CRCR_LO, loop | 1);
    r.doorbell(0, 0);
    expect(r.log.messages.join('\n')).toMatch(/consecutive Link TRBs/);
    // The controller still answers.
    expect(r.op(U.XHCI_USBSTS) & U.XHCI_STS_HCH).toBe(0);
    // Events the driver never consumes: the ring fills, the rest is dropped and counted.
    r.setOp(U.XHCI_CRCR_LO, 0x31000 | 1);
    const p = new Producer(r.mem, 0x31000);
    for (let i = 0; i < 30; i++) p.push(0n, 0, U.XHCI_TRB_TYPE_NOOP_CMD << 10);
    r.doorbell(0, 0);
    expect(r.xhci.droppedEvents).toBeGreaterThan(0);
    // Doorbells for slots or endpoints that do not exist are ignored.
    r.doorbell(40, 1);
    r.doorbell(slot, 5);
    expect(r.log.messages.join('\n')).toMatch(/doorbell for slot 40 endpoint 1/);
  });

  it('HCRST returns the controller to its initial state', () => {
    const r = rig();
    r.start();
    r.events();
    r.address();
    r.setOp(U.XHCI_USBCMD, U.XHCI_CMD_HCRST);
    expect(r.op(U.XHCI_USBSTS) & U.XHCI_STS_HCH).toBe(1);
    expect(r.op(U.XHCI_CONFIG)).toBe(0);
    expect(r.xhci.slots.every((s) => s === undefined)).toBe(true);
  });
});

describe('the xhci PCI model', () => {
  it('builds xhci,tablet and refuses other device models or a second controller', async () => {
    const { m, cfg } = await buildMachine(['-s', '0,hostbridge', '-s', '7,xhci,tablet']);
    expect(cfg(0, 7, 0, 0)).toBe(0x1e318086);
    await m.close();
    expect((await buildError(['-s', '7,xhci,kbd'])).message).toBe('pci slot 0:7:0: pci_xhci: unknown device model "kbd" (tsbhyve has: tablet)');
    expect((await buildError(['-s', '7,xhci,tablet', '-s', '8,xhci,tablet'])).message).toBe('pci slot 0:8:0: pci_xhci controller already defined');
    expect((await buildError(['-s', '7,xhci', '-o', 'pci.0.7.0.slot.99.device=tablet'])).message).toBe("pci slot 0:7:0: pci_xhci: invalid slot '99'");
  });
});
