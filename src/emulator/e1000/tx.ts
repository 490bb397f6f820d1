/**
 * The 82545EM transmit path: descriptors between TDH and TDT → Ethernet frames (82545EM
 * manual §3.3: legacy, context and data descriptors, checksum offload, TCP segmentation;
 * bhyve pci_e82545.c e82545_transmit). Reads and writes guest memory (descriptor
 * write-back), never the backend: the device sends what this returns.
 *
 * A packet is the run of descriptors up to one with EOP; a context descriptor only sets
 * the offload context. Guest input is hostile, and where bhyve asserts or trusts, this
 * drops the packet (its descriptors are still consumed and written back) and says why:
 * mixed descriptor types in one packet, more than 64 buffers, buffers outside guest RAM,
 * more than 256 KiB of data, checksum offsets outside the frame, TSO with a header
 * length beyond 240 or too short for the fields it rewrites, an MSS of 0, a payload
 * length that does not match the data, more than 1024 segments. A ring slot outside guest
 * RAM stops processing. Frames are assembled in one host buffer per packet (copies, not
 * views: the guest may rewrite its buffers after the descriptors are returned).
 * Differences from bhyve: a missing FCS-insert bit strips nothing (bhyve drops two
 * bytes), and TSO over UDP writes the 16-bit UDP length (bhyve writes 32 bits over the
 * length and checksum).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import * as R from './regs.js';

export const I82545_MAX_TXSEGS = 64;
export const MAX_TX_BYTES = 256 * 1024;
export const MAX_TSO_SEGMENTS = 1024;
const TSO_MAX_HDRLEN = 240;

/** The offload context last loaded by a context descriptor. */
export interface TxContext {
  ipcss: number;
  ipcso: number;
  ipcse: number;
  tucss: number;
  tucso: number;
  tucse: number;
  /** cmd_and_length: PAYLEN (19:0), DTYP, TUCMD (31:24). */
  cmdLen: number;
  hdrLen: number;
  mss: number;
}

export function emptyContext(): TxContext {
  return { ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0, cmdLen: 0, hdrLen: 0, mss: 0 };
}

interface Checksum {
  valid: boolean;
  start: number;
  off: number;
  /** Inclusive end offset, 0 = to the end of the frame. */
  end: number;
}

export interface TxOptions {
  /** CTRL.VME: VLAN tag insertion enabled. */
  vlan: boolean;
  vet: number;
}

export interface TxRunResult {
  head: number;
  frames: Uint8Array[];
  /** A descriptor with RS was written back (TXDW). */
  descDone: boolean;
  /** TSO contexts used (TSCTC). */
  tso: number;
  dropped: string[];
  /** The ring itself is not guest RAM: processing stopped at `head`. */
  ringFault: boolean;
}

/** One's complement sum of [start, end) read as big-endian 16-bit words, folded. */
export function onesSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function putChecksum(b: Uint8Array, ck: Checksum): void {
  const end = ck.end ? Math.min(ck.end + 1, b.length) : b.length;
  const sum = onesSum(b, ck.start, end);
  const v = ~sum & 0xffff;
  b[ck.off] = v >> 8;
  b[ck.off + 1] = v & 0xff;
}

function checksumFits(ck: Checksum, len: number): boolean {
  return !ck.valid || (ck.start < len && ck.off + 2 <= len);
}

export class TxEngine {
  ctx = emptyContext();

  /** Processes descriptors in [head, tail) of the ring at `base` (`size` descriptors). */
  run(mem: GuestMemory, base: number, size: number, head: number, tail: number, opts: TxOptions): TxRunResult {
    const res: TxRunResult = { head, frames: [], descDone: false, tso: 0, dropped: [], ringFault: false };
    while (res.head !== tail) {
      const n = this.packet(mem, base, size, res.head, tail, opts, res);
      if (n === 0) break; // incomplete packet, or ring fault
      res.head = (res.head + n) % size;
    }
    return res;
  }

  /** Handles one packet (or context descriptor) at `head`; returns descriptors consumed. */
  private packet(mem: GuestMemory, base: number, size: number, head: number, tail: number, opts: TxOptions, res: TxRunResult): number {
    const descs: Array<{ addr: number; lower: number; upper: number; at: number }> = [];
    let idx = head;
    for (;;) {
      if (idx === tail) return 0; // no EOP yet: wait for the driver to finish the packet
      const at = base + idx * R.E1000_DESC_SIZE;
      if (!mem.contains(at, R.E1000_DESC_SIZE)) {
        res.ringFault = true;
        return 0;
      }
      const d = { addr: mem.readAddr64(at), lower: mem.read32(at + 8), upper: mem.read32(at + 12), at };
      descs.push(d);
      idx = (idx + 1) % size;
      const type = d.lower & R.E1000_TXD_CMD_DEXT ? d.lower & R.E1000_TXD_MASK : R.E1000_TXD_TYP_L;
      if (descs.length === 1 && type === R.E1000_TXD_TYP_C) break;
      if (d.lower & R.E1000_TXD_CMD_EOP) break;
      if (descs.length >= size) return 0; // the whole ring without EOP: wait
    }
    const first = descs[0]!;
    const ntype = first.lower & R.E1000_TXD_CMD_DEXT ? first.lower & R.E1000_TXD_MASK : R.E1000_TXD_TYP_L;
    if (ntype === R.E1000_TXD_TYP_C) {
      this.loadContext(mem, first.at);
    } else {
      const frames = this.build(mem, descs, ntype, opts, res);
      if (frames) res.frames.push(...frames);
    }
    for (const d of descs) {
      if (d.lower & R.E1000_TXD_CMD_RS) {
        mem.write32(d.at + 12, d.upper | R.E1000_TXD_STAT_DD);
        res.descDone = true;
      }
    }
    return descs.length;
  }

