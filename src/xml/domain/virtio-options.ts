/**
 * Virtio device options on a device's `<driver>` element — iommu, ats, packed,
 * page_per_vq (libvirt virDomainVirtioOptionsParseXML / virDomainVirtioOptionsFormat) —
 * shared by every device family that has them (video, input, rng, memballoon, ...).
 *
 * Values are on/off; anything else is libvirt's "Invalid value for attribute" XML error.
 * Attributes are written in libvirt's order, each only when set.
 */

import { attr } from '../format/writer.js';
import { onOffAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { VirtioOptions } from '../types.js';

const KEYS = ['iommu', 'ats', 'packed', 'page_per_vq'] as const;

/** Reads the virtio options of `driver` into `into` (returned). */
export function parseVirtioOptions<T extends VirtioOptions>(driver: Elem, into: T): T {
  for (const k of KEYS) {
    const v = onOffAttr(driver, k);
    if (v !== undefined) into[k] = v;
  }
  return into;
}

/** The options as attribute text (leading space each), '' when none is set. */
export function virtioOptionsAttrs(o: VirtioOptions): string {
  return attr('iommu', o.iommu) + attr('ats', o.ats) + attr('packed', o.packed) + attr('page_per_vq', o.page_per_vq);
}
