/**
 * Builds a block backend from a device's config node (bhyve blockif_open: `path`, `ro`,
 * `nocache`, `direct`/`sync`, `sectorsize`, `nodelete`, `bootindex`). Only raw files and
 * block devices are supported; anything else in `path` is refused by the open itself.
 */
import { ConfigError, EXIT_ERROR } from '../../config/errors.js';
import type { ConfigNode } from '../../config/tree.js';
import type { BlockBackend } from './backend.js';
import { RawFileBackend } from './raw-file.js';

export async function openBlockBackend(node: ConfigNode): Promise<BlockBackend> {
  const path = node.get('path');
  if (path === undefined || path === '') throw new ConfigError(`${node.path}: missing "path" for the block device`, EXIT_ERROR);
  return RawFileBackend.open(path, {
    readOnly: node.getBool('ro', false),
    nocache: node.getBool('nocache', false),
    sync: node.getBool('direct', false) || node.getBool('sync', false),
    sectorSize: node.get('sectorsize'),
  });
}
