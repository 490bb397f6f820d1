/**
 * The error type of the configuration layer: a message bhyve would print and the process
 * exit status bhyve would use for it (bhyve(8) EXIT STATUS, bhyve-userland.md §1.1 and §3).
 *
 * Thrown only at API boundaries (command-line parsing, typed getters used during machine
 * assembly); `tsbhyve` catches it once, prints `message` on stderr and exits with
 * `exitStatus`. Nothing here prints or exits by itself.
 */

/** bhyve's exit statuses used for configuration problems. */
export const EXIT_USAGE = 64; // EX_USAGE from sysexits(3)
export const EXIT_ERROR = 4; // BHYVE_EXIT_ERROR
/** bhyve_usage(1): unknown option, missing or extra VM name. */
export const EXIT_USAGE_TEXT = 1;

export class ConfigError extends Error {
  /** Process exit status bhyve uses for this error. */
  readonly exitStatus: number;
  /**
   * Whether bhyve prefixes the message with the program name (err/errx/warnx do;
   * EPRINTLN, used by the `-s` parser, does not).
   */
  readonly prefixed: boolean;
  /** Print the usage text after the message (bhyve_usage). */
  readonly showUsage: boolean;

  constructor(
    message: string,
    exitStatus: number,
    opts: { prefixed?: boolean; showUsage?: boolean } = {},
  ) {
    super(message);
    this.name = 'ConfigError';
    this.exitStatus = exitStatus;
    this.prefixed = opts.prefixed ?? true;
    this.showUsage = opts.showUsage ?? false;
  }
}
