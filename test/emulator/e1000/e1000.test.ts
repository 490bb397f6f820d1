import { describe, expect, it } from 'vitest';
import * as R from '../../../src/emulator/e1000/regs.js';
import { crc32, mtaHash } from '../../../src/emulator/e1000/rx.js';
import { onesSum } from '../../../src/emulator/e1000/tx.js';
import { frame, MAC, RX_BUF, rig, TX_BUF } from './driver.js';

const OTHER = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const EOP_RS = R.E1000_TXD_CMD_EOP | R.E1000_TXD_CMD_RS | R.E1000_TXD_CMD_IFCS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('e1000 identity, EEPROM and PHY', () => {
  it('presents an 82545EM with bhyve BARs and INTx only', () => {
    const r = rig();
    expect(r.w.cfgRead(0, 6, 0, 0)).toBe(0x100f8086);
    expect(r.w.cfgRead(0, 6, 0, 0x08)).toBe(0x02000004);
    expect(r.w.cfgRead(0, 6, 0, 0x2c)).toBe(0x10088086);
    expect(r.fn.bars.slice(0, 3).map((b) => [b.type, b.size])).toEqual([
      ['mem32', 131072],
      ['mem32', 65536],
      ['io', 8],
    ]);
    expect(r.w.cfgRead(0, 6, 0, 0x34) & 0xff).toBe(0); // no capabilities (no MSI)
    expect((r.w.cfgRead(0, 6, 0, 0x3c) >> 8) & 0xff).toBe(1);
    expect(r.reg(R.E1000_STATUS)).toBe(0x83); // full duplex, link up, 1000 Mb/s
    // RAL0/RAH0 hold the MAC with AV.
    expect(r.reg(R.E1000_RAL0)).toBe(0x12005452);
    expect(r.reg(R.E1000_RAL0 + 4)).toBe((0x80000000 | 0x5634) >>> 0);
  });

  it('serves the MAC and a 0xBABA checksum through the Microwire EEPROM', () => {
    const r = rig();
    const words = Array.from({ length: 64 }, (_, i) => r.eepromRead(i));
    expect(words.slice(0, 3)).toEqual([0x5452, 0x1200, 0x5634]);
    expect(words[0x0d]).toBe(0x100f);
    expect(words.reduce((s, w) => (s + w) & 0xffff, 0)).toBe(0xbaba);
    expect(r.reg(R.E1000_EECD) & R.E1000_EECD_PRES).toBeTruthy();
    // Out-of-range words are not reachable with 6 address bits; a garbage opcode is ignored.
    r.set(R.E1000_EECD, R.E1000_EECD_CS);
    for (let i = 0; i < 9; i++) {
      r.set(R.E1000_EECD, R.E1000_EECD_CS | R.E1000_EECD_SK);
      r.set(R.E1000_EECD, R.E1000_EECD_CS);
    }
    expect(r.eepromRead(0)).toBe(0x5452);
  });

  it('reads EEPROM words in one step through EERD (82545EM §13.4.4)', () => {
    const r = rig();
    expect(r.reg(R.E1000_EERD) & R.E1000_EERD_DONE).toBe(0);
    const word = (a: number) => {
      r.set(R.E1000_EERD, (a << R.E1000_EERD_ADDR_SHIFT) | R.E1000_EERD_START);
      const v = r.reg(R.E1000_EERD);
      expect(v & R.E1000_EERD_DONE).toBe(R.E1000_EERD_DONE);
      expect((v >>> R.E1000_EERD_ADDR_SHIFT) & 0xff).toBe(a);
      return v >>> R.E1000_EERD_DATA_SHIFT;
    };
    expect([word(0), word(1), word(2)]).toEqual([0x5452, 0x1200, 0x5634]);
    expect(word(0x3f)).toBe(r.eepromRead(0x3f));
    expect(word(0x80)).toBe(0); // past the 64 words
    r.set(R.E1000_EERD, 2 << R.E1000_EERD_ADDR_SHIFT); // no START: DONE clears
    expect(r.reg(R.E1000_EERD) & R.E1000_EERD_DONE).toBe(0);
  });

  it('answers PHY reads through MDIC and indirect I/O-BAR accesses', () => {
    const r = rig();
    expect(r.mdicRead(R.PHY_ID1)).toBe(0x0141);
    expect(r.mdicRead(R.PHY_ID2)).toBe(0x0c24);
    expect(r.mdicRead(R.PHY_STATUS) & 0x24).toBe(0x24);
    const io = r.fn.bars[2]!.addr;
    r.w.ports.write(io, 4, R.E1000_STATUS);
    expect(r.w.ports.read(io + 4, 4)).toBe(0x83);
    r.w.ports.write(io, 4, R.E1000_ITR);
    r.w.ports.write(io + 4, 4, 1234);
    expect(r.reg(R.E1000_ITR)).toBe(1234);
    r.w.ports.write(io, 4, 0x80000); // flash space: not a register
    expect(r.w.ports.read(io + 4, 4)).toBe(0);
  });
});

