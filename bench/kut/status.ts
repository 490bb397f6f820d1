/**
 * Exit status → result, exactly as kvm-unit-tests' harness maps QEMU's (scripts/vmm.bash
 * qemu_fixup_return_code, scripts/runtime.bash run()):
 *
 *   1 (guest wrote 0 to isa-debug-exit)     PASS, unless the VMM wrote a non-warning line to
 *                                           stderr (then FAIL: "most likely the VMM failed")
 *   77 (guest wrote 38)                     SKIP
 *   124 (timeout(1))                        FAIL (timeout; duration=Ns)
 *   0 (no debug-exit: reset/triple fault)   FAIL (unexpected exit)
 *   > 128 / killed by a signal              FAIL (terminated on SIGx)
 *   anything else (3 = failures, 127 = abort) FAIL
 *
 * plus the SUMMARY line the harness shows: the last `SUMMARY:` among the final 5 output lines.
 */

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface Outcome {
  verdict: Verdict;
  /** The SUMMARY text or the harness's reason ("timeout; duration=90s"). */
  detail: string;
}

export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  status: number | null;
  signal?: string | null;
  timedOut: boolean;
  timeoutS: number;
  stdout: string;
  stderr: string;
}

/** The `SUMMARY:` of the last 5 non-empty output lines (extract_summary), '' if none. */
export function extractSummary(stdout: string): string {
  const lines = stdout.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '').slice(-5);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^SUMMARY: (.*)$/.exec(lines[i]!);
    if (m) return m[1]!;
  }
  return '';
}

/**
 * stderr lines that are not warnings (QEMU's "qemu-system-x86_64: warning: ..." are).
 * `diagnostic` names further lines that are diagnostics rather than failures, for a VMM
 * that reports such events on stderr (TSBHYVE_DIAGNOSTIC).
 */
export function errorLines(stderr: string, diagnostic?: RegExp): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/warning/i.test(l) && !(diagnostic?.test(l) ?? false));
}

/** tsbhyve's notes on unclaimed guest accesses (QEMU ignores those silently). */
export const TSBHYVE_DIAGNOSTIC = /^tsbhyve: unhandled (read|write) of \d+ byte\(s\) (from I\/O port|to I\/O port|at GPA) /;

export function mapStatus(r: RunResult, diagnostic?: RegExp): Outcome {
  const summary = extractSummary(r.stdout);
  if (r.timedOut) return { verdict: 'FAIL', detail: `timeout; duration=${r.timeoutS}s` };
  if (r.status === null) return { verdict: 'FAIL', detail: `terminated on ${r.signal ?? 'a signal'}` };
  if (r.status > 128) return { verdict: 'FAIL', detail: `terminated on signal ${r.status - 128}` };
  switch (r.status) {
    case 1: {
      const errs = errorLines(r.stderr, diagnostic);
      if (errs.length > 0) return { verdict: 'FAIL', detail: `VMM error: ${errs[errs.length - 1]}` };
      return { verdict: 'PASS', detail: summary };
    }
    case 77:
      return { verdict: 'SKIP', detail: summary };
    case 0:
      return { verdict: 'FAIL', detail: summary || 'unexpected exit (status 0: no debug-exit, reset or triple fault)' };
    default:
      return { verdict: 'FAIL', detail: summary || `status ${r.status}${r.status === 127 ? ' (abort)' : ''}` };
  }
}
