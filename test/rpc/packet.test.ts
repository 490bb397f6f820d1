import { describe, expect, it } from 'vitest';
import { FramingError, MessageType, PacketFramer, VIR_NET_MESSAGE_MAX, encodePacket } from '../../src/rpc/packet.js';
import { xint, xstruct } from '../../src/rpc/xdr-codec.js';
import { REMOTE_PROGRAM } from '../../src/rpc/protocol/remote-types.js';
import { prng } from './prng.js';

const hdr = { prog: REMOTE_PROGRAM, vers: 1, proc: 23, type: MessageType.CALL, serial: 7, status: 0 };

describe('packet framing', () => {
  it('writes the total length including the length word, then the header', () => {
    const p = encodePacket(hdr, xstruct({ a: xint }), { a: 5 });
    expect(p.length).toBe(4 + 24 + 4);
    expect(p.readUInt32BE(0)).toBe(32);
    expect(p.readUInt32BE(4)).toBe(0x20008086);
    expect(p.readInt32BE(12)).toBe(23);
    expect(p.readUInt32BE(20)).toBe(7);
  });

  it('reassembles packets split at every byte boundary and several per chunk', () => {
    const a = encodePacket(hdr, xint, 1);
    const b = encodePacket({ ...hdr, serial: 8 }, xint, 2);
    const all = Buffer.concat([a, b, a]);
    for (let cut = 0; cut <= all.length; cut++) {
      const f = new PacketFramer();
      const got = [...f.push(all.subarray(0, cut)), ...f.push(all.subarray(cut))];
      expect(got.map((p) => p.header.serial)).toEqual([7, 8, 7]);
      expect(got[1]?.payload.readInt32BE(0)).toBe(2);
      expect(f.pending).toBe(0);
    }
  });

  it('reassembles a stream fed in random small chunks', () => {
    const rand = prng(42);
    const pkts = Array.from({ length: 50 }, (_, i) => encodePacket({ ...hdr, serial: i }, xint, i));
    const all = Buffer.concat(pkts);
    const f = new PacketFramer();
    const serials: number[] = [];
    for (let off = 0; off < all.length; ) {
      const n = 1 + Math.floor(rand() * 40);
      for (const p of f.push(all.subarray(off, off + n))) serials.push(p.header.serial);
      off += n;
    }
    expect(serials).toEqual(pkts.map((_, i) => i));
  });

  it('refuses a length below the header size', () => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(27, 0);
    expect(() => new PacketFramer().push(b)).toThrow(FramingError);
  });

  it('refuses a length above 32 MiB before buffering it', () => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(VIR_NET_MESSAGE_MAX + 5, 0);
    expect(() => new PacketFramer().push(b)).toThrow(/exceeds the maximum/);
    b.writeUInt32BE(VIR_NET_MESSAGE_MAX + 4, 0);
    const f = new PacketFramer();
    expect(f.push(b)).toEqual([]);
    expect(f.pending).toBe(4);
  });
});

describe('procedure names', () => {
  it('names procedures and the public API they carry', async () => {
    const { remoteProcedureName, remoteProcedureApi } = await import('../../src/rpc/protocol/procedure-names.js');
    expect(remoteProcedureName(1)).toBe('REMOTE_PROC_CONNECT_OPEN');
    expect(remoteProcedureName(426)).toBe('REMOTE_PROC_DOMAIN_GET_MESSAGES');
    expect(remoteProcedureName(0)).toBeNull();
    expect(remoteProcedureName(100000)).toBeNull();
    const cases: Array<[number, string]> = [
      [203, 'virConnectGetSysinfo'],
      [102, 'virNodeGetFreeMemory'],
      [14, 'virDomainGetXMLDesc'],
      [24, 'virDomainLookupByUUID'],
      [22, 'virDomainLookupByID'],
      [286, 'virConnectListAllNWFilters'],
      [352, 'virDomainPinIOThread'],
    ];
    for (const [proc, api] of cases) expect([proc, remoteProcedureApi(proc)]).toEqual([proc, api]);
  });
});

describe('UUID text', () => {
  it('converts canonical and other accepted forms, refuses the rest', async () => {
    const { uuidToBytes, uuidToString, parseUuid } = await import('../../src/xml/uuid.js');
    const { VirError } = await import('../../src/xml/errors.js');
    const u = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
    expect(uuidToString(uuidToBytes(u))).toBe(u);
    expect(uuidToString(uuidToBytes('4DEA22B31D52D8F32516782E98AB3FA0'))).toBe(u);
    expect(parseUuid(' 4dea22b3-1d52-d8f3-2516-782e98ab3fa0 ')).toBe(u);
    expect(parseUuid('4d ea 22 b3 1d52d8f3-2516-782e98ab3fa0')).toBe(u);
    expect(parseUuid('4-dea22b3-1d52-d8f3-2516-782e98ab3fa0')).toBeNull();
    for (const bad of ['4dea22b3-1d52-d8f3-2516-782e98ab3fag', '4dea22b3-1d52-d8f3-2516-782e98ab3f', '', 'x'.repeat(36)]) {
      expect(() => uuidToBytes(bad)).toThrow(VirError);
    }
  });
});

describe('dispatch table', () => {
  it('has a handler for every procedure definition, and only for those', async () => {
    const { implementedProcedures } = await import('../../src/rpc/server/dispatch.js');
    const { remoteProcsByNumber } = await import('../../src/rpc/protocol/remote-procedures.js');
    expect(implementedProcedures()).toEqual([...remoteProcsByNumber.keys()].sort((a, b) => a - b));
  });
});