describe('e1000 transmit', () => {
  it('sends a legacy two-descriptor frame, writes DD back and raises TXDW|TXQE on INTx', () => {
    const r = rig();
    r.setupTx();
    r.set(R.E1000_IMS, R.E1000_ICR_TXDW | R.E1000_ICR_TXQE);
    const f = frame(OTHER, MAC, 0x0800, Array.from({ length: 100 }, (_, i) => i));
    r.mem.writeBytes(TX_BUF, f.subarray(0, 40));
    r.mem.writeBytes(TX_BUF + 0x1000, f.subarray(40));
    r.txDesc(0, TX_BUF, 40 | R.E1000_TXD_CMD_IFCS);
    r.txDesc(1, TX_BUF + 0x1000, (f.length - 40) | EOP_RS);
    r.set(R.E1000_TDT, 2);
    expect(r.net.sent).toEqual([f]);
    expect(r.reg(R.E1000_TDH)).toBe(2);
    expect(r.mem.read8(0x10000 + 16 + 12) & R.E1000_TXD_STAT_DD).toBe(1);
    expect(r.fn.intxAsserted).toBe(true);
    expect(r.reg(R.E1000_ICR)).toBe(R.E1000_ICR_TXDW | R.E1000_ICR_TXQE);
    expect(r.fn.intxAsserted).toBe(false);
    expect(r.reg(R.E1000_ICR)).toBe(0);
    expect(r.reg(R.E1000_GPTC)).toBe(1);
    expect(r.reg(R.E1000_GPTC)).toBe(0); // statistics clear on read
  });

  it('waits for EOP before sending a packet', () => {
    const r = rig();
    r.setupTx();
    r.mem.fill(TX_BUF, 64, 0x11);
    r.txDesc(0, TX_BUF, 32);
    r.set(R.E1000_TDT, 1);
    expect(r.net.sent.length).toBe(0);
    expect(r.reg(R.E1000_TDH)).toBe(0);
    r.txDesc(1, TX_BUF + 32, 32 | EOP_RS);
    r.set(R.E1000_TDT, 2);
    expect(r.net.sent.map((f) => f.length)).toEqual([64]);
  });

  it('computes IP and UDP checksums from a context descriptor', () => {
    const r = rig();
    r.setupTx();
    const ip = ipv4Udp(Array.from({ length: 33 }, (_, i) => i * 7));
    r.mem.writeBytes(TX_BUF, ip);
    r.txDesc(0, 0, 0);
    r.mem.write32(0x10000, ctx0(14, 24, 33)); // ipcss, ipcso, ipcse
    r.mem.write32(0x10000 + 4, 34 | (40 << 8)); // tucss, tucso
    r.mem.write32(0x10000 + 8, R.E1000_TXD_CMD_DEXT | R.E1000_TXD_CMD_IP);
    r.mem.write32(0x10000 + 12, 0);
    r.txDesc(1, TX_BUF, ip.length | R.E1000_TXD_DTYP_D | R.E1000_TXD_CMD_DEXT | EOP_RS, (R.E1000_TXD_POPTS_IXSM | R.E1000_TXD_POPTS_TXSM) << 8);
    r.set(R.E1000_TDT, 2);
    expect(r.net.sent.length).toBe(1);
    const out = r.net.sent[0]!;
    expect(onesSum(out, 14, 34)).toBe(0xffff); // IPv4 header checksum verifies
    expect(out[40]! | out[41]!).not.toBe(0);
    // The UDP checksum (from tucss to the end) verifies with the pseudo header.
    const pseudo = onesSum(Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2, 0, 17), 0, 10, out.length - 34);
    expect(onesSum(out, 34, out.length, pseudo)).toBe(0xffff);
  });

  it('segments a TCP packet (TSO) with per-segment lengths, IDs, sequence numbers and checksums', () => {
    const r = rig();
    r.setupTx();
    const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);
    const pkt = ipv4Tcp(payload, { id: 0x1000, seq: 0x10000000, flags: 0x18 /* PSH|ACK */ });
    r.mem.writeBytes(TX_BUF, pkt);
    r.txDesc(0, 0, 0);
    r.mem.write32(0x10000, ctx0(14, 24, 33));
    r.mem.write32(0x10000 + 4, 34 | (50 << 8));
    r.mem.write32(0x10000 + 8, 3000 | R.E1000_TXD_CMD_DEXT | R.E1000_TXD_CMD_TSE | R.E1000_TXD_CMD_IP | R.E1000_TXD_CMD_TCP);
    r.mem.write32(0x10000 + 12, (54 << 8) | (1000 << 16));
    r.txDesc(1, TX_BUF, pkt.length | R.E1000_TXD_DTYP_D | R.E1000_TXD_CMD_DEXT | R.E1000_TXD_CMD_TSE | EOP_RS, (R.E1000_TXD_POPTS_IXSM | R.E1000_TXD_POPTS_TXSM) << 8);
    r.set(R.E1000_TDT, 2);
    expect(r.net.sent.length).toBe(3);
    r.net.sent.forEach((f, seg) => {
      const dv = new DataView(f.buffer, f.byteOffset);
      expect(f.length).toBe(54 + 1000);
      expect(dv.getUint16(16)).toBe(20 + 20 + 1000); // IP total length
      expect(dv.getUint16(18)).toBe(0x1000 + seg); // IP ID
      expect(onesSum(f, 14, 34)).toBe(0xffff);
      expect(dv.getUint32(38)).toBe(0x10000000 + 1000 * seg); // TCP sequence
      expect(f[47]).toBe(seg < 2 ? 0x10 : 0x18); // PSH only on the last segment
      expect(tcpChecksumOk(f)).toBe(true);
      expect([...f.subarray(54, 58)]).toEqual([...payload.subarray(seg * 1000, seg * 1000 + 4)]);
    });
    expect(r.reg(R.E1000_TSCTC)).toBe(1);
  });

  it('drops hostile packets but keeps the ring moving', () => {
    const r = rig();
    r.setupTx();
    // A buffer outside guest RAM.
    r.txDesc(0, 0xfff00000, 64 | EOP_RS);
    // Mixed legacy and data descriptors in one packet.
    r.txDesc(1, TX_BUF, 32);
    r.txDesc(2, TX_BUF, 32 | R.E1000_TXD_DTYP_D | R.E1000_TXD_CMD_DEXT | EOP_RS);
    // TSO with an MSS of 0 (bhyve would loop forever).
    r.txDesc(3, 0, 0);
    r.mem.write32(0x10000 + 3 * 16 + 8, 100 | R.E1000_TXD_CMD_DEXT | R.E1000_TXD_CMD_TSE | R.E1000_TXD_CMD_TCP | R.E1000_TXD_CMD_IP);
    r.mem.write32(0x10000 + 3 * 16 + 12, 54 << 8);
    r.mem.write32(0x10000 + 3 * 16, ctx0(14, 24, 33));
    r.mem.write32(0x10000 + 3 * 16 + 4, 34 | (50 << 8));
    r.txDesc(4, TX_BUF, 154 | R.E1000_TXD_DTYP_D | R.E1000_TXD_CMD_DEXT | R.E1000_TXD_CMD_TSE | EOP_RS, 3 << 8);
    // A checksum offset past the frame.
    r.txDesc(5, TX_BUF, 60 | R.E1000_TXD_CMD_IC | (200 << 16) | EOP_RS);
    r.set(R.E1000_TDT, 6);
    expect(r.net.sent.length).toBe(0);
    expect(r.reg(R.E1000_TDH)).toBe(6);
    for (const i of [0, 2, 4, 5]) expect(r.mem.read8(0x10000 + i * 16 + 12) & 1).toBe(1);
    const log = r.log.messages.join('\n');
    expect(log).toMatch(/not guest RAM/);
    expect(log).toMatch(/descriptor types differ/);
    expect(log).toMatch(/MSS of 0/);
    expect(log).toMatch(/checksum offsets outside the frame/);
    // Ring indexes beyond the ring, and a ring outside RAM, stop transmission.
    r.set(R.E1000_TDT, 100);
    expect(r.log.messages.join('\n')).toMatch(/TDT 100 beyond its 64 descriptors/);
    r.set(R.E1000_TDBAL, 0xfff00000);
    r.set(R.E1000_TDH, 0);
    r.set(R.E1000_TDT, 1);
    expect(r.log.messages.join('\n')).toMatch(/transmit ring at 0xfff00000 is not guest RAM/);
  });
});

