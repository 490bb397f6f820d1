/**
 * Post-parse: the defaults libvirt fills between reading the XML and validating it, in
 * libvirt's order (src/conf/domain_postparse.c virDomainDefPostParse), with the driver's
 * hooks at libvirt's points:
 *   1. driver `postParseBasic`;
 *   2. controller indexes for controllers written without one (lowest unused; USB2
 *      companions join their master's index);
 *   3. driver `postParse`;
 *   4. ISA serial port checks and assignment;
 *   5. every device: driver `devicePostParse`, then the common device defaults (disk bus /
 *      read-only cdrom / drive address, chardev ports, console target, USB companion
 *      start ports, video heads and RAM);
 *   6. common domain defaults (memory totals, loader type, hugepage nodesets, duplicate
 *      controllers/panics, default boot device, timer checks, implicit devices — console
 *      ⇄ serial[0], controllers for disk buses and virtio-serial, a video for graphics —
 *      and the first video made primary);
 *   7. driver `assignAddresses`.
 * Hypervisor-neutral: anything bhyve-specific belongs in the driver's hooks.
 */

import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, VirError, xmlError, configUnsupported } from './errors.js';
import { chrSourceEqual } from './domain/chardev.js';
import { findUnusedControllerIndex, insertController, maybeAddController } from './domain/controller.js';
import { busFromTargetName, diskNameToIndex } from './domain/disk.js';
import { videoDefaults } from './domain/media.js';

import type { ChrDef, ControllerDef, ControllerType, DeviceRef, DiskDef, DomainDef, DomainParserConfig, ParseContext, VideoDef } from './types.js';

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

/* ------------------------------------------------------------------ controllers */

const USB2 = new Set(['ehci', 'ich9-ehci1', 'ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3']);
const isUsb2 = (c: ControllerDef): boolean => c.type === 'usb' && c.model !== undefined && USB2.has(c.model);

/** virDomainAssignControllerIndexes: lowest unused index; USB2 companions share one. */
function assignControllerIndexes(def: DomainDef): void {
  const list = def.devices.controllers;
  let reinsert = false;
  for (let outer = 0; outer < list.length; outer++) {
    const cont = list[outer]!;
    if (cont.index !== -1) continue;
    let prev: ControllerDef | undefined;
    if (outer > 0 && isUsb2(cont)) {
      reinsert = true;
      let p = outer - 1;
      while (p >= 0 && list[p]!.type !== 'usb') p--;
      prev = p >= 0 ? list[p] : undefined;
      if (prev && !isUsb2(prev)) prev = undefined;
      if (prev && list.some((c) => c.type === 'usb' && c.index === prev!.index && c.model === cont.model)) prev = undefined;
      if (prev) cont.index = prev.index;
    }
    if (!prev) cont.index = findUnusedControllerIndex(list, cont.type);
  }
  if (reinsert) {
    const old = list.splice(0);
    for (const c of old) insertController(list, c);
  }
}

/** Controllers of `type` 0..max for every drive address on disks of `bus`. */
function addDiskControllers(def: DomainDef, type: ControllerType, bus: DiskDef['target']['bus']): void {
  let max = -1;
  for (const d of def.devices.disks) {
    const diskBus = d.target.bus ?? busFromTargetName(d.target.dev, d.device);
    if (diskBus === bus && d.address?.type === 'drive' && d.address.controller > max) max = d.address.controller;
  }
  for (let i = 0; i <= max; i++) maybeAddController(def, type, i);
}

/**
 * virDomainDefAddImplicitControllers: disk controllers named by drive addresses (NVMe as
 * libvirt does since it has the nvme bus), then virtio-serial for virtio channels and
 * consoles, each appended in that order.
 */
export function addImplicitControllers(def: DomainDef): void {
  addDiskControllers(def, 'scsi', 'scsi');
  addDiskControllers(def, 'fdc', 'fdc');
  addDiskControllers(def, 'ide', 'ide');
  addDiskControllers(def, 'sata', 'sata');
  addDiskControllers(def, 'nvme', 'nvme');
  for (const ch of [...def.devices.channels, ...def.devices.consoles]) {
    if (ch.target.type !== 'virtio') continue;
    maybeAddController(def, 'virtio-serial', ch.address?.type === 'virtio-serial' ? ch.address.controller : 0);
  }
}

/* ------------------------------------------------------------------ devices */

