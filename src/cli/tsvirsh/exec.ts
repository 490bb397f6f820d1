/**
 * Running tsvirsh commands: the command table, parsing a whole command string before
 * running any of it (virsh aborts on the first malformed command), running each command
 * with virsh's trailing blank line (or `(Time: … ms)` with -t), and the exit status of
 * the last command.
 */

import { formatCommandHelp, parseArgs, UsageError, type CommandDef, type Opts } from './cmd-def.js';
import type { Ctl } from './ctl.js';
import { domainCommands } from './commands/domain.js';
import { eventCommands } from './commands/events.js';
import { hostCommands } from './commands/host.js';
import { monitorCommands } from './commands/monitor.js';
import { virshCommands } from './commands/virsh.js';
import { splitCommands, TokenizeError } from './tokenize.js';

let table: CommandDef[] | undefined;

export function allCommands(): CommandDef[] {
  if (!table) table = [...domainCommands, ...monitorCommands, ...eventCommands, ...hostCommands, ...virshCommands(() => table!)];
  return table;
}

export function findCommand(name: string): CommandDef | undefined {
  return allCommands().find((c) => c.name === name);
}

interface Parsed {
  def: CommandDef;
  opts: Opts | 'help';
}

/** Parse one command's words; prints the error and returns undefined when malformed. */
function parseOne(ctl: Ctl, words: string[]): Parsed | undefined {
  const [name, ...args] = words as [string, ...string[]];
  const def = findCommand(name);
  if (!def) {
    ctl.error(`unknown command: '${name}'`);
    return undefined;
  }
  if (args.includes('--help')) return { def, opts: 'help' };
  try {
    return { def, opts: parseArgs(def, args) };
  } catch (e) {
    if (e instanceof UsageError) {
      ctl.error(e.message);
      return undefined;
    }
    throw e;
  }
}

async function runParsed(ctl: Ctl, p: Parsed): Promise<boolean> {
  const t0 = process.hrtime.bigint();
  let ok: boolean;
  if (p.opts === 'help') {
    ctl.print(formatCommandHelp(p.def));
    ok = true;
  } else {
    try {
      ok = await p.def.run(ctl, p.opts);
    } catch (e) {
      if (e instanceof UsageError) ctl.error(e.message);
      else ctl.report(e);
      ok = false;
    }
  }
  if (ctl.quitRequested) return ok;
  if (ctl.timing) ctl.print(`\n(Time: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3)} ms)\n`);
  else ctl.printExtra('\n');
  return ok;
}

/** Run a list of commands (each a word list). Returns the last command's success. */
export async function runCommands(ctl: Ctl, commands: string[][]): Promise<boolean> {
  const parsed: Parsed[] = [];
  for (const words of commands) {
    const p = parseOne(ctl, words);
    if (!p) return false;
    parsed.push(p);
  }
  // Like virsh, connect before running anything that needs the connection: a connection
  // failure ends the run before any command prints.
  if (parsed.some((p) => !p.def.noConnect && p.opts !== 'help')) {
    try {
      await ctl.getConn();
    } catch (e) {
      ctl.report(e);
      return false;
    }
  }
  let ok = true;
  for (const p of parsed) {
    ok = await runParsed(ctl, p);
    if (ctl.quitRequested) break;
  }
  return ok;
}

/** Run a command string such as "list --all; dominfo vm1". */
export async function runCommandString(ctl: Ctl, text: string): Promise<boolean> {
  let cmds: string[][];
  try {
    cmds = splitCommands(text);
  } catch (e) {
    if (e instanceof TokenizeError) {
      ctl.error(e.message);
      return false;
    }
    throw e;
  }
  if (cmds.length === 0) return true;
  return runCommands(ctl, cmds);
}
