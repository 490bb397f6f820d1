/**
 * Common post-parse defaults (libvirt src/conf/domain_postparse.c and the post-parse parts
 * of domain_conf.c), run between the driver's hooks in libvirt's order (see
 * model/hooks.ts): memory totals, default boot device, per-device defaults (cdrom
 * read-only, drive addresses from target names, controller indexes), implicit controllers
 * for disk buses and virtio channels/consoles, and the console ⇄ serial[0] aliasing of HVM
 * guests. Hypervisor-neutral: anything bhyve-specific belongs in the driver's hooks.
 *
 * Errors are libvirt's: e.g. "Memory size must be specified via <memory> or in the <numa>
 * configuration" (VIR_ERR_XML_ERROR), "per-device boot elements cannot be used together
 * with os/boot elements" (VIR_ERR_CONFIG_UNSUPPORTED).
 */

import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VirError } from './errors.js';
import { domainXmlError } from './parse/values.js';
import type { ChrDef, ControllerDef, ControllerType, DeviceRef, DiskDef, DomainDef, DomainParserConfig, ParseContext } from './types.js';
import { chrSourceEqual } from './domain/chardev.js';
import { insertController } from './domain/controller.js';
import { diskNameToIndex } from './domain/disk.js';

/** Every device of the definition as DeviceRefs, in libvirt's iteration order. */
export function listDevices(def: DomainDef): DeviceRef[] {
  const d = def.devices;
  const out: DeviceRef[] = [];
  for (const x of d.disks) out.push({ kind: 'disk', def: x });
  for (const x of d.controllers) out.push({ kind: 'controller', def: x });
  for (const x of d.filesystems) out.push({ kind: 'filesystem', def: x });
  for (const x of d.interfaces) out.push({ kind: 'interface', def: x });
  for (const x of d.serials) out.push({ kind: 'serial', def: x });
  for (const x of d.parallels) out.push({ kind: 'parallel', def: x });
  for (const x of d.consoles) out.push({ kind: 'console', def: x });
  for (const x of d.channels) out.push({ kind: 'channel', def: x });
  for (const x of d.inputs) out.push({ kind: 'input', def: x });
  for (const x of d.tpms) out.push({ kind: 'tpm', def: x });
  for (const x of d.graphics) out.push({ kind: 'graphics', def: x });
  for (const x of d.sounds) out.push({ kind: 'sound', def: x });
  for (const x of d.audios) out.push({ kind: 'audio', def: x });
  for (const x of d.videos) out.push({ kind: 'video', def: x });
  for (const x of d.hostdevs) out.push({ kind: 'hostdev', def: x });
  for (const x of d.watchdogs) out.push({ kind: 'watchdog', def: x });
  if (d.memballoon) out.push({ kind: 'memballoon', def: d.memballoon });
  for (const x of d.rngs) out.push({ kind: 'rng', def: x });
  for (const x of d.panics) out.push({ kind: 'panic', def: x });
  return out;
}

/** virDomainDiskDefAssignAddress: drive address from the target name for controller buses. */
export function assignDiskAddress(disk: DiskDef): void {
  if (disk.address !== undefined) return;
  const bus = disk.target.bus;
  if (bus !== 'scsi' && bus !== 'ide' && bus !== 'sata' && bus !== 'fdc') return;
  const idx = diskNameToIndex(disk.target.dev);
  if (idx < 0) throw new VirError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, `XML error: Unknown disk name '${disk.target.dev}' and no address specified`);
  switch (bus) {
    case 'scsi':
      disk.address = { type: 'drive', controller: Math.floor(idx / 7), bus: 0, target: 0, unit: idx % 7 };
      break;
    case 'ide':
      disk.address = { type: 'drive', controller: Math.floor(idx / 4), bus: Math.floor((idx % 4) / 2), target: 0, unit: idx % 2 };
      break;
    case 'sata':
      disk.address = { type: 'drive', controller: Math.floor(idx / 6), bus: 0, target: 0, unit: idx % 6 };
      break;
    case 'fdc':
      disk.address = { type: 'drive', controller: Math.floor(idx / 2), bus: 0, target: 0, unit: idx % 2 };
      break;
  }
}

/** Common per-device defaults (virDomainDeviceDefPostParseCommon). */
function devicePostParseCommon(dev: DeviceRef, def: DomainDef): void {
  switch (dev.kind) {
    case 'disk': {
      const disk = dev.def;
      if (disk.device === 'cdrom') disk.readonly = true;
      if (disk.device === 'lun' && disk.target.bus !== 'scsi' && disk.target.bus !== 'virtio') {
        throw new VirError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, `XML error: disk device='lun' is only valid for block type disk source with bus scsi or virtio`);
      }
      assignDiskAddress(disk);
      break;
    }
    case 'controller': {
      const c = dev.def;
      if (c.index === -1) {
        let max = -1;
        for (const o of def.devices.controllers) if (o.type === c.type && o.index > max) max = o.index;
        c.index = max + 1;
      }
      break;
    }
    default:
      break;
  }
}

