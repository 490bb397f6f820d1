/**
 * `<controller>`: parse and format (libvirt virDomainControllerDefParseXML /
 * virDomainControllerDefFormat), libvirt's insertion order for controllers read from the
 * XML (virDomainControllerInsertPreAlloced: grouped by type, sorted by index, a USB master
 * before its companions), and the helpers post-parse code (common and driver hooks) adds
 * implicit controllers with (virDomainDefAddController / virDomainDefMaybeAddController:
 * appended).
 *
 * Spec: docs/formatdomain.rst "Controllers". Models are checked per controller type
 * (pci, usb, scsi, ide, virtio-serial, isa, nvme); unknown models are a VIR_ERR_XML_ERROR.
 */

import { attr, type Writer } from '../format/writer.js';
import { enumAttr, enumSet, onOffAttr, sizeElemKiB, uintAttr, uintAttrReq, xmlValueError } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { ControllerDef, ControllerType, DomainDef } from '../types.js';
import { formatAddress, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';

const CONTROLLER_TYPES = enumSet('ide', 'fdc', 'scsi', 'sata', 'virtio-serial', 'ccid', 'usb', 'pci', 'xenbus', 'isa', 'nvme');

const MODELS: Partial<Record<ControllerType, ReadonlySet<string>>> = {
  pci: enumSet(
    'pci-root',
    'pcie-root',
    'pci-bridge',
    'dmi-to-pci-bridge',
    'pcie-root-port',
    'pcie-switch-upstream-port',
    'pcie-switch-downstream-port',
    'pci-expander-bus',
    'pcie-expander-bus',
    'pcie-to-pci-bridge',
  ),
  usb: enumSet(
    'piix3-uhci',
    'piix4-uhci',
    'ehci',
    'ich9-ehci1',
    'ich9-uhci1',
    'ich9-uhci2',
    'ich9-uhci3',
    'vt82c686b-uhci',
    'pci-ohci',
    'nec-xhci',
    'qusb1',
    'qusb2',
    'qemu-xhci',
    'none',
  ),
  scsi: enumSet(
    'auto',
    'buslogic',
    'lsilogic',
    'lsisas1068',
    'vmpvscsi',
    'ibmvscsi',
    'virtio-scsi',
    'lsisas1078',
    'virtio-transitional',
    'virtio-non-transitional',
    'ncr53c90',
    'am53c974',
    'dc390',
  ),
  ide: enumSet('piix3', 'piix4', 'ich6'),
  'virtio-serial': enumSet('virtio', 'virtio-transitional', 'virtio-non-transitional'),
  isa: enumSet(),
  xenbus: enumSet(),
};

const PCI_MODEL_NAMES = enumSet(
  'pci-bridge',
  'i82801b11-bridge',
  'ioh3420',
  'x3130-upstream',
  'xio3130-downstream',
  'pxb',
  'pxb-pcie',
  'pcie-root-port',
  'spapr-pci-host-bridge',
  'pcie-pci-bridge',
);

/** Parses one `<controller>`; `index` is -1 when absent (post-parse assigns it). */
export function parseController(el: Elem, ctx: ParseCtx): ControllerDef {
  const type = enumAttr<ControllerType>(el, 'type', CONTROLLER_TYPES) ?? 'ide';
  const index = uintAttr(el, 'index', 10, 0x7fffffff) ?? -1;
  const c: ControllerDef = { type, index };
  const model = el.attr('model');
  if (model !== undefined) {
    const allowed = MODELS[type];
    if (allowed === undefined || !allowed.has(model)) {
      throw xmlValueError(`Invalid value for attribute 'model' in element 'controller': '${model}'.`);
    }
    c.model = model;
  }
  if (type === 'virtio-serial') {
    const ports = uintAttr(el, 'ports');
    const vectors = uintAttr(el, 'vectors');
    if (ports !== undefined) c.ports = ports;
    if (vectors !== undefined) c.vectors = vectors;
  } else if (type === 'usb') {
    const ports = uintAttr(el, 'ports');
    if (ports !== undefined) c.ports = ports;
  } else if (type === 'xenbus') {
    const g = uintAttr(el, 'maxGrantFrames');
    const e = uintAttr(el, 'maxEventChannels');
    if (g !== undefined) c.maxGrantFrames = g;
    if (e !== undefined) c.maxEventChannels = e;
  }
  for (const ch of el.children()) {
    switch (ch.name) {
      case 'driver': {
        const d: NonNullable<ControllerDef['driver']> = {};
        const q = uintAttr(ch, 'queues');
        const cpl = uintAttr(ch, 'cmd_per_lun');
        const ms = uintAttr(ch, 'max_sectors');
        const io = onOffAttr(ch, 'ioeventfd');
        const it = uintAttr(ch, 'iothread');
        if (q !== undefined) d.queues = q;
        if (cpl !== undefined) d.cmd_per_lun = cpl;
        if (ms !== undefined) d.max_sectors = ms;
        if (io !== undefined) d.ioeventfd = io;
        if (it !== undefined) d.iothread = it;
        c.driver = d;
        break;
      }
      case 'master':
        if (type === 'usb') c.master = { startport: uintAttrReq(ch, 'startport') };
        break;
      case 'model':
        if (type === 'pci') {
          const name = enumAttr<string>(ch, 'name', PCI_MODEL_NAMES);
          if (name !== undefined) c.modelName = name;
        }
        break;
      case 'target':
        if (type === 'pci') {
          const t: NonNullable<ControllerDef['target']> = {};
          const chassisNr = uintAttr(ch, 'chassisNr', 0);
          const chassis = uintAttr(ch, 'chassis', 0);
          const port = uintAttr(ch, 'port', 0);
          const busNr = uintAttr(ch, 'busNr', 0);
          const idx = uintAttr(ch, 'index', 0);
          const hotplug = onOffAttr(ch, 'hotplug');
          const memReserve = uintAttr(ch, 'memReserve', 10, Number.MAX_SAFE_INTEGER);
          if (chassisNr !== undefined) t.chassisNr = chassisNr;
          if (chassis !== undefined) t.chassis = chassis;
          if (port !== undefined) t.port = port;
          if (busNr !== undefined) t.busNr = busNr;
          if (idx !== undefined) t.index = idx;
          if (hotplug !== undefined) t.hotplug = hotplug;
          if (memReserve !== undefined) t.memReserve = memReserve;
          const node = ch.child('node');
          if (node) {
            const n = Number(node.text().trim());
            if (!Number.isInteger(n) || n < 0) throw xmlValueError(`invalid NUMA node in target: '${node.text()}'`);
            t.node = n;
          }
          c.target = t;
        }
        break;
      case 'pcihole64':
        if (type === 'pci') c.pcihole64 = sizeElemKiB(ch, './pcihole64[1]');
        break;
      case 'serial':
        if (type === 'nvme') c.serial = ch.text();
        break;
      default:
        break;
    }
  }
  parseDeviceInfo(el, c, ctx, {});
  return c;
}

/**
 * Inserts a controller read from the XML where libvirt would
 * (virDomainControllerInsertPreAlloced): after the last controller of its type with a
 * lower index, before a higher one, a USB master before its companions, else at the end.
 * Index -1 means "no index yet": placed after the last controller of its type.
 */
export function insertController(list: ControllerDef[], c: ControllerDef): void {
  let insertAt = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.type !== c.type) continue;
    if (c.index === -1) {
      insertAt = i + 1;
      break;
    }
    if (cur.index > c.index) insertAt = i;
    else if (c.master === undefined && cur.master !== undefined && cur.index === c.index) insertAt = i;
    else if (insertAt === -1) insertAt = i + 1;
  }
  if (insertAt === -1) list.push(c);
  else list.splice(insertAt, 0, c);
}

