/**
 * The 82545EM receive path: address filtering and placing one frame into the receive
 * descriptor ring (82545EM manual §3.2 receive descriptors, §3.2.1 buffer sizes, §13.4.22
 * RCTL, §13.5 RAL/RAH and MTA; bhyve pci_e82545.c e82545_rx_callback). Reads and writes
 * guest memory; no device state beyond what it is given.
 *
 * Filtering (bhyve accepts everything; the datasheet's filter is implemented so a NIC on a
 * shared link sees what real hardware would): unicast frames matching a valid receive
 * address or with RCTL.UPE, broadcast with RCTL.BAM, multicast with RCTL.MPE or a set bit
 * in the MTA hash (RCTL.MO picks the 12 address bits), then bhyve's VLAN filter (VFE).
 *
 * Placement: frames shorter than 60 bytes are padded, the FCS is appended (CRC-32)
 * unless RCTL.SECRC strips it, frames beyond the maximum (1522, or 16384 with LPE) are
 * refused as oversize. A frame needs ceil(len / buffer size) free descriptors between RDH
 * and RDT; buffers that are not guest RAM are not written: the descriptors are returned
 * with the RX data error bit so the driver skips them and the ring keeps moving.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import * as R from './regs.js';

const E1000_RXD_ERR_RXE = 0x80;
export const ETHER_MIN_NOFCS = R.ETHER_MIN_LEN - R.ETHER_CRC_LEN;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** IEEE 802.3 CRC-32 (the Ethernet FCS). */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Receive buffer size from RCTL.BSIZE/BSEX (e82545_bufsz). */
export function bufferSize(rctl: number): number {
  switch (rctl & (R.E1000_RCTL_BSEX | R.E1000_RCTL_SZ_256)) {
    case R.E1000_RCTL_SZ_2048:
      return 2048;
    case R.E1000_RCTL_SZ_1024:
      return 1024;
    case R.E1000_RCTL_SZ_512:
      return 512;
    case R.E1000_RCTL_SZ_256:
      return 256;
    case R.E1000_RCTL_BSEX | R.E1000_RCTL_SZ_1024:
      return 16384;
    case R.E1000_RCTL_BSEX | R.E1000_RCTL_SZ_512:
      return 8192;
    case R.E1000_RCTL_BSEX | R.E1000_RCTL_SZ_256:
      return 4096;
    default:
      return 256; // BSEX with size 00 is reserved
  }
}

/** The filter state: receive addresses (RAL/RAH pairs), MTA and VFTA words. */
export interface RxFilterState {
  ral: Uint32Array;
  rah: Uint32Array;
  mta: Uint32Array;
  vfta: Uint32Array;
  vet: number;
}

/** 12-bit MTA hash of a multicast address for RCTL.MO (e1000_hash_mc_addr). */
export function mtaHash(mac: Uint8Array, mo: number): number {
  const a4 = mac[4]!;
  const a5 = mac[5]!;
  switch (mo & 3) {
    case 0:
      return ((a4 >> 4) | (a5 << 4)) & 0xfff;
    case 1:
      return ((a4 >> 3) | (a5 << 5)) & 0xfff;
    case 2:
      return ((a4 >> 2) | (a5 << 6)) & 0xfff;
    default:
      return (a4 | (a5 << 8)) & 0xfff;
  }
}

export type FilterVerdict = 'accept' | 'filtered';

