/**
 * The xHCI command set (xHCI 1.1 §4.6 commands, §6.4.3 command TRBs): Enable Slot,
 * Disable Slot, Address Device, Configure Endpoint, Evaluate Context, Reset Endpoint,
 * Stop Endpoint, Set TR Dequeue Pointer, Reset Device, No Op. Each returns a completion
 * code (and the slot ID for Enable Slot); the controller posts the Command Completion
 * Event. Everything guest-supplied is checked first: slot IDs against enabled slots,
 * endpoint IDs against 1..31, context pointers 16/64-byte aligned and wholly guest RAM,
 * the root-hub port named by the input slot context against attached devices, the state
 * each command requires (CONTEXT_STATE otherwise). Unknown commands → TRB_ERROR.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { addrOf, RingReader, type Trb } from './rings.js';
import * as U from './regs.js';
import { DEVICE_CTX_BYTES, INPUT_CTX_BYTES, Slot } from './slots.js';
import type { UsbDevice } from './usb-device.js';

export interface CommandHost {
  readonly mem: GuestMemory;
  /** Slot table, index = slot ID (0 unused). */
  readonly slots: Array<Slot | undefined>;
  /** Slots the driver enabled in CONFIG.MaxSlotsEn. */
  readonly maxSlotsEnabled: number;
  /** Device context base address array pointer. */
  readonly dcbaap: number;
  /** Device attached to root-hub port `port` (1-based). */
  portDevice(port: number): UsbDevice | undefined;
}

export interface CommandResult {
  code: number;
  slot: number;
}

const done = (code: number, slot = 0): CommandResult => ({ code, slot });

function slotOf(host: CommandHost, trb: Trb): Slot | undefined {
  const id = trb.control >>> U.XHCI_TRB_3_SLOT_SHIFT;
  return id >= 1 && id < host.slots.length ? host.slots[id] : undefined;
}

/** The input context of a command: 16-byte aligned, wholly guest RAM. */
function inputContext(host: CommandHost, trb: Trb): number | undefined {
  const a = addrOf(trb.param & ~0xfn);
  return host.mem.contains(a, INPUT_CTX_BYTES) ? a : undefined;
}

function enableSlot(host: CommandHost): CommandResult {
  for (let id = 1; id <= host.maxSlotsEnabled && id < host.slots.length; id++) {
    if (!host.slots[id]) {
      host.slots[id] = new Slot(id);
      host.slots[id]!.state = U.XHCI_SLOT_ST_DISABLED;
      return done(U.XHCI_TRB_ERROR_SUCCESS, id);
    }
  }
  return done(U.XHCI_TRB_ERROR_NO_SLOTS);
}

function addressDevice(host: CommandHost, trb: Trb, slot: Slot): CommandResult {
  const mem = host.mem;
  const input = inputContext(host, trb);
  if (input === undefined) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const ctrl = Slot.readInputCtx(mem, input, -1);
  if ((ctrl[1]! & 3) !== 3) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id); // A0 and A1
  if (slot.state !== U.XHCI_SLOT_ST_DISABLED && slot.state !== U.XHCI_SLOT_ST_DEFAULT) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
  const sctx = Slot.readInputCtx(mem, input, 0);
  const port = (sctx[1]! >>> 16) & 0xff;
  const dev = host.portDevice(port);
  if (!dev) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const dcbaa = host.dcbaap;
  if (!mem.contains(dcbaa + 8 * slot.id, 8)) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const out = addrOf(mem.read64(dcbaa + 8 * slot.id) & ~0x3fn);
  if (!mem.contains(out, DEVICE_CTX_BYTES)) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const bsr = (trb.control & U.XHCI_TRB_3_BSR) !== 0;
  slot.device = dev;
  slot.port = port;
  slot.outCtx = out;
  slot.state = bsr ? U.XHCI_SLOT_ST_DEFAULT : U.XHCI_SLOT_ST_ADDRESSED;
  slot.address = bsr ? 0 : slot.id;
  const ep0 = Slot.readInputCtx(mem, input, 1);
  slot.eps[1] = Slot.endpointFrom(1, ep0);
  dev.reset();
  slot.writeCtx(mem, 0, sctx);
  slot.writeCtx(mem, 1, ep0);
  slot.syncSlot(mem);
  slot.syncEndpoint(mem, 1);
  return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
}

