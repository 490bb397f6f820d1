/**
 * AHCI command slots as data (AHCI 1.3.1 §4.2.2-4.2.3): the command header, the command
 * FIS and the PRDT of one slot, read from guest memory and validated before anything
 * runs. Pure parsing: addresses come from the guest and are checked against guest RAM,
 * the PRDT length is capped, and an LBA/count decoder covers the 28-bit, 48-bit and NCQ
 * forms. Failures are values ('bad-table', 'bad-prdt') the port turns into an aborted
 * command, never an exception that escapes.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Segment } from '../virtio/queue.js';
import { AHCI_CL_SIZE, ATA_READ_FPDMA_QUEUED, ATA_SEND_FPDMA_QUEUED, ATA_WRITE_FPDMA_QUEUED, FIS_TYPE_REGH2D } from './index.js';

/** PRD entries a slot may use; bigger tables are a guest error (64 MiB of data already). */
export const MAX_PRDT_ENTRIES = 4096;

export interface SlotCommand {
  slot: number;
  /** Guest address of the command header (PRDBC is written back there). */
  headerAddr: number;
  atapi: boolean;
  write: boolean;
  cfis: Uint8Array;
  acmd: Uint8Array;
  prd: Segment[];
  prdBytes: number;
}

export type SlotParse = { kind: 'ok'; cmd: SlotCommand } | { kind: 'bad-table' | 'bad-prdt'; reason: string };

export function readSlot(mem: GuestMemory, clb: number, slot: number): SlotParse {
  const headerAddr = clb + slot * AHCI_CL_SIZE;
  if (!mem.contains(headerAddr, AHCI_CL_SIZE)) return { kind: 'bad-table', reason: `command list at 0x${clb.toString(16)} is not guest RAM` };
  const dw0 = mem.read32(headerAddr);
  const ctba = mem.readAddr64(headerAddr + 8) - (mem.read32(headerAddr + 8) & 0x7f);
  const prdtl = dw0 >>> 16;
  if (prdtl > MAX_PRDT_ENTRIES) return { kind: 'bad-prdt', reason: `PRDT of ${prdtl} entries` };
  if (!mem.contains(ctba, 0x80 + 16 * prdtl)) return { kind: 'bad-table', reason: `command table at 0x${ctba.toString(16)} is not guest RAM` };
  const cfis = mem.readBytes(ctba, 64);
  const acmd = mem.readBytes(ctba + 0x40, 16);
  const prd: Segment[] = [];
  let prdBytes = 0;
  for (let i = 0; i < prdtl; i++) {
    const e = ctba + 0x80 + 16 * i;
    const dba = mem.readAddr64(e) & ~1;
    const dbc = (mem.read32(e + 12) & 0x3fffff) + 1;
    if (!mem.contains(dba, dbc)) return { kind: 'bad-prdt', reason: `PRD ${i} at 0x${dba.toString(16)}+${dbc} is not guest RAM` };
    prd.push({ addr: dba, len: dbc });
    prdBytes += dbc;
  }
  return {
    kind: 'ok',
    cmd: { slot, headerAddr, atapi: (dw0 & (1 << 5)) !== 0, write: (dw0 & (1 << 6)) !== 0, cfis, acmd, prd, prdBytes },
  };
}

export function isRegisterH2D(cfis: Uint8Array): boolean {
  return cfis[0] === FIS_TYPE_REGH2D;
}

export function isNcq(command: number): boolean {
  return command === ATA_READ_FPDMA_QUEUED || command === ATA_WRITE_FPDMA_QUEUED || command === ATA_SEND_FPDMA_QUEUED;
}

/** LBA and sector count of a read/write command FIS (28-bit, 48-bit or NCQ form). */
export function lbaAndCount(cfis: Uint8Array, lba48: boolean): { lba: number; count: number } {
  const command = cfis[2]!;
  if (isNcq(command)) {
    const lba = cfis[4]! + cfis[5]! * 0x100 + cfis[6]! * 0x10000 + cfis[8]! * 0x1000000 + cfis[9]! * 0x100000000 + cfis[10]! * 0x10000000000;
    const count = cfis[3]! | (cfis[11]! << 8);
    return { lba, count: count === 0 ? 65536 : count };
  }
  if (lba48) {
    const lba = cfis[4]! + cfis[5]! * 0x100 + cfis[6]! * 0x10000 + cfis[8]! * 0x1000000 + cfis[9]! * 0x100000000 + cfis[10]! * 0x10000000000;
    const count = cfis[12]! | (cfis[13]! << 8);
    return { lba, count: count === 0 ? 65536 : count };
  }
  const lba = cfis[4]! + cfis[5]! * 0x100 + cfis[6]! * 0x10000 + (cfis[7]! & 0x0f) * 0x1000000;
  const count = cfis[12]!;
  return { lba, count: count === 0 ? 256 : count };
}

/** Views of the first `len` bytes of a PRD list in guest memory. */
export function prdViews(mem: GuestMemory, prd: Segment[], len: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = len;
  for (const s of prd) {
    if (left <= 0) break;
    const n = Math.min(s.len, left);
    out.push(mem.viewOrThrow(s.addr, n));
    left -= n;
  }
  return out;
}

/** Reports the first `len` bytes of a PRD list as written by the device (GuestMemory.written). */
export function writtenPrd(mem: GuestMemory, prd: Segment[], len: number): void {
  let left = len;
  for (const s of prd) {
    if (left <= 0) break;
    const n = Math.min(s.len, left);
    mem.written(s.addr, n);
    left -= n;
  }
}

/** Copies `data` into the PRD buffers; returns bytes copied. */
export function copyToPrd(mem: GuestMemory, prd: Segment[], data: Uint8Array): number {
  let o = 0;
  for (const v of prdViews(mem, prd, data.length)) {
    v.set(data.subarray(o, o + v.length));
    o += v.length;
  }
  writtenPrd(mem, prd, o);
  return o;
}

/** Copies up to `len` bytes out of the PRD buffers. */
export function copyFromPrd(mem: GuestMemory, prd: Segment[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let o = 0;
  for (const v of prdViews(mem, prd, len)) {
    out.set(v, o);
    o += v.length;
  }
  return out.subarray(0, o);
}
