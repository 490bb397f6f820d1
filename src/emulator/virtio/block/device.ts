/**
 * The virtio-blk device (bhyve pci_virtio_block.c; bhyve-userland.md §6.2): one queue
 * of 128, features SEG_MAX, BLK_SIZE, FLUSH, TOPOLOGY (+ DISCARD when the backend can
 * delete, RO when it is read-only), config {capacity in 512-byte units, seg_max 126,
 * blk_size, topology, discard limits}, requests IN/OUT/FLUSH/GET_ID/DISCARD.
 *
 * Requests are parsed (request.ts) and run asynchronously on the block backend with guest
 * buffers passed as views (no copy); each completion writes the status byte, returns
 * the chain and signals the queue. A reset bumps a generation so that completions of
 * the old generation never touch guest memory again. A chain that cannot be answered
 * (no header or status byte) puts the device in NEEDS_RESET.
 */
import { createHash } from 'node:crypto';
import type { BlockBackend } from '../../backends/block/backend.js';
import type { Logger } from '../../log.js';
import type { VirtioActivation, VirtioDevice } from '../device.js';
import { readLE } from '../device.js';
import { VIRTIO_ID_BLOCK } from '../regs.js';
import type { DescChain } from '../queue.js';
import { parseBlockRequest, type BlockRequest } from './request.js';
import {
  SECTOR_SIZE,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VTBLK_BLK_ID_BYTES,
  VTBLK_MAX_DISCARD_SECT,
  VTBLK_RINGSZ,
  VTBLK_SEG_MAX,
} from './index.js';

const PCIC_STORAGE = 0x01;
const CONFIG_SIZE = 48;

/** bhyve's default serial: "BHYVE-XXXX-XXXX-XXXX" from the MD5 of the path. */
export function blockSerial(path: string): string {
  const d = createHash('md5').update(path).digest();
  const h = (i: number) => d[i]!.toString(16).toUpperCase().padStart(2, '0');
  return `BHYVE-${h(0)}${h(1)}-${h(2)}${h(3)}-${h(4)}${h(5)}`;
}

export class VirtioBlock implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_BLOCK;
  readonly pciClass = PCIC_STORAGE;
  readonly queueSizes = [VTBLK_RINGSZ];
  readonly configSize = CONFIG_SIZE;
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly ident: Uint8Array;
  private state: { kind: 'inactive' } | { kind: 'active'; ctx: VirtioActivation } = { kind: 'inactive' };
  private generation = 0;
  inFlight = 0;

  constructor(
    private readonly backend: BlockBackend,
    private readonly log: Logger,
    serial?: string,
  ) {
    const id = serial ?? blockSerial(backend.path);
    this.ident = new Uint8Array(VTBLK_BLK_ID_BYTES);
    this.ident.set(Buffer.from(id, 'latin1').subarray(0, VTBLK_BLK_ID_BYTES));
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(Math.floor(backend.size / SECTOR_SIZE)), true);
    dv.setUint32(8, 0, true); // size_max
    dv.setUint32(12, VTBLK_SEG_MAX, true);
    dv.setUint32(20, backend.sectorSize, true);
    const pexp = Math.log2(backend.physSectorSize / backend.sectorSize);
    this.config[24] = Number.isInteger(pexp) ? pexp : 0;
    this.config[25] = Math.floor(backend.physSectorOffset / backend.sectorSize) & 0xff;
    dv.setUint32(36, VTBLK_MAX_DISCARD_SECT, true);
    dv.setUint32(40, 1, true);
    dv.setUint32(44, Math.max(backend.sectorSize, backend.physSectorSize) / SECTOR_SIZE, true);
  }

  features(): bigint {
    let f = (1n << VIRTIO_BLK_F_SEG_MAX) | (1n << VIRTIO_BLK_F_BLK_SIZE) | (1n << VIRTIO_BLK_F_FLUSH) | (1n << VIRTIO_BLK_F_TOPOLOGY);
    if (this.backend.canDelete) f |= 1n << VIRTIO_BLK_F_DISCARD;
    if (this.backend.readOnly) f |= 1n << VIRTIO_BLK_F_RO;
    return f;
  }

  readConfig(offset: number, size: number): number {
    return readLE(this.config, offset, size);
  }

  writeConfig(): void {
    // The configuration is read-only (no CONFIG_WCE).
  }

  activate(ctx: VirtioActivation): void {
    this.state = { kind: 'active', ctx };
  }

  reset(): void {
    this.generation++;
    this.state = { kind: 'inactive' };
  }

  queueNotify(index: number): void {
    if (this.state.kind !== 'active' || index !== 0) return;
    const { ctx } = this.state;
    const q = ctx.queues[0]!;
    for (let chain = q.pop(); chain; chain = q.pop()) {
      const req = parseBlockRequest(ctx.memory, chain, this.backend.size, this.backend.canDelete);
      if (req.kind === 'malformed') {
        ctx.fail(`virtio-blk: ${req.reason}`);
        return;
      }
      this.start(ctx, chain, req);
    }
  }

  private start(ctx: VirtioActivation, chain: DescChain, req: Exclude<BlockRequest, { kind: 'malformed' }>): void {
    const gen = this.generation;
    const q = ctx.queues[0]!;
    const finish = (status: number, written: number) => {
      this.inFlight--;
      if (gen !== this.generation || this.state.kind !== 'active') return;
      ctx.memory.write8(req.status.addr, status);
      q.push(chain.head, written + 1);
      ctx.notifyQueue(q);
    };
    const views = (segs: Array<{ addr: number; len: number }>) => segs.map((s) => ctx.memory.viewOrThrow(s.addr, s.len));
    this.inFlight++;
    let op: Promise<number>;
    switch (req.kind) {
      case 'read':
        op = this.backend.read(req.offset, views(req.data)).then(() => {
          for (const s of req.data) ctx.memory.written(s.addr, s.len);
          return req.len;
        });
        break;
      case 'write':
        op = this.backend.write(req.offset, views(req.data)).then(() => 0);
        break;
      case 'flush':
        op = this.backend.flush().then(() => 0);
        break;
      case 'discard':
        op = this.backend.discard(req.offset, req.len).then(() => 0);
        break;
      case 'get-id': {
        let o = 0;
        for (const v of views(req.data)) {
          if (o >= VTBLK_BLK_ID_BYTES) break;
          const n = Math.min(v.length, VTBLK_BLK_ID_BYTES - o);
          v.set(this.ident.subarray(o, o + n));
          o += n;
        }
        for (const s of req.data) ctx.memory.written(s.addr, s.len);
        finish(VIRTIO_BLK_S_OK, Math.min(req.len, VTBLK_BLK_ID_BYTES));
        return;
      }
      case 'error':
        this.log.warn(`virtio-blk ${this.backend.path}: ${req.reason}`);
        finish(req.code, 0);
        return;
    }
    op.then(
      (written) => finish(VIRTIO_BLK_S_OK, written),
      (e: unknown) => {
        const kind = (e as { kind?: string }).kind;
        if (kind !== 'read-only') this.log.warn(`virtio-blk ${this.backend.path}: ${(e as Error).message}`);
        finish(kind === 'unsupported' ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR, 0);
      },
    );
  }

  /** Resolves once no request is in flight (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise((r) => setImmediate(r));
  }
}
