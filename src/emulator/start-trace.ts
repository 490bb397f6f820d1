/**
 * Start-path timestamps for bench/boot/startup.ts: when the environment variable
 * TSVIRT_STARTUP_TRACE names a file, `startMark(label)` appends one line
 * `EPOCH_MS PID PROC LABEL` to it (EPOCH_MS with microseconds, from performance.timeOrigin
 * so lines of different processes compare). The first mark of a process also writes its
 * `exec` line (the process's own time origin), so node's start-up is accounted for.
 *
 * The same line format is written by src/driver/start-trace.ts (tsvirsh, the supervisor;
 * the emulator does not import the driver). Without the variable every call is one check of
 * a constant: nothing is written, nothing is allocated. Failures to write are ignored:
 * tracing never fails a start.
 */
import { appendFileSync } from 'node:fs';

const FILE = process.env.TSVIRT_STARTUP_TRACE;
let proc = '';

function line(t: number, label: string): string {
  return `${t.toFixed(3)} ${process.pid} ${proc} ${label}\n`;
}

/** Names this process in its trace lines (`tsbhyve`); call before the first mark. */
export function startTraceProcess(name: string): void {
  if (!FILE || proc) return;
  proc = name;
  try {
    appendFileSync(FILE, line(performance.timeOrigin, 'exec'));
  } catch {
    /* tracing never fails a start */
  }
}

export function startMark(label: string): void {
  if (!FILE) return;
  try {
    appendFileSync(FILE, line(performance.timeOrigin + performance.now(), label));
  } catch {
    /* tracing never fails a start */
  }
}