  private loadContext(mem: GuestMemory, at: number): void {
    const w0 = mem.read32(at);
    const w1 = mem.read32(at + 4);
    const w3 = mem.read32(at + 12);
    this.ctx = {
      ipcss: w0 & 0xff,
      ipcso: (w0 >>> 8) & 0xff,
      ipcse: w0 >>> 16,
      tucss: w1 & 0xff,
      tucso: (w1 >>> 8) & 0xff,
      tucse: w1 >>> 16,
      cmdLen: mem.read32(at + 8),
      hdrLen: (w3 >>> 8) & 0xff,
      mss: w3 >>> 16,
    };
  }

  private build(
    mem: GuestMemory,
    descs: Array<{ addr: number; lower: number; upper: number }>,
    ntype: number,
    opts: TxOptions,
    res: TxRunResult,
  ): Uint8Array[] | undefined {
    const drop = (why: string) => {
      res.dropped.push(why);
      return undefined;
    };
    let total = 0;
    let bufs = 0;
    for (const d of descs) {
      const type = d.lower & R.E1000_TXD_CMD_DEXT ? d.lower & R.E1000_TXD_MASK : R.E1000_TXD_TYP_L;
      if (type !== ntype) return drop('descriptor types differ within a packet');
      const len = type === R.E1000_TXD_TYP_L ? d.lower & 0xffff : d.lower & 0xfffff;
      if (len > 0) {
        bufs++;
        total += len;
        if (!mem.contains(d.addr, len)) return drop(`buffer 0x${d.addr.toString(16)}+${len} is not guest RAM`);
      }
    }
    if (bufs > I82545_MAX_TXSEGS) return drop(`${bufs} buffers in one packet (at most ${I82545_MAX_TXSEGS})`);
    if (total > MAX_TX_BYTES) return drop(`packet of ${total} bytes`);
    const last = descs[descs.length - 1]!;
    const ck: [Checksum, Checksum] = [
      { valid: false, start: 0, off: 0, end: 0 },
      { valid: false, start: 0, off: 0, end: 0 },
    ];
    let tso = false;
    if (ntype === R.E1000_TXD_TYP_L) {
      ck[0].start = (descs[0]!.upper >>> 8) & 0xff; // CSS, valid in the first descriptor
      if (last.lower & R.E1000_TXD_CMD_IC) {
        ck[0].valid = true;
        ck[0].off = (last.lower >>> 16) & 0xff; // CSO
      }
    } else {
      const popts = (last.upper >>> 8) & 0xff;
      tso = (last.lower & R.E1000_TXD_CMD_TSE) !== 0;
      const c = this.ctx;
      ck[0].valid = (popts & R.E1000_TXD_POPTS_IXSM) !== 0;
      if (ck[0].valid || tso) Object.assign(ck[0], { start: c.ipcss, off: c.ipcso, end: c.ipcse });
      ck[1].valid = (popts & R.E1000_TXD_POPTS_TXSM) !== 0;
      if (ck[1].valid || tso) Object.assign(ck[1], { start: c.tucss, off: c.tucso, end: c.tucse });
    }
    // Gather the data.
    const vlan = opts.vlan && (last.lower & R.E1000_TXD_CMD_VLE) !== 0;
    let pkt = new Uint8Array(total);
    let o = 0;
    for (const d of descs) {
      const len = ntype === R.E1000_TXD_TYP_L ? d.lower & 0xffff : d.lower & 0xfffff;
      if (len > 0) {
        pkt.set(mem.viewOrThrow(d.addr, len), o);
        o += len;
      }
    }
    let hdrLen = tso ? this.ctx.hdrLen : 0;
    if (vlan) {
      if (pkt.length < 2 * R.ETHER_ADDR_LEN) return drop('VLAN insertion into a frame shorter than its addresses');
      const tagged = new Uint8Array(pkt.length + R.ETHER_VLAN_ENCAP_LEN);
      tagged.set(pkt.subarray(0, 12), 0);
      tagged[12] = opts.vet >> 8;
      tagged[13] = opts.vet & 0xff;
      const special = last.upper >>> 16;
      tagged[14] = special >> 8;
      tagged[15] = special & 0xff;
      tagged.set(pkt.subarray(12), 16);
      pkt = tagged;
      for (const c of ck) {
        c.start += R.ETHER_VLAN_ENCAP_LEN;
        c.off += R.ETHER_VLAN_ENCAP_LEN;
        if (c.end) c.end += R.ETHER_VLAN_ENCAP_LEN;
      }
      if (tso) hdrLen += R.ETHER_VLAN_ENCAP_LEN;
    }
    if (!tso) {
      if (!checksumFits(ck[0], pkt.length) || !checksumFits(ck[1], pkt.length)) return drop('checksum offsets outside the frame');
      if (ck[0].valid) putChecksum(pkt, ck[0]);
      if (ck[1].valid) putChecksum(pkt, ck[1]);
      return [pkt];
    }
    return this.segment(pkt, hdrLen, ck, drop, res);
  }

