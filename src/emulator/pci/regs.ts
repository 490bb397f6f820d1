/**
 * PCI configuration-space register offsets and bits, named as FreeBSD's pcireg.h names
 * them (PCI Local Bus Specification 3.0 §6.1-6.8; MSI/MSI-X §6.8; PCIe Base §7.8).
 * Constants only.
 */

export const PCIR_VENDOR = 0x00;
export const PCIR_DEVICE = 0x02;
export const PCIR_COMMAND = 0x04;
export const PCIR_STATUS = 0x06;
export const PCIR_REVID = 0x08;
export const PCIR_PROGIF = 0x09;
export const PCIR_SUBCLASS = 0x0a;
export const PCIR_CLASS = 0x0b;
export const PCIR_CACHELNSZ = 0x0c;
export const PCIR_HDRTYPE = 0x0e;
export const PCIR_BAR0 = 0x10;
export const PCIR_SUBVEND_0 = 0x2c;
export const PCIR_SUBDEV_0 = 0x2e;
export const PCIR_BIOS = 0x30;
export const PCIR_CAP_PTR = 0x34;
export const PCIR_INTLINE = 0x3c;
export const PCIR_INTPIN = 0x3d;

export const PCI_REGMAX = 0xff;
export const PCI_BARMAX = 5;
/** Index of the expansion-ROM BAR in a function's BAR array. */
export const PCI_ROM_IDX = 6;
export const PCI_SLOTMAX = 31;
export const PCI_FUNCMAX = 7;
export const PCI_BUSMAX = 255;

export function PCIR_BAR(n: number): number {
  return PCIR_BAR0 + 4 * n;
}

export const PCIM_CMD_PORTEN = 0x0001;
export const PCIM_CMD_MEMEN = 0x0002;
export const PCIM_CMD_BUSMASTEREN = 0x0004;
export const PCIM_CMD_INTxDIS = 0x0400;

export const PCIM_STATUS_INTxSTATE = 0x0008;
export const PCIM_STATUS_CAPPRESENT = 0x0010;

export const PCIM_HDRTYPE_NORMAL = 0x00;
export const PCIM_MFDEV = 0x80;

export const PCIM_BAR_IO_SPACE = 0x1;
export const PCIM_BAR_MEM_SPACE = 0x0;
export const PCIM_BAR_MEM_32 = 0x0;
export const PCIM_BAR_MEM_64 = 0x4;
export const PCIM_BAR_MEM_PREFETCH = 0x8;
export const PCIM_BIOS_ENABLE = 0x1;
/** ROM BAR address mask: 2 KiB granularity. */
export const PCIM_BIOS_ADDR_MASK = 0xfffff800;

export const PCIY_MSI = 0x05;
export const PCIY_VENDOR = 0x09;
export const PCIY_EXPRESS = 0x10;
export const PCIY_MSIX = 0x11;

export const PCIM_MSICTRL_VECTOR = 0x0100;
export const PCIM_MSICTRL_64BIT = 0x0080;
export const PCIM_MSICTRL_MME_MASK = 0x0070;
export const PCIM_MSICTRL_MMC_MASK = 0x000e;
export const PCIM_MSICTRL_MSI_ENABLE = 0x0001;

export const PCIM_MSIXCTRL_MSIX_ENABLE = 0x8000;
export const PCIM_MSIXCTRL_FUNCTION_MASK = 0x4000;
export const PCIM_MSIXCTRL_TABLE_SIZE = 0x07ff;
export const PCIM_MSIX_BIR_MASK = 0x7;
export const PCIM_MSIX_VCTRL_MASK = 0x1;
export const MSIX_TABLE_ENTRY_SIZE = 16;
export const MAX_MSIX_TABLE_ENTRIES = 2048;

export const PCIEM_TYPE_ENDPOINT = 0x00;
export const PCIEM_TYPE_ROOT_PORT = 0x40;
export const PCIEM_TYPE_ROOT_INT_EP = 0x90;
export const PCIECAP_VERSION = 0x2;

export const PCIC_STORAGE = 0x01;
export const PCIS_STORAGE_SATA = 0x06;
export const PCIP_STORAGE_SATA_AHCI_1_0 = 0x01;
export const PCIC_NETWORK = 0x02;
export const PCIC_BRIDGE = 0x06;
export const PCIS_BRIDGE_HOST = 0x00;
export const PCIS_BRIDGE_ISA = 0x01;
export const PCIC_SIMPLECOMM = 0x07;
export const PCIC_CRYPTO = 0x10;
