/**
 * The PCI host bridge model `hostbridge` (bhyve pci_hostbridge.c; bhyve-userland.md §1.3,
 * §6.0): NetApp 1275:1275 by default (AMD 1022:7432 through the `amd_hostbridge` alias,
 * which presets `pcireg.*`), class 06/00/00, a PCIe root-port capability, no BARs and no
 * interrupts. IDs come from `pcireg.vendor`/`pcireg.device` (hex) or the older
 * `vendor`/`devid` keys (strtol base 0).
 */
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigNode } from '../config/tree.js';
import { parseInteger } from '../config/values.js';
import type { PciDeviceOps, PciFunction } from './function.js';
import { readPciReg } from './pcireg.js';
import { PCIC_BRIDGE, PCIEM_TYPE_ROOT_PORT, PCIM_HDRTYPE_NORMAL, PCIR_HDRTYPE, PCIS_BRIDGE_HOST } from './regs.js';

export const NETAPP_VENDOR = 0x1275;

function legacyId(node: ConfigNode, key: string, def: number): number {
  const v = node.get(key);
  if (v === undefined) return def;
  const n = parseInteger(v, 0, 0xffff);
  if (n === undefined) throw new ConfigError(`Invalid value for ${node.path}.${key}: '${v}'`, EXIT_ERROR);
  return n;
}

export class HostBridge implements PciDeviceOps {
  constructor(
    readonly pci: PciFunction,
    node: ConfigNode,
  ) {
    pci.attach(this);
    const vendor = readPciReg(node, 'vendor', legacyId(node, 'vendor', NETAPP_VENDOR));
    const device = readPciReg(node, 'device', legacyId(node, 'devid', NETAPP_VENDOR));
    pci.setIds({ vendor, device, classCode: PCIC_BRIDGE, subclass: PCIS_BRIDGE_HOST });
    pci.cfg.set8(PCIR_HDRTYPE, PCIM_HDRTYPE_NORMAL);
    pci.addPcieCapability(PCIEM_TYPE_ROOT_PORT);
  }

  barRead(): number {
    return 0;
  }
  barWrite(): void {}
}