describe('e1000 receive', () => {
  it('places frames for its MAC and broadcasts, padded, and filters others', () => {
    const r = rig();
    r.setupRx();
    r.set(R.E1000_IMS, R.E1000_ICR_RXT0);
    const mine = frame(MAC, OTHER, 0x0800, [1, 2, 3]);
    r.net.inject(mine);
    expect(r.rxDesc(0)).toMatchObject({ len: 60, status: R.E1000_RXD_STAT_DD | R.E1000_RXD_STAT_EOP | R.E1000_RXD_STAT_IXSM | R.E1000_RXD_STAT_PIF });
    expect([...r.mem.readBytes(RX_BUF, 17)]).toEqual([...mine]);
    expect(r.mem.read8(RX_BUF + 17)).toBe(0);
    expect(r.reg(R.E1000_RDH)).toBe(1);
    expect(r.fn.intxAsserted).toBe(true);
    r.net.inject(frame(OTHER, MAC, 0x0800, [9])); // someone else's unicast
    expect(r.reg(R.E1000_RDH)).toBe(1);
    r.net.inject(frame(BCAST, OTHER, 0x0806, [9]));
    expect(r.reg(R.E1000_RDH)).toBe(2);
    // Multicast only through MTA (or MPE).
    const mc = Uint8Array.of(0x33, 0x33, 0xff, 0x12, 0x34, 0x56);
    r.net.inject(frame(mc, OTHER, 0x86dd, [1]));
    expect(r.reg(R.E1000_RDH)).toBe(2);
    const h = mtaHash(mc, 0);
    r.set(R.E1000_MTA + 4 * (h >>> 5), 1 << (h & 31));
    r.net.inject(frame(mc, OTHER, 0x86dd, [1]));
    expect(r.reg(R.E1000_RDH)).toBe(3);
    expect(r.reg(R.E1000_GPRC)).toBe(3);
    expect(r.reg(R.E1000_BPRC)).toBe(1);
    expect(r.reg(R.E1000_MPRC)).toBe(1);
  });

  it('appends the FCS unless SECRC, and spreads frames over several small buffers', () => {
    const r = rig();
    // 256-byte buffers, CRC kept.
    r.setupRx(32, R.E1000_RCTL_EN | R.E1000_RCTL_SZ_256, 256);
    const f = frame(MAC, OTHER, 0x0800, Array.from({ length: 586 }, (_, i) => i & 0xff)); // 600 bytes
    r.net.inject(f);
    expect([0, 1, 2].map((i) => r.rxDesc(i).len)).toEqual([256, 256, 92]);
    expect(r.rxDesc(0).status).toBe(R.E1000_RXD_STAT_DD);
    expect(r.rxDesc(2).status & R.E1000_RXD_STAT_EOP).toBeTruthy();
    const got = new Uint8Array(604);
    got.set(r.mem.readBytes(RX_BUF, 256), 0);
    got.set(r.mem.readBytes(RX_BUF + 256, 256), 256);
    got.set(r.mem.readBytes(RX_BUF + 512, 92), 512);
    expect([...got.subarray(0, 600)]).toEqual([...f]);
    expect(new DataView(got.buffer).getUint32(600, true)).toBe(crc32(f));
    expect(r.reg(R.E1000_RDH)).toBe(3);
  });

  it('keeps frames while the ring is full, delivers them when RDT moves, and counts overflow', async () => {
    const r = rig();
    r.setupRx(8); // RDT = 7: seven free descriptors
    for (let i = 0; i < 7; i++) r.net.inject(frame(MAC, OTHER, 0x0800, [i]));
    expect(r.reg(R.E1000_RDH)).toBe(7);
    r.net.inject(frame(MAC, OTHER, 0x0800, [7]));
    expect(r.dev.backlogLength).toBe(1);
    r.set(R.E1000_RDT, 1); // the driver returns two descriptors
    expect(r.dev.backlogLength).toBe(0);
    expect(r.reg(R.E1000_RDH)).toBe(0);
    expect(r.mem.read8(RX_BUF + 7 * 2048 + 14)).toBe(7);
    for (let i = 0; i < 300; i++) r.net.inject(frame(MAC, OTHER, 0x0800, [i & 0xff]));
    expect(r.net.paused).toBe(true);
    expect(r.reg(R.E1000_MPC)).toBeGreaterThan(0);
    expect(r.reg(R.E1000_ICR) & R.E1000_ICR_RXO).toBeTruthy();
  });

  it('returns descriptors whose buffers are outside guest RAM with an error, and refuses bad ring indexes', () => {
    const r = rig();
    r.setupRx(8);
    r.mem.write64(0x20000, 0xfffff000n);
    r.net.inject(frame(MAC, OTHER, 0x0800, [1]));
    expect(r.rxDesc(0)).toMatchObject({ len: 0, errors: 0x80 });
    expect(r.rxDesc(0).status & R.E1000_RXD_STAT_DD).toBeTruthy();
    r.net.inject(frame(MAC, OTHER, 0x0800, [2]));
    expect(r.rxDesc(1).len).toBe(60);
    r.set(R.E1000_RDT, 200);
    r.net.inject(frame(MAC, OTHER, 0x0800, [3]));
    expect(r.log.messages.join('\n')).toMatch(/RDT 200 beyond its 8 descriptors/);
  });
});