  /** TCP/UDP segmentation offload (manual §3.5; bhyve's TSO loop). */
  private segment(
    pkt: Uint8Array,
    hdrLen: number,
    ck: [Checksum, Checksum],
    drop: (why: string) => undefined,
    res: TxRunResult,
  ): Uint8Array[] | undefined {
    const c = this.ctx;
    const tcp = (c.cmdLen & R.E1000_TXD_CMD_TCP) !== 0;
    const ipv4 = (c.cmdLen & R.E1000_TXD_CMD_IP) !== 0;
    const paylen = c.cmdLen & 0xfffff;
    const mss = c.mss;
    if (c.hdrLen > TSO_MAX_HDRLEN) return drop(`TSO header length ${c.hdrLen} beyond ${TSO_MAX_HDRLEN}`);
    if (hdrLen > pkt.length) return drop('TSO header longer than the packet');
    if (hdrLen < ck[0].start + 6 || hdrLen < ck[0].off + 2) return drop('TSO header too short for the IP fields');
    if (hdrLen < ck[1].start + (tcp ? 14 : 8) || (ck[1].valid && hdrLen < ck[1].off + 2)) {
      return drop(`TSO header too short for the ${tcp ? 'TCP' : 'UDP'} fields`);
    }
    if (mss === 0) return drop('TSO with an MSS of 0');
    if (paylen !== pkt.length - hdrLen) return drop(`TSO payload length ${paylen} but ${pkt.length - hdrLen} bytes of data`);
    if (Math.ceil(paylen / mss) > MAX_TSO_SEGMENTS) return drop(`TSO into more than ${MAX_TSO_SEGMENTS} segments`);
    res.tso++;
    const hdr = pkt.slice(0, hdrLen);
    const dv = new DataView(hdr.buffer);
    const ipid = dv.getUint16(ck[0].start + 4);
    const tcpseq = tcp ? dv.getUint32(ck[1].start + 4) : 0;
    const ipcs = dv.getUint16(ck[0].off);
    const tcpcs = ck[1].valid ? dv.getUint16(ck[1].off) : 0;
    const flags = tcp ? hdr[ck[1].start + 13]! : 0;
    const out: Uint8Array[] = [];
    let left = paylen;
    for (let seg = 0; left > 0; seg++) {
      const now = Math.min(left, mss);
      if (ipv4) {
        dv.setUint16(ck[0].start + 2, hdrLen - ck[0].start + now);
        dv.setUint16(ck[0].start + 4, (ipid + seg) & 0xffff);
      } else {
        dv.setUint16(ck[0].start + 4, hdrLen - ck[0].start - 40 + now);
      }
      if (tcp) {
        dv.setUint32(ck[1].start + 4, (tcpseq + paylen - left) >>> 0);
        hdr[ck[1].start + 13] = now < left ? flags & ~(0x01 | 0x08) : flags; // FIN, PUSH only on the last
      } else {
        dv.setUint16(ck[1].start + 4, hdrLen - ck[1].start + now);
      }
      const frame = new Uint8Array(hdrLen + now);
      frame.set(hdr, 0);
      frame.set(pkt.subarray(hdrLen + paylen - left, hdrLen + paylen - left + now), hdrLen);
      if (ck[0].valid) {
        frame[ck[0].off] = ipcs >> 8;
        frame[ck[0].off + 1] = ipcs & 0xff;
        putChecksum(frame, ck[0]);
      }
      if (ck[1].valid) {
        // Pseudo-header partial sum from the driver plus this segment's L4 length.
        const ps = onesSum(new Uint8Array(0), 0, 0, tcpcs + ((hdrLen - ck[1].start + now) & 0xffff));
        frame[ck[1].off] = ps >> 8;
        frame[ck[1].off + 1] = ps & 0xff;
        putChecksum(frame, ck[1]);
      }
      out.push(frame);
      left -= now;
    }
    return out;
  }
}
