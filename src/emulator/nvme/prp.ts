/**
 * Physical Region Page lists → validated guest-memory segments (NVM Express 1.4 §4.3;
 * bhyve pci_nvme.c nvme_write_read_blockif / nvme_prp_memcpy). Pure: reads guest memory,
 * never writes it, no device state.
 *
 * Rules (memory page size 4 KiB, the only one CAP offers):
 * - PRP1 may carry an offset into its page (bits 1:0 are ignored, as bhyve masks them);
 *   it covers up to the end of its page.
 * - If the rest fits in one page, PRP2 points at it directly; otherwise PRP2 points at a
 *   PRP list (qword aligned, may start inside a page). Entries run to the end of the
 *   list page; when more data remains, the last entry of the page chains to the next list,
 *   which must be page aligned.
 * - Every data entry after PRP1 must be page aligned (else INVALID_PRP_OFFSET), every
 *   range must be guest RAM (else DATA_TRANSFER_ERROR).
 * The walk is bounded: each data entry consumes a page of the (MDTS-capped) length and a
 * chain link is only taken with data remaining into a fresh, aligned page, so a hostile
 * list cannot loop. Adjacent segments are merged (fewer iovecs for the backend).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { NVME_PAGE_SIZE, NVME_SC_DATA_TRANSFER_ERROR, NVME_SC_INVALID_PRP_OFFSET } from './regs.js';

export interface Segment {
  addr: number;
  len: number;
}

export type PrpResult = { ok: true; segs: Segment[] } | { ok: false; status: number; reason: string };

const PAGE = NVME_PAGE_SIZE;
const ENTRIES_PER_PAGE = PAGE / 8;

function push(segs: Segment[], addr: number, len: number): void {
  const last = segs[segs.length - 1];
  if (last && last.addr + last.len === addr) last.len += len;
  else segs.push({ addr, len });
}

/** Masks the two reserved low bits of a 64-bit PRP held as a number. */
function prpAddr(v: number): number {
  return v - (v % 4);
}

/**
 * Resolves `len` bytes described by PRP1/PRP2 (numbers; values ≥ 2^53 arrive as
 * MAX_SAFE_INTEGER from GuestMemory.readAddr64 and fail the RAM check).
 */
export function resolvePrps(mem: GuestMemory, prp1: number, prp2: number, len: number): PrpResult {
  const segs: Segment[] = [];
  if (len <= 0) return { ok: true, segs };
  const fail = (status: number, reason: string): PrpResult => ({ ok: false, status, reason });
  const first = prpAddr(prp1);
  const n1 = Math.min(PAGE - (first % PAGE), len);
  if (!mem.contains(first, n1)) return fail(NVME_SC_DATA_TRANSFER_ERROR, `PRP1 0x${first.toString(16)}+${n1} is not guest RAM`);
  push(segs, first, n1);
  let left = len - n1;
  if (left === 0) return { ok: true, segs };
  if (left <= PAGE) {
    const a = prpAddr(prp2);
    if (a % PAGE !== 0) return fail(NVME_SC_INVALID_PRP_OFFSET, `PRP2 0x${a.toString(16)} is not page aligned`);
    if (!mem.contains(a, left)) return fail(NVME_SC_DATA_TRANSFER_ERROR, `PRP2 0x${a.toString(16)}+${left} is not guest RAM`);
    push(segs, a, left);
    return { ok: true, segs };
  }
  // PRP2 is a list pointer (qword aligned, may have an offset).
  let list = prp2;
  if (list % 8 !== 0) return fail(NVME_SC_INVALID_PRP_OFFSET, `PRP list 0x${list.toString(16)} is not qword aligned`);
  let slot = (list % PAGE) / 8;
  while (left > 0) {
    if (!mem.contains(list, 8)) return fail(NVME_SC_DATA_TRANSFER_ERROR, `PRP list entry at 0x${list.toString(16)} is not guest RAM`);
    const entry = prpAddr(mem.readAddr64(list));
    if (slot === ENTRIES_PER_PAGE - 1 && left > PAGE) {
      // Last entry of a list page with more than one page to go: a link to the next list.
      if (entry % PAGE !== 0) return fail(NVME_SC_INVALID_PRP_OFFSET, `chained PRP list 0x${entry.toString(16)} is not page aligned`);
      list = entry;
      slot = 0;
      continue;
    }
    if (entry % PAGE !== 0) return fail(NVME_SC_INVALID_PRP_OFFSET, `PRP entry 0x${entry.toString(16)} is not page aligned`);
    const n = Math.min(left, PAGE);
    if (!mem.contains(entry, n)) return fail(NVME_SC_DATA_TRANSFER_ERROR, `PRP entry 0x${entry.toString(16)}+${n} is not guest RAM`);
    push(segs, entry, n);
    left -= n;
    list += 8;
    slot++;
  }
  return { ok: true, segs };
}

/** Copies `data` into the segments (already validated); returns bytes copied. */
export function copyToSegments(mem: GuestMemory, segs: readonly Segment[], data: Uint8Array): number {
  let o = 0;
  for (const s of segs) {
    if (o >= data.length) break;
    const n = Math.min(s.len, data.length - o);
    mem.viewOrThrow(s.addr, n).set(data.subarray(o, o + n));
    mem.written(s.addr, n);
    o += n;
  }
  return o;
}

/** Copies up to `max` bytes out of the segments into a fresh buffer. */
export function copyFromSegments(mem: GuestMemory, segs: readonly Segment[], max: number): Uint8Array {
  const total = Math.min(
    max,
    segs.reduce((n, s) => n + s.len, 0),
  );
  const out = new Uint8Array(total);
  let o = 0;
  for (const s of segs) {
    if (o >= total) break;
    const n = Math.min(s.len, total - o);
    out.set(mem.viewOrThrow(s.addr, n), o);
    o += n;
  }
  return out;
}

/** Views aliasing guest memory for the backend (zero copy). */
export function segmentViews(mem: GuestMemory, segs: readonly Segment[]): Uint8Array[] {
  return segs.map((s) => mem.viewOrThrow(s.addr, s.len));
}
