/**
 * `file=PATH` (tsbhyve): guest output appended to a host file, no input — the serial
 * log libvirt's `<serial type='file'>` asks for. Writes go through a stream so the event
 * loop never blocks on the disk.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { StreamBackend } from './stream-backend.js';

export class FileBackend extends StreamBackend {
  readonly description: string;
  private readonly stream: WriteStream;

  private constructor(path: string, stream: WriteStream) {
    super();
    this.description = `file ${path}`;
    this.stream = stream;
    this.attachOutput(stream);
  }

  /** Opens (creating, appending) the file; rejects with the host error. */
  static async open(path: string): Promise<FileBackend> {
    const stream = createWriteStream(path, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return new FileBackend(path, stream);
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
  }
}
