/**
 * Transfer rings of the xHCI (xHCI 1.1 §4.11 TRB usage: control transfers as Setup /
 * Data (+ chained Normal) / Status stages, §4.11.2 interrupt transfers as Normal TRBs,
 * §4.10.1.1 short packets, §6.4.2.1 Transfer Event TRB) for the two kinds of endpoint the
 * emulated devices have: the default control endpoint and interrupt IN endpoints.
 *
 * A TD is consumed only when it is complete on the ring (a driver still writing TRBs is
 * waited for) and, for interrupt IN, only when the device has data — otherwise it stays
 * pending until the device wakes the endpoint. Buffers are checked to be guest RAM before
 * anything is copied; a malformed TD (stage out of order, a Setup without 8 immediate
 * bytes, a buffer outside RAM, more than MAX_TD_TRBS TRBs) is completed with a TRB or
 * data-buffer error and skipped. A stalled request halts the endpoint until Reset
 * Endpoint. At most MAX_TDS_PER_RUN TDs are handled per doorbell.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { addrOf, RingReader, type Trb } from './rings.js';
import * as U from './regs.js';
import type { Endpoint, Slot } from './slots.js';
import { parseSetup } from './usb-device.js';

export const MAX_TD_TRBS = 64;
export const MAX_TDS_PER_RUN = 256;
const EVENT_DATA_FLAG = 1 << 2; // ED in the Transfer Event control dword

export interface TransferHost {
  readonly mem: GuestMemory;
  /** Posts a Transfer Event. */
  event(param: bigint, status: number, control: number): void;
  warn(key: string, message: string): void;
}

interface Buffer {
  trb: Trb;
  addr: number;
  len: number;
  immediate?: Uint8Array;
}

function post(host: TransferHost, slot: Slot, ep: Endpoint, param: bigint, code: number, residual: number, eventData = false): void {
  const control = (U.XHCI_TRB_EVENT_TRANSFER << U.XHCI_TRB_3_TYPE_SHIFT) | (ep.dci << U.XHCI_TRB_3_EP_SHIFT) | (slot.id << U.XHCI_TRB_3_SLOT_SHIFT) | (eventData ? EVENT_DATA_FLAG : 0);
  host.event(param, ((code << 24) | (residual & 0xffffff)) >>> 0, control >>> 0);
}

/** Gathers a TD from a clone of the ring; undefined while incomplete. */
function gatherTd(
  mem: GuestMemory,
  ring: RingReader,
  accept: (t: Trb, first: boolean) => boolean,
  last: (t: Trb) => boolean,
): { reader: RingReader; trbs: Trb[]; bad?: Trb } | undefined {
  const r = new RingReader(ring.dequeue, ring.ccs);
  const trbs: Trb[] = [];
  for (;;) {
    const t = r.peek(mem);
    if (!t) return undefined;
    r.advance();
    if (!accept(t, trbs.length === 0)) return { reader: r, trbs, bad: t };
    trbs.push(t);
    if (trbs.length > MAX_TD_TRBS) return { reader: r, trbs, bad: t };
    if (last(t)) return { reader: r, trbs };
  }
}

/** Data buffers of a TD's data TRBs, validated; a TRB outside RAM is returned as `bad`. */
function buffers(mem: GuestMemory, trbs: Trb[]): { bufs: Buffer[]; bad?: Trb } {
  const bufs: Buffer[] = [];
  for (const t of trbs) {
    if (t.type !== U.XHCI_TRB_TYPE_DATA_STAGE && t.type !== U.XHCI_TRB_TYPE_NORMAL) continue;
    const len = t.status & 0x1ffff;
    if (t.control & U.XHCI_TRB_3_IDT) {
      if (len > 8) return { bufs, bad: t };
      const imm = new Uint8Array(8);
      new DataView(imm.buffer).setBigUint64(0, t.param, true);
      bufs.push({ trb: t, addr: 0, len, immediate: imm.subarray(0, len) });
      continue;
    }
    const addr = addrOf(t.param);
    if (len > 0 && !mem.contains(addr, len)) return { bufs, bad: t };
    bufs.push({ trb: t, addr, len });
  }
  return { bufs };
}

