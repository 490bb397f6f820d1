/**
 * virtio-blk (bhyve pci_virtio_block.c; bhyve-userland.md §6.2; Virtio 1.2 §5.2):
 * constants, the device and its request parser. Table of contents only.
 */
export const VTBLK_RINGSZ = 128;
/** Two descriptors of a request are header and status; bhyve caps at BLOCKIF_IOV_MAX. */
export const VTBLK_SEG_MAX = VTBLK_RINGSZ - 2;
export const VTBLK_BLK_ID_BYTES = 20;
export const VTBLK_MAX_DISCARD_SECT = (16 * 1024 * 1024) / 512;
export const SECTOR_SIZE = 512;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_FLUSH_OUT = 5;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VBH_FLAG_BARRIER = 0x80000000;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const VIRTIO_BLK_F_SEG_MAX = 2n;
export const VIRTIO_BLK_F_RO = 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 6n;
export const VIRTIO_BLK_F_FLUSH = 9n;
export const VIRTIO_BLK_F_TOPOLOGY = 10n;
export const VIRTIO_BLK_F_DISCARD = 13n;

export { VirtioBlock, blockSerial } from './device.js';
export { parseBlockRequest, type BlockRequest } from './request.js';
