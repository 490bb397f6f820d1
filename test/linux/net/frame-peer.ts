/**
 * The host side of the guest's network exchange, the same for both stacks: a UDP socket
 * on 127.0.0.1 that carries one raw Ethernet frame per datagram — tsbhyve's unprivileged
 * net backend (`udp:HOST:PORT`, src/emulator/backends/net/udp.ts on branch emu) and
 * QEMU's `-netdev dgram` with `remote.type=inet` speak exactly this — and answers, as a
 * tiny host at `ip`/`mac`:
 *
 *   - ARP requests for `ip` (RFC 826),
 *   - ICMP echo requests to `ip` (RFC 792), echoing id, sequence and payload.
 *
 * Everything the guest sends is counted; echo requests are recorded (source address,
 * payload) so the test can check what the guest said. The VM's endpoint is learnt from
 * the first datagram (the VM binds an ephemeral port, so nothing has to be reserved);
 * afterwards datagrams from any other endpoint are dropped and counted. Malformed frames
 * are counted, never thrown. No root, no host network configuration.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { arpReply, echoReply, formatIpv4, parseFrame, parseIpv4, parseMac, sameBytes, type Ipv4, type Mac } from './packets.js';

export interface EchoSeen {
  from: string;
  id: number;
  seq: number;
  payload: Uint8Array;
}

export interface PeerStats {
  frames: number;
  arpRequests: number;
  arpReplies: number;
  echoRequests: EchoSeen[];
  echoReplies: number;
  malformed: string[];
  foreign: number;
  other: number;
}

export interface FramePeerOptions {
  ip?: string;
  mac?: string;
  host?: string;
}

export class FramePeer {
  readonly stats: PeerStats = { frames: 0, arpRequests: 0, arpReplies: 0, echoRequests: [], echoReplies: 0, malformed: [], foreign: 0, other: 0 };
  private vm: RemoteInfo | undefined;
  private readonly ip: Ipv4;
  private readonly mac: Mac;

  private constructor(
    private readonly sock: Socket,
    readonly host: string,
    readonly port: number,
    opts: FramePeerOptions,
  ) {
    this.ip = parseIpv4(opts.ip ?? '10.0.2.2');
    this.mac = parseMac(opts.mac ?? '52:54:00:00:02:02');
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    sock.on('error', () => {});
  }

  static async start(opts: FramePeerOptions = {}): Promise<FramePeer> {
    const host = opts.host ?? '127.0.0.1';
    const sock = createSocket('udp4');
    await new Promise<void>((ok, fail) => {
      sock.once('error', fail);
      sock.bind(0, host, () => {
        sock.removeListener('error', fail);
        ok();
      });
    });
    return new FramePeer(sock, host, sock.address().port, opts);
  }

  /** The VM's endpoint once it has sent a frame. */
  get vmEndpoint(): string | undefined {
    return this.vm ? `${this.vm.address}:${this.vm.port}` : undefined;
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.vm) this.vm = rinfo;
    else if (rinfo.address !== this.vm.address || rinfo.port !== this.vm.port) {
      this.stats.foreign++;
      return;
    }
    this.stats.frames++;
    const f = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    const p = parseFrame(f);
    switch (p.kind) {
      case 'arp-request':
        this.stats.arpRequests++;
        if (sameBytes(p.targetIp, this.ip)) {
          this.send(arpReply(this.mac, this.ip, p));
          this.stats.arpReplies++;
        }
        break;
      case 'echo-request':
        if (!sameBytes(p.dstIp, this.ip)) {
          this.stats.other++;
          break;
        }
        this.stats.echoRequests.push({ from: formatIpv4(p.srcIp), id: p.id, seq: p.seq, payload: p.payload });
        this.send(echoReply(this.mac, this.ip, p));
        this.stats.echoReplies++;
        break;
      case 'malformed':
        if (this.stats.malformed.length < 32) this.stats.malformed.push(p.why);
        break;
      case 'other':
        this.stats.other++;
        break;
      default: {
        const never: never = p;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  private send(frame: Uint8Array): void {
    if (this.vm) this.sock.send(frame, this.vm.port, this.vm.address);
  }

  close(): Promise<void> {
    return new Promise((ok) => this.sock.close(() => ok()));
  }
}