/** Adds controllers of `type` 0..max for every drive address on disks of `bus`. */
function addDiskControllers(def: DomainDef, type: ControllerType, bus: DiskDef['target']['bus']): void {
  let max = -1;
  for (const d of def.devices.disks) {
    if (d.target.bus === bus && d.address?.type === 'drive' && d.address.controller > max) max = d.address.controller;
  }
  for (let i = 0; i <= max; i++) maybeAddController(def, type, i);
}

function maybeAddController(def: DomainDef, type: ControllerType, index: number): void {
  if (def.devices.controllers.some((c) => c.type === type && c.index === index)) return;
  const c: ControllerDef = { type, index };
  insertController(def.devices.controllers, c);
}

/** virDomainDefAddImplicitControllers. */
function addImplicitControllers(def: DomainDef): void {
  addDiskControllers(def, 'scsi', 'scsi');
  addDiskControllers(def, 'fdc', 'fdc');
  addDiskControllers(def, 'ide', 'ide');
  addDiskControllers(def, 'sata', 'sata');
  // virtio-serial controllers for virtio channels and consoles
  for (const ch of def.devices.channels) {
    if (ch.target.type !== 'virtio') continue;
    const idx = ch.address?.type === 'virtio-serial' ? ch.address.controller : 0;
    maybeAddController(def, 'virtio-serial', idx);
  }
  for (const con of def.devices.consoles) {
    if (con.target.type !== 'virtio') continue;
    const idx = con.address?.type === 'virtio-serial' ? con.address.controller : 0;
    maybeAddController(def, 'virtio-serial', idx);
  }
}

/** A console that aliases a serial port: same backend, target type serial, no own info. */
function consoleAlias(serial: ChrDef): ChrDef {
  const c: ChrDef = { type: serial.type, sources: serial.sources.map((x) => ({ ...x })), target: { type: 'serial', port: 0 } };
  if (serial.protocol !== undefined) c.protocol = serial.protocol;
  if (serial.log !== undefined) c.log = { ...serial.log };
  if (serial.tty !== undefined) c.tty = serial.tty;
  return c;
}

/** virDomainDefAddConsoleCompat: console[0] of an HVM guest is an alias of serial[0]. */
function consoleCompat(def: DomainDef): void {
  const d = def.devices;
  for (let i = 1; i < d.consoles.length; i++) {
    if (d.consoles[i]!.target.type === 'serial') {
      throw new VirError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, 'unsupported configuration: Only the first console can be a serial port');
    }
  }
  if (def.os.type !== 'hvm') return;
  const c0 = d.consoles[0];
  if (c0 !== undefined && (c0.target.type === 'serial' || c0.target.type === undefined)) {
    if (d.serials.length === 0) {
      const serial: ChrDef = { ...c0, target: { port: 0 } };
      d.serials.push(serial);
      d.consoles[0] = consoleAlias(serial);
    } else if (!chrSourceEqual(d.serials[0]!, c0)) {
      d.consoles[0] = consoleAlias(d.serials[0]!);
    } else {
      c0.target = { type: 'serial', port: 0 };
    }
  } else if (d.serials.length > 0 && (d.serials[0]!.target.type === undefined || d.serials[0]!.target.type === 'isa-serial')) {
    d.consoles.unshift(consoleAlias(d.serials[0]!));
  }
}

/** Domain-wide defaults (virDomainDefPostParseCommon). */
function domainPostParseCommon(def: DomainDef): void {
  // memory: NUMA cells define the total when present
  const cells = def.cpu?.numa?.cells;
  if (cells && cells.length) {
    let total = 0;
    for (const c of cells) total += c.memory;
    def.memory = total;
  }
  if (def.memory === 0) {
    throw domainXmlError('Memory size must be specified via <memory> or in the <numa> configuration');
  }
  if (def.currentMemory === 0 || def.currentMemory > def.memory) def.currentMemory = def.memory;
  if (def.maxMemory && def.maxMemory.size < def.memory) {
    throw new VirError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, 'XML error: maximum memory size must be equal or greater than the actual memory size');
  }

  // boot order: os/boot and per-device boot are exclusive; default to hd
  const orders = new Map<number, string>();
  for (const ref of listDevices(def)) {
    const b = (ref.def as { boot?: { order: number } }).boot;
    if (!b) continue;
    if (orders.has(b.order)) throw domainXmlError(`boot order ${b.order} used for more than one device`);
    orders.set(b.order, ref.kind);
  }
  if (orders.size > 0 && def.os.boots.length > 0) {
    throw new VirError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, 'unsupported configuration: per-device boot elements cannot be used together with os/boot elements');
  }
  if (def.os.type === 'hvm' && def.os.boots.length === 0 && orders.size === 0 && def.bootloader === undefined) {
    def.os.boots.push('hd');
  }

  consoleCompat(def);
  addImplicitControllers(def);
}

/**
 * Runs the post-parse sequence: driver basic hook, driver domain hook, per-device driver
 * hook + common device defaults, driver address assignment, common domain defaults.
 */
export function postParse(def: DomainDef, config: DomainParserConfig, ctx: ParseContext): void {
  config.postParseBasic?.(def, ctx);
  config.postParse?.(def, ctx);
  for (const dev of listDevices(def)) {
    config.devicePostParse?.(dev, def, ctx);
    devicePostParseCommon(dev, def);
  }
  config.assignAddresses?.(def, ctx);
  domainPostParseCommon(def);
}
