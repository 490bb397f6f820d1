/**
 * `pcireg.*` identity overrides (bhyve pci_config_read_reg; bhyve-userland.md §5.2):
 * `pcireg.vendor`, `.device`, `.revid`, `.subvendor`, `.subdevice` under a device's node,
 * read as hexadecimal (strtol base 16, `0x` optional). The value `host` (copy the host
 * device's register) needs FreeBSD's /dev/pci and is refused with a clear error.
 */
import type { ConfigNode } from '../config/tree.js';
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import { parseHex } from '../config/values.js';

export type PciRegName = 'vendor' | 'device' | 'revid' | 'subvendor' | 'subdevice';

export function readPciReg(node: ConfigNode, reg: PciRegName, def: number): number {
  const regs = node.find('pcireg');
  const v = regs?.get(reg);
  if (v === undefined) return def;
  if (v === 'host') {
    throw new ConfigError(`${node.path}.pcireg.${reg}=host is not supported: tsbhyve cannot read host PCI registers`, EXIT_ERROR);
  }
  const max = reg === 'revid' ? 0xff : 0xffff;
  const n = parseHex(v, max);
  if (n === undefined) throw new ConfigError(`Invalid value for ${node.path}.pcireg.${reg}: '${v}'`, EXIT_ERROR);
  return n;
}
