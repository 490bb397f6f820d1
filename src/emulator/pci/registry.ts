/**
 * The PCI device models tsbhyve runs, by emulation name (bhyve's PCI_EMUL_SET /
 * pci_emul_finddev). `-s help` lists exactly these names. Machine assembly builds each
 * `pci.B.S.F` node through this table; a model bhyve knows (config/pci-slot.ts) but this
 * table lacks is refused with a message naming it, and an alias spelled in `device=`
 * (ahci-hd, ahci-cd, amd_hostbridge) is refused as bhyve refuses it.
 *
 * Entries are explicit (no registration by import side effect), so the list cannot claim
 * a model whose code is not linked. The factories themselves live in pci/models.ts.
 */
export interface PciModelInfo {
  name: string;
  description: string;
}

export const PCI_MODELS: readonly PciModelInfo[] = [
  { name: 'hostbridge', description: 'PCI host bridge (NetApp 1275:1275; amd_hostbridge: 1022:7432)' },
  { name: 'lpc', description: 'LPC/ISA bridge 8086:7000 with COM1-COM4, pc-testdev, boot ROM' },
  { name: 'ahci', description: 'AHCI SATA controller with disks (hd) and CD/DVD drives (cd)' },
  { name: 'virtio-blk', description: 'virtio block device' },
  { name: 'virtio-net', description: 'virtio network device (tap, udp backends)' },
  { name: 'virtio-rnd', description: 'virtio entropy device' },
  { name: 'virtio-console', description: 'virtio multiport console (UNIX socket ports)' },
  { name: 'virtio-9p', description: 'virtio 9P2000.L share of a host directory (sharename=/path[,ro])' },
  { name: 'e1000', description: 'Intel 82545EM gigabit Ethernet (tap, udp backends)' },
  { name: 'xhci', description: 'xHCI USB controller with the USB tablet (xhci,tablet)' },
  { name: 'fbuf', description: 'framebuffer with a VNC (RFB) server (rfb=/tcp=, w=, h=, password=, wait, vga=io|off)' },
  { name: 'nvme', description: 'NVMe controller with one namespace (file, block device or ram=MiB)' },
  { name: 'dummy', description: 'bhyve test device 10DD:0001 (MSI, scratch BARs)' },
];

/** Names for `-s help`, with the aliases that select them. */
export function pciModelNames(): string[] {
  return ['hostbridge', 'amd_hostbridge', 'lpc', 'ahci', 'ahci-hd', 'ahci-cd', 'virtio-blk', 'virtio-net', 'virtio-rnd', 'virtio-console', 'virtio-9p', 'e1000', 'xhci', 'fbuf', 'nvme', 'dummy'];
}

export function isImplementedPciModel(name: string): boolean {
  return PCI_MODELS.some((m) => m.name === name);
}
