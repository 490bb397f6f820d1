/**
 * Builders for DomainDefs in unit tests: the shape the XML layer produces after parsing
 * (defaults libvirt fills in included), so driver tests do not depend on the parser.
 */
import { emptyDomainDef } from '../../../src/driver/skeleton.js';
import type { DiskDef, DomainDef, InterfaceDef } from '../../../src/xml/types.js';

export const UUID = 'df3be7e7-a104-11e3-aeb0-50e5492bd3dc';

/** libvirt's test domain: 214 MiB, 1 vCPU, hvm x86_64, boot from hd, clock utc. */
export function baseDomain(): DomainDef {
  const d = emptyDomainDef('bhyve');
  d.uuid = UUID;
  d.memory = 219136;
  d.currentMemory = 219136;
  d.os.arch = 'x86_64';
  d.os.boots = ['hd'];
  d.on_reboot = 'restart';
  return d;
}

export function sataDisk(dev: string, file: string, extra: Partial<DiskDef> = {}): DiskDef {
  return { type: 'file', device: 'disk', driver: { name: 'file', type: 'raw' }, source: { file }, target: { dev, bus: 'sata' }, ...extra };
}

export function virtioDisk(dev: string, file: string, extra: Partial<DiskDef> = {}): DiskDef {
  return { type: 'file', device: 'disk', driver: { name: 'file', type: 'raw' }, source: { file }, target: { dev, bus: 'virtio' }, ...extra };
}

export function bridgeNet(mac: string, slot?: number, model = 'virtio'): InterfaceDef {
  const n: InterfaceDef = { type: 'bridge', mac: { address: mac }, source: { bridge: 'virbr0' }, model };
  if (slot !== undefined) n.address = { type: 'pci', domain: 0, bus: 0, slot, function: 0 };
  return n;
}

/** libvirt's `base` case: one SATA disk at drive 0:0:2:0, a virtio NIC at slot 3. */
export function libvirtBase(): DomainDef {
  const d = baseDomain();
  d.devices.disks.push(sataDisk('hda', '/tmp/freebsd.img', { address: { type: 'drive', controller: 0, bus: 0, target: 2, unit: 0 } }));
  d.devices.interfaces.push(bridgeNet('52:54:00:b9:94:02', 3));
  return d;
}
