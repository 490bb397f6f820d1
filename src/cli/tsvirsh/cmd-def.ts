/**
 * How a tsvirsh command is described and how its arguments are parsed: one table entry per
 * command (name, group, help, description, options, handler), turned into a commander
 * Command for parsing so that `--opt value`, `--opt=value` and positional arguments work
 * as in virsh, with virsh's error messages and virsh's per-command help layout
 * (vshCmddefHelp: NAME / SYNOPSIS / DESCRIPTION / OPTIONS).
 *
 * Option kinds, as virsh shows them:
 *   bool    `--name`                 flag
 *   string  `--name <string>`        value; `positional` also accepts it bare
 *   int     `--name <number>`        integer value
 *   data    `[--name] <string>`      value that is normally given bare, in order
 */

import { Command, CommanderError, Option } from 'commander';
import type { Ctl } from './ctl.js';

export type OptKind = 'bool' | 'string' | 'int' | 'data';

export interface OptDef {
  name: string;
  kind: OptKind;
  help: string;
  required?: boolean;
  /** A `string` option that may also be given without its name. */
  positional?: boolean;
}

export interface Opts {
  bool(name: string): boolean;
  str(name: string): string | undefined;
  /** Integer value; throws a usage error when malformed. */
  int(name: string): number | undefined;
  has(name: string): boolean;
}

export interface CommandDef {
  name: string;
  group: 'domain' | 'monitor' | 'host' | 'events' | 'virsh';
  help: string;
  desc?: string;
  opts: OptDef[];
  /** Runs the command; returns false on failure (after reporting it through ctl). */
  run(ctl: Ctl, o: Opts): Promise<boolean>;
  /** Commands that work without a connection (help, quit, connect...). */
  noConnect?: boolean;
}

/** A parse error, reported by the caller as `error: <message>`. */
export class UsageError extends Error {}

function positionals(def: CommandDef): OptDef[] {
  return def.opts.filter((o) => o.kind === 'data' || o.positional);
}

/** Parse a command's arguments (argv after the command name) as virsh does. */
export function parseArgs(def: CommandDef, argv: string[]): Opts {
  const cmd = new Command(def.name);
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  cmd.helpOption(false);
  cmd.allowExcessArguments(false);
  const attr = new Map<string, string>();
  for (const o of def.opts) {
    const flags = o.kind === 'bool' ? `--${o.name}` : `--${o.name} <value>`;
    const opt = new Option(flags);
    // virsh has flags named --no-X (list --no-autostart) that are not negations of --X.
    opt.negate = false;
    attr.set(o.name, opt.attributeName());
    cmd.addOption(opt);
  }
  for (const p of positionals(def)) cmd.argument(`[${p.name}]`);
  // virsh rejects `--flag=value` for flags before anything else.
  for (const a of argv) {
    const m = /^--([^=]+)=/.exec(a);
    if (m && def.opts.some((o) => o.name === m[1] && o.kind === 'bool')) throw new UsageError(`invalid '=' after option --${m[1]}`);
  }
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    throw new UsageError(usageMessage(def, err, argv));
  }
  const values = new Map<string, string | true>();
  for (const o of def.opts) {
    const v = cmd.getOptionValue(attr.get(o.name)!) as string | true | undefined;
    if (v !== undefined) values.set(o.name, v);
  }
  // Bare arguments fill the positional options not given by name, in order.
  const free = positionals(def).filter((p) => !values.has(p.name));
  const bare = cmd.args;
  if (bare.length > free.length) throw new UsageError(`unexpected data '${bare[free.length]}'`);
  bare.forEach((v, i) => values.set(free[i]!.name, v));
  for (const o of def.opts) {
    if (o.required && !values.has(o.name)) throw new UsageError(`command '${def.name}' requires <${o.name}> option`);
  }
  return {
    bool: (n) => values.get(n) === true,
    str: (n) => {
      const v = values.get(n);
      return typeof v === 'string' ? v : undefined;
    },
    int: (n) => {
      const v = values.get(n);
      if (typeof v !== 'string') return undefined;
      if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) throw new UsageError(`Numeric value '${v}' for <${n}> option is malformed or out of range`);
      return Number(v);
    },
    has: (n) => values.has(n),
  };
}

function usageMessage(def: CommandDef, err: CommanderError, argv: string[]): string {
  switch (err.code) {
    case 'commander.unknownOption': {
      const m = /'([^']+)'/.exec(err.message);
      const opt = m ? m[1]!.replace(/=.*$/, '') : argv.find((a) => a.startsWith('-')) ?? '';
      return `command '${def.name}' doesn't support option ${opt}`;
    }
    case 'commander.optionMissingArgument': {
      const m = /'--([^ ']+)/.exec(err.message);
      const o = def.opts.find((x) => x.name === m?.[1]);
      return `expected syntax: --${m?.[1] ?? '?'} <${o?.kind === 'int' ? 'number' : 'string'}>`;
    }
    case 'commander.excessArguments': {
      const extra = err.message.match(/Received (\d+)/);
      void extra;
      const bare = argv.filter((a) => !a.startsWith('--'));
      return `unexpected data '${bare[bare.length - 1] ?? ''}'`;
    }
    default:
      return err.message.replace(/^error: /, '');
  }
}

function optLabel(o: OptDef): string {
  switch (o.kind) {
    case 'bool':
      return `--${o.name}`;
    case 'string':
      return `--${o.name} <string>`;
    case 'int':
      return `--${o.name} <number>`;
    case 'data':
      return `[--${o.name}] <string>`;
  }
}

function synopsisItem(o: OptDef): string {
  switch (o.kind) {
    case 'bool':
      return `[--${o.name}]`;
    case 'data':
      return o.required ? `<${o.name}>` : `[<${o.name}>]`;
    case 'string':
    case 'int': {
      const t = `--${o.name} <${o.kind === 'int' ? 'number' : 'string'}>`;
      return o.required ? t : `[${t}]`;
    }
  }
}

/** virsh's per-command help text (without the trailing newline every command prints). */
export function formatCommandHelp(def: CommandDef): string {
  let out = `  NAME\n    ${def.name} - ${def.help}\n\n  SYNOPSIS\n    ${[def.name, ...def.opts.map(synopsisItem)].join(' ')}\n\n`;
  if (def.desc) out += `  DESCRIPTION\n${def.desc.split('\n').map((l) => `    ${l}`).join('\n')}\n\n`;
  if (def.opts.length) {
    out += '  OPTIONS\n';
    for (const o of def.opts) out += `    ${optLabel(o).padEnd(15)}  ${o.help}\n`;
    out += '\n';
  }
  return out;
}

/** The common `[--domain] <string>` option. */
export function domainOpt(help = 'domain name, id or uuid'): OptDef {
  return { name: 'domain', kind: 'data', required: true, help };
}

export const JSON_OPT: OptDef = { name: 'json', kind: 'bool', help: 'print JSON instead of text (tsvirsh extension)' };