/** virDomainDiskDefAssignAddress: drive address from the target name for controller buses. */
export function assignDiskAddress(disk: DiskDef): void {
  if (disk.address !== undefined) return;
  const bus = disk.target.bus;
  if (bus !== 'scsi' && bus !== 'ide' && bus !== 'sata' && bus !== 'fdc') return;
  const idx = diskNameToIndex(disk.target.dev);
  if (idx < 0) throw xmlError(`Unknown disk name '${disk.target.dev}' and no address specified`);
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

const UHCI_STARTPORT: Record<string, number> = { 'ich9-uhci1': 0, 'ich9-uhci2': 2, 'ich9-uhci3': 4 };

/** virStorageSourceNetworkDefaultPort: the port libvirt fills for a TCP host of a protocol. */
const DEFAULT_NET_PORT: Record<string, string> = {
  http: '80',
  https: '443',
  ftp: '21',
  ftps: '990',
  tftp: '69',
  sheepdog: '7000',
  nbd: '10809',
  ssh: '22',
  iscsi: '3260',
  gluster: '24007',
  vxhs: '9999',
};

/** Next port of a serial/parallel/console written without one (max of its kind + 1). */
function assignChrPort(chr: ChrDef, all: ChrDef[]): void {
  if (chr.target.port !== undefined) return;
  let max = -1;
  for (const c of all) if (c.target.port !== undefined && c.target.port > max) max = c.target.port;
  chr.target.port = max + 1;
}

/** Common per-device defaults (virDomainDeviceDefPostParseCommon). */
function devicePostParseCommon(dev: DeviceRef, def: DomainDef): void {
  switch (dev.kind) {
    case 'disk': {
      const disk = dev.def;
      if (disk.device === 'cdrom') disk.readonly = true;
      if (disk.device === 'lun' && disk.target.bus !== 'scsi' && disk.target.bus !== 'virtio') {
        throw xmlError(`disk device='lun' is only valid for block type disk source with bus scsi or virtio`);
      }
      if (disk.type === 'network' && disk.source?.hosts && disk.source.protocol !== undefined) {
        const port = DEFAULT_NET_PORT[disk.source.protocol];
        if (port !== undefined) for (const h of disk.source.hosts) if (h.port === undefined && (h.transport ?? 'tcp') === 'tcp') h.port = port;
      }
      assignDiskAddress(disk);
      break;
    }
    case 'controller': {
      const c = dev.def;
      if (c.type === 'usb' && c.model !== undefined && c.master === undefined && c.model in UHCI_STARTPORT) {
        c.master = { startport: UHCI_STARTPORT[c.model]! };
      }
      break;
    }
    case 'serial':
      assignChrPort(dev.def, def.devices.serials);
      break;
    case 'parallel':
      assignChrPort(dev.def, def.devices.parallels);
      break;
    case 'console':
      dev.def.target.type ??= 'serial';
      assignChrPort(dev.def, def.devices.consoles);
      break;
    case 'video':
      videoDefaults(dev.def, def.type);
      break;
    default:
      break;
  }
}

/** virDomainChrIsaSerialDefPostParse: at most 4 ISA serial ports, each once. */
function isaSerialPorts(def: DomainDef): void {
  const used = [false, false, false, false];
  let count = 0;
  for (const s of def.devices.serials) {
    if (s.target.type !== 'isa-serial') continue;
    const p = s.target.port;
    if (count++ >= 4 || (p !== undefined && p >= 4)) {
      throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, "internal error: Maximum supported number of ISA serial ports is '4'");
    }
    if (p !== undefined) {
      if (used[p]) throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `internal error: target port '${p}' already allocated`);
      used[p] = true;
    }
  }
  for (const s of def.devices.serials) {
    if (s.target.type !== 'isa-serial' || s.target.port !== undefined) continue;
    const free = used.indexOf(false);
    s.target.port = free;
    used[free] = true;
  }
}

/* ------------------------------------------------------------------ domain */

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
      throw configUnsupported('Only the first console can be a serial port');
    }
  }
  if (def.os.type !== 'hvm') return;
  const c0 = d.consoles[0];
  if (c0 !== undefined && (c0.target.type === 'serial' || c0.target.type === undefined)) {
    if (d.serials.length === 0) {
      const serial: ChrDef = { ...c0, target: { port: 0 } };
      d.serials.push(serial);
      d.consoles[0] = consoleAlias(serial);
      return;
    }
    if (!chrSourceEqual(d.serials[0]!, c0)) d.consoles[0] = consoleAlias(d.serials[0]!);
    else c0.target = { type: 'serial', port: 0 };
  } else if (d.serials.length > 0 && (d.serials[0]!.target.type === undefined || d.serials[0]!.target.type === 'isa-serial')) {
    d.consoles.unshift(consoleAlias(d.serials[0]!));
  }
}

function timerChecks(def: DomainDef): void {
  for (const t of def.clock.timers) {
    if ((t.name === 'kvmclock' || t.name === 'hypervclock') && t.tickpolicy !== undefined) {
      throw configUnsupported(`timer ${t.name} doesn't support setting of timer tickpolicy`);
    }
    if (t.tickpolicy !== 'catchup' && t.catchup && (t.catchup.threshold || t.catchup.limit || t.catchup.slew)) {
      throw xmlError("setting of timer catchup policies is only supported with tickpolicy='catchup'");
    }
    if (t.name !== 'tsc') {
      if (t.frequency) throw configUnsupported(`timer ${t.name} doesn't support setting of timer frequency`);
      if (t.mode !== undefined) throw configUnsupported(`timer ${t.name} doesn't support setting of timer mode`);
    }
    if (t.name !== 'platform' && t.name !== 'rtc' && t.track !== undefined) {
      throw configUnsupported(`timer ${t.name} doesn't support setting of timer track`);
    }
  }
}

