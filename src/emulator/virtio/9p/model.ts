/**
 * The `virtio-9p` PCI model: a `pci.B.S.F` node → a Virtio9p device on the virtio PCI
 * transport (bhyve pci_virtio_9p.c pci_vt9p_init; keys as bhyve_config(5): `sharename`
 * (the mount tag), `path` (the host directory), `ro`). The directory must exist; it is
 * resolved once, and everything the guest reaches stays below that resolved path.
 */
import type { ConfigNode } from '../../config/tree.js';
import type { PciFunction } from '../../pci/function.js';
import { slotError, virtio, type PciModelContext } from '../../pci/models.js';
import { VT9P_MAX_TAG } from './constants.js';
import { Virtio9p } from './device.js';
import { Share } from './share.js';

export async function buildVirtio9p(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<void> {
  const name = node.get('sharename');
  const path = node.get('path');
  if (!name || !path) throw slotError(fn, 'virtio-9p: a share is given as sharename=/path');
  if (Buffer.byteLength(name, 'utf8') > VT9P_MAX_TAG) throw slotError(fn, `virtio-9p: share name longer than ${VT9P_MAX_TAG} bytes`);
  const ro = node.getBool('ro', false);
  let share: Share;
  try {
    share = await Share.open(path, ro, ctx.log);
  } catch (e) {
    throw slotError(fn, `virtio-9p: cannot share ${path}: ${(e as Error).message}`);
  }
  const dev = new Virtio9p(share, name, ctx.log);
  ctx.closers.push(() => dev.close());
  virtio(ctx, fn, node, dev);
}
