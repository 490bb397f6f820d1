/**
 * Process entry of a VM supervisor (supervisor.ts): `node supervisor-main.js --root DIR
 * --name NAME --run RUNID [--adopt]`. Spawned detached by the driver; its stdout carries
 * exactly one JSON line, the readiness report, and is closed right after it.
 *
 * Not a user command: tsvirsh and tsvirtd start it. It ignores SIGHUP/SIGINT (it must
 * outlive the terminal of the `tsvirsh start` that launched it) and exits when the run
 * ends.
 */

import { join, resolve } from 'node:path';
import { runSupervisor } from './supervisor.js';
import { checkDomainName } from './store.js';
import { logLine, type SupervisorReport } from './process.js';
import { startMark, startTraceProcess } from './start-trace.js';

startTraceProcess('supervisor');
startMark('modules loaded');

function parseArgs(argv: string[]): { root: string; name: string; runId: string; adopt: boolean } | string {
  let root: string | undefined;
  let name: string | undefined;
  let runId: string | undefined;
  let adopt = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--adopt') adopt = true;
    else if (a === '--root') root = argv[++i];
    else if (a === '--name') name = argv[++i];
    else if (a === '--run') runId = argv[++i];
    else return `unknown argument ${a}`;
  }
  if (!root || !name || !runId) return 'usage: supervisor-main --root DIR --name NAME --run RUNID [--adopt]';
  const bad = checkDomainName(name);
  if (bad) return bad;
  return { root: resolve(root), name, runId, adopt };
}

let reported = false;
function report(r: SupervisorReport): void {
  if (reported) return;
  reported = true;
  startMark('report');
  try {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.stdout.destroy());
  } catch {
    /* the starter is gone: nothing to tell */
  }
}

process.on('SIGHUP', () => undefined);
process.on('SIGINT', () => undefined);
process.stdout.on('error', () => undefined);

const args = parseArgs(process.argv.slice(2));
if (typeof args === 'string') {
  report({ ready: false, error: args });
  process.exitCode = 64;
} else {
  runSupervisor(args, report).then(
    () => {
      report({ ready: false, error: 'supervisor ended before the VM was up' });
    },
    (err: unknown) => {
      // Its stderr goes nowhere (it outlives its starter): the domain log keeps the reason.
      logLine(join(args.root, 'log', `${args.name}.log`), `tsvirt supervisor: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      report({ ready: false, error: `supervisor failed: ${(err as Error).message}` });
      process.exitCode = 1;
    },
  );
}
