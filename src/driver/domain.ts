/**
 * The bhyve driver's parse hooks (libvirt src/bhyve/bhyve_domain.c), handed to the XML
 * layer as a `DomainParserConfig`: implicit controllers (pci-root; the ISA/LPC bridge when
 * a serial port, UEFI or a framebuffer needs it; virtio-serial controllers for virtio
 * channels, 16 ports each), defaults (video model → gop, virtio-serial ports → 16, loader
 * type → rom, nmdm paths from the UUID, drive addresses of SATA/NVMe disks from their
 * names, clock → localtime where bhyve has no UTC RTC), PCI address assignment
 * (address.ts), and libvirt's bhyve validation (what bhyve cannot run is refused with
 * VIR_ERR_CONFIG_UNSUPPORTED, naming the thing).
 *
 * These are the hook bodies; hooks.ts wires them into a `DomainParserConfig`, and
 * defaults.ts reapplies them to definitions that did not come through the parser.
 */

import type { ChrDef, ControllerDef, DeviceRef, DiskBus, DiskDef, DomainDef } from '../xml/types.js';
import { type BhyveHost, hasCap, isX86 } from './capabilities.js';
import { addController, maybeAddController } from '../xml/domain/controller.js';
import { busFromTargetName, parseDiskName } from '../xml/domain/disk.js';
import { unsupported, xmlError } from './errors.js';

/** bhyve supports 16 ports per virtio-console device. */
export const VIRTIO_CONSOLE_MAX_PORTS = 16;

/** The disk's bus; derived as libvirt's post-parse does when absent (not parsed from XML). */
export function diskBus(disk: DiskDef): DiskBus {
  return disk.target.bus ?? busFromTargetName(disk.target.dev, disk.device);
}

/** Whether a domain is handled with bhyve semantics at parse time (see compat.ts). */
export function isBhyveTyped(def: DomainDef): boolean {
  return def.type === 'bhyve';
}

/** bhyveDomainDefNeedsISAController. */
export function needsIsaController(def: DomainDef): boolean {
  if (!isX86(def.os.arch)) return false;
  if (def.bootloader === undefined && def.os.loader) return true;
  if (def.os.firmware === 'efi') return true;
  if (def.devices.serials.length > 0 || def.devices.consoles.length > 0) return true;
  if (def.devices.graphics.length > 0 && def.devices.videos.length > 0) return true;
  return false;
}

function isVirtioChannel(chr: ChrDef): boolean {
  return chr.target.type === 'virtio';
}

/** bhyveDomainDefPostParse (bhyve-typed domains). */
export function bhyvePostParse(def: DomainDef, host: BhyveHost): void {
  if (def.os.type !== 'hvm') throw unsupported(`No guest options available for os type '${def.os.type}'`);
  if (def.os.arch !== undefined && def.os.arch !== host.arch) {
    throw unsupported(`No guest options available for arch '${def.os.arch}'`);
  }
  maybeAddController(def, 'pci', 0, 'pci-root');
  if (needsIsaController(def)) maybeAddController(def, 'isa', 0);

  // Without a UTC-capable RTC (bhyve on arm64) the default UTC clock is not available.
  if (def.clock.offset === 'utc' && !hasCap(host, 'RTC_UTC')) def.clock.offset = 'localtime';

  const loader = def.os.loader;
  if (loader && loader.path !== undefined && loader.type === undefined) loader.type = 'rom';

  const channels = def.devices.channels.filter(isVirtioChannel).length;
  const existing = def.devices.controllers.filter((c) => c.type === 'virtio-serial').length;
  const wanted = Math.ceil(channels / VIRTIO_CONSOLE_MAX_PORTS);
  for (let i = existing; i < wanted; i++) {
    const cont = addController(def, 'virtio-serial', -1);
    cont.ports = VIRTIO_CONSOLE_MAX_PORTS;
  }
}

