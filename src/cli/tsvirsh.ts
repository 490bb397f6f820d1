#!/usr/bin/env node
/**
 * Entry point of `tsvirsh`, tsvirt's virsh: the same command line (`tsvirsh [options]...
 * [<command_string>]` or `tsvirsh [options]... <command> [args...]`, or no command for the
 * interactive shell), the same global options, commands, output and exit status (0 when
 * the last command succeeded, 1 otherwise) as virsh 9.0.
 *
 * Connection: `-c URI`, else VIRSH_DEFAULT_CONNECT_URI, else LIBVIRT_DEFAULT_URI, else the
 * session daemon if its socket exists, else `bhyve:///embed?root=<per-user default>`
 * (no daemon). Program: src/cli/tsvirsh/main.ts; commands: src/cli/tsvirsh/commands/.
 */

import { runTsvirsh } from './tsvirsh/main.js';
import { startMark, startTraceProcess } from '../driver/start-trace.js';

startTraceProcess('tsvirsh');
startMark('modules loaded');

runTsvirsh(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
