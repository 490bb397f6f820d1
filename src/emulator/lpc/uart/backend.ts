/**
 * The host side a 16550 (and any byte-stream console) needs (bhyve uart_backend.c;
 * bhyve-userland.md §1.5 "TTY / serial backends"): bytes out, bytes in with back-pressure.
 *
 * - write(): never blocks; bytes are dropped when nobody listens (no TCP client), as bhyve.
 * - input: the backend calls the installed sink with chunks; the consumer returns how many
 *   bytes it took. Unaccepted bytes are kept by the backend and re-offered after the
 *   consumer calls `resume()` (bhyve disables its read event while the RX FIFO is full).
 * - flush(): resolves once written bytes reached the host (used before the process exits).
 */
export type InputSink = (chunk: Uint8Array) => number;

export interface SerialBackend {
  /** Human-readable description ("stdio", "tcp 127.0.0.1:4444"). */
  readonly description: string;
  write(data: Uint8Array): void;
  setInputSink(sink: InputSink | undefined): void;
  /** The consumer has room again: re-offer held bytes, then read more. */
  resume(): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
