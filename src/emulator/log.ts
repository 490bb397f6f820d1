/**
 * The one logging seam of the emulator: device models and buses report through a Logger
 * they are given, never by printing themselves. `tsbhyve` passes a stderr logger; tests
 * pass a collecting one. `once` keys messages so a hostile guest repeating a fault cannot
 * flood the log.
 */
export interface Logger {
  warn(message: string): void;
}

/** Writes `tsbhyve: message` lines to stderr. */
export const stderrLogger: Logger = {
  warn(message: string): void {
    process.stderr.write(`tsbhyve: ${message}\n`);
  },
};

/** Keeps messages in memory (tests, or to report later). */
export class CollectingLogger implements Logger {
  readonly messages: string[] = [];
  warn(message: string): void {
    this.messages.push(message);
  }
}

/** Logs each distinct key once. */
export class OnceLogger {
  private readonly seen = new Set<string>();
  constructor(private readonly log: Logger) {}
  warn(key: string, message: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.log.warn(message);
  }
}
