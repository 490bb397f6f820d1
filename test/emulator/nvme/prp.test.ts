import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../src/emulator/memory/guest-memory.js';
import { resolvePrps } from '../../../src/emulator/nvme/prp.js';
import { coalesce, lbaRange, parseIoCommand, type NamespaceFacts } from '../../../src/emulator/nvme/request.js';
import type { NvmeCommand } from '../../../src/emulator/nvme/queues.js';
import * as R from '../../../src/emulator/nvme/regs.js';

const mem = new GuestMemory(new ArrayBuffer(1 << 20));
const P = 4096;

describe('PRP resolution', () => {
  const list = 0x80000;
  mem.write64(list, BigInt(0x3000));
  mem.write64(list + 8, BigInt(0x5000));
  mem.write64(0x81ff8, BigInt(0x82000)); // last slot of a list page: chain
  mem.write64(0x82000, BigInt(0x9000));
  mem.write64(0x82008, BigInt(0xa000));
  mem.write64(0x81ff0, BigInt(0xc000));

  const cases: Array<[string, number, number, number, { segs?: Array<[number, number]>; status?: number }]> = [
    ['one page from PRP1', 0x1000, 0, P, { segs: [[0x1000, P]] }],
    ['PRP1 offset spills into PRP2', 0x1800, 0x7000, P, { segs: [[0x1800, 0x800], [0x7000, 0x800]] }],
    ['low two bits of PRP1 ignored', 0x1003, 0, 16, { segs: [[0x1000, 16]] }],
    ['adjacent pages merge', 0x1000, 0x2000, 2 * P, { segs: [[0x1000, 2 * P]] }],
    ['list of two entries', 0x2000, list, 3 * P, { segs: [[0x2000, 2 * P], [0x5000, P]] }],
    ['PRP2 data pointer not page aligned', 0x1000, 0x2010, 2 * P, { status: R.NVME_SC_INVALID_PRP_OFFSET }],
    ['PRP1 outside RAM', 0xfff000, 0, P, { status: R.NVME_SC_DATA_TRANSFER_ERROR }],
    ['PRP1 above 2^53', Number.MAX_SAFE_INTEGER, 0, 8, { status: R.NVME_SC_DATA_TRANSFER_ERROR }],
    ['list pointer not qword aligned', 0x1000, list + 4, 3 * P, { status: R.NVME_SC_INVALID_PRP_OFFSET }],
    ['list outside RAM', 0x1000, 0x200000, 3 * P, { status: R.NVME_SC_DATA_TRANSFER_ERROR }],
    ['chain from the last slot of a list page', 0x1000, 0x81ff0, 4 * P, { segs: [[0x1000, P], [0xc000, P], [0x9000, 2 * P]] }],
    ['the last slot is data when it completes the transfer', 0x1000, 0x81ff0, 3 * P, { segs: [[0x1000, P], [0xc000, P], [0x82000, P]] }],
  ];
  for (const [name, prp1, prp2, len, want] of cases) {
    it(name, () => {
      const r = resolvePrps(mem, prp1, prp2, len);
      if (want.status !== undefined) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.status).toBe(want.status);
      } else {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.segs.map((s) => [s.addr, s.len])).toEqual(want.segs);
      }
    });
  }
});

describe('I/O command parsing', () => {
  const ns: NamespaceFacts = { size: 1 << 20, sectorBits: 9, readOnly: false, dsmAdvertised: true, canDeallocate: true };
  const cmd = (c: Partial<NvmeCommand>): NvmeCommand => ({ opc: 0, flags: 0, cid: 1, nsid: 1, prp1: 0x1000, prp2: 0, cdw10: 0, cdw11: 0, cdw12: 0, cdw13: 0, cdw14: 0, cdw15: 0, ...c });
  const sc = (c: Partial<NvmeCommand>, n: NamespaceFacts = ns) => {
    const r = parseIoCommand(mem, cmd(c), n);
    return r.kind === 'done' ? (r.status >> 1) & 0xff : r.kind;
  };
  it('maps commands and refusals to NVMe status codes', () => {
    expect(sc({ opc: R.NVME_OPC_READ, cdw12: 7 })).toBe('read');
    expect(sc({ opc: R.NVME_OPC_WRITE, cdw10: 2047 })).toBe('write');
    expect(sc({ opc: R.NVME_OPC_WRITE, cdw10: 2047, cdw12: 1 })).toBe(R.NVME_SC_LBA_OUT_OF_RANGE);
    expect(sc({ opc: R.NVME_OPC_WRITE }, { ...ns, readOnly: true })).toBe(R.NVME_SC_NAMESPACE_IS_WRITE_PROTECTED);
    expect(sc({ opc: R.NVME_OPC_READ, nsid: 0 })).toBe(R.NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
    expect(sc({ opc: R.NVME_OPC_READ, cdw12: 0xffff })).toBe(R.NVME_SC_INVALID_FIELD);
    expect(sc({ opc: R.NVME_OPC_FLUSH })).toBe('flush');
    expect(sc({ opc: R.NVME_OPC_WRITE_ZEROES, cdw12: 0xffff })).toBe(R.NVME_SC_LBA_OUT_OF_RANGE);
    expect(sc({ opc: R.NVME_OPC_DATASET_MANAGEMENT }, { ...ns, dsmAdvertised: false })).toBe(R.NVME_SC_INVALID_OPCODE);
    expect(sc({ opc: 0x05 })).toBe(R.NVME_SC_INVALID_OPCODE); // Compare is not implemented
  });
  it('computes LBA ranges without overflow and coalesces DSM ranges', () => {
    expect(lbaRange(ns, 0, 10, 2)).toEqual({ offset: 5120, bytes: 1024 });
    expect(lbaRange(ns, 0xffffffff, 0xffffffff, 1)).toBeUndefined();
    expect(lbaRange(ns, 0, 2047, 2)).toBeUndefined();
    expect(coalesce([{ offset: 4096, bytes: 512 }, { offset: 0, bytes: 4096 }, { offset: 8192, bytes: 512 }])).toEqual([
      { offset: 0, bytes: 4608 },
      { offset: 8192, bytes: 512 },
    ]);
  });
});