describe('e1000 interrupts and reset', () => {
  it('throttles interrupts by ITR', async () => {
    const r = rig();
    r.set(R.E1000_ITR, 3906); // 1 ms
    r.set(R.E1000_IMS, R.E1000_ICR_TXDW);
    r.set(R.E1000_ICS, R.E1000_ICR_TXDW);
    expect(r.fn.intxAsserted).toBe(true);
    r.reg(R.E1000_ICR);
    expect(r.fn.intxAsserted).toBe(false);
    r.set(R.E1000_ICS, R.E1000_ICR_TXDW);
    expect(r.fn.intxAsserted).toBe(false); // inside the throttle window
    await sleep(20);
    expect(r.fn.intxAsserted).toBe(true);
    r.set(R.E1000_IMC, R.E1000_ICR_TXDW);
    expect(r.fn.intxAsserted).toBe(false);
    r.dev.close();
  });

  it('CTRL.RST clears receive-address valid bits and ring state', () => {
    const r = rig();
    r.setupRx();
    r.set(R.E1000_CTRL, R.E1000_CTRL_RST);
    expect(r.reg(R.E1000_RAL0 + 4) & R.E1000_RAH_AV).toBe(0);
    expect(r.reg(R.E1000_RCTL)).toBe(0);
    expect(r.reg(R.E1000_ITR)).toBe(250);
    expect(r.reg(R.E1000_CTRL) & R.E1000_CTRL_RST).toBe(0);
  });
});

