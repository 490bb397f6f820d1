/**
 * tsvirsh's command line: global options (virsh's: -c, -d, -e, -h, -k, -K, -l, -q, -r, -t,
 * -v, -V, --version), then a command string, a command with its arguments, or nothing for
 * the interactive shell. Exit status 0 when the last command succeeded, 1 otherwise.
 * `runTsvirsh` is the whole program minus process wiring (src/cli/tsvirsh.ts).
 */

import { appendFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { Ctl } from './ctl.js';
import { allCommands, runCommands, runCommandString } from './exec.js';
import { runShell } from './shell.js';
import { GROUPS } from './commands/virsh.js';
import { TSVIRT_VERSION } from './commands/host.js';
import { escapeByte } from './console.js';
import type { BhyveDriverOptions } from '../../driver/driver.js';

const USAGE = `
tsvirsh [options]... [<command_string>]
tsvirsh [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
  commands (non interactive mode):

`;

function usage(): string {
  let out = USAGE;
  const all = allCommands();
  for (const [g, title] of GROUPS) {
    out += ` ${title} (help keyword '${g}')\n`;
    for (const c of all.filter((x) => x.group === g).sort((a, b) => (a.name < b.name ? -1 : 1))) out += `    ${c.name.padEnd(30)} ${c.help}\n`;
    out += '\n';
  }
  out += '  (specify help <group> for details about the commands in the group)\n\n  (specify help <command> for details about the command)\n\n';
  return out;
}

function intArg(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new CommanderError(1, 'tsvirsh.badInt', `option --${name} expects a number, got '${v}'`);
    return Number(v);
  };
}

/** What an embedding (tests, a packaged build) may inject into embedded connections. */
export type EmbedOverrides = Partial<Pick<BhyveDriverOptions, 'translator' | 'emulator' | 'supervisorEntry' | 'readyTimeoutMs'>>;

/** Run tsvirsh with `argv` (without the program name); resolves to the exit status. */
export async function runTsvirsh(argv: string[], overrides: EmbedOverrides = {}): Promise<number> {
  const program = new Command('tsvirsh')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .helpOption(false)
    .option('-c, --connect <uri>')
    .option('-d, --debug <num>', '', intArg('debug'))
    .option('-e, --escape <char>')
    .option('-h, --help')
    .option('-k, --keepalive-interval <num>', '', intArg('keepalive-interval'))
    .option('-K, --keepalive-count <num>', '', intArg('keepalive-count'))
    .option('-l, --log <file>')
    .option('-q, --quiet')
    .option('-r, --readonly')
    .option('-t, --timing')
    .option('-v')
    .option('-V')
    .addOption(new Option('--version [type]'))
    .argument('[command...]')
    .passThroughOptions();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      const m = /'([^']+)'/.exec(e.message);
      if (e.code === 'commander.unknownOption') process.stderr.write(`error: unsupported option '${m?.[1] ?? ''}'. See --help.\n`);
      else process.stderr.write(`error: ${e.message.replace(/^error: /, '')}\n`);
      return 1;
    }
    throw e;
  }
  const o = program.opts<{
    connect?: string;
    debug?: number;
    escape?: string;
    help?: boolean;
    log?: string;
    quiet?: boolean;
    readonly?: boolean;
    timing?: boolean;
    v?: boolean;
    V?: boolean;
    version?: string | true;
  }>();
  if (o.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (o.v || o.version === true || o.version === 'short') {
    process.stdout.write(`${TSVIRT_VERSION}\n`);
    return 0;
  }
  if (o.V || o.version === 'long') {
    process.stdout.write(`tsvirsh command line tool of tsvirt ${TSVIRT_VERSION}\nCompiled with support for:\n Hypervisors: BHYVE\n Miscellaneous: Embedded mode, Daemon mode (tsvirtd)\n`);
    return 0;
  }
  if (o.version !== undefined) {
    process.stderr.write(`error: unknown version type '${o.version}'\n`);
    return 1;
  }
  if (o.debug !== undefined && o.debug > 4) {
    process.stderr.write(`error: ignoring debug level ${o.debug} out of range [0-4]\n`);
  }
  const escape = o.escape ?? '^]';
  if (escapeByte(escape) === undefined) {
    process.stderr.write(`error: Invalid string '${escape}' for escape sequence\n`);
    return 1;
  }
  const log = o.log;
  const ctl = new Ctl({
    uri: o.connect,
    quiet: o.quiet === true,
    readonly: o.readonly === true,
    timing: o.timing === true,
    escape,
    overrides,
    out: (s) => {
      process.stdout.write(s);
    },
    err: (s) => {
      process.stderr.write(s);
      if (log) {
        try {
          appendFileSync(log, s);
        } catch {
          /* logging never fails a command */
        }
      }
    },
  });
  const args = program.args;
  if (log) appendFileSync(log, `${new Date().toISOString()} tsvirsh ${args.join(' ')}\n`);
  let ok: boolean;
  try {
    if (args.length === 0) ok = await runShell(ctl);
    else if (args.length === 1) ok = await runCommandString(ctl, args[0]!);
    else ok = await runCommands(ctl, [args]);
  } finally {
    await ctl.disconnect().catch(() => undefined);
  }
  return ok ? 0 : 1;
}
