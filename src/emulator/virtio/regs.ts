/**
 * Virtio constants (Virtio 1.2 OASIS spec §2, §4.1, §6; legacy 0.9.5 PCI register
 * layout as bhyve's virtio.h names it). Constants only.
 */

// Device status (§2.1)
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

// Transport feature bits (§6)
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24n;
export const VIRTIO_RING_F_INDIRECT_DESC = 28n;
export const VIRTIO_RING_F_EVENT_IDX = 29n;
export const VIRTIO_F_VERSION_1 = 32n;
export const VIRTIO_F_ACCESS_PLATFORM = 33n;
export const bit = (n: bigint): bigint => 1n << n;

// Split ring (§2.7)
export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
export const VRING_USED_F_NO_NOTIFY = 1;
export const VRING_DESC_SIZE = 16;
export const VRING_ALIGN = 4096;
/** Longest chain bhyve accepts (VQ_MAX_DESCRIPTORS). */
export const VQ_MAX_DESCRIPTORS = 512;
export const VIRTIO_MAX_QUEUE_SIZE = 32768;

// Legacy PCI BAR0 registers (bhyve virtio.h VIRTIO_PCI_*)
export const VIRTIO_PCI_HOST_FEATURES = 0x00;
export const VIRTIO_PCI_GUEST_FEATURES = 0x04;
export const VIRTIO_PCI_QUEUE_PFN = 0x08;
export const VIRTIO_PCI_QUEUE_NUM = 0x0c;
export const VIRTIO_PCI_QUEUE_SEL = 0x0e;
export const VIRTIO_PCI_QUEUE_NOTIFY = 0x10;
export const VIRTIO_PCI_STATUS = 0x12;
export const VIRTIO_PCI_ISR = 0x13;
export const VIRTIO_MSI_CONFIG_VECTOR = 0x14;
export const VIRTIO_MSI_QUEUE_VECTOR = 0x16;
export const VIRTIO_PCI_CONFIG_OFF_NOMSIX = 20;
export const VIRTIO_PCI_CONFIG_OFF_MSIX = 24;
export const VIRTIO_PCI_QUEUE_ADDR_SHIFT = 12;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

export const VIRTIO_PCI_ISR_INTR = 0x1;
export const VIRTIO_PCI_ISR_CONFIG = 0x2;

// Modern PCI capabilities (§4.1.4)
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;

// Common configuration structure offsets (§4.1.4.3)
export const COMMON_DFSELECT = 0x00;
export const COMMON_DF = 0x04;
export const COMMON_GFSELECT = 0x08;
export const COMMON_GF = 0x0c;
export const COMMON_MSIX = 0x10;
export const COMMON_NUMQ = 0x12;
export const COMMON_STATUS = 0x14;
export const COMMON_CFGGENERATION = 0x15;
export const COMMON_Q_SELECT = 0x16;
export const COMMON_Q_SIZE = 0x18;
export const COMMON_Q_MSIX = 0x1a;
export const COMMON_Q_ENABLE = 0x1c;
export const COMMON_Q_NOFF = 0x1e;
export const COMMON_Q_DESCLO = 0x20;
export const COMMON_Q_DESCHI = 0x24;
export const COMMON_Q_AVAILLO = 0x28;
export const COMMON_Q_AVAILHI = 0x2c;
export const COMMON_Q_USEDLO = 0x30;
export const COMMON_Q_USEDHI = 0x34;
export const COMMON_Q_NDATA = 0x38;
export const COMMON_Q_RESET = 0x3a;
export const COMMON_CFG_SIZE = 0x3c;

// Device types (§5) and PCI IDs
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_ENTROPY = 4;
export const VIRTIO_VENDOR = 0x1af4;
/** Transitional (legacy-capable) PCI device IDs by device type. */
export const TRANSITIONAL_DEVICE_ID: Record<number, number> = { 1: 0x1000, 2: 0x1001, 3: 0x1003, 4: 0x1005, 9: 0x1009 };
export const MODERN_DEVICE_ID_BASE = 0x1040;
