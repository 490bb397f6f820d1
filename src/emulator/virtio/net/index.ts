/**
 * virtio-net (bhyve pci_virtio_net.c; bhyve-userland.md §6.3; Virtio 1.2 §5.1):
 * constants, MAC handling and the device. Table of contents only.
 */
export const VTNET_RINGSZ = 1024;
export const VTNET_MIN_MTU = 46;
export const VTNET_MAX_MTU = 65535;
export const VTNET_MAXSEGS = 256;
export const VIRTIO_NET_F_MTU = 3n;
export const VIRTIO_NET_F_MAC = 5n;
export const VIRTIO_NET_F_MRG_RXBUF = 15n;
export const VIRTIO_NET_F_STATUS = 16n;
export const VIRTIO_NET_S_LINK_UP = 1;
export const VTNET_RXQ = 0;
export const VTNET_TXQ = 1;
/** Frames waiting for RX buffers before the backend is paused (or frames dropped). */
export const VTNET_RX_BACKLOG = 256;

export { VirtioNet, parseMac, defaultMac, formatMac } from './device.js';
