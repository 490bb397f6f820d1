/**
 * `-l lpcdev[,conf]` → `lpc.*` / `tpm.*` keys (bhyve-userland.md §1.4; bhyve's
 * lpc_device_parse). Device names match case-insensitively.
 *
 * Exit statuses follow bhyve's code: a `bootrom` or `tpm` without its required file is
 * `errx(4, ...)`; an unknown device (or a COM port without a backend) makes
 * lpc_device_parse fail and bhyve exits EX_USAGE (64) with "invalid lpc device
 * configuration". Text → tree only: nothing is opened here.
 */
import { ConfigError, EXIT_ERROR, EXIT_USAGE } from './errors.js';
import type { ConfigTree } from './tree.js';
import { generic } from './legacy-config.js';

/** The LPC device names, in bhyve's `-l help` order. */
export const LPC_DEVICE_NAMES = ['bootrom', 'com1', 'com2', 'com3', 'com4', 'tpm', 'pc-testdev'] as const;

export function parseLpcDevice(tree: ConfigTree, opts: string): void {
  const invalid = (): never => {
    throw new ConfigError(`invalid lpc device configuration '${opts}'`, EXIT_USAGE);
  };
  const parts = opts.split(',');
  const dev = parts[0]!.toLowerCase();
  const rest = parts.slice(1);
  if (dev === 'bootrom') {
    const rom = rest.shift();
    if (rom === undefined) throw new ConfigError(`invalid bootrom option "${opts}"`, EXIT_ERROR);
    tree.set('lpc.bootrom', rom);
    const vars = rest.shift();
    if (vars === undefined) return;
    const lpc = tree.createNode('lpc');
    if (!vars.includes('=')) tree.set('lpc.bootvars', vars);
    else generic(lpc, vars);
    if (rest.length > 0) generic(lpc, rest.join(','));
    return;
  }
  if (dev === 'tpm') {
    const tpm = tree.createNode('tpm');
    const type = rest.shift();
    if (type === undefined) throw new ConfigError(`invalid tpm type "${opts}"`, EXIT_ERROR);
    tpm.set('type', type);
    const path = rest.shift();
    if (path === undefined) throw new ConfigError(`invalid tpm path "${opts}"`, EXIT_ERROR);
    tpm.set('path', path);
    if (rest.length > 0) generic(tpm, rest.join(','));
    tpm.setIfUnset('version', '2.0');
    return;
  }
  if (/^com[1-4]$/.test(dev)) {
    // bhyve stores the whole remainder (commas included) as the backend string.
    if (rest.length === 0) invalid();
    tree.set(`lpc.${dev}.path`, rest.join(','));
    return;
  }
  if (dev === 'pc-testdev') {
    tree.setBool('lpc.pc-testdev', true);
    return;
  }
  invalid();
}
