/**
 * Guest bytes → a typed, validated NVM command-set request (NVM Express 1.4 §6: Flush,
 * Read, Write, Write Zeroes, Dataset Management; bhyve pci_nvme.c pci_nvme_handle_io_cmd
 * and its nvme_opc_* helpers; STYLE.md "Parsing guest requests is its own step").
 * Reads guest memory (PRP lists, DSM ranges), never writes it; no device state.
 *
 * Checks, before any I/O: the namespace (only NSID 1: INVALID_NAMESPACE_OR_FORMAT with DNR,
 * as bhyve), MDTS (2 MiB → INVALID_FIELD), the LBA range against the capacity without
 * overflow (LBA_OUT_OF_RANGE), PRP lists (prp.ts), write protection of read-only
 * backends, and ONCS for Dataset Management (INVALID_OPCODE when not advertised).
 * Differences from bhyve: Write Zeroes really writes zeroes (bhyve completes it without
 * writing; it is still not advertised in ONCS), and a write to a read-only backend fails
 * with "namespace is write protected" instead of a generic transfer error.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { copyFromSegments, resolvePrps, type Segment } from './prp.js';
import type { NvmeCommand } from './queues.js';
import {
  NVME_DSM_ATTR_DEALLOCATE,
  NVME_DSM_RANGE_SIZE,
  NVME_MAX_DATA_SIZE,
  NVME_OPC_DATASET_MANAGEMENT,
  NVME_OPC_FLUSH,
  NVME_OPC_READ,
  NVME_OPC_WRITE,
  NVME_OPC_WRITE_ZEROES,
  NVME_SC_INVALID_FIELD,
  NVME_SC_INVALID_NAMESPACE_OR_FORMAT,
  NVME_SC_INVALID_OPCODE,
  NVME_SC_LBA_OUT_OF_RANGE,
  NVME_SC_NAMESPACE_IS_WRITE_PROTECTED,
  NVME_SC_SUCCESS,
  NVME_SCT_GENERIC,
  NVME_STATUS_DNR,
  NVME_STATUS_SC_SHIFT,
  NVME_STATUS_SCT_SHIFT,
} from './regs.js';

/** What the parser needs to know about namespace 1. */
export interface NamespaceFacts {
  /** Capacity in bytes (a multiple of the sector size). */
  size: number;
  /** log2 of the logical block size (9, 12 or 13). */
  sectorBits: number;
  readOnly: boolean;
  /** ONCS advertises Dataset Management. */
  dsmAdvertised: boolean;
  /** The backend can really deallocate. */
  canDeallocate: boolean;
}

export interface ByteRange {
  offset: number;
  bytes: number;
}

export type IoRequest =
  | { kind: 'read' | 'write'; offset: number; bytes: number; segs: Segment[] }
  | { kind: 'flush' }
  | { kind: 'write-zeroes'; offset: number; bytes: number }
  | { kind: 'deallocate'; ranges: ByteRange[] }
  /** Complete at once with this status field (errors and advisory no-ops). */
  | { kind: 'done'; status: number; reason?: string };

/** A status field value (without phase) from type and code. */
export function status(sct: number, sc: number, dnr = false): number {
  return ((sct & 0x7) << NVME_STATUS_SCT_SHIFT) | ((sc & 0xff) << NVME_STATUS_SC_SHIFT) | (dnr ? NVME_STATUS_DNR : 0);
}

const generic = (sc: number, reason?: string): IoRequest => ({ kind: 'done', status: status(NVME_SCT_GENERIC, sc), reason });

/**
 * [slba, slba + nlb) in bytes when inside the namespace; undefined otherwise. `slbaHi`
 * and `slbaLo` are the two dwords of the 64-bit starting LBA.
 */
export function lbaRange(ns: NamespaceFacts, slbaHi: number, slbaLo: number, nlb: number): ByteRange | undefined {
  // Any LBA at or above 2^40 puts the byte offset beyond 2^49: out of range for any backend.
  if (slbaHi >= 0x100) return undefined;
  const slba = slbaHi * 0x1_0000_0000 + slbaLo;
  const sect = 2 ** ns.sectorBits;
  const offset = slba * sect;
  const bytes = nlb * sect;
  if (offset >= ns.size || ns.size - offset < bytes) return undefined;
  return { offset, bytes };
}

