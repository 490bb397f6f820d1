/**
 * `tapN` / `vmnetN` through Linux's /dev/net/tun (bhyve's tap backend; bhyve-userland.md
 * §1.5). Node cannot issue the TUNSETIFF ioctl, so tsbhyve opens /dev/net/tun itself and
 * lets a short-lived `python3` child, which inherits the descriptor, attach it to the
 * interface (IFF_TAP | IFF_NO_PI); the descriptor — shared with the child's — is then
 * Node's. This needs CAP_NET_ADMIN (or a persistent tap owned by the user) and python3;
 * failures are reported with the kernel's reason.
 *
 * Frames are read one per read() through a stream on libuv's thread pool (so the event
 * loop never blocks) and written with fs.write; no virtio-net header (tap has no offloads).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, openSync, write, type ReadStream } from 'node:fs';
import { MAX_FRAME, type NetBackend } from './backend.js';

const TUNSETIFF_HELPER = `
import fcntl, struct, sys
IFF_TAP, IFF_NO_PI, TUNSETIFF = 0x0002, 0x1000, 0x400454ca
name = sys.argv[1].encode()
try:
    fcntl.ioctl(3, TUNSETIFF, struct.pack('16sH', name, IFF_TAP | IFF_NO_PI))
except OSError as e:
    sys.stderr.write(e.strerror)
    sys.exit(1)
`;

export class TapError extends Error {}

export class TapBackend implements NetBackend {
  readonly description: string;
  private readonly stream: ReadStream;
  private rx: ((frame: Uint8Array) => void) | undefined;
  private closed = false;

  private constructor(
    readonly ifname: string,
    private readonly fd: number,
  ) {
    this.description = `tap ${ifname}`;
    this.stream = createReadStream('', { fd, highWaterMark: MAX_FRAME, autoClose: false });
    this.stream.on('data', (chunk) => {
      const b = chunk as Buffer;
      this.rx?.(new Uint8Array(b.buffer, b.byteOffset, b.length));
    });
    this.stream.on('error', () => {});
    this.stream.pause();
  }

  static open(ifname: string): TapBackend {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(ifname)) throw new TapError(`invalid interface name '${ifname}'`);
    let fd: number;
    try {
      fd = openSync('/dev/net/tun', constants.O_RDWR);
    } catch (e) {
      throw new TapError(`cannot open /dev/net/tun for ${ifname}: ${(e as Error).message}`);
    }
    const r = spawnSync('python3', ['-c', TUNSETIFF_HELPER, ifname], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      closeSync(fd);
      const why = r.error ? r.error.message : r.stderr.trim() || `exit status ${r.status}`;
      throw new TapError(`cannot attach to tap interface ${ifname}: ${why}`);
    }
    return new TapBackend(ifname, fd);
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    write(this.fd, Buffer.from(frame), () => {});
  }

  setReceiver(rx: ((frame: Uint8Array) => void) | undefined): void {
    this.rx = rx;
    if (rx) this.stream.resume();
    else this.stream.pause();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (this.rx) this.stream.resume();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stream.destroy();
    closeSync(this.fd);
  }
}
