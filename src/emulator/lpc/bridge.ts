/**
 * The LPC bridge PCI function `lpc` (bhyve amd64/pci_lpc.c; bhyve-userland.md §5.3):
 * Intel 8086:7000 (PIIX3 ISA bridge), class 06/01/00, overridable through
 * `lpc.pcireg.*`. Its config bytes 0x60-0x63 and 0x68-0x6B are the PIRQ A-D / E-H
 * routing registers: byte writes go to the PIRQ router (which re-drives asserted lines)
 * and the stored byte reflects the router. Only one LPC bridge, on bus 0.
 *
 * The LPC devices themselves (COM ports, pc-testdev, boot ROM) are built by machine
 * assembly from the `lpc.*` keys; this function is only the PCI face.
 */
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigNode } from '../config/tree.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { readPciReg } from '../pci/pcireg.js';
import type { PirqRouter } from '../pci/pirq.js';
import { PCIC_BRIDGE, PCIS_BRIDGE_ISA } from '../pci/regs.js';

export const LPC_VENDOR = 0x8086;
export const LPC_DEV = 0x7000;
export const LPC_PIRQ_AD = 0x60;
export const LPC_PIRQ_EH = 0x68;

export class LpcBridge implements PciDeviceOps {
  constructor(
    readonly pci: PciFunction,
    /** The `lpc` node (IDs are `lpc.pcireg.*`, not under the PCI slot node). */
    lpcNode: ConfigNode | undefined,
    private readonly pirq: PirqRouter,
  ) {
    if (pci.bus !== 0) throw new ConfigError('LPC bridge can be present only on bus 0.', EXIT_ERROR, { prefixed: false });
    pci.attach(this);
    const rd = (reg: 'vendor' | 'device' | 'revid' | 'subvendor' | 'subdevice', def: number) =>
      lpcNode ? readPciReg(lpcNode, reg, def) : def;
    pci.setIds({
      vendor: rd('vendor', LPC_VENDOR),
      device: rd('device', LPC_DEV),
      classCode: PCIC_BRIDGE,
      subclass: PCIS_BRIDGE_ISA,
      revision: rd('revid', 0),
      subVendor: rd('subvendor', 0),
      subDevice: rd('subdevice', 0),
    });
  }

  /** Maps a config offset to its PIRQ link (1..8), or 0. */
  private static link(coff: number): number {
    if (coff >= LPC_PIRQ_AD && coff <= LPC_PIRQ_AD + 3) return coff - LPC_PIRQ_AD + 1;
    if (coff >= LPC_PIRQ_EH && coff <= LPC_PIRQ_EH + 3) return coff - LPC_PIRQ_EH + 5;
    return 0;
  }

  cfgWrite(coff: number, size: number, value: number): boolean {
    if (size !== 1) return false;
    const link = LpcBridge.link(coff);
    if (link === 0) return false;
    this.pirq.write(link, value);
    this.pci.cfg.set8(coff, this.pirq.read(link));
    return true;
  }

  /** lpc_pirq_routed: mirrors the router into config space after routing. */
  syncPirqRegisters(): void {
    for (let p = 0; p < 4; p++) this.pci.cfg.set8(LPC_PIRQ_AD + p, this.pirq.read(p + 1));
    for (let p = 0; p < 4; p++) this.pci.cfg.set8(LPC_PIRQ_EH + p, this.pirq.read(p + 5));
  }

  barRead(): number {
    return 0;
  }
  barWrite(): void {}
}
