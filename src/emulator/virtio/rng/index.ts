/**
 * virtio-rnd (bhyve pci_virtio_rnd.c; bhyve-userland.md §6.4; Virtio 1.2 §5.4): one
 * queue of 64 entries, no features, no configuration space. Each available buffer is
 * filled from the host kernel's CSPRNG (getrandom, never blocking) — at most
 * MAX_BYTES_PER_REQUEST per buffer, so a hostile multi-gigabyte descriptor cannot stall
 * the event loop; the used length says how much was written.
 */
import { randomFillSync } from 'node:crypto';
import type { VirtioActivation, VirtioDevice } from '../device.js';
import { VIRTIO_ID_ENTROPY } from '../regs.js';

export const VTRND_RINGSZ = 64;
export const MAX_BYTES_PER_REQUEST = 64 * 1024;
const PCIC_CRYPTO = 0x10;

/** Where entropy comes from (the kernel CSPRNG unless a test supplies another). */
export type EntropySource = (out: Uint8Array) => void;

export class VirtioRng implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_ENTROPY;
  readonly pciClass = PCIC_CRYPTO;
  readonly queueSizes = [VTRND_RINGSZ];
  readonly configSize = 0;
  private state: { kind: 'inactive' } | { kind: 'active'; ctx: VirtioActivation } = { kind: 'inactive' };

  constructor(private readonly source: EntropySource = (b) => randomFillSync(b)) {}

  features(): bigint {
    return 0n;
  }
  readConfig(): number {
    return 0;
  }
  writeConfig(): void {}

  activate(ctx: VirtioActivation): void {
    this.state = { kind: 'active', ctx };
  }

  reset(): void {
    this.state = { kind: 'inactive' };
  }

  queueNotify(index: number): void {
    if (this.state.kind !== 'active' || index !== 0) return;
    const { ctx } = this.state;
    const q = ctx.queues[0]!;
    let pushed = false;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      let left = MAX_BYTES_PER_REQUEST;
      let written = 0;
      for (const seg of chain.writable) {
        if (left === 0) break;
        const n = Math.min(seg.len, left);
        this.source(ctx.memory.viewOrThrow(seg.addr, n));
        ctx.memory.written(seg.addr, n);
        written += n;
        left -= n;
      }
      q.push(chain.head, written);
      pushed = true;
    }
    if (pushed) ctx.notifyQueue(q);
  }
}