/** Writes `data` across IN buffers and posts events for IOC / short packets. */
function completeIn(host: TransferHost, slot: Slot, ep: Endpoint, trbs: Trb[], bufs: Buffer[], data: Uint8Array): void {
  let off = 0;
  let shortSeen = false;
  let total = 0;
  const bufOf = new Map(bufs.map((b) => [b.trb, b]));
  for (const t of trbs) {
    if (t.type === U.XHCI_TRB_TYPE_EVENT_DATA) {
      if (t.control & U.XHCI_TRB_3_IOC) post(host, slot, ep, t.param, shortSeen ? U.XHCI_TRB_ERROR_SHORT_PKT : U.XHCI_TRB_ERROR_SUCCESS, total, true);
      continue;
    }
    const b = bufOf.get(t);
    if (!b || shortSeen) continue;
    const n = Math.min(b.len, data.length - off);
    if (n > 0) host.mem.writeBytes(b.addr, data.subarray(off, off + n));
    off += n;
    total += n;
    const residual = b.len - n;
    const isShort = residual > 0;
    if (t.control & U.XHCI_TRB_3_IOC || (isShort && t.control & U.XHCI_TRB_3_ISP)) {
      post(host, slot, ep, BigInt(t.addr), isShort ? U.XHCI_TRB_ERROR_SHORT_PKT : U.XHCI_TRB_ERROR_SUCCESS, residual);
    }
    if (isShort) shortSeen = true;
  }
}

function halt(host: TransferHost, slot: Slot, ep: Endpoint, at: Trb, code: number): void {
  post(host, slot, ep, BigInt(at.addr), code, 0);
  if (code === U.XHCI_TRB_ERROR_STALL) ep.state = U.XHCI_ST_EPCTX_HALTED;
  slot.syncEndpoint(host.mem, ep.dci);
}

