/**
 * TRB rings of the xHCI (xHCI 1.1 §4.9 TRB ring, §4.9.2 transfer/command rings with Link
 * TRBs and the consumer cycle state, §4.9.4 event ring with its segment table, §6.4 TRB
 * layout). Guest memory only through bounds-checked accessors.
 *
 * RingReader consumes a command or transfer ring: it skips Link TRBs (toggling the cycle
 * state when TC is set) and refuses rings that are not guest RAM, TRBs that are not
 * 16-byte aligned, and runs of more than MAX_LINKS consecutive Link TRBs (a link loop) —
 * all reported as a ring fault the controller turns into an error instead of spinning.
 * EventRing produces events into the first segment of the interrupter's segment table
 * (ERST max is 2^0 entries, as bhyve advertises) and refuses to overwrite events the
 * driver has not consumed: when full, the event is dropped and counted.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { XHCI_TRB_3_CYCLE, XHCI_TRB_3_TC, XHCI_TRB_3_TYPE_SHIFT, XHCI_TRB_SIZE, XHCI_TRB_TYPE_LINK } from './regs.js';

export const MAX_LINKS = 16;

export interface Trb {
  /** Guest address of the TRB itself (for transfer events). */
  addr: number;
  param: bigint;
  status: number;
  control: number;
  type: number;
}

export function readTrb(mem: GuestMemory, addr: number): Trb {
  const control = mem.read32(addr + 12);
  return { addr, param: mem.read64(addr), status: mem.read32(addr + 8), control, type: (control >>> XHCI_TRB_3_TYPE_SHIFT) & 0x3f };
}

/** A 64-bit guest address from a bigint, saturated so that range checks fail above 2^53. */
export function addrOf(v: bigint): number {
  return v >= 1n << 53n ? Number.MAX_SAFE_INTEGER : Number(v);
}

export class RingFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RingFault';
  }
}

/** The consumer side of a command or transfer ring. */
export class RingReader {
  constructor(
    /** Dequeue pointer (guest address of the next TRB). */
    public dequeue: number,
    /** Consumer cycle state (0 or 1). */
    public ccs: number,
  ) {}

  /** The next TRB owned by the controller without consuming it, or undefined when empty. */
  peek(mem: GuestMemory): Trb | undefined {
    let links = 0;
    for (;;) {
      if (this.dequeue % XHCI_TRB_SIZE !== 0) throw new RingFault(`TRB pointer 0x${this.dequeue.toString(16)} is not 16-byte aligned`);
      if (!mem.contains(this.dequeue, XHCI_TRB_SIZE)) throw new RingFault(`TRB at 0x${this.dequeue.toString(16)} is not guest RAM`);
      const trb = readTrb(mem, this.dequeue);
      if ((trb.control & XHCI_TRB_3_CYCLE) !== this.ccs) return undefined;
      if (trb.type !== XHCI_TRB_TYPE_LINK) return trb;
      if (++links > MAX_LINKS) throw new RingFault(`more than ${MAX_LINKS} consecutive Link TRBs at 0x${this.dequeue.toString(16)}`);
      this.dequeue = addrOf(trb.param & ~0xfn);
      if (trb.control & XHCI_TRB_3_TC) this.ccs ^= 1;
    }
  }

  /** Consumes the TRB peek() returned. */
  advance(): void {
    this.dequeue += XHCI_TRB_SIZE;
  }
}

/** The producer side of interrupter 0's event ring. */
export class EventRing {
  private segBase = 0;
  private segSize = 0;
  private enqueue = 0;
  private pcs = 1;
  /** Events dropped because the ring was full or not set up. */
  dropped = 0;

  reset(): void {
    this.segBase = this.segSize = this.enqueue = 0;
    this.pcs = 1;
  }

  /** Loads segment 0 of the table at ERSTBA (on ERSTBA write); false when unusable. */
  configure(mem: GuestMemory, erstba: number, erstsz: number): boolean {
    this.reset();
    if (erstsz === 0 || !mem.contains(erstba, 16)) return false;
    const base = addrOf(mem.read64(erstba) & ~0x3fn);
    const size = mem.read32(erstba + 8) & 0xffff;
    if (size < 16 || !mem.contains(base, size * XHCI_TRB_SIZE)) return false;
    this.segBase = base;
    this.segSize = size;
    return true;
  }

  get ready(): boolean {
    return this.segSize > 0;
  }

  /** Guest address the next event goes to. */
  get enqueuePointer(): number {
    return this.segBase + this.enqueue * XHCI_TRB_SIZE;
  }

  /** Writes one event; `dequeue` is the driver's ERDP. False when dropped. */
  push(mem: GuestMemory, dequeue: number, param: bigint, status: number, control: number): boolean {
    if (!this.ready) {
      this.dropped++;
      return false;
    }
    const next = (this.enqueue + 1) % this.segSize;
    if (this.segBase + next * XHCI_TRB_SIZE === dequeue) {
      this.dropped++;
      return false;
    }
    const at = this.enqueuePointer;
    mem.write64(at, param);
    mem.write32(at + 8, status >>> 0);
    // Control (with the cycle bit) last: the driver polls the cycle bit.
    mem.write32(at + 12, ((control & ~XHCI_TRB_3_CYCLE) | this.pcs) >>> 0);
    this.enqueue = next;
    if (next === 0) this.pcs ^= 1;
    return true;
  }
}
