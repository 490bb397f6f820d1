/**
 * The interactive shell tsvirsh starts when given no command (virsh's interactive mode):
 * a welcome text, a prompt, one command string per line (with `;` separators and quoting),
 * history in the session, until `quit`, `exit` or end of input.
 */

import { createInterface } from 'node:readline';
import type { Ctl } from './ctl.js';
import { allCommands, runCommandString } from './exec.js';

export async function runShell(ctl: Ctl): Promise<boolean> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const prompt = isRoot ? 'tsvirsh # ' : 'tsvirsh $ ';
  if (!ctl.quiet) {
    ctl.print("Welcome to tsvirsh, the tsvirt interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n");
  }
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
    completer: (line: string) => {
      const words = allCommands().map((c) => c.name);
      const hits = words.filter((w) => w.startsWith(line.trim()));
      return [hits.length ? hits : words, line];
    },
  });
  let ok = true;
  rl.setPrompt(prompt);
  rl.prompt();
  for await (const line of rl) {
    // The console command takes the terminal over; pause line editing while commands run.
    rl.pause();
    ok = await runCommandString(ctl, line);
    if (ctl.quitRequested) break;
    rl.resume();
    rl.prompt();
  }
  rl.close();
  if (!ctl.quitRequested && !ctl.quiet && process.stdin.isTTY) ctl.print('\n');
  return ok;
}
