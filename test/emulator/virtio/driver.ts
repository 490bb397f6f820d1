/**
 * A tiny virtio "driver" for tests: lays split rings in a GuestMemory, posts chains and
 * reads the used ring, and drives a VirtioPciTransport through its PCI BARs exactly as a
 * guest would (legacy I/O BAR or modern capabilities). Hostile tests write raw
 * descriptors directly.
 */
import { GuestMemory } from '../../../src/emulator/memory/guest-memory.js';
import { legacyRingBytes } from '../../../src/emulator/virtio/queue.js';
import * as V from '../../../src/emulator/virtio/regs.js';
import type { PciFunction } from '../../../src/emulator/pci/function.js';

export interface Buf {
  addr: number;
  len: number;
  write?: boolean;
}

export class RingDriver {
  availIdx = 0;
  usedSeen = 0;
  nextDesc = 0;
  constructor(
    readonly mem: GuestMemory,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
  ) {}

  static legacy(mem: GuestMemory, size: number, base: number): RingDriver {
    const avail = base + 16 * size;
    const used = Math.ceil((avail + 6 + 2 * size) / 4096) * 4096;
    if (used + 6 + 8 * size > base + legacyRingBytes(size)) throw new Error('layout');
    return new RingDriver(mem, size, base, avail, used);
  }

  writeDesc(i: number, addr: number, len: number, flags: number, next: number): void {
    const d = this.desc + 16 * i;
    this.mem.write64(d, BigInt(addr));
    this.mem.write32(d + 8, len);
    this.mem.write16(d + 12, flags);
    this.mem.write16(d + 14, next);
  }

  /** Posts a chain built from free descriptors; returns its head. */
  post(bufs: Buf[]): number {
    const head = this.nextDesc % this.size;
    bufs.forEach((b, k) => {
      const i = (head + k) % this.size;
      const last = k === bufs.length - 1;
      this.writeDesc(i, b.addr, b.len, (b.write ? V.VRING_DESC_F_WRITE : 0) | (last ? 0 : V.VRING_DESC_F_NEXT), (i + 1) % this.size);
    });
    this.nextDesc += bufs.length;
    this.publish(head);
    return head;
  }

  /** Puts a head index in the avail ring and bumps avail.idx. */
  publish(head: number): void {
    this.mem.write16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.write16(this.avail + 2, this.availIdx);
  }

  /** Used entries not seen yet. */
  takeUsed(): Array<{ id: number; len: number }> {
    const out = [];
    const idx = this.mem.read16(this.used + 2);
    while (this.usedSeen !== idx) {
      const e = this.used + 4 + 8 * (this.usedSeen % this.size);
      out.push({ id: this.mem.read32(e), len: this.mem.read32(e + 4) });
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }
}

/** Accesses to a virtio function's BARs by index (as the guest's port/MMIO accesses would). */
export class PciAccess {
  constructor(readonly fn: PciFunction) {}
  r(bar: number, off: number, size: number): number {
    return this.fn.barRead(bar, off, size);
  }
  w(bar: number, off: number, size: number, v: number): void {
    this.fn.barWrite(bar, off, size, v);
  }
  /** Legacy setup: reset, ACK|DRIVER, features, queues by PFN, DRIVER_OK. */
  legacyInit(features: number, queues: Array<{ index: number; base: number }>): void {
    this.w(0, V.VIRTIO_PCI_STATUS, 1, 0);
    this.w(0, V.VIRTIO_PCI_STATUS, 1, V.VIRTIO_CONFIG_S_ACKNOWLEDGE | V.VIRTIO_CONFIG_S_DRIVER);
    this.w(0, V.VIRTIO_PCI_GUEST_FEATURES, 4, features);
    for (const q of queues) {
      this.w(0, V.VIRTIO_PCI_QUEUE_SEL, 2, q.index);
      this.w(0, V.VIRTIO_PCI_QUEUE_PFN, 4, q.base / 4096);
    }
    this.w(0, V.VIRTIO_PCI_STATUS, 1, V.VIRTIO_CONFIG_S_ACKNOWLEDGE | V.VIRTIO_CONFIG_S_DRIVER | V.VIRTIO_CONFIG_S_DRIVER_OK);
  }
  /** Modern setup through BAR4's common configuration. */
  modernInit(features: bigint, queues: Array<{ index: number; size?: number; desc: number; avail: number; used: number; vector?: number }>): number {
    const C = 0x0000;
    this.w(4, C + V.COMMON_STATUS, 1, 0);
    this.w(4, C + V.COMMON_STATUS, 1, V.VIRTIO_CONFIG_S_ACKNOWLEDGE | V.VIRTIO_CONFIG_S_DRIVER);
    this.w(4, C + V.COMMON_GFSELECT, 4, 0);
    this.w(4, C + V.COMMON_GF, 4, Number(features & 0xffffffffn));
    this.w(4, C + V.COMMON_GFSELECT, 4, 1);
    this.w(4, C + V.COMMON_GF, 4, Number(features >> 32n));
    this.w(4, C + V.COMMON_STATUS, 1, V.VIRTIO_CONFIG_S_ACKNOWLEDGE | V.VIRTIO_CONFIG_S_DRIVER | V.VIRTIO_CONFIG_S_FEATURES_OK);
    const st = this.r(4, C + V.COMMON_STATUS, 1);
    for (const q of queues) {
      this.w(4, C + V.COMMON_Q_SELECT, 2, q.index);
      if (q.size) this.w(4, C + V.COMMON_Q_SIZE, 2, q.size);
      this.w(4, C + V.COMMON_Q_DESCLO, 4, q.desc);
      this.w(4, C + V.COMMON_Q_AVAILLO, 4, q.avail);
      this.w(4, C + V.COMMON_Q_USEDLO, 4, q.used);
      if (q.vector !== undefined) this.w(4, C + V.COMMON_Q_MSIX, 2, q.vector);
      this.w(4, C + V.COMMON_Q_ENABLE, 2, 1);
    }
    this.w(4, C + V.COMMON_STATUS, 1, st | V.VIRTIO_CONFIG_S_DRIVER_OK);
    return st;
  }
  notifyLegacy(q: number): void {
    this.w(0, V.VIRTIO_PCI_QUEUE_NOTIFY, 2, q);
  }
  notifyModern(q: number): void {
    this.w(4, 0x3000 + 4 * q, 2, q);
  }
}

export function makeMemory(size = 4 * 1024 * 1024): GuestMemory {
  return new GuestMemory(new ArrayBuffer(size));
}
