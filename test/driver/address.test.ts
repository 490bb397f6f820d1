import { describe, expect, it } from 'vitest';
import { assignPciAddresses, assignVirtioSerialAddresses, formatPciAddress } from '../../src/driver/address.js';
import { isVirError, VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR } from '../../src/xml/errors.js';
import type { ChrDef, PciAddress } from '../../src/xml/types.js';
import { baseDomain, bridgeNet, virtioDisk } from './helpers/domain.js';

const pci = (slot: number, fn = 0, bus = 0): PciAddress => ({ type: 'pci', domain: 0, bus, slot, function: fn });

function expectVirError(f: () => void, code: number, msg: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isVirError(e)).toBe(true);
    expect((e as { code: number }).code).toBe(code);
    expect((e as Error).message).toMatch(msg);
    return;
  }
  throw new Error('expected a VirError');
}

describe('PCI slots (bhyve rules)', () => {
  it('keeps slot 1 for the LPC bridge and hands out the rest in libvirt order', () => {
    const d = baseDomain();
    d.devices.controllers.push({ type: 'pci', index: 0, model: 'pci-root' }, { type: 'isa', index: 0 }, { type: 'sata', index: 0 });
    d.devices.interfaces.push(bridgeNet('52:54:00:00:00:01'));
    d.devices.disks.push(virtioDisk('vda', '/a.img'));
    assignPciAddresses(d);
    expect(d.devices.controllers[1]!.address).toEqual(pci(1));
    expect(d.devices.controllers[2]!.address).toEqual(pci(2));
    expect(d.devices.interfaces[0]!.address).toEqual(pci(3));
    expect(d.devices.disks[0]!.address).toEqual(pci(4));
    expect(d.devices.controllers[0]!.address).toBeUndefined();
  });
  it('gives the LPC bridge another slot when the user took slot 1', () => {
    const d = baseDomain();
    d.devices.controllers.push({ type: 'isa', index: 0 });
    d.devices.interfaces.push(bridgeNet('52:54:00:00:00:01', 1));
    assignPciAddresses(d);
    expect(d.devices.controllers[0]!.address).toEqual(pci(2));
  });
  it('honours user addresses and a second function in a used slot', () => {
    const d = baseDomain();
    d.devices.interfaces.push(bridgeNet('52:54:00:00:00:01', 7));
    const n2 = bridgeNet('52:54:00:00:00:02');
    n2.address = pci(7, 1);
    d.devices.interfaces.push(n2);
    d.devices.disks.push(virtioDisk('vda', '/a.img'));
    assignPciAddresses(d);
    expect(d.devices.disks[0]!.address).toEqual(pci(2));
  });
  it('reports a conflict between two user addresses', () => {
    const d = baseDomain();
    d.devices.interfaces.push(bridgeNet('52:54:00:00:00:01', 3), bridgeNet('52:54:00:00:00:02', 3));
    expectVirError(() => assignPciAddresses(d), VIR_ERR_XML_ERROR, /Attempted double use of PCI Address 0000:00:03\.0/);
  });
  it('refuses addresses on other buses and slot 32+', () => {
    const d = baseDomain();
    d.devices.interfaces.push(bridgeNet('52:54:00:00:00:01', 3));
    d.devices.interfaces[0]!.address = pci(3, 0, 1);
    expectVirError(() => assignPciAddresses(d), VIR_ERR_XML_ERROR, /Only PCI domain 0 and bus 0/);
    d.devices.interfaces[0]!.address = pci(40);
    expectVirError(() => assignPciAddresses(d), VIR_ERR_XML_ERROR, /slot must be/);
  });
  it('runs out of slots at the 31st device (slots 2..31)', () => {
    const d = baseDomain();
    for (let i = 0; i < 31; i++) d.devices.disks.push(virtioDisk(`vd${String.fromCharCode(97 + (i % 26))}${i >= 26 ? 'a' : ''}`, `/d${i}.img`));
    expectVirError(() => assignPciAddresses(d), VIR_ERR_INTERNAL_ERROR, /No more available PCI slots/);
  });
  it('formats addresses as libvirt prints them', () => {
    expect(formatPciAddress(pci(31, 7))).toBe('0000:00:1f.7');
  });
});

describe('virtio-serial ports', () => {
  const chan = (name: string, port?: number, controller = 0): ChrDef => {
    const c: ChrDef = { type: 'unix', sources: [{ mode: 'bind', path: `/run/${name}` }], target: { type: 'virtio', name } };
    if (port !== undefined) c.address = { type: 'virtio-serial', controller, bus: 0, port };
    return c;
  };
  it('fills free ports from 1 and moves to the next controller when full', () => {
    const d = baseDomain();
    d.devices.controllers.push({ type: 'virtio-serial', index: 0, ports: 3 }, { type: 'virtio-serial', index: 1, ports: 16 });
    d.devices.channels.push(chan('a', 2), chan('b'), chan('c'));
    assignVirtioSerialAddresses(d);
    expect(d.devices.channels.map((c) => c.address)).toEqual([
      { type: 'virtio-serial', controller: 0, bus: 0, port: 2 },
      { type: 'virtio-serial', controller: 0, bus: 0, port: 1 },
      { type: 'virtio-serial', controller: 1, bus: 0, port: 1 },
    ]);
  });
  it('refuses a port beyond the controller or used twice', () => {
    const d = baseDomain();
    d.devices.controllers.push({ type: 'virtio-serial', index: 0, ports: 4 });
    d.devices.channels.push(chan('a', 4));
    expectVirError(() => assignVirtioSerialAddresses(d), VIR_ERR_XML_ERROR, /beyond the 4 ports/);
    d.devices.channels = [chan('a', 1), chan('b', 1)];
    expectVirError(() => assignVirtioSerialAddresses(d), VIR_ERR_XML_ERROR, /used twice/);
    d.devices.channels = [chan('a', 1, 5)];
    expectVirError(() => assignVirtioSerialAddresses(d), VIR_ERR_XML_ERROR, /controller 5 not found/);
  });
});
