/**
 * A host terminal device as backend (`/dev/pts/N`, `/dev/ttyS0`...; bhyve
 * uart_tty_backend): opened read/write and non-blocking, refused unless it is a tty.
 * Raw mode is not forced on the device (the peer owns its settings).
 */
import { constants, openSync, closeSync } from 'node:fs';
import { isatty, ReadStream, WriteStream } from 'node:tty';
import { StreamBackend } from './stream-backend.js';

export class TtyDeviceBackend extends StreamBackend {
  readonly description: string;
  private readonly rs: ReadStream;
  private readonly ws: WriteStream;

  private constructor(path: string, fd: number) {
    super();
    this.description = path;
    this.rs = new ReadStream(fd);
    this.ws = new WriteStream(fd);
    this.rs.on('error', () => {});
    this.ws.on('error', () => {});
    this.attachInput(this.rs);
    this.attachOutput(this.ws);
  }

  /** Throws a Node error (ENOENT...) or an Error saying the path is not a tty. */
  static open(path: string): TtyDeviceBackend {
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    if (!isatty(fd)) {
      closeSync(fd);
      throw new Error(`${path} is not a terminal device`);
    }
    return new TtyDeviceBackend(path, fd);
  }

  async close(): Promise<void> {
    await this.flush();
    this.rs.destroy();
    this.ws.destroy();
  }
}