/** virDomainControllerFindUnusedIndex: the lowest index no controller of `type` uses. */
export function findUnusedControllerIndex(list: readonly ControllerDef[], type: ControllerType): number {
  let idx = 0;
  while (list.some((c) => c.type === type && c.index === idx)) idx++;
  return idx;
}

/**
 * virDomainDefAddController: a controller made by post-parse code (an implicit one) is
 * appended to the list, not filed by index (libvirt 9.0 writes an implicit `sata` index 0
 * after an explicit `sata` index 1). Index -1 takes the lowest unused one; `model`
 * undefined is libvirt's default model.
 */
export function addController(def: DomainDef, type: ControllerType, index: number, model?: string): ControllerDef {
  const list = def.devices.controllers;
  const cont: ControllerDef = { type, index: index < 0 ? findUnusedControllerIndex(list, type) : index };
  if (model !== undefined) cont.model = model;
  list.push(cont);
  return cont;
}

/** virDomainDefMaybeAddController: adds the controller unless one of that type and index exists. */
export function maybeAddController(def: DomainDef, type: ControllerType, index: number, model?: string): ControllerDef | undefined {
  if (def.devices.controllers.some((c) => c.type === type && c.index === index)) return undefined;
  return addController(def, type, index, model);
}

/** Writes one `<controller>`. */
export function formatController(w: Writer, c: ControllerDef, ctx: FormatCtx): void {
  let a = ` type='${c.type}' index='${c.index}'${attr('model', c.model)}`;
  if (c.type === 'virtio-serial') a += attr('ports', c.ports) + attr('vectors', c.vectors);
  else if (c.type === 'usb') a += attr('ports', c.ports);
  else if (c.type === 'xenbus') a += attr('maxGrantFrames', c.maxGrantFrames) + attr('maxEventChannels', c.maxEventChannels);
  w.elem('controller', a, (w) => {
    if (c.driver) {
      const d = c.driver;
      const da = attr('queues', d.queues) + attr('cmd_per_lun', d.cmd_per_lun) + attr('max_sectors', d.max_sectors) + attr('ioeventfd', d.ioeventfd) + attr('iothread', d.iothread);
      if (da !== '') w.empty('driver', da);
    }
    if (c.modelName !== undefined) w.empty('model', attr('name', c.modelName));
    if (c.target) {
      const t = c.target;
      const hex = (n: number | undefined): string | undefined => (n === undefined ? undefined : `0x${n.toString(16)}`);
      const ta =
        attr('chassisNr', t.chassisNr) +
        attr('chassis', t.chassis) +
        attr('port', hex(t.port)) +
        attr('busNr', t.busNr) +
        attr('index', t.index) +
        attr('hotplug', t.hotplug) +
        (t.memReserve !== undefined ? attr('memReserve', t.memReserve) : '');
      if (t.node !== undefined) {
        w.open('target', ta);
        w.textElem('node', '', String(t.node));
        w.close('target');
      } else if (ta !== '') w.empty('target', ta);
    }
    if (c.pcihole64 !== undefined) w.textElem('pcihole64', " unit='KiB'", String(c.pcihole64));
    if (c.serial !== undefined) w.textElem('serial', '', c.serial);
    if (c.alias !== undefined && (!ctx.inactive || c.alias.startsWith('ua-'))) w.empty('alias', attr('name', c.alias));
    if (c.master) w.empty('master', ` startport='${c.master.startport}'`);
    if (c.rom) w.empty('rom', `${attr('enabled', c.rom.enabled)}${attr('bar', c.rom.bar)}${attr('file', c.rom.file)}`);
    if (c.acpi) w.empty('acpi', ` index='${c.acpi.index}'`);
    if (c.address) formatAddress(w, c.address);
  });
}
