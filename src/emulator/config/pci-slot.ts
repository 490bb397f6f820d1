/**
 * `-s [bus:]slot[:func],emulation[,conf]` → `pci.B.S.F.*` keys (bhyve-userland.md §1.3;
 * bhyve's pci_parse_slot).
 *
 * The table below names every emulation upstream bhyve registers, with its alias target
 * and legacy option parser, so that any real bhyve command line produces the same tree
 * (and `config.dump=1` the same text). Which of them tsbhyve can actually run is the
 * device registry's business (pci/registry.ts): a known but unimplemented model is
 * refused there, at assembly, with a message naming it. An unknown name is refused here,
 * as bhyve does, with exit status 4.
 */
import { ConfigError, EXIT_ERROR } from './errors.js';
import type { ConfigTree } from './tree.js';
import * as legacy from './legacy-config.js';

export interface PciEmulationSyntax {
  /** The name given to `-s`. */
  name: string;
  /** The model actually configured (`device=`) when `name` is a legacy alias. */
  alias?: string;
  parser: legacy.LegacyParser;
}

export const PCI_EMULATION_SYNTAX: readonly PciEmulationSyntax[] = [
  { name: 'hostbridge', parser: legacy.generic },
  { name: 'amd_hostbridge', alias: 'hostbridge', parser: legacy.amdHostbridge },
  { name: 'lpc', parser: legacy.generic },
  { name: 'ahci', parser: legacy.ahci },
  { name: 'ahci-hd', alias: 'ahci', parser: legacy.ahciSingle('hd') },
  { name: 'ahci-cd', alias: 'ahci', parser: legacy.ahciSingle('cd') },
  { name: 'virtio-blk', parser: legacy.block },
  { name: 'virtio-net', parser: legacy.net },
  { name: 'virtio-rnd', parser: legacy.generic },
  { name: 'virtio-console', parser: legacy.virtioConsole },
  { name: 'virtio-9p', parser: legacy.virtio9p },
  { name: 'virtio-scsi', parser: legacy.virtioScsi },
  { name: 'virtio-input', parser: legacy.pathOnly },
  { name: 'e1000', parser: legacy.net },
  { name: 'nvme', parser: legacy.nvme },
  { name: 'xhci', parser: legacy.xhci },
  { name: 'fbuf', parser: legacy.generic },
  { name: 'passthru', parser: legacy.passthru },
  { name: 'uart', parser: legacy.pathOnly },
  { name: 'hda', parser: legacy.generic },
  { name: 'dummy', parser: legacy.generic },
];

const byName = new Map(PCI_EMULATION_SYNTAX.map((e) => [e.name, e]));

export function findPciEmulationSyntax(name: string): PciEmulationSyntax | undefined {
  return byName.get(name);
}

const MAXBUSES = 256;
const MAXSLOTS = 32;
const MAXFUNCS = 8;

/** sscanf("%d") of the leading part of `s` separated by ':' — returns the numbers read. */
function scanColonInts(s: string, count: number): number[] | undefined {
  const out: number[] = [];
  let rest = s;
  for (let k = 0; k < count; k++) {
    const m = /^\s*([+-]?\d+)/.exec(rest);
    if (!m) return undefined;
    out.push(parseInt(m[1]!, 10));
    rest = rest.slice(m[0].length);
    if (k + 1 < count) {
      if (rest[0] !== ':') return undefined;
      rest = rest.slice(1);
    }
  }
  return out;
}

/**
 * Parses one `-s` argument into the tree. Throws ConfigError (exit 4, message printed
 * without the program-name prefix, as bhyve's EPRINTLN) on any error.
 */
export function parsePciSlot(tree: ConfigTree, opt: string): void {
  const fail = (msg: string): never => {
    throw new ConfigError(msg, EXIT_ERROR, { prefixed: false });
  };
  const c1 = opt.indexOf(',');
  if (c1 < 0) fail(`Invalid PCI slot info field "${opt}"`);
  const slotStr = opt.slice(0, c1);
  let emul = opt.slice(c1 + 1);
  let conf: string | undefined;
  const c2 = emul.indexOf(',');
  if (c2 >= 0) {
    conf = emul.slice(c2 + 1);
    emul = emul.slice(0, c2);
  }
  let bus = 0;
  let slot = -1;
  let func = 0;
  const three = scanColonInts(slotStr, 3);
  if (three) [bus, slot, func] = three as [number, number, number];
  else {
    const two = scanColonInts(slotStr, 2);
    if (two) [slot, func] = two as [number, number];
    else {
      const one = scanColonInts(slotStr, 1);
      slot = one ? one[0]! : -1;
    }
  }
  if (bus < 0 || bus >= MAXBUSES || slot < 0 || slot >= MAXSLOTS || func < 0 || func >= MAXFUNCS) {
    fail(`Invalid PCI slot info field "${opt}"`);
  }
  const syntax = findPciEmulationSyntax(emul);
  if (!syntax) fail(`pci slot ${bus}:${slot}:${func}: unknown device "${emul}"`);
  const nodeName = `pci.${bus}.${slot}.${func}`;
  if (tree.findNode(nodeName)) fail(`pci slot ${bus}:${slot}:${func} already occupied!`);
  const node = tree.createNode(nodeName);
  node.set('device', syntax!.alias ?? syntax!.name);
  const err = syntax!.parser(node, conf);
  if (err) fail(err);
}
