/**
 * The host-side frame peer over real UDP sockets, driven the way a VM's net backend
 * drives it: ARP and ICMP echo answered with valid checksums, echo payloads recorded,
 * malformed frames and strangers counted, never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FramePeer } from './frame-peer.js';
import { arpRequest, echoRequest, ETH_HLEN, inetChecksum, parseIpv4, parseMac } from './packets.js';

const vmMac = parseMac('52:54:00:12:34:56');
const vmIp = parseIpv4('10.0.2.15');
const peerIp = parseIpv4('10.0.2.2');
const peerMac = parseMac('52:54:00:00:02:02');

let peer: FramePeer | undefined;
const socks: Socket[] = [];
afterEach(async () => {
  await peer?.close();
  for (const s of socks.splice(0)) s.close();
});

async function vmSocket(): Promise<{ send(f: Uint8Array): void; next(): Promise<Buffer> }> {
  const s = createSocket('udp4');
  socks.push(s);
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const queue: Buffer[] = [];
  const waiting: Array<(b: Buffer) => void> = [];
  s.on('message', (m) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  return {
    send: (f) => s.send(f, peer!.port, '127.0.0.1'),
    next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((ok) => waiting.push(ok))),
  };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('FramePeer', () => {
  it('answers ARP for its address and ICMP echo with the same id, sequence and payload', async () => {
    peer = await FramePeer.start({ ip: '10.0.2.2', mac: '52:54:00:00:02:02' });
    const vm = await vmSocket();
    vm.send(arpRequest(vmMac, vmIp, peerIp));
    const arp = await vm.next();
    expect(arp.length).toBe(42);
    expect([...arp.subarray(0, 6)]).toEqual([...vmMac]);
    expect(arp.readUInt16BE(12)).toBe(0x0806);
    expect(arp.readUInt16BE(ETH_HLEN + 6)).toBe(2);
    expect([...arp.subarray(ETH_HLEN + 8, ETH_HLEN + 14)]).toEqual([...peerMac]);
    expect([...arp.subarray(ETH_HLEN + 14, ETH_HLEN + 18)]).toEqual([...peerIp]);
    expect([...arp.subarray(ETH_HLEN + 24, ETH_HLEN + 28)]).toEqual([...vmIp]);

    const payload = Buffer.alloc(56, 0x5a);
    vm.send(echoRequest(vmMac, peerMac, vmIp, peerIp, 0x1234, 7, payload));
    const rep = await vm.next();
    expect(rep.readUInt16BE(12)).toBe(0x0800);
    expect(inetChecksum(rep.subarray(ETH_HLEN, ETH_HLEN + 20))).toBe(0);
    const icmp = rep.subarray(ETH_HLEN + 20);
    expect(inetChecksum(icmp)).toBe(0);
    expect(icmp[0]).toBe(0);
    expect(icmp.readUInt16BE(4)).toBe(0x1234);
    expect(icmp.readUInt16BE(6)).toBe(7);
    expect(icmp.subarray(8).equals(payload)).toBe(true);
    expect([...rep.subarray(ETH_HLEN + 16, ETH_HLEN + 20)]).toEqual([...vmIp]);
    expect(peer.stats.echoRequests).toEqual([{ from: '10.0.2.15', id: 0x1234, seq: 7, payload: new Uint8Array(payload) }]);
    expect(peer.vmEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('accepts an echo request whose code is not 0, as Linux does (busybox ping -p)', async () => {
    peer = await FramePeer.start();
    const vm = await vmSocket();
    const f = echoRequest(vmMac, peerMac, vmIp, peerIp, 1, 1, Buffer.alloc(8, 0x44));
    const icmp = ETH_HLEN + 20;
    f[icmp + 1] = 0x44;
    f[icmp + 2] = f[icmp + 3] = 0;
    new DataView(f.buffer).setUint16(icmp + 2, inetChecksum(f.subarray(icmp)));
    vm.send(f);
    expect((await vm.next())[icmp]).toBe(0);
  });

  it('counts malformed frames, other traffic and strangers without answering', async () => {
    peer = await FramePeer.start();
    const vm = await vmSocket();
    const stranger = await vmSocket();
    vm.send(new Uint8Array(5));
    const badSum = echoRequest(vmMac, peerMac, vmIp, peerIp, 1, 1, Buffer.alloc(8));
    badSum[ETH_HLEN + 10] ^= 1;
    vm.send(badSum);
    const longIp = echoRequest(vmMac, peerMac, vmIp, peerIp, 1, 1, Buffer.alloc(8));
    new DataView(longIp.buffer).setUint16(ETH_HLEN + 2, 9000);
    vm.send(longIp);
    vm.send(arpRequest(vmMac, vmIp, parseIpv4('10.0.2.99'))); // not us: no reply
    const v6 = new Uint8Array(60);
    v6[12] = 0x86;
    v6[13] = 0xdd;
    vm.send(v6);
    await until(() => peer!.stats.frames === 5);
    stranger.send(arpRequest(vmMac, vmIp, peerIp));
    await until(() => peer!.stats.foreign === 1);
    expect(peer.stats).toMatchObject({ frames: 5, arpRequests: 1, arpReplies: 0, echoReplies: 0, foreign: 1, other: 1 });
    expect(peer.stats.malformed).toEqual(['frame of 5 bytes', 'IPv4 header checksum', 'IPv4 total length 9000 beyond the frame']);
  });
});