/** bhyveDomainDiskDefAssignAddress: drive addresses of SATA and NVMe disks. */
export function assignDiskDriveAddress(disk: DiskDef, host: BhyveHost): void {
  const name = parseDiskName(disk.target.dev);
  if (!name) throw xmlError(`Unknown disk name '${disk.target.dev}' and no address specified`);
  switch (diskBus(disk)) {
    case 'sata':
      if (hasCap(host, 'AHCI32SLOT')) {
        disk.address = { type: 'drive', controller: Math.floor(name.disk / 32), bus: 0, target: 0, unit: name.disk % 32 };
      } else {
        disk.address = { type: 'drive', controller: name.disk, bus: 0, target: 0, unit: 0 };
      }
      break;
    case 'nvme':
      disk.address = { type: 'drive', controller: name.controller, bus: name.disk, target: 0, unit: 0 };
      break;
    default:
      break;
  }
}

function controllerPostParse(cont: ControllerDef): void {
  if (cont.type === 'pci' && (cont.model === 'pci-root' || cont.model === 'pcie-root') && cont.index !== 0) {
    throw xmlError('pci-root and pcie-root controllers should have index 0');
  }
  if (cont.type === 'virtio-serial' && cont.ports === undefined) cont.ports = VIRTIO_CONSOLE_MAX_PORTS;
}

/** bhyveDomainDeviceDefPostParse (bhyve-typed domains). */
export function bhyveDevicePostParse(dev: DeviceRef, def: DomainDef, host: BhyveHost): void {
  switch (dev.kind) {
    case 'disk':
      if (dev.def.address === undefined) assignDiskDriveAddress(dev.def, host);
      break;
    case 'controller':
      controllerPostParse(dev.def);
      break;
    case 'video':
      if (dev.def.model.type === 'default') dev.def.model.type = 'gop';
      break;
    case 'serial':
    case 'console':
    case 'channel':
    case 'parallel': {
      const chr = dev.def;
      if (chr.type !== 'nmdm') break;
      const src = chr.sources[0] ?? {};
      if (chr.sources.length === 0) chr.sources.push(src);
      if (src.master === undefined) {
        src.master = `/dev/nmdm${def.uuid}A`;
        src.slave = `/dev/nmdm${def.uuid}B`;
      }
      break;
    }
    default:
      break;
  }
}

/** Serial backends bhyve's `-l comN,` takes; tsbhyve adds more (SERIAL_BACKENDS). */
function serialTypeSupported(type: string, host: BhyveHost): boolean {
  if (type === 'nmdm' || type === 'tcp') return true;
  if (type === 'pty' && hasCap(host, 'CONSOLE_SOCKET')) return true;
  return hasCap(host, 'SERIAL_BACKENDS') && ['stdio', 'file', 'unix', 'null'].includes(type);
}

