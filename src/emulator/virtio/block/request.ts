/**
 * Guest bytes → a typed, validated virtio-blk request (Virtio 1.2 §5.2.6; STYLE.md
 * "Parsing guest requests is its own step"). Pure: no I/O, no state.
 *
 * A chain must carry a 16-byte header {type, ioprio, sector} in device-readable
 * memory and end with at least one device-writable byte for the status; without those
 * the request cannot even be answered (kind 'malformed'). Otherwise problems become a
 * status the device reports: data lengths not a multiple of 512, ranges past the
 * capacity (checked without overflow), read buffers missing, discard payloads that are
 * not exactly one segment or set reserved flags → IOERR/UNSUPP; unknown types → UNSUPP.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { gatherReadable, splitSegments, type DescChain, type Segment } from '../queue.js';
import {
  SECTOR_SIZE,
  VBH_FLAG_BARRIER,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_FLUSH_OUT,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VTBLK_MAX_DISCARD_SECT,
} from './index.js';

export type BlockRequest =
  | { kind: 'read'; offset: number; data: Segment[]; len: number; status: Segment }
  | { kind: 'write'; offset: number; data: Segment[]; len: number; status: Segment }
  | { kind: 'flush'; status: Segment }
  | { kind: 'get-id'; data: Segment[]; len: number; status: Segment }
  | { kind: 'discard'; offset: number; len: number; status: Segment }
  | { kind: 'error'; status: Segment; code: number; reason: string }
  | { kind: 'malformed'; reason: string };

const HDR = 16;

export function parseBlockRequest(mem: GuestMemory, chain: DescChain, capacityBytes: number, canDelete: boolean): BlockRequest {
  if (chain.readableLen < HDR) return { kind: 'malformed', reason: `request header needs ${HDR} readable bytes, chain has ${chain.readableLen}` };
  if (chain.writableLen < 1) return { kind: 'malformed', reason: 'request has no writable status byte' };
  const hdr = gatherReadable(mem, chain, 0, HDR);
  const dv = new DataView(hdr.buffer);
  const type = dv.getUint32(0, true) & ~VBH_FLAG_BARRIER;
  const sectorHi = dv.getUint32(12, true);
  const sectorLo = dv.getUint32(8, true);
  // Sectors beyond 2^41 put the byte offset past 2^50: certainly out of range.
  const sector = sectorHi >= 0x200 ? Number.MAX_SAFE_INTEGER : sectorHi * 0x1_0000_0000 + sectorLo;
  const [wData, wStatus] = splitSegments(chain.writable, chain.writableLen - 1);
  const status = wStatus[0]!;
  const [, rData] = splitSegments(chain.readable, HDR);
  const err = (code: number, reason: string): BlockRequest => ({ kind: 'error', status, code, reason });
  const range = (len: number): number | BlockRequest => {
    if (len % SECTOR_SIZE !== 0) return err(VIRTIO_BLK_S_IOERR, `data length ${len} is not a multiple of ${SECTOR_SIZE}`);
    const offset = sector * SECTOR_SIZE;
    if (!Number.isSafeInteger(offset) || offset + len > capacityBytes) return err(VIRTIO_BLK_S_IOERR, `sector ${sector} + ${len / SECTOR_SIZE} beyond the disk`);
    return offset;
  };
  switch (type) {
    case VIRTIO_BLK_T_IN: {
      if (chain.readableLen > HDR) return err(VIRTIO_BLK_S_IOERR, 'read request with readable data buffers');
      const len = chain.writableLen - 1;
      const off = range(len);
      return typeof off === 'number' ? { kind: 'read', offset: off, data: wData, len, status } : off;
    }
    case VIRTIO_BLK_T_OUT: {
      if (chain.writableLen > 1) return err(VIRTIO_BLK_S_IOERR, 'write request with writable data buffers');
      const len = chain.readableLen - HDR;
      const off = range(len);
      return typeof off === 'number' ? { kind: 'write', offset: off, data: rData, len, status } : off;
    }
    case VIRTIO_BLK_T_FLUSH:
    case VIRTIO_BLK_T_FLUSH_OUT:
      return { kind: 'flush', status };
    case VIRTIO_BLK_T_GET_ID:
      return { kind: 'get-id', data: wData, len: chain.writableLen - 1, status };
    case VIRTIO_BLK_T_DISCARD: {
      if (!canDelete) return err(VIRTIO_BLK_S_UNSUPP, 'discard is not supported by this backend');
      if (chain.readableLen - HDR !== 16) return err(VIRTIO_BLK_S_IOERR, 'discard needs exactly one 16-byte segment');
      const seg = new DataView(gatherReadable(mem, chain, HDR, 16).buffer);
      const dsHi = seg.getUint32(4, true);
      const dsector = dsHi >= 0x200 ? Number.MAX_SAFE_INTEGER : dsHi * 0x1_0000_0000 + seg.getUint32(0, true);
      const n = seg.getUint32(8, true);
      const flags = seg.getUint32(12, true);
      if (flags !== 0) return err(VIRTIO_BLK_S_UNSUPP, `discard flags 0x${flags.toString(16)} not supported`);
      if (n > VTBLK_MAX_DISCARD_SECT) return err(VIRTIO_BLK_S_IOERR, `discard of ${n} sectors exceeds the maximum`);
      const offset = dsector * SECTOR_SIZE;
      const len = n * SECTOR_SIZE;
      if (!Number.isSafeInteger(offset) || offset + len > capacityBytes) return err(VIRTIO_BLK_S_IOERR, 'discard beyond the disk');
      return { kind: 'discard', offset, len, status };
    }
    default:
      return err(VIRTIO_BLK_S_UNSUPP, `request type ${type} is not supported`);
  }
}
