/**
 * virtio-9p device constants (Virtio 1.2 §5.11; bhyve pci_virtio_9p.c). Constants only.
 */
export const VIRTIO_ID_9P = 9;
/** Feature bit: the configuration space carries a mount tag. */
export const VIRTIO_9P_MOUNT_TAG = 0n;
/** Request ring size (bhyve VT9P_RINGSZ). */
export const VT9P_RINGSZ = 256;
/** Longest share name accepted as a mount tag. */
export const VT9P_MAX_TAG = 255;
