/**
 * A split virtqueue as the device sees it (Virtio 1.2 §2.7; bhyve virtio.c vq_getchain /
 * vq_relchain / vq_endchains; firecracker virtio/queue.rs).
 *
 * Guest input is hostile: every index and address read from the ring is validated
 * before use. pop() returns the next chain as validated segments, or throws a
 * VirtqueueError (the device then marks itself NEEDS_RESET and stops using the queue):
 * - the avail index moving by more than the queue size, a head or `next` index out of
 *   range, a descriptor or indirect table outside guest RAM (RAM only: never MMIO);
 * - loops (more descriptors than the ring or table holds), chains longer than
 *   VQ_MAX_DESCRIPTORS, total length beyond 4 GiB;
 * - indirect descriptors when not negotiated, nested indirect tables, an indirect
 *   descriptor also flagged NEXT, a table length that is zero or not a multiple of 16;
 * - a device-readable descriptor after a device-writable one.
 * Zero-length descriptors are allowed and dropped from the segment list.
 *
 * Ring layout from the legacy PFN (contiguous, 4 KiB aligned used ring) or from the three
 * modern addresses. The device writes used elements before the used index; interrupt
 * suppression follows VRING_AVAIL_F_NO_INTERRUPT or, with EVENT_IDX, used_event.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import {
  VQ_MAX_DESCRIPTORS,
  VRING_ALIGN,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_DESC_SIZE,
} from './regs.js';

export interface Segment {
  addr: number;
  len: number;
}

export interface DescChain {
  head: number;
  /** Device-readable (driver → device) buffers, in order. */
  readable: Segment[];
  /** Device-writable (device → driver) buffers, in order. */
  writable: Segment[];
  readableLen: number;
  writableLen: number;
}

export type VirtqueueErrorKind =
  | 'avail-index'
  | 'head-index'
  | 'next-index'
  | 'bad-address'
  | 'loop'
  | 'too-long'
  | 'indirect-not-negotiated'
  | 'nested-indirect'
  | 'indirect-next'
  | 'indirect-length'
  | 'order'
  | 'not-ready';

export class VirtqueueError extends Error {
  constructor(
    readonly kind: VirtqueueErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'VirtqueueError';
  }
}

const MAX_CHAIN_BYTES = 0x1_0000_0000;

/** Bytes the legacy contiguous layout needs for a queue of `size` entries. */
export function legacyRingBytes(size: number): number {
  const availEnd = size * VRING_DESC_SIZE + 4 + 2 * size + 2;
  const usedStart = Math.ceil(availEnd / VRING_ALIGN) * VRING_ALIGN;
  return usedStart + 4 + 8 * size + 2;
}

export class Virtqueue {
  /** Negotiated size (modern drivers may shrink it; legacy uses maxSize). */
  size: number;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  ready = false;
  msixVector = 0xffff;
  lastAvail = 0;
  usedIdx = 0;
  /** Used index when the driver was last notified (EVENT_IDX). */
  private signalledUsed = 0;
  private signalledValid = false;
  indirect = false;
  eventIdx = false;
  private mem: GuestMemory | undefined;

