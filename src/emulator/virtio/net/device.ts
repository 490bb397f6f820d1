/**
 * The virtio-net device (bhyve pci_virtio_net.c; bhyve-userland.md §6.3): RX queue 0 and
 * TX queue 1 of 1024 entries, no control queue, features MAC, STATUS, MRG_RXBUF (+ MTU
 * when configured) and NOTIFY_ON_EMPTY; config {mac, status = LINK_UP, max pairs 1, mtu}.
 * Backends carry bare Ethernet frames (no offloads): the device strips the virtio-net
 * header on TX and prepends a zeroed one on RX — 12 bytes for modern drivers or with
 * MRG_RXBUF, 10 bytes otherwise.
 *
 * TX: each chain's readable bytes after the header form one frame (≤ VTNET_MAX_PKT_LEN,
 * else dropped and counted); the chain is returned at once. RX: frames wait in a bounded
 * backlog until the guest posts buffers; with MRG_RXBUF a frame may span several chains
 * (num_buffers), otherwise it must fit one chain or is dropped. When the backlog fills,
 * the backend is paused; an RX kick drains it and resumes. Guest buffers are written in
 * place; per-frame allocation is the frame itself.
 */
import { createHash } from 'node:crypto';
import type { NetBackend } from '../../backends/net/backend.js';
import { MAX_FRAME } from '../../backends/net/backend.js';
import type { VirtioActivation, VirtioDevice } from '../device.js';
import { readLE } from '../device.js';
import { gatherReadable, scatterWritable, VirtqueueError, type DescChain } from '../queue.js';
import { VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_VERSION_1, VIRTIO_ID_NET, bit } from '../regs.js';
import {
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_S_LINK_UP,
  VTNET_MAX_MTU,
  VTNET_MIN_MTU,
  VTNET_RINGSZ,
  VTNET_RXQ,
  VTNET_RX_BACKLOG,
  VTNET_TXQ,
} from './index.js';

const PCIC_NETWORK = 0x02;
const CONFIG_SIZE = 12;

export class MacError extends Error {}

/** ether_aton + bhyve's checks: six hex octets, not multicast, not all zero. */
export function parseMac(s: string): Uint8Array {
  const m = /^([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2})$/i.exec(s);
  if (!m) throw new MacError(`Invalid MAC address "${s}"`);
  const mac = Uint8Array.from(m.slice(1), (x) => parseInt(x, 16));
  if (mac[0]! & 1) throw new MacError(`Invalid MAC address "${s}": multicast`);
  if (mac.every((b) => b === 0)) throw new MacError(`Invalid MAC address "${s}": all zeros`);
  return mac;
}

