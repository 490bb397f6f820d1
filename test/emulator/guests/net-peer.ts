/**
 * The host end of a guest's UDP network link (tsbhyve's `udp:` backend, QEMU's
 * `-netdev socket,udp=`): one Ethernet frame per datagram. The peer answers every frame
 * from the guest's port with a PONG (ethertype 0x88B5) addressed to the sender's MAC, and
 * keeps what it received for the test to check.
 */
import { createSocket, type Socket } from 'node:dgram';

export const ETHERTYPE = 0x88b5;

export function bound(port = 0): Promise<Socket> {
  return new Promise((resolveP, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolveP(s));
  });
}

/** Ports free right now on 127.0.0.1 (bound and released). */
export async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => bound()));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export interface PongPeer {
  port: number;
  frames: Buffer[];
  close(): void;
}

/** A UDP peer answering frames that come from 127.0.0.1:guestPort. */
export async function pongPeer(guestPort: number): Promise<PongPeer> {
  const s = await bound();
  const frames: Buffer[] = [];
  s.on('message', (msg, rinfo) => {
    frames.push(msg);
    if (rinfo.port !== guestPort || msg.length < 14) return;
    const pong = Buffer.alloc(60);
    msg.copy(pong, 0, 6, 12);
    macBytes('02:00:00:00:00:99').copy(pong, 6);
    pong.writeUInt16BE(ETHERTYPE, 12);
    pong.write('PONG from the host test', 14, 'latin1');
    s.send(pong, rinfo.port, rinfo.address);
  });
  return { port: s.address().port, frames, close: () => s.close() };
}

/** Checks the guest's first frame: broadcast from `mac`, ethertype 0x88B5, "PING from <mac>". */
export function pingProblems(frame: Buffer | undefined, mac: string): string[] {
  if (!frame) return ['no frame'];
  const p: string[] = [];
  if (frame.length !== 60) p.push(`length ${frame.length}`);
  if (!frame.subarray(0, 6).equals(Buffer.alloc(6, 0xff))) p.push('not broadcast');
  if (!frame.subarray(6, 12).equals(macBytes(mac))) p.push('source MAC');
  if (frame.readUInt16BE(12) !== ETHERTYPE) p.push('ethertype');
  if (frame.subarray(14, 14 + 27).toString('latin1') !== `PING from ${mac}`) p.push('payload');
  return p;
}