function configureEndpoint(host: CommandHost, trb: Trb, slot: Slot): CommandResult {
  const mem = host.mem;
  if (slot.state !== U.XHCI_SLOT_ST_ADDRESSED && slot.state !== U.XHCI_SLOT_ST_CONFIGURED) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
  if (trb.control & U.XHCI_TRB_3_DCEP) {
    slot.dropEndpoints(mem);
    slot.state = U.XHCI_SLOT_ST_ADDRESSED;
    slot.syncSlot(mem);
    return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
  }
  const input = inputContext(host, trb);
  if (input === undefined) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const ctrl = Slot.readInputCtx(mem, input, -1);
  const drop = ctrl[0]!;
  const add = ctrl[1]!;
  if (drop & 3 || add & 2) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id); // D0, D1 and A1 are reserved here
  for (let dci = 2; dci < U.XHCI_MAX_ENDPOINTS; dci++) {
    if (drop & (1 << dci)) slot.eps[dci] = undefined;
    if (add & (1 << dci)) {
      const ctx = Slot.readInputCtx(mem, input, dci);
      const ep = Slot.endpointFrom(dci, ctx);
      slot.eps[dci] = ep;
      ctx[0] = ((ctx[0]! & ~7) | U.XHCI_ST_EPCTX_RUNNING) >>> 0;
      slot.writeCtx(mem, dci, ctx);
    }
    if (drop & (1 << dci) || add & (1 << dci)) slot.syncEndpoint(mem, dci);
  }
  if (add & 1) {
    const sctx = Slot.readInputCtx(mem, input, 0);
    const cur = slot.outCtx && mem.contains(slot.outCtx, 32) ? mem.read32(slot.outCtx) : 0;
    // Context Entries come from the input slot context.
    if (slot.outCtx && mem.contains(slot.outCtx, 32)) mem.write32(slot.outCtx, ((cur & 0x07ffffff) | (sctx[0]! & 0xf8000000)) >>> 0);
  }
  slot.state = slot.eps.some((e, i) => i >= 2 && e) ? U.XHCI_SLOT_ST_CONFIGURED : U.XHCI_SLOT_ST_ADDRESSED;
  slot.syncSlot(mem);
  return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
}

function evaluateContext(host: CommandHost, trb: Trb, slot: Slot): CommandResult {
  const mem = host.mem;
  if (slot.state === U.XHCI_SLOT_ST_DISABLED) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
  const input = inputContext(host, trb);
  if (input === undefined) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
  const add = Slot.readInputCtx(mem, input, -1)[1]!;
  if (add & 1 && slot.outCtx && mem.contains(slot.outCtx, 32)) {
    const sctx = Slot.readInputCtx(mem, input, 0);
    // Max Exit Latency (dw1 15:0) and Interrupter Target (dw2 31:22).
    mem.write32(slot.outCtx + 4, ((mem.read32(slot.outCtx + 4) & ~0xffff) | (sctx[1]! & 0xffff)) >>> 0);
    mem.write32(slot.outCtx + 8, ((mem.read32(slot.outCtx + 8) & 0x003fffff) | (sctx[2]! & 0xffc00000)) >>> 0);
  }
  if (add & 2) {
    const ep0 = slot.eps[1];
    const ctx = Slot.readInputCtx(mem, input, 1);
    if (ep0) ep0.maxPacket = ctx[1]! >>> 16;
    if (slot.outCtx && mem.contains(slot.outCtx + 32, 32)) mem.write32(slot.outCtx + 32 + 4, ((mem.read32(slot.outCtx + 36) & 0xffff) | (ctx[1]! & 0xffff0000)) >>> 0);
  }
  return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
}

