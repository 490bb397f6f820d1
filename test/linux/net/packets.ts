/**
 * Ethernet II, ARP (RFC 826) and IPv4/ICMP echo (RFC 791, RFC 792) frames: parsing with
 * every length checked (a frame comes from the guest and is hostile) and building the
 * replies the host-side peer sends. Only what the peer answers is modelled: ARP requests
 * for its address and ICMP echo requests to it. Anything else parses to `other`.
 */

export const ETH_HLEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;

export type Mac = Uint8Array; // 6 bytes
export type Ipv4 = Uint8Array; // 4 bytes

export function parseMac(s: string): Mac {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC address '${s}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(m: Uint8Array): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseIpv4(s: string): Ipv4 {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address '${s}'`);
  return Uint8Array.from(parts.map(Number));
}

export function formatIpv4(a: Uint8Array): string {
  return [...a].join('.');
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** RFC 1071 Internet checksum over b. */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export type Parsed =
  | { kind: 'arp-request'; senderMac: Mac; senderIp: Ipv4; targetIp: Ipv4 }
  | { kind: 'echo-request'; srcMac: Mac; srcIp: Ipv4; dstIp: Ipv4; id: number; seq: number; payload: Uint8Array; ttl: number }
  | { kind: 'other'; ethertype: number }
  | { kind: 'malformed'; why: string };

export function parseFrame(f: Uint8Array): Parsed {
  if (f.length < ETH_HLEN) return { kind: 'malformed', why: `frame of ${f.length} bytes` };
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const ethertype = v.getUint16(12);
  const srcMac = f.slice(6, 12);
  if (ethertype === ETHERTYPE_ARP) {
    if (f.length < ETH_HLEN + 28) return { kind: 'malformed', why: 'short ARP packet' };
    const a = ETH_HLEN;
    if (v.getUint16(a) !== 1 || v.getUint16(a + 2) !== ETHERTYPE_IPV4 || f[a + 4] !== 6 || f[a + 5] !== 4) return { kind: 'other', ethertype };
    if (v.getUint16(a + 6) !== ARP_REQUEST) return { kind: 'other', ethertype };
    return { kind: 'arp-request', senderMac: f.slice(a + 8, a + 14), senderIp: f.slice(a + 14, a + 18), targetIp: f.slice(a + 24, a + 28) };
  }
  if (ethertype !== ETHERTYPE_IPV4) return { kind: 'other', ethertype };
  const ip = ETH_HLEN;
  if (f.length < ip + 20) return { kind: 'malformed', why: 'short IPv4 header' };
  const vihl = f[ip]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20) return { kind: 'malformed', why: `bad IPv4 version/IHL 0x${vihl.toString(16)}` };
  const total = v.getUint16(ip + 2);
  if (total < ihl || ip + total > f.length) return { kind: 'malformed', why: `IPv4 total length ${total} beyond the frame` };
  if (inetChecksum(f.subarray(ip, ip + ihl)) !== 0) return { kind: 'malformed', why: 'IPv4 header checksum' };
  const fragment = v.getUint16(ip + 6) & 0x3fff; // MF flag or offset
  if (f[ip + 9] !== IPPROTO_ICMP || fragment !== 0) return { kind: 'other', ethertype };
  const icmp = f.subarray(ip + ihl, ip + total);
  if (icmp.length < 8) return { kind: 'malformed', why: 'short ICMP message' };
  if (inetChecksum(icmp) !== 0) return { kind: 'malformed', why: 'ICMP checksum' };
  // The code is not checked, as Linux's icmp_echo() does not: busybox ping -p fills the
  // whole header with the pattern before setting the type, so its code is the pattern.
  if (icmp[0] !== ICMP_ECHO_REQUEST) return { kind: 'other', ethertype };
  const iv = new DataView(icmp.buffer, icmp.byteOffset, icmp.byteLength);
  return {
    kind: 'echo-request',
    srcMac,
    srcIp: f.slice(ip + 12, ip + 16),
    dstIp: f.slice(ip + 16, ip + 20),
    id: iv.getUint16(4),
    seq: iv.getUint16(6),
    payload: icmp.slice(8),
    ttl: f[ip + 8]!,
  };
}

function ethernet(dst: Mac, src: Mac, type: number, body: number): { frame: Uint8Array; v: DataView } {
  const frame = new Uint8Array(ETH_HLEN + body);
  frame.set(dst, 0);
  frame.set(src, 6);
  const v = new DataView(frame.buffer);
  v.setUint16(12, type);
  return { frame, v };
}

export function arpReply(ourMac: Mac, ourIp: Ipv4, req: { senderMac: Mac; senderIp: Ipv4 }): Uint8Array {
  const { frame, v } = ethernet(req.senderMac, ourMac, ETHERTYPE_ARP, 28);
  const a = ETH_HLEN;
  v.setUint16(a, 1);
  v.setUint16(a + 2, ETHERTYPE_IPV4);
  frame[a + 4] = 6;
  frame[a + 5] = 4;
  v.setUint16(a + 6, ARP_REPLY);
  frame.set(ourMac, a + 8);
  frame.set(ourIp, a + 14);
  frame.set(req.senderMac, a + 18);
  frame.set(req.senderIp, a + 24);
  return frame;
}

export function echoReply(ourMac: Mac, ourIp: Ipv4, req: { srcMac: Mac; srcIp: Ipv4; id: number; seq: number; payload: Uint8Array }): Uint8Array {
  const icmpLen = 8 + req.payload.length;
  const { frame, v } = ethernet(req.srcMac, ourMac, ETHERTYPE_IPV4, 20 + icmpLen);
  const ip = ETH_HLEN;
  frame[ip] = 0x45;
  v.setUint16(ip + 2, 20 + icmpLen);
  frame[ip + 8] = 64;
  frame[ip + 9] = IPPROTO_ICMP;
  frame.set(ourIp, ip + 12);
  frame.set(req.srcIp, ip + 16);
  v.setUint16(ip + 10, inetChecksum(frame.subarray(ip, ip + 20)));
  const icmp = ip + 20;
  frame[icmp] = ICMP_ECHO_REPLY;
  v.setUint16(icmp + 4, req.id);
  v.setUint16(icmp + 6, req.seq);
  frame.set(req.payload, icmp + 8);
  v.setUint16(icmp + 2, inetChecksum(frame.subarray(icmp)));
  return frame;
}

/** An ARP request or ICMP echo request as a guest would send it (for tests of the peer). */
export function arpRequest(mac: Mac, ip: Ipv4, target: Ipv4): Uint8Array {
  const { frame, v } = ethernet(new Uint8Array(6).fill(0xff), mac, ETHERTYPE_ARP, 28);
  const a = ETH_HLEN;
  v.setUint16(a, 1);
  v.setUint16(a + 2, ETHERTYPE_IPV4);
  frame[a + 4] = 6;
  frame[a + 5] = 4;
  v.setUint16(a + 6, ARP_REQUEST);
  frame.set(mac, a + 8);
  frame.set(ip, a + 14);
  frame.set(target, a + 24);
  return frame;
}

export function echoRequest(srcMac: Mac, dstMac: Mac, srcIp: Ipv4, dstIp: Ipv4, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const reply = echoReply(srcMac, srcIp, { srcMac: dstMac, srcIp: dstIp, id, seq, payload });
  const icmp = ETH_HLEN + 20;
  reply[icmp] = ICMP_ECHO_REQUEST;
  const v = new DataView(reply.buffer);
  v.setUint16(icmp + 2, 0);
  v.setUint16(icmp + 2, inetChecksum(reply.subarray(icmp)));
  return reply;
}

export { eq as sameBytes };