/**
 * Domain-wide defaults (virDomainDefPostParseCommon); returns the devices whose device
 * post-parse libvirt runs again afterwards (they may have been created here).
 */
function domainPostParseCommon(def: DomainDef): DeviceRef[] {
  const created: DeviceRef[] = [];
  // memory: NUMA cells define the total when <memory> is absent
  const cells = def.cpu?.numa?.cells;
  if (def.memory === 0 && cells && cells.length) def.memory = cells.reduce((a, c) => a + c.memory, 0);
  if (def.memory === 0) throw xmlError('Memory size must be specified via <memory> or in the <numa> configuration');
  if (def.currentMemory === 0 || def.currentMemory > def.memory) def.currentMemory = def.memory;
  if (def.maxMemory && def.maxMemory.size === 0 && def.maxMemory.slots > 0) {
    throw xmlError('maximum memory size must be specified when specifying number of memory slots');
  }
  if (def.maxMemory && def.maxMemory.size < def.memory) {
    throw xmlError('maximum memory size must be equal or greater than the actual memory size');
  }
  // vCPU placement 'auto' implies automatic NUMA memory placement (virDomainDefParseXML)
  if (def.vcpu.placement === 'auto' && def.passthrough.numatune === undefined) {
    def.passthrough.numatune = { name: 'numatune', attrs: [], children: [{ name: 'memory', attrs: [['mode', 'strict'], ['placement', 'auto']], children: [] }] };
  }
  // os: a loader with a path is a ROM unless said otherwise
  if (def.os.loader?.path !== undefined && def.os.loader.type === undefined) def.os.loader.type = 'rom';
  // memtune: without guest NUMA a hugepage nodeset of just node 0 means no nodeset
  if (!(cells && cells.length)) for (const p of def.memoryBacking?.hugepages?.pages ?? []) if (p.nodeset === '0') delete p.nodeset;

  const ctrl = new Set<string>();
  for (const c of def.devices.controllers) {
    if (c.type === 'usb') continue; // USB companions share their master's index
    const key = `${c.type}/${c.index}`;
    if (ctrl.has(key)) throw xmlError(`Multiple '${c.type}' controllers with index '${c.index}'`);
    ctrl.add(key);
  }
  const panicModels = new Set<string>();
  for (const p of def.devices.panics) {
    const m = p.model ?? 'default';
    if (panicModels.has(m)) throw xmlError(`Multiple panic devices with model '${m}'`);
    panicModels.add(m);
  }

  // boot order: os/boot and per-device boot are exclusive; default to hd
  if (def.os.type === 'hvm') {
    const orders = new Set<number>();
    for (const ref of listDevices(def)) {
      const b = (ref.def as { boot?: { order: number } }).boot;
      if (!b) continue;
      if (orders.has(b.order)) {
        throw configUnsupported(`boot order '${b.order}' used for more than one device`);
      }
      orders.add(b.order);
    }
    if (orders.size > 0 && def.os.boots.length > 0) {
      throw configUnsupported('per-device boot elements cannot be used together with os/boot elements');
    }
    if (def.os.boots.length === 0 && orders.size === 0 && def.bootloader === undefined) def.os.boots.push('hd');
  }
  timerChecks(def);

  // implicit devices
  consoleCompat(def);
  addImplicitControllers(def);
  const d = def.devices;
  if (d.videos.length === 0 && d.graphics.length > 0 && !d.graphics.every((g) => g.type === 'egl-headless')) {
    const v: VideoDef = { model: { type: 'default' } };
    d.videos.push(v);
  }
  const v0 = d.videos[0];
  if (v0 !== undefined && v0.model.type !== 'none') {
    v0.model.primary = true;
    created.push({ kind: 'video', def: v0 });
  }
  // serials[0] may be the console's new alias; SCSI controllers without a model may be
  // implicit ones (virDomainDefPostParseCommon runs the device post-parse on both again)
  if (d.serials[0] !== undefined) created.push({ kind: 'serial', def: d.serials[0] });
  for (const c of d.controllers) if (c.type === 'scsi' && c.model === undefined) created.push({ kind: 'controller', def: c });
  return created;
}

/** Runs the post-parse sequence (see the module header). */
export function postParse(def: DomainDef, config: DomainParserConfig, ctx: ParseContext): void {
  config.postParseBasic?.(def, ctx);
  assignControllerIndexes(def);
  config.postParse?.(def, ctx);
  isaSerialPorts(def);
  for (const dev of listDevices(def)) {
    config.devicePostParse?.(dev, def, ctx);
    devicePostParseCommon(dev, def);
  }
  // devices the common defaults may have added get their device post-parse again, as
  // libvirt re-runs it for videos[0], serials[0] and model-less SCSI controllers
  for (const dev of domainPostParseCommon(def)) {
    config.devicePostParse?.(dev, def, ctx);
    devicePostParseCommon(dev, def);
  }
  config.assignAddresses?.(def, ctx);
}
