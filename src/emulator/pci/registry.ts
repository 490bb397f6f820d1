/**
 * The PCI device models tsbhyve can run, by emulation name (bhyve's PCI_EMUL_SET /
 * pci_emul_finddev). `-s help` lists exactly these names; machine assembly builds a
 * function from `pci.B.S.F.device` through this table and refuses, with a message
 * naming the model, a name that bhyve knows (config/pci-slot.ts) but tsbhyve does not run.
 *
 * Entries are added here, explicitly, as models land: no registration by import side
 * effect, so the list cannot claim a model whose module is not linked.
 */

/** A model's identity as `-s help` shows it; its factory lives with the model. */
export interface PciModelInfo {
  name: string;
  description: string;
}

const MODELS: PciModelInfo[] = [];

/** Adds a model (called once per model from the table of models). */
export function registerPciModel(info: PciModelInfo): void {
  if (MODELS.some((m) => m.name === info.name)) throw new Error(`PCI model ${info.name} registered twice`);
  MODELS.push(info);
}

/** Names for `-s help`, in registration order. */
export function pciModelNames(): string[] {
  return MODELS.map((m) => m.name);
}
