/**
 * The state of one tsvirsh session (virsh's vshControl): output functions that honour
 * `-q` the way virsh does (vshPrint always prints, vshPrintExtra not in quiet mode, errors
 * go to stderr as `error: …`), the connection (opened on first use), the console escape
 * character, and whether the last command failed.
 */

import { isVirError } from '../../xml/errors.js';
import { openConnection, type Conn } from './conn.js';
import type { BhyveDriverOptions } from '../../driver/driver.js';

export interface CtlOptions {
  uri?: string;
  quiet: boolean;
  readonly: boolean;
  timing: boolean;
  escape: string;
  /** Injected into embedded connections (tests: translator, VM program). */
  overrides?: Partial<BhyveDriverOptions>;
  out: (s: string) => void;
  err: (s: string) => void;
}

export class Ctl {
  uri: string | undefined;
  readonly quiet: boolean;
  readonly: boolean;
  readonly timing: boolean;
  readonly escape: string;
  private conn: Conn | undefined;
  private readonly overrides: Partial<BhyveDriverOptions>;
  private readonly outFn: (s: string) => void;
  private readonly errFn: (s: string) => void;
  /** Set by `quit`/`exit` in the interactive shell. */
  quitRequested = false;

  constructor(o: CtlOptions) {
    this.uri = o.uri;
    this.quiet = o.quiet;
    this.readonly = o.readonly;
    this.timing = o.timing;
    this.escape = o.escape;
    this.overrides = o.overrides ?? {};
    this.outFn = o.out;
    this.errFn = o.err;
  }

  /** vshPrint: command output proper. */
  print(s: string): void {
    this.outFn(s);
  }

  /** vshPrintExtra: informational output, suppressed by -q. */
  printExtra(s: string): void {
    if (!this.quiet) this.outFn(s);
  }

  /** vshError: `error: message` on stderr. */
  error(message: string): void {
    this.errFn(`error: ${message}\n`);
  }

  warn(message: string): void {
    this.errFn(`warning: ${message}\n`);
  }

  /** Report a thrown error: libvirt errors by their message, anything else as internal. */
  report(e: unknown): void {
    if (isVirError(e) || (e instanceof Error && typeof (e as { code?: unknown }).code === 'number')) this.error(e.message);
    else if (e instanceof Error) this.error(`internal error: ${e.message}`);
    else this.error(`internal error: ${String(e)}`);
  }

  /** The connection, opened on first use. */
  async getConn(): Promise<Conn> {
    if (!this.conn) {
      try {
        this.conn = await openConnection({ uri: this.uri, readonly: this.readonly, warn: (m) => this.warn(m), overrides: this.overrides });
      } catch (e) {
        this.error('failed to connect to the hypervisor');
        throw e;
      }
    }
    return this.conn;
  }

  hasConn(): boolean {
    return this.conn !== undefined;
  }

  async disconnect(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    await c?.close?.();
  }
}