function endpointCommand(host: CommandHost, trb: Trb, slot: Slot): CommandResult {
  const mem = host.mem;
  const dci = (trb.control >>> U.XHCI_TRB_3_EP_SHIFT) & 0x1f;
  const ep = dci >= 1 ? slot.eps[dci] : undefined;
  if (!ep) return done(U.XHCI_TRB_ERROR_ENDP_NOT_ON, slot.id);
  switch (trb.type) {
    case U.XHCI_TRB_TYPE_RESET_EP:
      if (ep.state !== U.XHCI_ST_EPCTX_HALTED) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
      ep.state = U.XHCI_ST_EPCTX_STOPPED;
      break;
    case U.XHCI_TRB_TYPE_STOP_EP:
      if (ep.state !== U.XHCI_ST_EPCTX_RUNNING) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
      ep.state = U.XHCI_ST_EPCTX_STOPPED;
      break;
    case U.XHCI_TRB_TYPE_SET_TR_DEQUEUE: {
      if (ep.state !== U.XHCI_ST_EPCTX_STOPPED && ep.state !== U.XHCI_ST_EPCTX_ERROR) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
      const p = addrOf(trb.param & ~0xfn);
      if (!mem.contains(p, U.XHCI_TRB_SIZE)) return done(U.XHCI_TRB_ERROR_PARAMETER, slot.id);
      ep.ring = new RingReader(p, Number(trb.param & 1n));
      break;
    }
  }
  slot.syncEndpoint(mem, dci);
  return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
}

/** Executes one command TRB. */
export function runCommand(host: CommandHost, trb: Trb): CommandResult {
  if (trb.type === U.XHCI_TRB_TYPE_ENABLE_SLOT) return enableSlot(host);
  if (trb.type === U.XHCI_TRB_TYPE_NOOP_CMD) return done(U.XHCI_TRB_ERROR_SUCCESS);
  const isSlotCommand = [
    U.XHCI_TRB_TYPE_DISABLE_SLOT,
    U.XHCI_TRB_TYPE_ADDRESS_DEVICE,
    U.XHCI_TRB_TYPE_CONFIGURE_EP,
    U.XHCI_TRB_TYPE_EVALUATE_CTX,
    U.XHCI_TRB_TYPE_RESET_EP,
    U.XHCI_TRB_TYPE_STOP_EP,
    U.XHCI_TRB_TYPE_SET_TR_DEQUEUE,
    U.XHCI_TRB_TYPE_RESET_DEVICE,
  ].includes(trb.type);
  if (!isSlotCommand) return done(U.XHCI_TRB_ERROR_TRB);
  const slot = slotOf(host, trb);
  const id = trb.control >>> U.XHCI_TRB_3_SLOT_SHIFT;
  if (!slot) return done(U.XHCI_TRB_ERROR_SLOT_NOT_ON, id & 0xff);
  switch (trb.type) {
    case U.XHCI_TRB_TYPE_DISABLE_SLOT:
      slot.dropEndpoints(host.mem);
      slot.eps[1] = undefined;
      slot.state = U.XHCI_SLOT_ST_DISABLED;
      slot.syncSlot(host.mem);
      host.slots[slot.id] = undefined;
      return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
    case U.XHCI_TRB_TYPE_ADDRESS_DEVICE:
      return addressDevice(host, trb, slot);
    case U.XHCI_TRB_TYPE_CONFIGURE_EP:
      return configureEndpoint(host, trb, slot);
    case U.XHCI_TRB_TYPE_EVALUATE_CTX:
      return evaluateContext(host, trb, slot);
    case U.XHCI_TRB_TYPE_RESET_DEVICE:
      if (slot.state === U.XHCI_SLOT_ST_DISABLED || slot.state === U.XHCI_SLOT_ST_DEFAULT) return done(U.XHCI_TRB_ERROR_CONTEXT_STATE, slot.id);
      slot.dropEndpoints(host.mem);
      slot.state = U.XHCI_SLOT_ST_DEFAULT;
      slot.address = 0;
      slot.device?.reset();
      slot.syncSlot(host.mem);
      return done(U.XHCI_TRB_ERROR_SUCCESS, slot.id);
    default:
      return endpointCommand(host, trb, slot);
  }
}
