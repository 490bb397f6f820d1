/**
 * `udp:HOST:PORT[,local=HOST:PORT]` (tsbhyve): Ethernet frames as UDP datagrams between
 * two endpoints on the host, one frame per datagram — an unprivileged link between two
 * VMs, or a VM and a test, without any host network configuration (the spirit of QEMU's
 * `-netdev dgram`). Node offers no UNIX datagram sockets, hence UDP over loopback.
 *
 * Frames are sent to the remote address; only datagrams coming from the remote address
 * are accepted (others are dropped and counted), so a third party on the host cannot
 * inject frames without knowing and spoofing the peer's port. Frames above the UDP
 * payload limit (65507 bytes) are dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { NetBackend } from './backend.js';

export const UDP_MAX_PAYLOAD = 65507;

export interface UdpEndpoint {
  host: string;
  port: number;
}

export class UdpBackend implements NetBackend {
  readonly description: string;
  private rx: ((frame: Uint8Array) => void) | undefined;
  droppedForeign = 0;
  droppedTooBig = 0;

  private constructor(
    private readonly sock: Socket,
    readonly remote: UdpEndpoint,
    readonly local: UdpEndpoint,
  ) {
    this.description = `udp ${local.host}:${local.port} -> ${remote.host}:${remote.port}`;
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== remote.port || !sameHost(rinfo.address, remote.host)) {
        this.droppedForeign++;
        return;
      }
      this.rx?.(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    });
    sock.on('error', () => {});
  }

  static async open(remote: UdpEndpoint, local: UdpEndpoint = { host: '127.0.0.1', port: 0 }): Promise<UdpBackend> {
    const family = isIP(local.host) === 6 || isIP(remote.host) === 6 ? 'udp6' : 'udp4';
    const sock = createSocket(family);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(local.port, local.host, () => {
        sock.removeListener('error', reject);
        resolve();
      });
    });
    const a = sock.address();
    return new UdpBackend(sock, remote, { host: a.address, port: a.port });
  }

  send(frame: Uint8Array): void {
    if (frame.length > UDP_MAX_PAYLOAD) {
      this.droppedTooBig++;
      return;
    }
    this.sock.send(Buffer.from(frame), this.remote.port, this.remote.host);
  }

  setReceiver(rx: ((frame: Uint8Array) => void) | undefined): void {
    this.rx = rx;
  }

  pause(): void {}
  resume(): void {}

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (s: string) => s.replace(/^::ffff:/, '');
  return strip(a) === strip(b) || (b === 'localhost' && (a === '127.0.0.1' || a === '::1'));
}