/** bhyve's default: NetApp OUI 00:a0:98 + MD5("<slot>-<func>-<vmname>")[0..2]. */
export function defaultMac(slot: number, func: number, vmName: string): Uint8Array {
  const d = createHash('md5').update(`${slot}-${func}-${vmName}`).digest();
  return Uint8Array.of(0x00, 0xa0, 0x98, d[0]!, d[1]!, d[2]!);
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export class VirtioNet implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_NET;
  readonly pciClass = PCIC_NETWORK;
  readonly queueSizes = [VTNET_RINGSZ, VTNET_RINGSZ];
  readonly configSize = CONFIG_SIZE;
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private state: { kind: 'inactive' } | { kind: 'active'; ctx: VirtioActivation; hdrLen: number; mergeable: boolean } = { kind: 'inactive' };
  private readonly backlog: Uint8Array[] = [];
  private paused = false;
  readonly stats = { txFrames: 0, rxFrames: 0, txDropped: 0, rxDropped: 0 };

  constructor(
    private readonly backend: NetBackend,
    mac: Uint8Array,
    private readonly mtu?: number,
  ) {
    if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < VTNET_MIN_MTU || mtu > VTNET_MAX_MTU)) {
      throw new RangeError(`Invalid MTU ${mtu} (${VTNET_MIN_MTU}..${VTNET_MAX_MTU})`);
    }
    this.config.set(mac, 0);
    const dv = new DataView(this.config.buffer);
    dv.setUint16(6, VIRTIO_NET_S_LINK_UP, true);
    dv.setUint16(8, 1, true);
    dv.setUint16(10, mtu ?? 1500, true);
    backend.setReceiver((f) => this.receive(f));
  }

  get mac(): Uint8Array {
    return this.config.subarray(0, 6);
  }

  features(): bigint {
    let f = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MRG_RXBUF) | bit(VIRTIO_F_NOTIFY_ON_EMPTY);
    if (this.mtu !== undefined) f |= bit(VIRTIO_NET_F_MTU);
    return f;
  }

  readConfig(offset: number, size: number): number {
    return readLE(this.config, offset, size);
  }

  /** The MAC is writable by legacy drivers (bhyve allows it); the rest is read-only. */
  writeConfig(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) if (offset + i < 6) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  activate(ctx: VirtioActivation): void {
    const mergeable = (ctx.features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n;
    const modern = (ctx.features & bit(VIRTIO_F_VERSION_1)) !== 0n;
    this.state = { kind: 'active', ctx, hdrLen: mergeable || modern ? 12 : 10, mergeable };
    this.drainRx();
  }

  reset(): void {
    this.state = { kind: 'inactive' };
    this.backlog.length = 0;
    this.resumeBackend();
  }

  queueNotify(index: number): void {
    if (this.state.kind !== 'active') return;
    if (index === VTNET_TXQ) this.transmit();
    else if (index === VTNET_RXQ) this.drainRx();
  }

  private transmit(): void {
    if (this.state.kind !== 'active') return;
    const { ctx, hdrLen } = this.state;
    const q = ctx.queues[VTNET_TXQ]!;
    if (!q.active) return;
    let pushed = false;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      const frameLen = chain.readableLen - hdrLen;
      if (frameLen <= 0 || frameLen > MAX_FRAME || chain.writableLen > 0) {
        this.stats.txDropped++;
      } else {
        this.backend.send(gatherReadable(ctx.memory, chain, hdrLen));
        this.stats.txFrames++;
      }
      q.push(chain.head, 0);
      pushed = true;
    }
    if (pushed) ctx.notifyQueue(q);
  }

  /** A frame from the backend. */
  receive(frame: Uint8Array): void {
    if (this.state.kind !== 'active' || frame.length > MAX_FRAME) {
      this.stats.rxDropped++;
      return;
    }
    if (this.backlog.length === 0 && this.tryDeliver(frame)) return;
    if (this.backlog.length >= VTNET_RX_BACKLOG) {
      this.stats.rxDropped++;
      return;
    }
    this.backlog.push(frame.slice());
    if (this.backlog.length >= VTNET_RX_BACKLOG && !this.paused) {
      this.paused = true;
      this.backend.pause();
    }
  }

  private drainRx(): void {
    while (this.backlog.length > 0 && this.state.kind === 'active') {
      if (!this.tryDeliver(this.backlog[0]!)) return;
      this.backlog.shift();
    }
    this.resumeBackend();
  }

  private resumeBackend(): void {
    if (this.paused && this.backlog.length < VTNET_RX_BACKLOG) {
      this.paused = false;
      this.backend.resume();
    }
  }

  /** deliver(), turning a corrupt RX ring into NEEDS_RESET instead of an exception. */
  private tryDeliver(frame: Uint8Array): boolean {
    try {
      return this.deliver(frame);
    } catch (e) {
      if (!(e instanceof VirtqueueError) || this.state.kind !== 'active') throw e;
      this.state.ctx.fail(e.message);
      return false;
    }
  }

  /** Places one frame into RX buffers; false when the guest has posted none yet. */
  private deliver(frame: Uint8Array): boolean {
    if (this.state.kind !== 'active') return false;
    const { ctx, hdrLen, mergeable } = this.state;
    const q = ctx.queues[VTNET_RXQ]!;
    if (!q.active || !q.hasAvailable()) return false;
    const hdr = new Uint8Array(hdrLen);
    const total = hdrLen + frame.length;
    if (!mergeable) {
      const chain = q.pop()!;
      if (chain.readableLen > 0) throw new VirtqueueError('order', 'virtio-net: RX buffer with device-readable descriptors');
      if (chain.writableLen < total) {
        // Too small for header + frame: the frame is lost, the buffer returned empty.
        this.stats.rxDropped++;
        q.push(chain.head, 0);
        ctx.notifyQueue(q);
        return true;
      }
      scatterWritable(ctx.memory, chain, hdr);
      scatterWritable(ctx.memory, chain, frame, hdrLen);
      q.push(chain.head, total);
      this.stats.rxFrames++;
      ctx.notifyQueue(q);
      return true;
    }
    // Mergeable buffers: collect chains until the frame fits, without consuming them
    // unless the whole frame can be placed.
    const chains: DescChain[] = [];
    let room = 0;
    while (room < total) {
      if (!q.hasAvailable()) {
        for (let i = 0; i < chains.length; i++) q.unpop();
        return false;
      }
      const c = q.pop()!;
      if (c.readableLen > 0 || c.writableLen === 0) {
        throw new VirtqueueError('order', 'virtio-net: RX buffer without device-writable space');
      }
      chains.push(c);
      room += c.writableLen;
    }
    new DataView(hdr.buffer).setUint16(10, chains.length, true); // num_buffers
    const whole = new Uint8Array(total);
    whole.set(hdr);
    whole.set(frame, hdrLen);
    let off = 0;
    for (const c of chains) {
      const n = scatterWritable(ctx.memory, c, whole.subarray(off, off + c.writableLen));
      off += n;
      q.push(c.head, n);
    }
    this.stats.rxFrames++;
    ctx.notifyQueue(q);
    return true;
  }
}