// ---- packet builders ----

function ctx0(ipcss: number, ipcso: number, ipcse: number): number {
  return (ipcss | (ipcso << 8) | (ipcse << 16)) >>> 0;
}

function ipv4Header(totalLen: number, proto: number, id = 1): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x45;
  dv.setUint16(2, totalLen);
  dv.setUint16(4, id);
  h[8] = 64;
  h[9] = proto;
  h.set([10, 0, 0, 1], 12);
  h.set([10, 0, 0, 2], 16);
  return h;
}

function ipv4Udp(payload: number[]): Uint8Array {
  const udp = new Uint8Array(8 + payload.length);
  const dv = new DataView(udp.buffer);
  dv.setUint16(0, 1234);
  dv.setUint16(2, 5678);
  dv.setUint16(4, udp.length);
  udp.set(payload, 8);
  // The driver seeds the UDP checksum with the pseudo-header sum for offload.
  const pseudo = onesSum(Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2, 0, 17), 0, 10, udp.length);
  dv.setUint16(6, pseudo);
  const ip = ipv4Header(20 + udp.length, 17);
  return frame(OTHER, MAC, 0x0800, [...ip, ...udp]);
}

function ipv4Tcp(payload: Uint8Array, o: { id: number; seq: number; flags: number }): Uint8Array {
  const tcp = new Uint8Array(20);
  const dv = new DataView(tcp.buffer);
  dv.setUint16(0, 1234);
  dv.setUint16(2, 80);
  dv.setUint32(4, o.seq);
  tcp[12] = 5 << 4;
  tcp[13] = o.flags;
  dv.setUint16(14, 65535);
  // Linux TSO: pseudo-header sum without the length.
  dv.setUint16(16, onesSum(Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2, 0, 6), 0, 10));
  const ip = ipv4Header(0, 6, o.id);
  return frame(OTHER, MAC, 0x0800, [...ip, ...tcp, ...payload]);
}

function tcpChecksumOk(f: Uint8Array): boolean {
  const tcpLen = f.length - 34;
  const pseudo = onesSum(Uint8Array.of(...f.subarray(26, 34), 0, 6), 0, 10, tcpLen);
  return onesSum(f, 34, f.length, pseudo) === 0xffff;
}