  constructor(
    readonly index: number,
    readonly maxSize: number,
  ) {
    if (maxSize < 1 || maxSize > 32768 || (maxSize & (maxSize - 1)) !== 0) throw new RangeError(`queue size ${maxSize}`);
    this.size = maxSize;
  }

  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.ready = false;
    this.msixVector = 0xffff;
    this.lastAvail = this.usedIdx = 0;
    this.signalledUsed = 0;
    this.signalledValid = false;
    this.mem = undefined;
  }

  /** Legacy QUEUE_PFN: contiguous layout at pfn << 12 (0 resets the queue). */
  setLegacyPfn(pfn: number): void {
    if (pfn === 0) {
      this.reset();
      return;
    }
    const base = pfn * VRING_ALIGN;
    this.size = this.maxSize;
    this.descAddr = base;
    this.availAddr = base + this.size * VRING_DESC_SIZE;
    const availEnd = this.availAddr + 4 + 2 * this.size + 2;
    this.usedAddr = Math.ceil(availEnd / VRING_ALIGN) * VRING_ALIGN;
    this.ready = true;
    this.lastAvail = this.usedIdx = 0;
  }

  /** Binds guest memory and negotiated ring features (on DRIVER_OK). */
  activate(mem: GuestMemory, features: { indirect: boolean; eventIdx: boolean }): void {
    this.mem = mem;
    this.indirect = features.indirect;
    this.eventIdx = features.eventIdx;
  }

  get active(): boolean {
    return this.ready && this.mem !== undefined;
  }

  /** Checks the ring areas lie in guest RAM (called on activation; throws). */
  validateRings(): void {
    const m = this.mem;
    if (!m) throw new VirtqueueError('not-ready', `queue ${this.index} is not active`);
    const s = this.size;
    if (s < 1 || s > this.maxSize || (s & (s - 1)) !== 0) throw new VirtqueueError('not-ready', `queue ${this.index}: invalid size ${s}`);
    const rings: Array<[number, number, string]> = [
      [this.descAddr, s * VRING_DESC_SIZE, 'descriptor table'],
      [this.availAddr, 6 + 2 * s, 'available ring'],
      [this.usedAddr, 6 + 8 * s, 'used ring'],
    ];
    for (const [a, l, what] of rings) {
      if (!m.contains(a, l)) throw new VirtqueueError('bad-address', `queue ${this.index}: ${what} at 0x${a.toString(16)} is not guest RAM`);
    }
  }

  /** Whether the driver made buffers available that were not popped yet. */
  hasAvailable(): boolean {
    const m = this.mem;
    if (!m || !this.ready) return false;
    return m.read16(this.availAddr + 2) !== this.lastAvail;
  }

  /** Pops the next available chain, or undefined when the ring is empty. */
  pop(): DescChain | undefined {
    const m = this.mem;
    if (!m || !this.ready) throw new VirtqueueError('not-ready', `queue ${this.index} is not active`);
    const availIdx = m.read16(this.availAddr + 2);
    const pending = (availIdx - this.lastAvail) & 0xffff;
    if (pending === 0) return undefined;
    if (pending > this.size) {
      throw new VirtqueueError('avail-index', `queue ${this.index}: avail index ${availIdx} moved ${pending} entries past ${this.lastAvail} (size ${this.size})`);
    }
    const head = m.read16(this.availAddr + 4 + 2 * (this.lastAvail % this.size));
    if (head >= this.size) throw new VirtqueueError('head-index', `queue ${this.index}: head ${head} >= size ${this.size}`);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) m.write16(this.usedAddr + 4 + 8 * this.size, this.lastAvail); // avail_event
    return this.walk(m, head);
  }

  /** Puts a popped chain back (e.g. no room for an RX frame yet). */
  unpop(): void {
    this.lastAvail = (this.lastAvail - 1) & 0xffff;
  }

  private walk(m: GuestMemory, head: number): DescChain {
    const chain: DescChain = { head, readable: [], writable: [], readableLen: 0, writableLen: 0 };
    let table = this.descAddr;
    let tableSize = this.size;
    let idx = head;
    let inIndirect = false;
    let count = 0;
    let total = 0;
    for (;;) {
      const d = table + idx * VRING_DESC_SIZE;
      const addr = m.readAddr64(d);
      const len = m.read32(d + 8);
      const flags = m.read16(d + 12);
      const next = m.read16(d + 14);
      if (++count > VQ_MAX_DESCRIPTORS) throw new VirtqueueError('too-long', `queue ${this.index}: chain from head ${head} exceeds ${VQ_MAX_DESCRIPTORS} descriptors`);
      if (flags & VRING_DESC_F_INDIRECT) {
        if (!this.indirect) throw new VirtqueueError('indirect-not-negotiated', `queue ${this.index}: indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC`);
        if (inIndirect) throw new VirtqueueError('nested-indirect', `queue ${this.index}: indirect table inside an indirect table`);
        if (flags & VRING_DESC_F_NEXT) throw new VirtqueueError('indirect-next', `queue ${this.index}: indirect descriptor with NEXT set`);
        if (len === 0 || len % VRING_DESC_SIZE !== 0) throw new VirtqueueError('indirect-length', `queue ${this.index}: indirect table length ${len}`);
        if (len / VRING_DESC_SIZE > VQ_MAX_DESCRIPTORS) throw new VirtqueueError('too-long', `queue ${this.index}: indirect table of ${len / VRING_DESC_SIZE} descriptors`);
        if (!m.contains(addr, len)) throw new VirtqueueError('bad-address', `queue ${this.index}: indirect table at 0x${addr.toString(16)}+${len} is not guest RAM`);
        table = addr;
        tableSize = len / VRING_DESC_SIZE;
        idx = 0;
        inIndirect = true;
        count = 0;
        continue;
      }
      if (len > 0) {
        if (!m.contains(addr, len)) throw new VirtqueueError('bad-address', `queue ${this.index}: buffer 0x${addr.toString(16)}+${len} is not guest RAM`);
        total += len;
        if (total > MAX_CHAIN_BYTES) throw new VirtqueueError('too-long', `queue ${this.index}: chain longer than 4 GiB`);
        if (flags & VRING_DESC_F_WRITE) {
          chain.writable.push({ addr, len });
          chain.writableLen += len;
        } else {
          if (chain.writable.length > 0) throw new VirtqueueError('order', `queue ${this.index}: readable descriptor after a writable one`);
          chain.readable.push({ addr, len });
          chain.readableLen += len;
        }
      }
      if (!(flags & VRING_DESC_F_NEXT)) return chain;
      if (next >= tableSize) throw new VirtqueueError('next-index', `queue ${this.index}: next ${next} >= ${tableSize}`);
      if (count >= tableSize) throw new VirtqueueError('loop', `queue ${this.index}: descriptor loop from head ${head}`);
      idx = next;
    }
  }

  /** Returns a chain to the driver with `len` bytes written. */
  push(head: number, len: number): void {
    const m = this.mem;
    if (!m) return;
    const slot = this.usedIdx % this.size;
    const e = this.usedAddr + 4 + 8 * slot;
    m.write32(e, head);
    m.write32(e + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    m.write16(this.usedAddr + 2, this.usedIdx);
  }

  /**
   * Whether the driver wants an interrupt for what was pushed since the last one
   * (vq_endchains): with EVENT_IDX when used_event was crossed, otherwise unless
   * VRING_AVAIL_F_NO_INTERRUPT is set.
   */
  shouldInterrupt(): boolean {
    const m = this.mem;
    if (!m) return false;
    if (this.eventIdx) {
      const usedEvent = m.read16(this.availAddr + 4 + 2 * this.size);
      const old = this.signalledUsed;
      const neu = this.usedIdx;
      const valid = this.signalledValid;
      this.signalledUsed = neu;
      this.signalledValid = true;
      if (!valid) return true;
      return ((neu - usedEvent - 1) & 0xffff) < ((neu - old) & 0xffff);
    }
    return (m.read16(this.availAddr) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
  }
}

/** Copies up to `max` bytes of a chain's readable segments into one fresh buffer. */
export function gatherReadable(mem: GuestMemory, chain: DescChain, skip = 0, max = Infinity): Uint8Array {
  const total = Math.max(0, Math.min(chain.readableLen - skip, max));
  const out = new Uint8Array(total);
  let o = 0;
  let s = skip;
  for (const seg of chain.readable) {
    if (o >= total) break;
    if (s >= seg.len) {
      s -= seg.len;
      continue;
    }
    const n = Math.min(seg.len - s, total - o);
    out.set(mem.viewOrThrow(seg.addr + s, n), o);
    o += n;
    s = 0;
  }
  return out;
}

/** Scatters `data` into a chain's writable segments starting at byte `skip`; returns bytes written. */
export function scatterWritable(mem: GuestMemory, chain: DescChain, data: Uint8Array, skip = 0): number {
  let o = 0;
  let s = skip;
  for (const seg of chain.writable) {
    if (o >= data.length) break;
    if (s >= seg.len) {
      s -= seg.len;
      continue;
    }
    const n = Math.min(seg.len - s, data.length - o);
    mem.viewOrThrow(seg.addr + s, n).set(data.subarray(o, o + n));
    mem.written(seg.addr + s, n);
    o += n;
    s = 0;
  }
  return o;
}

/** Splits a segment list at byte offset `at` into [before, after] (views of guest memory ranges). */
export function splitSegments(segs: Segment[], at: number): [Segment[], Segment[]] {
  const a: Segment[] = [];
  const b: Segment[] = [];
  let left = at;
  for (const s of segs) {
    if (left >= s.len) {
      a.push(s);
      left -= s.len;
    } else if (left > 0) {
      a.push({ addr: s.addr, len: left });
      b.push({ addr: s.addr + left, len: s.len - left });
      left = 0;
    } else b.push(s);
  }
  return [a, b];
}
