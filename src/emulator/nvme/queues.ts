/**
 * NVMe submission and completion queues as the controller sees them (NVM Express 1.4
 * §4.1 queue mechanism, §4.2 SQ entry, §4.6 CQ entry; bhyve pci_nvme.c
 * nvme_submission_queue / nvme_completion_queue / pci_nvme_cq_update).
 *
 * Only physically contiguous queues exist (CAP.CQR = 1). A queue's whole ring is checked
 * to be guest RAM when it is created; entries are still read and written through
 * bounds-checked accessors. Unlike bhyve, the phase tag is device state (flipped on each
 * wrap) rather than read back from guest memory, and a completion that finds its queue
 * full waits in a per-queue overflow list until the host moves the head doorbell — the
 * controller stops fetching commands for that queue meanwhile, so the list is bounded by
 * the commands already fetched. Doorbell values outside the queue are refused (bhyve
 * stores them and can spin forever on `head != tail`).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { NVME_CQE_SIZE, NVME_SQE_SIZE, NVME_STATUS_P } from './regs.js';

/** One 64-byte submission entry, decoded (§4.2). */
export interface NvmeCommand {
  opc: number;
  /** FUSE (bits 9:8) and PSDT (bits 15:14) of CDW0. */
  flags: number;
  cid: number;
  nsid: number;
  prp1: number;
  prp2: number;
  cdw10: number;
  cdw11: number;
  cdw12: number;
  cdw13: number;
  cdw14: number;
  cdw15: number;
}

export function readCommand(mem: GuestMemory, gpa: number): NvmeCommand {
  const cdw0 = mem.read32(gpa);
  return {
    opc: cdw0 & 0xff,
    flags: (cdw0 >>> 8) & 0xff,
    cid: cdw0 >>> 16,
    nsid: mem.read32(gpa + 4),
    prp1: mem.readAddr64(gpa + 24),
    prp2: mem.readAddr64(gpa + 32),
    cdw10: mem.read32(gpa + 40),
    cdw11: mem.read32(gpa + 44),
    cdw12: mem.read32(gpa + 48),
    cdw13: mem.read32(gpa + 52),
    cdw14: mem.read32(gpa + 56),
    cdw15: mem.read32(gpa + 60),
  };
}

export class SubmissionQueue {
  head = 0;
  tail = 0;
  constructor(
    readonly id: number,
    readonly base: number,
    readonly size: number,
    readonly cqid: number,
  ) {}

  get empty(): boolean {
    return this.head === this.tail;
  }

  /** Sets the tail from a doorbell write; false when the value is outside the queue. */
  setTail(v: number): boolean {
    if (v >= this.size) return false;
    this.tail = v;
    return true;
  }

  /** Fetches the command at head and advances head. */
  fetch(mem: GuestMemory): NvmeCommand {
    const cmd = readCommand(mem, this.base + this.head * NVME_SQE_SIZE);
    this.head = (this.head + 1) % this.size;
    return cmd;
  }
}

export interface Completion {
  cdw0: number;
  sqid: number;
  sqhd: number;
  cid: number;
  /** Status field without the phase bit (SC/SCT/DNR). */
  status: number;
}

export class CompletionQueue {
  head = 0;
  tail = 0;
  private phase = NVME_STATUS_P;
  /** Completions waiting for room (the host has not consumed entries). */
  readonly overflow: Completion[] = [];

  constructor(
    readonly id: number,
    readonly base: number,
    readonly size: number,
    /** Interrupts enabled (IEN) and the MSI-X vector (IV). */
    readonly ien: boolean,
    readonly vector: number,
  ) {}

  get full(): boolean {
    return (this.tail + 1) % this.size === this.head;
  }

  /** Entries posted that the host has not consumed. */
  get pending(): boolean {
    return this.head !== this.tail;
  }

  /** Sets the head from a doorbell write; false when the value is outside the queue. */
  setHead(v: number): boolean {
    if (v >= this.size) return false;
    this.head = v;
    return true;
  }

  /** Posts one completion, or keeps it until there is room. Returns whether it was posted. */
  post(mem: GuestMemory, c: Completion): boolean {
    if (this.full || this.overflow.length > 0) {
      this.overflow.push(c);
      return false;
    }
    this.write(mem, c);
    return true;
  }

  /** Moves waiting completions into freed slots; returns how many were posted. */
  drain(mem: GuestMemory): number {
    let n = 0;
    while (this.overflow.length > 0 && !this.full) {
      this.write(mem, this.overflow.shift()!);
      n++;
    }
    return n;
  }

  private write(mem: GuestMemory, c: Completion): void {
    const at = this.base + this.tail * NVME_CQE_SIZE;
    mem.write32(at, c.cdw0);
    mem.write32(at + 4, 0);
    mem.write32(at + 8, (c.sqhd & 0xffff) | ((c.sqid & 0xffff) << 16));
    // The status dword carries the phase tag: write it last so the host never sees a
    // new phase with stale fields.
    mem.write32(at + 12, (c.cid & 0xffff) | (((c.status & ~NVME_STATUS_P) | this.phase) << 16));
    this.tail++;
    if (this.tail === this.size) {
      this.tail = 0;
      this.phase ^= NVME_STATUS_P;
    }
  }
}
