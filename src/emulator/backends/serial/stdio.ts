/**
 * `stdio`: the VM's console on tsbhyve's own stdin/stdout (bhyve uart_set_backend
 * "stdio"). A terminal stdin is put in raw mode (cfmakeraw) and restored when the
 * backend closes or the process exits. Only one device may use stdio (open.ts enforces).
 */
import type { Readable, Writable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { StreamBackend } from './stream-backend.js';

export class StdioBackend extends StreamBackend {
  readonly description = 'stdio';
  private rawRestore: (() => void) | undefined;

  constructor(stdin: Readable = process.stdin, stdout: Writable = process.stdout) {
    super();
    if (stdin instanceof ReadStream && stdin.isTTY) {
      const tty = stdin;
      tty.setRawMode(true);
      const restore = () => tty.setRawMode(false);
      process.once('exit', restore);
      this.rawRestore = () => {
        process.removeListener('exit', restore);
        restore();
      };
    }
    this.attachInput(stdin);
    this.attachOutput(stdout);
  }

  async close(): Promise<void> {
    await this.flush();
    this.rawRestore?.();
    this.rawRestore = undefined;
    this.input?.pause();
    // stdin must not keep the event loop alive once the VM is gone.
    (this.input as { unref?: () => void } | undefined)?.unref?.();
  }
}
