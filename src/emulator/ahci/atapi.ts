/**
 * ATAPI (SCSI MMC) commands of the AHCI CD/DVD drive (bhyve pci_ahci.c atapi_*; MMC-5,
 * SPC-3; bhyve-userland.md §6.7). Pure: a CDB and the medium size in, an outcome out —
 * data bytes to return, a medium read to perform, or sense data. Media is always present
 * and never changes; blocks are 2048 bytes.
 *
 * Implemented: TEST UNIT READY, REQUEST SENSE, INQUIRY, START STOP UNIT, PREVENT ALLOW
 * MEDIUM REMOVAL, READ CAPACITY, READ(10), READ(12), READ TOC (formats 0, 1, 2), GET EVENT
 * STATUS NOTIFICATION, MODE SENSE(10) (pages 01h, 2Ah, 3Fh), REPORT LUNS. Anything else
 * is CHECK CONDITION / ILLEGAL REQUEST / invalid command operation code (ASC 20h).
 */

export const ATAPI_BLOCK = 2048;

export const TEST_UNIT_READY = 0x00;
export const REQUEST_SENSE = 0x03;
export const INQUIRY = 0x12;
export const START_STOP_UNIT = 0x1b;
export const PREVENT_ALLOW = 0x1e;
export const READ_CAPACITY = 0x25;
export const READ_10 = 0x28;
export const READ_TOC = 0x43;
export const GET_EVENT_STATUS_NOTIFICATION = 0x4a;
export const MODE_SENSE_10 = 0x5a;
export const REPORT_LUNS = 0xa0;
export const READ_12 = 0xa8;

export const SENSE_NONE = 0;
export const SENSE_ILLEGAL_REQUEST = 5;
export const ASC_INVALID_OPCODE = 0x20;
export const ASC_LBA_OUT_OF_RANGE = 0x21;
export const ASC_INVALID_FIELD_IN_CDB = 0x24;

export type AtapiOutcome =
  | { kind: 'data'; data: Uint8Array }
  | { kind: 'read'; offset: number; length: number }
  | { kind: 'ok' }
  | { kind: 'check'; senseKey: number; asc: number };

export interface SenseState {
  senseKey: number;
  asc: number;
}

const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function fit(data: number[] | Uint8Array, alloc: number): AtapiOutcome {
  const d = data instanceof Uint8Array ? data : Uint8Array.from(data);
  return { kind: 'data', data: d.subarray(0, Math.min(d.length, alloc)) };
}

function ascii(s: string, n: number): number[] {
  return Array.from(s.padEnd(n).slice(0, n), (c) => c.charCodeAt(0));
}

function lba2msf(lba: number): number[] {
  const l = lba + 150;
  return [0, Math.floor(l / (75 * 60)), Math.floor(l / 75) % 60, l % 75];
}

function readToc(cdb: Uint8Array, blocks: number): AtapiOutcome {
  const msf = (cdb[1]! & 0x02) !== 0;
  const alloc = be16(cdb, 7);
  let format = cdb[9]! >> 6;
  if (format === 0) format = cdb[2]! & 0x0f;
  const addr = (lba: number) => (msf ? lba2msf(lba) : [lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff]);
  const track = cdb[6]!;
  switch (format) {
    case 0: {
      if (track > 1 && track !== 0xaa) return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_FIELD_IN_CDB };
      const body: number[] = [1, 1];
      if (track <= 1) body.push(0, 0x14, 1, 0, ...addr(0));
      body.push(0, 0x14, 0xaa, 0, ...addr(blocks));
      return fit([(body.length >> 8) & 0xff, body.length & 0xff, ...body], alloc);
    }
    case 1: {
      const body = [1, 1, 0, 0x14, 1, 0, ...addr(0)];
      return fit([0, body.length, ...body], alloc);
    }
    case 2: {
      const e = (point: number, a: number[]) => [1, 0x14, 0, point, 0, 0, 0, ...a];
      const body = [1, 1, ...e(0xa0, [0, 1, 0, 0]), ...e(0xa1, [0, 1, 0, 0]), ...e(0xa2, lba2msf(blocks)), ...e(1, lba2msf(0))];
      return fit([(body.length >> 8) & 0xff, body.length & 0xff, ...body], alloc);
    }
    default:
      return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_FIELD_IN_CDB };
  }
}

function modeSense(cdb: Uint8Array): AtapiOutcome {
  const page = cdb[2]! & 0x3f;
  const alloc = be16(cdb, 7);
  const errorRecovery = [0x01, 0x06, 0, 5, 0, 0, 0, 0];
  const capabilities = [0x2a, 0x14, 0x3b, 0, 0x71, 0x60, 0x29, 0, 0x02, 0xc2, 0, 0x02, 0x02, 0, 0x02, 0xc2, 0, 0, 0, 0, 0, 0];
  let pages: number[];
  if (page === 0x01) pages = errorRecovery;
  else if (page === 0x2a) pages = capabilities;
  else if (page === 0x3f) pages = [...errorRecovery, ...capabilities];
  else return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_FIELD_IN_CDB };
  const len = 6 + pages.length;
  return fit([(len >> 8) & 0xff, len & 0xff, 0, 0, 0, 0, 0, 0, ...pages], alloc);
}

/** Executes one CDB against a medium of `size` bytes; `sense` is the last error (REQUEST SENSE). */
export function atapiCommand(cdb: Uint8Array, size: number, sense: SenseState): AtapiOutcome {
  const blocks = Math.floor(size / ATAPI_BLOCK);
  switch (cdb[0]) {
    case TEST_UNIT_READY:
    case START_STOP_UNIT:
    case PREVENT_ALLOW:
      return { kind: 'ok' };
    case REQUEST_SENSE: {
      const d = [0x70, 0, sense.senseKey, 0, 0, 0, 0, 10, 0, 0, 0, 0, sense.asc, 0, 0, 0, 0, 0];
      return fit(d, cdb[4]!);
    }
    case INQUIRY: {
      if (cdb[1]! & 1) return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_FIELD_IN_CDB };
      const d = [5, 0x80, 0x05, 0x32, 31, 0, 0, 0, ...ascii('BHYVE', 8), ...ascii('BHYVE DVD-ROM', 16), ...ascii('001', 4)];
      return fit(d, be16(cdb, 3));
    }
    case READ_CAPACITY: {
      const last = blocks > 0 ? blocks - 1 : 0;
      return fit([last >>> 24, (last >>> 16) & 0xff, (last >>> 8) & 0xff, last & 0xff, 0, 0, ATAPI_BLOCK >> 8, 0], 8);
    }
    case READ_10:
    case READ_12: {
      const lba = be32(cdb, 2);
      const n = cdb[0] === READ_10 ? be16(cdb, 7) : be32(cdb, 6);
      if (lba + n > blocks) return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_LBA_OUT_OF_RANGE };
      if (n === 0) return { kind: 'ok' };
      return { kind: 'read', offset: lba * ATAPI_BLOCK, length: n * ATAPI_BLOCK };
    }
    case READ_TOC:
      return readToc(cdb, blocks);
    case GET_EVENT_STATUS_NOTIFICATION: {
      if ((cdb[1]! & 1) === 0) return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_FIELD_IN_CDB };
      return fit([0, 6, 4, 0x10, 0, 0x02, 0, 0], be16(cdb, 7));
    }
    case MODE_SENSE_10:
      return modeSense(cdb);
    case REPORT_LUNS:
      return fit([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], be32(cdb, 6));
    default:
      return { kind: 'check', senseKey: SENSE_ILLEGAL_REQUEST, asc: ASC_INVALID_OPCODE };
  }
}