export function parseIoCommand(mem: GuestMemory, cmd: NvmeCommand, ns: NamespaceFacts): IoRequest {
  if (cmd.nsid === 0 || cmd.nsid > 1) {
    return { kind: 'done', status: status(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT, true), reason: `namespace ${cmd.nsid}` };
  }
  switch (cmd.opc) {
    case NVME_OPC_FLUSH:
      return { kind: 'flush' };
    case NVME_OPC_READ:
    case NVME_OPC_WRITE: {
      const write = cmd.opc === NVME_OPC_WRITE;
      const nlb = (cmd.cdw12 & 0xffff) + 1;
      const bytes = nlb * 2 ** ns.sectorBits;
      if (bytes > NVME_MAX_DATA_SIZE) return generic(NVME_SC_INVALID_FIELD, `transfer of ${bytes} bytes exceeds MDTS`);
      const r = lbaRange(ns, cmd.cdw11, cmd.cdw10, nlb);
      if (!r) return generic(NVME_SC_LBA_OUT_OF_RANGE, `LBA ${cmd.cdw11 * 0x1_0000_0000 + cmd.cdw10} + ${nlb} beyond the namespace`);
      if (write && ns.readOnly) return generic(NVME_SC_NAMESPACE_IS_WRITE_PROTECTED, 'write to a read-only namespace');
      const p = resolvePrps(mem, cmd.prp1, cmd.prp2, bytes);
      if (!p.ok) return generic(p.status, p.reason);
      return { kind: write ? 'write' : 'read', offset: r.offset, bytes, segs: p.segs };
    }
    case NVME_OPC_WRITE_ZEROES: {
      const nlb = (cmd.cdw12 & 0xffff) + 1;
      const r = lbaRange(ns, cmd.cdw11, cmd.cdw10, nlb);
      if (!r) return generic(NVME_SC_LBA_OUT_OF_RANGE, 'write zeroes beyond the namespace');
      if (ns.readOnly) return generic(NVME_SC_NAMESPACE_IS_WRITE_PROTECTED, 'write zeroes to a read-only namespace');
      return { kind: 'write-zeroes', offset: r.offset, bytes: r.bytes };
    }
    case NVME_OPC_DATASET_MANAGEMENT:
      return parseDsm(mem, cmd, ns);
    default:
      return generic(NVME_SC_INVALID_OPCODE, `I/O opcode 0x${cmd.opc.toString(16)}`);
  }
}

function parseDsm(mem: GuestMemory, cmd: NvmeCommand, ns: NamespaceFacts): IoRequest {
  if (!ns.dsmAdvertised) return generic(NVME_SC_INVALID_OPCODE, 'dataset management is not supported');
  const nr = (cmd.cdw10 & 0xff) + 1;
  const p = resolvePrps(mem, cmd.prp1, cmd.prp2, nr * NVME_DSM_RANGE_SIZE);
  if (!p.ok) return generic(p.status, p.reason);
  const raw = copyFromSegments(mem, p.segs, nr * NVME_DSM_RANGE_SIZE);
  const dv = new DataView(raw.buffer);
  const ranges: ByteRange[] = [];
  for (let i = 0; i < nr; i++) {
    const o = i * NVME_DSM_RANGE_SIZE;
    const nlb = dv.getUint32(o + 4, true);
    const r = lbaRange(ns, dv.getUint32(o + 12, true), dv.getUint32(o + 8, true), nlb);
    if (!r) return generic(NVME_SC_LBA_OUT_OF_RANGE, `DSM range ${i} beyond the namespace`);
    if (r.bytes > 0) ranges.push(r);
  }
  // Deallocation is advisory: without the attribute, without backend support or with only
  // empty ranges the command succeeds doing nothing (as bhyve).
  if (!(cmd.cdw11 & NVME_DSM_ATTR_DEALLOCATE) || !ns.canDeallocate || ranges.length === 0) return generic(NVME_SC_SUCCESS);
  if (ns.readOnly) return generic(NVME_SC_NAMESPACE_IS_WRITE_PROTECTED, 'deallocate on a read-only namespace');
  return { kind: 'deallocate', ranges: coalesce(ranges) };
}

/** Sorts and merges overlapping or adjacent ranges. */
export function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.bytes) {
      last.bytes = Math.max(last.bytes, r.offset + r.bytes - last.offset);
    } else out.push({ ...r });
  }
  return out;
}
