/**
 * Device slots and endpoints of the xHCI (xHCI 1.1 §4.5 slots, §4.8 endpoints, §6.2.2 slot
 * context, §6.2.3 endpoint context): per slot the attached device, its state, and per
 * endpoint the transfer ring reader and state, mirrored into the output device context
 * the driver reads (DCBAA[slot]). 32-byte contexts (HCCPARAMS1.CSZ = 0).
 *
 * Context memory is checked to be guest RAM before it is read or written; a slot whose
 * output context is not RAM keeps working but its context is not mirrored (the command
 * that set it up already failed with a parameter error).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { addrOf, RingReader } from './rings.js';
import * as U from './regs.js';
import type { UsbDevice } from './usb-device.js';

export const DEVICE_CTX_BYTES = U.XHCI_CTX_SIZE * U.XHCI_MAX_ENDPOINTS;
export const INPUT_CTX_BYTES = U.XHCI_CTX_SIZE * (U.XHCI_MAX_ENDPOINTS + 1);

export class Endpoint {
  state = U.XHCI_ST_EPCTX_RUNNING;
  constructor(
    readonly dci: number,
    public ring: RingReader,
    /** Endpoint type (EP context dw1 bits 5:3). */
    readonly type: number,
    public maxPacket: number,
  ) {}
}

export class Slot {
  state = U.XHCI_SLOT_ST_DEFAULT;
  address = 0;
  device: UsbDevice | undefined;
  port = 0;
  /** Output device context (DCBAA entry), 0 until Address Device. */
  outCtx = 0;
  readonly eps: Array<Endpoint | undefined> = new Array(U.XHCI_MAX_ENDPOINTS);

  constructor(readonly id: number) {}

  /** Copies 32-byte context `n` (0 = slot, DCI = endpoint) from an input context. */
  static readInputCtx(mem: GuestMemory, input: number, n: number): Uint32Array {
    const at = input + U.XHCI_CTX_SIZE * (n + 1);
    const out = new Uint32Array(8);
    for (let i = 0; i < 8; i++) out[i] = mem.read32(at + 4 * i);
    return out;
  }

  /** Builds an endpoint from an endpoint context (its TR dequeue pointer and DCS). */
  static endpointFrom(dci: number, ctx: Uint32Array): Endpoint {
    const deq = addrOf(((BigInt(ctx[3]!) << 32n) | BigInt(ctx[2]!)) & ~0xfn);
    const dcs = ctx[2]! & 1;
    return new Endpoint(dci, new RingReader(deq, dcs), (ctx[1]! >>> 3) & 7, ctx[1]! >>> 16);
  }

  /** Writes a context dword array into the output context. */
  writeCtx(mem: GuestMemory, n: number, ctx: Uint32Array): void {
    if (!this.outCtx || !mem.contains(this.outCtx, DEVICE_CTX_BYTES)) return;
    const at = this.outCtx + U.XHCI_CTX_SIZE * n;
    for (let i = 0; i < 8; i++) mem.write32(at + 4 * i, ctx[i]!);
  }

  /** Updates the output slot context's state and address. */
  syncSlot(mem: GuestMemory): void {
    if (!this.outCtx || !mem.contains(this.outCtx, DEVICE_CTX_BYTES)) return;
    mem.write32(this.outCtx + 12, ((this.state << 27) | (this.address & 0xff)) >>> 0);
  }

  /** Updates an output endpoint context's state and TR dequeue pointer. */
  syncEndpoint(mem: GuestMemory, dci: number): void {
    if (!this.outCtx || !mem.contains(this.outCtx, DEVICE_CTX_BYTES)) return;
    const at = this.outCtx + U.XHCI_CTX_SIZE * dci;
    const ep = this.eps[dci];
    const dw0 = mem.read32(at);
    mem.write32(at, ((dw0 & ~7) | (ep ? ep.state : U.XHCI_ST_EPCTX_DISABLED)) >>> 0);
    if (ep) mem.write64(at + 8, BigInt(ep.ring.dequeue) | BigInt(ep.ring.ccs));
  }

  /** Disables every endpoint but the default control endpoint. */
  dropEndpoints(mem: GuestMemory): void {
    for (let dci = 2; dci < U.XHCI_MAX_ENDPOINTS; dci++) {
      if (this.eps[dci]) {
        this.eps[dci] = undefined;
        this.syncEndpoint(mem, dci);
      }
    }
  }
}