/** Runs the default control endpoint's ring. */
export function runControl(host: TransferHost, slot: Slot, ep: Endpoint): void {
  const dev = slot.device;
  if (!dev) return;
  for (let n = 0; n < MAX_TDS_PER_RUN && ep.state === U.XHCI_ST_EPCTX_RUNNING; n++) {
    const order = [U.XHCI_TRB_TYPE_SETUP_STAGE, U.XHCI_TRB_TYPE_DATA_STAGE, U.XHCI_TRB_TYPE_STATUS_STAGE];
    let stage = 0;
    const td = gatherTd(host.mem, ep.ring, (t, first) => {
      if (first) return t.type === U.XHCI_TRB_TYPE_SETUP_STAGE;
      if (t.type === U.XHCI_TRB_TYPE_EVENT_DATA) return true;
      if (t.type === U.XHCI_TRB_TYPE_NORMAL) return stage === 1;
      const s = order.indexOf(t.type);
      if (s <= stage) return false;
      stage = s;
      return true;
    }, (t) => t.type === U.XHCI_TRB_TYPE_STATUS_STAGE);
    if (!td) return;
    ep.ring.dequeue = td.reader.dequeue;
    ep.ring.ccs = td.reader.ccs;
    const setupTrb = td.trbs[0];
    if (td.bad || !setupTrb) {
      host.warn('ctl-order', `xhci: slot ${slot.id}: malformed control transfer (TRB type ${(td.bad ?? setupTrb)!.type})`);
      halt(host, slot, ep, td.bad ?? setupTrb!, U.XHCI_TRB_ERROR_TRB);
      continue;
    }
    if (!(setupTrb.control & U.XHCI_TRB_3_IDT) || (setupTrb.status & 0x1ffff) !== 8) {
      halt(host, slot, ep, setupTrb, U.XHCI_TRB_ERROR_TRB);
      continue;
    }
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setBigUint64(0, setupTrb.param, true);
    const setup = parseSetup(raw);
    const rest = td.trbs.slice(1);
    const { bufs, bad } = buffers(host.mem, rest);
    if (bad) {
      host.warn('ctl-buf', `xhci: slot ${slot.id}: control data buffer outside guest RAM`);
      halt(host, slot, ep, bad, U.XHCI_TRB_ERROR_DATA_BUF);
      continue;
    }
    const dataIn = (setup.bmRequestType & 0x80) !== 0;
    let out: Uint8Array | undefined;
    if (!dataIn && bufs.length > 0) {
      const total = bufs.reduce((s, b) => s + b.len, 0);
      out = new Uint8Array(total);
      let o = 0;
      for (const b of bufs) {
        out.set(b.immediate ?? host.mem.viewOrThrow(b.addr, b.len), o);
        o += b.len;
      }
    }
    const res = dev.control(setup, out);
    const statusTrb = rest.find((t) => t.type === U.XHCI_TRB_TYPE_STATUS_STAGE);
    if (res.kind === 'stall') {
      halt(host, slot, ep, bufs[0]?.trb ?? statusTrb ?? setupTrb, U.XHCI_TRB_ERROR_STALL);
      continue;
    }
    const dataTrbs = rest.filter((t) => t !== statusTrb);
    if (dataIn) completeIn(host, slot, ep, dataTrbs, bufs, (res.data ?? new Uint8Array(0)).subarray(0, setup.wLength));
    else {
      for (const t of dataTrbs) {
        if (t.control & U.XHCI_TRB_3_IOC) {
          if (t.type === U.XHCI_TRB_TYPE_EVENT_DATA) post(host, slot, ep, t.param, U.XHCI_TRB_ERROR_SUCCESS, out?.length ?? 0, true);
          else post(host, slot, ep, BigInt(t.addr), U.XHCI_TRB_ERROR_SUCCESS, 0);
        }
      }
    }
    if (statusTrb && statusTrb.control & U.XHCI_TRB_3_IOC) post(host, slot, ep, BigInt(statusTrb.addr), U.XHCI_TRB_ERROR_SUCCESS, 0);
  }
}

/** Runs an interrupt IN endpoint's ring while the device has data for it. */
export function runInterruptIn(host: TransferHost, slot: Slot, ep: Endpoint): void {
  const dev = slot.device;
  if (!dev) return;
  const epNum = ep.dci >> 1;
  for (let n = 0; n < MAX_TDS_PER_RUN && ep.state === U.XHCI_ST_EPCTX_RUNNING; n++) {
    const td = gatherTd(
      host.mem,
      ep.ring,
      (t) => t.type === U.XHCI_TRB_TYPE_NORMAL || t.type === U.XHCI_TRB_TYPE_EVENT_DATA,
      (t) => !(t.control & U.XHCI_TRB_3_CHAIN),
    );
    if (!td) return;
    if (td.bad) {
      ep.ring.dequeue = td.reader.dequeue;
      ep.ring.ccs = td.reader.ccs;
      halt(host, slot, ep, td.bad, U.XHCI_TRB_ERROR_TRB);
      continue;
    }
    const { bufs, bad } = buffers(host.mem, td.trbs);
    if (bad) {
      ep.ring.dequeue = td.reader.dequeue;
      ep.ring.ccs = td.reader.ccs;
      halt(host, slot, ep, bad, U.XHCI_TRB_ERROR_DATA_BUF);
      continue;
    }
    const room = bufs.reduce((s, b) => s + b.len, 0);
    const data = dev.interruptIn(epNum, room);
    if (!data) return; // nothing to report yet: the TD stays pending
    ep.ring.dequeue = td.reader.dequeue;
    ep.ring.ccs = td.reader.ccs;
    completeIn(host, slot, ep, td.trbs, bufs, data);
  }
}
