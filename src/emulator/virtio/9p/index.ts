/**
 * virtio-9p: a host directory shared with the guest over 9P2000.L (bhyve
 * pci_virtio_9p.c + lib9p; bhyve-userland.md §6.6; Virtio 1.2 §5.11). Table of contents:
 *
 *   constants.ts  device ID, feature bit, ring size
 *   protocol.ts   9P wire format: message types, Reader/Writer, Linux flag values
 *   share.ts      the shared directory: the only guest-path → host-path mapping, with
 *                 containment (symlinks, '..', absolute names never leave the share)
 *   attrs.ts      host stat → qid, Rgetattr, dirent types
 *   server.ts     the 9P2000.L session: version, attach, walk, read, write, readdir,
 *                 clunk, fid table and limits
 *   fsops.ts      open/create/attribute/namespace operations
 *   device.ts     the virtio device: queue, mount tag, one request at a time
 *   model.ts      `pci.B.S.F` node → device (the `-s N,virtio-9p,tag=/path[,ro]` model)
 *
 * Guest-verified: fixtures/guests/virtio-9p (test/emulator/guests/virtio-9p.test.ts) speaks
 * 9P2000.L over the queue (version, attach, walk, lopen, read, lcreate, write, clunk, ro →
 * EROFS) against QEMU's virtio-9p-pci as reference. Still to add: boot the Debian kernel with an
 * initramfs that runs `mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt` and must
 * - list, read and write files the host test prepared, create/rename/remove files and
 *   directories, and the host test sees the results in the directory afterwards;
 * - with `ro`, get EROFS for every modification;
 * - fail to reach outside the share: `ls /mnt/..` stays in the share, a symlink the host
 *   planted to /etc (or the guest created with `ln -s /etc x`) cannot be read through
 *   (`cat /mnt/x/passwd` fails with EACCES or shows the guest's own /etc, never the host's).
 */
export * from './constants.js';
export { Virtio9p } from './device.js';
export { NinePServer, MAX_FIDS, MAX_OPEN, MAX_DIR_ENTRIES } from './server.js';
export { Share, ShareError, checkName } from './share.js';
export { buildVirtio9p } from './model.js';