/** bhyveDomainDeviceDefValidate. */
export function bhyveDeviceValidate(dev: DeviceRef, host: BhyveHost): void {
  switch (dev.kind) {
    case 'controller': {
      const c = dev.def;
      if (c.type === 'isa' && c.index !== 0) throw unsupported("Bhyve ISA controller can only have index '0'");
      if (c.type === 'virtio-serial' && (c.ports ?? 0) > VIRTIO_CONSOLE_MAX_PORTS) {
        throw unsupported('Bhyve virtio-serial controller supports up to 16 ports');
      }
      break;
    }
    case 'rng': {
      const r = dev.def;
      if (r.model !== 'virtio') throw unsupported("Only 'virtio' RNG device model is supported");
      if (r.backend.model !== 'random') throw unsupported("Only 'random' backend model is supported");
      if ((r.backend.device ?? '/dev/random') !== '/dev/random') throw unsupported('Only /dev/random source is supported');
      break;
    }
    case 'serial': {
      const chr = dev.def;
      if (!serialTypeSupported(chr.type, host)) {
        throw unsupported(
          hasCap(host, 'SERIAL_BACKENDS')
            ? `serial type '${chr.type}' is not supported (${hasCap(host, 'CONSOLE_SOCKET') ? 'pty, ' : ''}nmdm, tcp, stdio, file, unix, null are)`
            : "Only 'nmdm' and 'tcp' console types are supported",
        );
      }
      if ((chr.target.port ?? 0) > 3) throw unsupported('Only four serial ports are supported');
      if (chr.type === 'unix' && chr.sources[0]?.mode === 'connect') {
        throw unsupported('Only listening UNIX sockets are supported for serial ports');
      }
      if (chr.type === 'tcp') {
        if (chr.sources[0]?.mode !== 'bind') throw unsupported('Only listening TCP sockets are supported');
        if ((chr.protocol ?? 'raw') !== 'raw') throw unsupported("Only 'raw' protocol is supported for TCP sockets");
      }
      break;
    }
    case 'channel': {
      const chr = dev.def;
      if (chr.target.type === 'virtio' && chr.type === 'unix') {
        if (chr.target.name?.includes(',')) throw unsupported("Commas (',') are not allowed in channel names");
        if (chr.sources[0]?.path?.includes(',')) throw unsupported("Commas (',') are not allowed in UNIX socket paths");
      }
      break;
    }
    case 'disk': {
      const disk = dev.def;
      const bus = diskBus(disk);
      if (disk.target.rotation_rate && bus !== 'sata') throw unsupported('rotation rate is only valid for SATA bus');
      if ((disk.driver?.queues || disk.driver?.queue_size) && bus !== 'nvme') {
        throw unsupported('queue configuration is only valid for NVMe bus');
      }
      break;
    }
    case 'interface': {
      const net = dev.def;
      if (net.type === 'user' && (net.ips?.length ?? 0) > 0) {
        throw unsupported('setting IP addresses for SLIRP networking is not supported');
      }
      break;
    }
    default:
      break;
  }
}

/** bhyveDomainDefValidate. */
export function bhyveValidate(def: DomainDef, host: BhyveHost): void {
  const nvmeControllers = new Set<number>();
  for (const disk of def.devices.disks) {
    if (diskBus(disk) !== 'nvme') continue;
    const name = parseDiskName(disk.target.dev);
    if (!name) throw xmlError(`Unknown disk name '${disk.target.dev}' and no address specified`);
    if (nvmeControllers.has(name.controller)) throw unsupported('Cannot have more than one disk per NVMe controller');
    nvmeControllers.add(name.controller);
  }
  if (def.devices.hostdevs.length > 0 && !def.memoryBacking?.locked) {
    throw unsupported('using passthrough devices requires locking guest memory');
  }
  const cells = def.cpu?.numa?.cells ?? [];
  if (cells.length > 0) {
    if (!isX86(def.os.arch ?? host.arch)) throw unsupported('NUMA domains are only supported on x86_64');
    if (cells.length > 8) throw unsupported('Only up to 8 NUMA domains are supported');
    cells.forEach((cell, i) => {
      if (!cell.cpus) throw unsupported(`NUMA domain id ${i}: empty cpusets are not allowed`);
    });
  }
  const blkio = def.blkiotune ?? { devices: [] };
  if (blkio.devices.length > 1) throw unsupported('Per device I/O tuning is not supported');
  const blkdev = blkio.devices[0];
  if (blkdev) {
    if (blkdev.path !== '*') throw unsupported('Per device I/O tuning is not supported');
    if (blkdev.weight !== undefined && blkdev.weight !== 0) {
      throw unsupported("The 'weight' I/O tuning setting does not make sense with '*'");
    }
  }
  const mem = def.memtune ?? {};
  if (mem.soft_limit !== undefined || mem.swap_hard_limit !== undefined || (mem.min_guarantee ?? 0) > 0) {
    throw unsupported("Only 'hard_limit' memory tuning parameter is supported by bhyve");
  }
  const nvram = def.os.nvram;
  if (def.os.loader && nvram) {
    if (nvram.type !== undefined && nvram.type !== 'file') throw unsupported("only 'file' type is supported with NVRAM");
  }
}