export function filterFrame(f: Uint8Array, rctl: number, st: RxFilterState): FilterVerdict {
  if (f.length < 14) return 'filtered';
  const dst = f.subarray(0, 6);
  let ok = false;
  if (dst.every((b) => b === 0xff)) ok = (rctl & R.E1000_RCTL_BAM) !== 0 || (rctl & R.E1000_RCTL_MPE) !== 0;
  else if (dst[0]! & 1) {
    const h = mtaHash(dst, (rctl >>> R.E1000_RCTL_MO_SHIFT) & 3);
    ok = (rctl & R.E1000_RCTL_MPE) !== 0 || (st.mta[h >>> 5]! & (1 << (h & 31))) !== 0;
  } else {
    ok = (rctl & R.E1000_RCTL_UPE) !== 0;
    for (let i = 0; !ok && i < st.ral.length; i++) {
      const hi = st.rah[i]!;
      if (!(hi & R.E1000_RAH_AV)) continue;
      const lo = st.ral[i]!;
      ok = dst[0] === (lo & 0xff) && dst[1] === ((lo >>> 8) & 0xff) && dst[2] === ((lo >>> 16) & 0xff) && dst[3] === lo >>> 24 && dst[4] === (hi & 0xff) && dst[5] === ((hi >>> 8) & 0xff);
    }
  }
  if (!ok) return 'filtered';
  if (rctl & R.E1000_RCTL_VFE && ((f[12]! << 8) | f[13]!) === st.vet && f.length >= 16) {
    const tag = ((f[14]! << 8) | f[15]!) & 0xfff;
    if (!(st.vfta[tag >>> 5]! & (1 << (tag & 31)))) return 'filtered';
  }
  return 'accept';
}

export type RxPlacement = { kind: 'placed'; head: number; len: number; badBuffer: boolean } | { kind: 'no-room'; need: number } | { kind: 'oversize' } | { kind: 'ring-fault' };

/** Writes `frame` at RDH; `head`/`tail` index a ring of `size` descriptors at `base`. */
export function placeFrame(mem: GuestMemory, base: number, size: number, head: number, tail: number, rctl: number, frame: Uint8Array): RxPlacement {
  const maxLen = rctl & R.E1000_RCTL_LPE ? 16384 : 1522;
  if (frame.length > maxLen) return { kind: 'oversize' };
  let len = Math.max(frame.length, ETHER_MIN_NOFCS);
  const withFcs = !(rctl & R.E1000_RCTL_SECRC);
  if (withFcs) len += R.ETHER_CRC_LEN;
  const data = new Uint8Array(len);
  data.set(frame);
  if (withFcs) new DataView(data.buffer).setUint32(len - R.ETHER_CRC_LEN, crc32(data.subarray(0, len - R.ETHER_CRC_LEN)), true);
  const bufsz = bufferSize(rctl);
  const need = Math.ceil(len / bufsz);
  const left = (size + tail - head) % size;
  if (left < need) return { kind: 'no-room', need };
  if (!mem.contains(base + head * R.E1000_DESC_SIZE, R.E1000_DESC_SIZE)) return { kind: 'ring-fault' };
  // Every buffer must be guest RAM before any byte is written.
  let badBuffer = false;
  const addrs: number[] = [];
  for (let i = 0; i < need; i++) {
    const at = base + ((head + i) % size) * R.E1000_DESC_SIZE;
    if (!mem.contains(at, R.E1000_DESC_SIZE)) return { kind: 'ring-fault' };
    const a = mem.readAddr64(at);
    const n = Math.min(bufsz, len - i * bufsz);
    if (!mem.contains(a, n)) badBuffer = true;
    addrs.push(a);
  }
  for (let i = 0; i < need; i++) {
    const at = base + ((head + i) % size) * R.E1000_DESC_SIZE;
    const n = Math.min(bufsz, len - i * bufsz);
    const lastDesc = i === need - 1;
    if (!badBuffer) mem.writeBytes(addrs[i]!, data.subarray(i * bufsz, i * bufsz + n));
    mem.write16(at + 8, badBuffer ? 0 : n);
    mem.write16(at + 10, 0);
    mem.write8(at + 13, badBuffer ? E1000_RXD_ERR_RXE : 0);
    mem.write16(at + 14, 0);
    // Status last: DD tells the driver the descriptor is done.
    mem.write8(at + 12, lastDesc ? R.E1000_RXD_STAT_PIF | R.E1000_RXD_STAT_IXSM | R.E1000_RXD_STAT_EOP | R.E1000_RXD_STAT_DD : R.E1000_RXD_STAT_DD);
  }
  return { kind: 'placed', head: (head + need) % size, len, badBuffer };
}
