/**
 * The virtio-9p device (bhyve pci_virtio_9p.c; bhyve-userland.md §6.6; Virtio 1.2 §5.11
 * "9P transport"): one request queue of 256 entries, feature VIRTIO_9P_MOUNT_TAG, config
 * {tag_len u16, tag}. Each chain carries one T-message in its readable part and room for
 * the R-message in its writable part; the server (server.ts) answers it.
 *
 * Requests are served strictly one at a time, in ring order: this is what makes the
 * share's path checks race-free against the guest (share.ts), and it matches 9P's
 * in-order replies. At most one queue's worth of chains is held; a message longer than
 * the largest msize is not copied in full (the server then refuses its size field). A
 * reset drops queued requests, bumps a generation so an answer in progress is discarded,
 * and clunks every fid (closing host files).
 */
import type { Logger } from '../../log.js';
import type { VirtioActivation, VirtioDevice } from '../device.js';
import { gatherReadable, scatterWritable, VirtqueueError, type DescChain } from '../queue.js';
import { P9_HEADER } from './protocol.js';
import { NinePServer } from './server.js';
import type { Share } from './share.js';
import { VIRTIO_9P_MOUNT_TAG, VIRTIO_ID_9P, VT9P_MAX_TAG, VT9P_RINGSZ } from './constants.js';

const PCIC_STORAGE = 0x01;

export class Virtio9p implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_9P;
  readonly pciClass = PCIC_STORAGE;
  readonly queueSizes = [VT9P_RINGSZ];
  readonly configSize: number;
  readonly server: NinePServer;
  private readonly config: Uint8Array;
  private state: { kind: 'inactive' } | { kind: 'active'; ctx: VirtioActivation } = { kind: 'inactive' };
  private readonly pending: DescChain[] = [];
  private running = false;
  private generation = 0;
  private readonly maxMsize: number;

  constructor(
    share: Share,
    tag: string,
    private readonly log: Logger,
    maxMsize = 1 << 20,
  ) {
    const t = Buffer.from(tag, 'utf8');
    if (t.length === 0 || t.length > VT9P_MAX_TAG) throw new RangeError(`virtio-9p: share name must be 1..${VT9P_MAX_TAG} bytes`);
    this.config = new Uint8Array(2 + t.length);
    new DataView(this.config.buffer).setUint16(0, t.length, true);
    this.config.set(t, 2);
    this.configSize = this.config.length;
    this.maxMsize = maxMsize;
    this.server = new NinePServer(share, maxMsize, log);
  }

  features(): bigint {
    return 1n << VIRTIO_9P_MOUNT_TAG;
  }

  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.config[offset + i] ?? 0);
    return v >>> 0;
  }

  writeConfig(): void {
    // Read-only configuration.
  }

  activate(ctx: VirtioActivation): void {
    this.state = { kind: 'active', ctx };
  }

  reset(): void {
    this.generation++;
    this.state = { kind: 'inactive' };
    this.pending.length = 0;
    void this.server.reset();
  }

  queueNotify(index: number): void {
    if (this.state.kind !== 'active' || index !== 0) return;
    const q = this.state.ctx.queues[0]!;
    // Hold at most one ring's worth: a guest re-posting descriptors it does not own
    // cannot grow this list.
    while (this.pending.length < q.size) {
      const chain = q.pop();
      if (!chain) break;
      this.pending.push(chain);
    }
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.state.kind === 'active' && this.pending.length > 0) {
        const { ctx } = this.state;
        const gen = this.generation;
        const chain = this.pending.shift()!;
        let reply: Uint8Array | undefined;
        if (chain.readableLen >= P9_HEADER && chain.writableLen >= P9_HEADER) {
          const msg = gatherReadable(ctx.memory, chain, 0, this.maxMsize + 1);
          reply = await this.server.handle(msg, chain.writableLen);
        } else {
          this.log.warn(`virtio-9p: request chain without room for a message (${chain.readableLen} readable, ${chain.writableLen} writable bytes)`);
        }
        if (gen !== this.generation || this.state.kind !== 'active') continue;
        const q = ctx.queues[0]!;
        const written = reply ? scatterWritable(ctx.memory, chain, reply) : 0;
        q.push(chain.head, written);
        ctx.notifyQueue(q);
        // New requests may have arrived while this one was answered.
        if (this.pending.length === 0) this.queueNotify(0);
      }
    } catch (e) {
      // A corrupt ring (or a fault the checks above missed) stops the device, never the VM.
      if (this.state.kind === 'active') this.state.ctx.fail(e instanceof VirtqueueError ? e.message : `virtio-9p: ${(e as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  /** Resolves once no request is queued or being answered (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running || (this.state.kind === 'active' && this.pending.length > 0)) await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    this.reset();
    await this.server.reset();
  }
}
