/**
 * Completing a bhyve definition before translation: what libvirt's common post-parse and
 * the bhyve hooks would have filled in, applied again so that any DomainDef — parsed with
 * the hooks, built by hand, or made from a bhyve command line — reaches the builders whole:
 * implicit controllers (pci-root, ISA, virtio-serial, and the disk and virtio-serial
 * controllers the XML layer's virDomainDefAddImplicitControllers adds),
 * drive addresses, serial port numbers, nmdm paths, video models, then PCI and
 * virtio-serial addresses.
 *
 * Idempotent: on a definition the hooks already completed it changes nothing.
 * Mutates its argument (callers pass the live copy).
 */

import { addImplicitControllers } from '../xml/postparse.js';
import type { DomainDef } from '../xml/types.js';
import { assignPciAddresses, assignVirtioSerialAddresses } from './address.js';
import type { BhyveHost } from './capabilities.js';
import { assignDiskDriveAddress, bhyveDevicePostParse, bhyvePostParse } from './domain.js';

/** virDomainDefAddImplicitVideo with bhyve's default model: graphics need a framebuffer. */
export function addImplicitVideo(def: DomainDef): void {
  const d = def.devices;
  if (d.graphics.length > 0 && d.videos.length === 0) d.videos.push({ model: { type: 'gop', heads: 1 } });
}

/** The addressing half of post-parse (the `assignAddresses` hook). */
export function assignBhyveAddresses(def: DomainDef): void {
  assignPciAddresses(def);
  assignVirtioSerialAddresses(def);
}

/** Everything post-parse would have done for a bhyve domain. */
export function completeBhyveDefinition(def: DomainDef, host: BhyveHost): void {
  def.os.arch ??= host.arch;
  bhyvePostParse(def, host);
  const d = def.devices;
  // Serial/console target ports: max + 1, as libvirt's virDomainChrDefPostParse.
  for (const list of [d.serials, d.consoles]) {
    for (const chr of list) {
      if (chr.target.port !== undefined) continue;
      chr.target.port = list.reduce((m, c) => Math.max(m, c.target.port ?? -1), -1) + 1;
    }
  }
  for (const disk of d.disks) {
    if (disk.address === undefined) assignDiskDriveAddress(disk, host);
    bhyveDevicePostParse({ kind: 'disk', def: disk }, def, host);
  }
  for (const c of d.controllers) bhyveDevicePostParse({ kind: 'controller', def: c }, def, host);
  for (const v of d.videos) bhyveDevicePostParse({ kind: 'video', def: v }, def, host);
  for (const s of d.serials) bhyveDevicePostParse({ kind: 'serial', def: s }, def, host);
  for (const s of d.consoles) bhyveDevicePostParse({ kind: 'console', def: s }, def, host);
  addImplicitVideo(def);
  // virDomainDefAddImplicitControllers, then this driver's controller defaults on them
  addImplicitControllers(def);
  for (const c of d.controllers) bhyveDevicePostParse({ kind: 'controller', def: c }, def, host);
  assignBhyveAddresses(def);
}
