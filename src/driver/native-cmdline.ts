/**
 * `domxml-from-native bhyve-argv` input: a shell-like text holding a bhyve command and
 * optionally a loader command (bhyveload, grub-bhyve, a custom one), split into argv
 * lists the way libvirt's bhyveCommandLineToArgv does — `\` line continuations removed,
 * one command per line, arguments separated by spaces, `'…'` and `"…"` quoting at the
 * start of an argument. The first line whose program is bhyve (or tsbhyve) is the bhyve
 * command; the first other line is the loader; later lines are ignored.
 *
 * Also the memory-size syntax bhyve and bhyveload share (vm_parse_memsize +
 * expand_number). Pure text functions; a missing bhyve command is VIR_ERR_INTERNAL_ERROR
 * as in libvirt. Input size is bounded by the caller's string; work is linear in it.
 */

import { internalError } from './errors.js';

export interface NativeCommands {
  bhyve: string[];
  loader?: string[];
}

/** Removes backslash-newline (LF, CR, CRLF) continuations. */
function unescapeContinuations(text: string): string {
  return text.replace(/\\(\r\n|\r|\n)/g, '');
}

/** One line → argv, with libvirt's quoting rules. */
function splitArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    let end: number;
    let start = i;
    if (c === "'" || c === '"') {
      start = i + 1;
      end = line.indexOf(c, start);
    } else {
      end = line.indexOf(' ', i);
    }
    args.push(line.slice(start, end < 0 ? undefined : end));
    if (end < 0) break;
    i = end;
    if (line[i] === "'" || line[i] === '"') i++;
    while (i < line.length && /\s/.test(line[i]!)) i++;
  }
  return args;
}

function programName(argv0: string): string {
  return argv0.slice(argv0.lastIndexOf('/') + 1);
}

/** True when `argv0` names bhyve itself (bhyve or tsbhyve, any directory). */
export function isBhyveProgram(argv0: string): boolean {
  const p = programName(argv0);
  return p === 'bhyve' || p === 'tsbhyve';
}

/** True when `argv0` names bhyveload. */
export function isBhyveloadProgram(argv0: string): boolean {
  return programName(argv0) === 'bhyveload';
}

/** bhyveCommandLineToArgv. */
export function splitNativeCommandLine(text: string): NativeCommands {
  const lines = unescapeContinuations(text)
    .split(/[\r\n]+/)
    .filter((l) => l.length > 0);
  let bhyve: string[] | undefined;
  let loader: string[] | undefined;
  for (const line of lines) {
    const argv = splitArgs(line);
    if (argv.length === 0) continue;
    if (!bhyve && isBhyveProgram(argv[0]!)) bhyve = argv;
    else if (!loader) loader = argv;
  }
  if (!bhyve) throw internalError('Failed to convert the command string to argv-lists');
  return loader ? { bhyve, loader } : { bhyve };
}

const EXPAND_UNITS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };

/** FreeBSD expand_number(3): `N[kmgtpe]`, optional trailing `b`/`B`. */
function expandNumber(s: string): bigint | undefined {
  const m = /^(\d+)([kKmMgGtTpPeE]?)([bB]?)$/.exec(s);
  if (!m) return undefined;
  const n = BigInt(m[1]!);
  const shift = m[2] ? EXPAND_UNITS[m[2].toLowerCase()]! * 10 : 0;
  return n << BigInt(shift);
}

/**
 * bhyve's `-m` syntax in KiB: a plain number below 1 MiB counts in MiB (backward
 * compatibility), a plain larger number in bytes, otherwise expand_number suffixes.
 * Returns undefined for anything unparsable or above 2^63 bytes.
 */
export function parseMemsizeKiB(arg: string): number | undefined {
  let bytes: bigint | undefined;
  if (/^\d+$/.test(arg)) {
    bytes = BigInt(arg);
    if (bytes < 1024n * 1024n) bytes *= 1024n * 1024n;
  } else {
    bytes = expandNumber(arg);
  }
  if (bytes === undefined || bytes >= 1n << 63n) return undefined;
  return Number(bytes / 1024n);
}
