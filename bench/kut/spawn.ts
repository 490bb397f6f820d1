/**
 * Runs one VMM process as the harness does under `timeout -k 1s --foreground T`: stdin from
 * /dev/null, stdout and stderr captured (and kept in a log file), SIGTERM at T seconds and
 * SIGKILL one second later; the result says whether the timeout fired (status 124 in the
 * harness). No shell is involved: argv goes to the program as given.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { RunResult } from './status.js';

export interface SpawnSpec {
  program: string;
  argv: string[];
  cwd: string;
  timeoutS: number;
  /** File receiving the command line, stdout and stderr. */
  logFile: string;
}

export function runWithTimeout(s: SpawnSpec): Promise<RunResult & { seconds: number }> {
  const log = createWriteStream(s.logFile);
  log.write(`$ ${[s.program, ...s.argv].map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(s.program, s.argv, { cwd: s.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('latin1');
      log.write(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('latin1');
      log.write(b);
    });
    let kill: NodeJS.Timeout | undefined;
    const term = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), 1000);
    }, s.timeoutS * 1000);
    let finished = false;
    const done = (status: number | null, signal: string | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(term);
      if (kill) clearTimeout(kill);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (spawnError) stderr += `spawn failed: ${spawnError.message}\n`;
      log.end(`\n[exit status ${status ?? '-'} signal ${signal ?? '-'}${timedOut ? ' TIMEOUT' : ''} ${seconds.toFixed(1)}s]\n`);
      resolve({ status, signal, timedOut, timeoutS: s.timeoutS, stdout, stderr, seconds });
    };
    child.on('error', (e) => done(null, null, e));
    child.on('close', (code, signal) => done(code, signal));
  });
}
