/**
 * Device addresses and per-device info: `<address>`, `<boot order>`, `<alias>`, `<rom>`,
 * `<acpi index>` (libvirt virDomainDeviceInfo, device_conf.c / domain_conf.c
 * virDomainDeviceInfoParseXML and virDomainDeviceInfoFormat).
 *
 * Formatting order after a device's own children: boot, alias, rom, acpi, address.
 * PCI parts are read like C strtoul base 0 (0x.. hex) and written as libvirt does:
 * domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%d'.
 * Runtime aliases (not starting with `ua-`) are dropped by an inactive parse and never
 * written in inactive XML.
 */

import { VIR_ERR_XML_ERROR, VIR_FROM_NONE, VirError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import { enumSet, enumAttr, intAttr, onOffAttr, uintAttr, uintAttrReq, xmlValueError, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { DeviceAddress, DeviceInfo, PciAddress } from '../types.js';
import type { FormatCtx, ParseCtx } from './context.js';

const ADDRESS_TYPES = enumSet('pci', 'drive', 'virtio-serial', 'ccid', 'usb', 'isa', 'dimm', 'spapr-vio', 'ccw', 'virtio-mmio', 'virtio-s390', 'unassigned');

function pciRangeError(name: string, v: number, max: string): VirError {
  return new VirError(VIR_ERR_XML_ERROR, VIR_FROM_NONE, `XML error: Invalid PCI address ${name}='0x${v.toString(16)}', must be <= ${max}`);
}

/** PCI address attributes (used by `<address type='pci'>` and hostdev sources). */
export function parsePciParts(el: Elem): Omit<PciAddress, 'type' | 'zpci'> {
  const domain = uintAttr(el, 'domain', 0) ?? 0;
  const bus = uintAttr(el, 'bus', 0) ?? 0;
  const slot = uintAttr(el, 'slot', 0) ?? 0;
  const fn = uintAttr(el, 'function', 0) ?? 0;
  if (domain > 0xffff) throw pciRangeError('domain', domain, '0xFFFF');
  if (bus > 0xff) throw pciRangeError('bus', bus, '0xFF');
  if (slot > 0x1f) throw pciRangeError('slot', slot, '0x1F');
  if (fn > 7) throw pciRangeError('function', fn, '7');
  const out: Omit<PciAddress, 'type' | 'zpci'> = { domain, bus, slot, function: fn };
  const mf = onOffAttr(el, 'multifunction');
  if (mf !== undefined) out.multifunction = mf;
  return out;
}

/** `<address>` element. */
export function parseAddress(el: Elem): DeviceAddress {
  const type = enumAttr<DeviceAddress['type']>(el, 'type', ADDRESS_TYPES);
  if (type === undefined) throw xmlValueError("No type specified for device address");
  switch (type) {
    case 'pci': {
      const a: PciAddress = { type: 'pci', ...parsePciParts(el) };
      const z = el.child('zpci');
      if (z) a.zpci = z.toXmlElement();
      return a;
    }
    case 'drive':
      return {
        type: 'drive',
        controller: uintAttr(el, 'controller') ?? 0,
        bus: uintAttr(el, 'bus') ?? 0,
        target: uintAttr(el, 'target') ?? 0,
        unit: uintAttr(el, 'unit') ?? 0,
      };
    case 'virtio-serial':
      return {
        type: 'virtio-serial',
        controller: uintAttr(el, 'controller') ?? 0,
        bus: uintAttr(el, 'bus') ?? 0,
        port: uintAttr(el, 'port') ?? 0,
      };
    case 'ccid':
      return { type: 'ccid', controller: uintAttr(el, 'controller') ?? 0, slot: uintAttr(el, 'slot') ?? 0 };
    case 'usb': {
      const a: DeviceAddress = { type: 'usb', bus: uintAttr(el, 'bus') ?? 0 };
      const port = el.attr('port');
      if (port !== undefined) {
        if (!/^[0-9]+(\.[0-9]+){0,3}$/.test(port)) throw xmlValueError(`Cannot parse <address> 'port' attribute: '${port}'`);
        a.port = port;
      }
      return a;
    }
    case 'isa': {
      const a: DeviceAddress = { type: 'isa' };
      const iobase = uintAttr(el, 'iobase', 0);
      const irq = uintAttr(el, 'irq', 0);
      if (iobase !== undefined) a.iobase = iobase;
      if (irq !== undefined) a.irq = irq;
      return a;
    }
    case 'dimm': {
      const a: DeviceAddress = { type: 'dimm' };
      const slot = uintAttr(el, 'slot');
      const base = uintAttr(el, 'base', 0, Number.MAX_SAFE_INTEGER);
      if (slot !== undefined) a.slot = slot;
      if (base !== undefined) a.base = base;
      return a;
    }
    default:
      return { type, attrs: el.attrs().filter(([k]) => k !== 'type') };
  }
}

/** Which info children a device family accepts. */
export interface InfoOptions {
  /** `<boot order>` allowed (disk, interface, hostdev, redirdev). */
  boot?: boolean;
  /** `<rom>` allowed (PCI-capable devices). */
  rom?: boolean;
}

/**
 * Reads the info children of a device element into `into`. Children not part of the
 * device info are ignored here (the family parser reads them).
 */
export function parseDeviceInfo(el: Elem, into: DeviceInfo, ctx: ParseCtx, opts: InfoOptions = {}): void {
  for (const c of el.children()) {
    switch (c.name) {
      case 'address':
        if (into.address === undefined) into.address = parseAddress(c);
        break;
      case 'alias': {
        const name = c.attr('name');
        if (name !== undefined && into.alias === undefined && (!ctx.inactive || name.startsWith('ua-'))) into.alias = name;
        break;
      }
      case 'boot':
        if (opts.boot && into.boot === undefined) {
          const order = uintAttrReq(c, 'order');
          if (order === 0) throw xmlValueError(`incorrect boot order '0', expecting positive integer`);
          into.boot = { order };
          const lp = c.attr('loadparm');
          if (lp !== undefined) into.boot.loadparm = lp;
        }
        break;
      case 'rom':
        if (opts.rom !== false && into.rom === undefined) {
          const rom: NonNullable<DeviceInfo['rom']> = {};
          const bar = onOffAttr(c, 'bar');
          const file = c.attr('file');
          const enabled = yesNoAttr(c, 'enabled');
          if (enabled !== undefined) rom.enabled = enabled;
          if (bar !== undefined) rom.bar = bar;
          if (file !== undefined) rom.file = file;
          into.rom = rom;
        }
        break;
      case 'acpi': {
        const index = intAttr(c, 'index', 0);
        if (index !== undefined && into.acpi === undefined) into.acpi = { index };
        break;
      }
      default:
        break;
    }
  }
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `<address .../>` line. */
export function formatAddress(w: Writer, a: DeviceAddress, name = 'address'): void {
  switch (a.type) {
    case 'pci': {
      const attrs = `${name === 'address' ? " type='pci'" : ''} domain='0x${hex(a.domain, 4)}' bus='0x${hex(a.bus, 2)}' slot='0x${hex(a.slot, 2)}' function='0x${a.function}'${attr('multifunction', a.multifunction)}`;
      if (a.zpci) {
        w.open(name, attrs);
        w.raw(a.zpci);
        w.close(name);
      } else w.empty(name, attrs);
      return;
    }
    case 'drive':
      w.empty(name, ` type='drive' controller='${a.controller}' bus='${a.bus}' target='${a.target}' unit='${a.unit}'`);
      return;
    case 'virtio-serial':
      w.empty(name, ` type='virtio-serial' controller='${a.controller}' bus='${a.bus}' port='${a.port}'`);
      return;
    case 'ccid':
      w.empty(name, ` type='ccid' controller='${a.controller}' slot='${a.slot}'`);
      return;
    case 'usb':
      w.empty(name, ` type='usb' bus='${a.bus}'${attr('port', a.port)}`);
      return;
    case 'isa':
      w.empty(
        name,
        ` type='isa'${a.iobase !== undefined ? ` iobase='0x${a.iobase.toString(16)}'` : ''}${a.irq !== undefined ? ` irq='0x${a.irq.toString(16)}'` : ''}`,
      );
      return;
    case 'dimm':
      w.empty(name, ` type='dimm'${attr('slot', a.slot)}${a.base !== undefined ? ` base='0x${a.base.toString(16)}'` : ''}`);
      return;
    default: {
      let s = ` type='${a.type}'`;
      for (const [k, v] of a.attrs) s += attr(k, v);
      w.empty(name, s);
    }
  }
}

/** Writes boot, alias, rom, acpi, address (virDomainDeviceInfoFormat). */
export function formatDeviceInfo(w: Writer, info: DeviceInfo, ctx: FormatCtx): void {
  if (info.boot) w.empty('boot', ` order='${info.boot.order}'${attr('loadparm', info.boot.loadparm)}`);
  if (info.alias !== undefined && (!ctx.inactive || info.alias.startsWith('ua-'))) w.empty('alias', attr('name', info.alias));
  if (info.rom) w.empty('rom', `${attr('enabled', info.rom.enabled)}${attr('bar', info.rom.bar)}${attr('file', info.rom.file)}`);
  if (info.acpi) w.empty('acpi', ` index='${info.acpi.index}'`);
  if (info.address) formatAddress(w, info.address);
}

/** Copies the DeviceInfo fields out of a device (for families that share it). */
export function hasInfo(info: DeviceInfo, ctx: FormatCtx): boolean {
  return (
    info.boot !== undefined ||
    (info.alias !== undefined && (!ctx.inactive || info.alias.startsWith('ua-'))) ||
    info.rom !== undefined ||
    info.acpi !== undefined ||
    info.address !== undefined
  );
}
