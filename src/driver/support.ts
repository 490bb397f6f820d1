/**
 * The capabilities check: every part of a live definition is either translated by the
 * builders or refused here with VIR_ERR_CONFIG_UNSUPPORTED naming the element — nothing
 * is silently dropped. libvirt's bhyve driver ignores many elements it cannot honour
 * (timers, balloons, CPU models, watchdogs, ...); tsvirt refuses them instead, and maps
 * them with a warning only for XML written for QEMU/KVM (compat.ts, before this check).
 *
 * Also reruns libvirt's bhyve validation (domain.ts) so that definitions which did not
 * come through the parser hooks get the same refusals. Read-only on the definition;
 * notes that are not refusals are appended to `warnings`.
 */

import type { DeviceInfo, DomainDef, XmlElement } from '../xml/types.js';
import { type BhyveHost, isArm, isX86 } from './capabilities.js';
import { bhyveDeviceValidate, bhyveValidate, diskBus } from './domain.js';
import { unsupported } from './errors.js';
import { cputuneOtherElements } from './tunables.js';

function refuse(what: string): never {
  throw unsupported(`${what} is not supported by the bhyve driver`);
}

function attrOf(el: XmlElement, name: string): string | undefined {
  return el.attrs.find(([k]) => k === name)?.[1];
}

/** Per-device info that bhyve has no place for. */
function checkInfo(info: DeviceInfo, what: string, opts: { boot?: boolean; rom?: boolean } = {}): void {
  if (info.boot !== undefined && !opts.boot) refuse(`<boot order> on ${what}`);
  if (info.rom !== undefined && !opts.rom) refuse(`<rom> on ${what}`);
  if (info.acpi !== undefined) refuse(`<acpi index> on ${what}`);
  const a = info.address;
  if (a !== undefined && a.type !== 'pci' && a.type !== 'drive' && a.type !== 'virtio-serial') {
    refuse(`address type '${a.type}' on ${what}`);
  }
}

function checkDomain(def: DomainDef, warnings: string[]): void {
  if (def.maxMemory) refuse('<maxMemory> (memory hotplug)');
  if (def.currentMemory !== def.memory) refuse('<currentMemory> below <memory> (ballooning)');
  const mb = def.memoryBacking;
  if (mb) {
    for (const k of ['hugepages', 'nosharepages', 'source', 'access', 'allocation', 'discard'] as const) {
      if (mb[k] !== undefined) refuse(`<memoryBacking><${k}>`);
    }
  }
  if (def.vcpu.current !== undefined && def.vcpu.current !== def.vcpu.count) refuse("<vcpu current> (vCPU hotplug)");
  if (def.vcpu.placement === 'auto') refuse("<vcpu placement='auto'>");
  if (def.iothreads !== undefined || (def.iothreadids?.length ?? 0) > 0) refuse('<iothreads>');
  if (def.genid !== undefined) refuse('<genid>');
  if (def.on_lockfailure !== undefined) refuse('<on_lockfailure>');
  const os = def.os;
  if (os.machine !== undefined) refuse(`machine type '${os.machine}'`);
  for (const k of ['dtb', 'root', 'init', 'initdir'] as const) if (os[k] !== undefined) refuse(`<os><${k}>`);
  if ((os.initargs?.length ?? 0) > 0 || (os.initenvs?.length ?? 0) > 0) refuse('<os><initarg>/<initenv>');
  if ((os.acpiTables?.length ?? 0) > 0) refuse('<os><acpi><table>');
  if (os.bootmenu?.enable === 'yes') refuse("<bootmenu enable='yes'>");
  if (os.bios !== undefined) refuse('<os><bios>');
  if (os.smbios?.mode === 'host') refuse("<smbios mode='host'>");
  if (os.firmwareFeatures?.some((f) => f.enabled === 'yes')) refuse('<os><firmware><feature enabled=yes>');
  if (os.loader?.secure === 'yes') refuse("<loader secure='yes'> (Secure Boot)");
  if (os.loader?.stateless === 'yes') refuse("<loader stateless='yes'>");
  if (os.loader && def.bootloader === undefined && os.boots.some((b) => b !== 'hd')) {
    warnings.push(`<boot dev='${os.boots.join(',')}'>: with UEFI the firmware decides the boot order (use <boot order> on disks)`);
  }
  if (os.kernel !== undefined && def.bootloader !== undefined) refuse('<os><kernel> together with <bootloader>');

  const f = def.features;
  if (f) {
    for (const [k, v] of Object.entries(f)) {
      if (v === undefined) continue;
      switch (k) {
        case 'acpi':
        case 'pae':
        case 'msrs':
          break;
        case 'apic':
          if (f.apic?.eoi !== undefined) refuse('<apic eoi>');
          break;
        case 'hap':
          if (f.hap?.state === 'off') refuse("<hap state='off'>");
          break;
        case 'vmport':
          if (f.vmport?.state !== 'off') refuse('<vmport>');
          break;
        case 'other':
          if (f.other && f.other.length > 0) refuse(`feature <${f.other[0]!.name}>`);
          break;
        default:
          refuse(`feature <${k}>`);
      }
    }
  }
  const cpu = def.cpu;
  if (cpu) {
    if (cpu.mode !== undefined && cpu.mode !== 'host-passthrough') refuse(`<cpu mode='${cpu.mode}'> (bhyve gives the guest the host CPU)`);
    if (cpu.model !== undefined) refuse(`CPU model '${cpu.model.name}'`);
    if (cpu.vendor !== undefined) refuse('<cpu><vendor>');
    if (cpu.features.length > 0) refuse(`CPU feature '${cpu.features[0]!.name}'`);
    if (cpu.cache !== undefined) refuse('<cpu><cache>');
    if (cpu.maxphysaddr !== undefined) refuse('<cpu><maxphysaddr>');
    if (cpu.numa?.interconnects !== undefined) refuse('<numa><interconnects>');
    for (const cell of cpu.numa?.cells ?? []) {
      if (cell.memAccess !== undefined || cell.discard !== undefined || (cell.distances?.length ?? 0) > 0 || (cell.extra?.length ?? 0) > 0) {
        refuse(`NUMA cell ${cell.id ?? ''} attributes other than id/cpus/memory`);
      }
    }
  }
  if (def.clock.timers.length > 0) refuse(`clock timer '${def.clock.timers[0]!.name}'`);
  if (def.clock.adjustment !== undefined) refuse('<clock adjustment>');
  if (def.pm?.['suspend-to-mem']?.enabled === 'yes') refuse('<pm><suspend-to-mem>');
  if (def.pm?.['suspend-to-disk']?.enabled === 'yes') refuse('<pm><suspend-to-disk>');
  const p = def.passthrough;
  for (const k of ['vcpus', 'numatune', 'resource', 'perf', 'idmap', 'keywrap', 'launchSecurity'] as const) {
    if (p[k] !== undefined) refuse(`<${k}>`);
  }
  for (const sl of p.seclabels ?? []) {
    if (attrOf(sl, 'type') !== 'none') refuse('<seclabel> other than type none');
  }
  const otherTune = cputuneOtherElements(def.cputune);
  if (otherTune.length > 0) refuse(`<cputune><${otherTune[0]}>`);
  if (def.namespaceData && Object.keys(def.namespaceData).length > 0) {
    refuse(`XML namespace '${Object.keys(def.namespaceData)[0]}'`);
  }
}

function checkDisks(def: DomainDef): void {
  for (const disk of def.devices.disks) {
    const what = `disk '${disk.target.dev}'`;
    const bus = diskBus(disk);
    if (bus !== 'virtio' && bus !== 'sata' && bus !== 'nvme' && bus !== 'scsi') {
      throw unsupported(`unsupported disk bus '${bus ?? 'unknown'}' for ${what} (virtio, sata, nvme and scsi are)`);
    }
    if (disk.device !== 'disk' && disk.device !== 'cdrom') throw unsupported(`unsupported disk device '${disk.device}' for ${what}`);
    if (disk.device === 'cdrom' && bus !== 'sata') throw unsupported(`${what}: cdroms must be on the sata bus`);
    if (!['file', 'block', 'volume', 'ctl'].includes(disk.type)) throw unsupported(`unsupported disk type '${disk.type}' for ${what}`);
    if (disk.type === 'ctl' && bus !== 'scsi') throw unsupported(`${what}: CAM target disks (type='ctl') must be on the scsi bus`);
    if (disk.model !== undefined && disk.model !== 'virtio') refuse(`disk model '${disk.model}' on ${what}`);
    for (const k of ['rawio', 'sgio', 'auth', 'backingStore', 'geometry', 'iotune', 'transient', 'shareable', 'vendor', 'product', 'encryption'] as const) {
      if (disk[k] !== undefined) refuse(`<${k}> on ${what}`);
    }
    if (disk.wwn !== undefined && bus !== 'nvme') refuse(`<wwn> on ${what} (NVMe only, as EUI-64)`);
    const drv = disk.driver;
    if (drv) {
      for (const k of ['error_policy', 'rerror_policy', 'ioeventfd', 'event_idx', 'copy_on_read', 'detect_zeroes', 'iothread', 'metadata_cache'] as const) {
        if (drv[k] !== undefined) refuse(`<driver ${k}> on ${what}`);
      }
      if (drv.io !== undefined && drv.io !== 'threads') refuse(`<driver io='${drv.io}'> on ${what}`);
    }
    const src = disk.source;
    if (src) {
      if (src.startupPolicy !== undefined) refuse(`startupPolicy on ${what}`);
      if ((src.hosts?.length ?? 0) > 0 || src.protocol !== undefined) refuse(`network source on ${what}`);
      if ((src.extra?.length ?? 0) > 0) refuse(`<source><${src.extra![0]!.name}> on ${what}`);
    }
    if (disk.target.removable !== undefined) refuse(`<target removable> on ${what}`);
    if (disk.target.tray === 'open') refuse(`an open cdrom tray on ${what}`);
    checkInfo(disk, what, { boot: true });
  }
}

function checkControllers(def: DomainDef): void {
  for (const c of def.devices.controllers) {
    const what = `controller '${c.type}' index ${c.index}`;
    switch (c.type) {
      case 'pci':
      case 'sata':
      case 'isa':
      case 'virtio-serial':
      case 'nvme':
      case 'scsi':
        break;
      case 'usb':
        if (c.model !== 'nec-xhci' && c.model !== 'none') {
          throw unsupported(`USB controller model '${c.model ?? 'default'}' is not supported (nec-xhci only)`);
        }
        break;
      default:
        throw unsupported(`${what} is not supported (bhyve has pci-root, sata, nvme, scsi, usb nec-xhci, isa, virtio-serial)`);
    }
    for (const k of ['vectors', 'maxGrantFrames', 'maxEventChannels', 'driver', 'master', 'modelName', 'target', 'pcihole64'] as const) {
      if (c[k] !== undefined) refuse(`<${k}> on ${what}`);
    }
    if (c.type !== 'nvme' && c.serial !== undefined) refuse(`<serial> on ${what}`);
    checkInfo(c, what);
  }
}

function checkNets(def: DomainDef): void {
  def.devices.interfaces.forEach((n, i) => {
    const what = `interface ${i} (${n.mac.address})`;
    for (const k of [
      'trustGuestRxFilters', 'managed', 'virtualport', 'routes', 'script', 'downscript', 'backenddomain',
      'guest', 'driver', 'backend', 'filterref', 'tune', 'teaming', 'bandwidth', 'vlan', 'port', 'coalesce',
    ] as const) {
      const v = n[k];
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) refuse(`<${k}> on ${what}`);
    }
    if ((n.extra?.length ?? 0) > 0) refuse(`<${n.extra![0]!.name}> on ${what}`);
    if ((n.ips?.length ?? 0) > 0 && n.type !== 'user') refuse(`<ip> on ${what}`);
    if (n.link?.state === 'down') refuse(`<link state='down'> on ${what}`);
    checkInfo(n, what);
  });
}

function checkChardevs(def: DomainDef, host: BhyveHost): void {
  const d = def.devices;
  if (d.parallels.length > 0) refuse('<parallel> port');
  for (const s of d.serials) {
    const what = `serial port ${s.target.port ?? ''}`;
    if (s.log !== undefined) refuse(`<log> on ${what}`);
    if (s.target.type !== undefined && s.target.type !== 'isa-serial' && !(isArm(host.arch) && s.target.type === 'system-serial')) {
      refuse(`serial target type '${s.target.type}'`);
    }
    if (s.target.model !== undefined && s.target.model !== 'isa-serial' && s.target.model !== '16550a') {
      refuse(`serial model '${s.target.model}'`);
    }
    checkInfo(s, what);
  }
  // A serial-type console is libvirt's alias of serial[0] (whatever its port number).
  for (const c of d.consoles) {
    if (c.target.type !== undefined && c.target.type !== 'serial') refuse(`console target type '${c.target.type}'`);
    if (d.serials.length === 0) refuse('a console without a serial port');
  }
  for (const ch of d.channels) {
    if (ch.target.type !== 'virtio' || ch.type !== 'unix') {
      throw unsupported(`channel '${ch.target.name ?? ch.target.type ?? ''}' of type '${ch.type}' is not supported (virtio channels on unix sockets are)`);
    }
    if (ch.sources[0]?.mode === 'connect') refuse(`channel '${ch.target.name ?? ''}' connecting to a socket (bhyve listens)`);
    checkInfo(ch, `channel '${ch.target.name ?? ''}'`);
  }
}

function checkOthers(def: DomainDef, host: BhyveHost): void {
  const d = def.devices;
  const verbatim: Array<[string, unknown[]]> = [
    ['lease', d.leases],
    ['smartcard', d.smartcards],
    ['redirdev', d.redirdevs],
    ['redirfilter', d.redirfilters],
    ['hub', d.hubs],
    ['watchdog', d.watchdogs],
    ['panic', d.panics],
    ['shmem', d.shmems],
    ['memory', d.memories],
    ['crypto', d.cryptos],
  ];
  for (const [name, list] of verbatim) if (list.length > 0) refuse(`<${name}> device`);
  if (d.iommu) refuse('<iommu>');
  if (d.vsock) refuse('<vsock>');
  if (d.nvram) refuse('<nvram> device');
  if (d.memballoon && d.memballoon.model !== 'none') refuse(`memballoon model '${d.memballoon.model}'`);
  if (d.emulator !== undefined && !/(^|\/)(ts)?bhyve$/.test(d.emulator)) refuse(`emulator '${d.emulator}'`);

  const xhci = d.controllers.some((c) => c.type === 'usb' && c.model === 'nec-xhci');
  for (const input of d.inputs) {
    if (xhci) continue; // the xhci builder checks them (libvirt's rules)
    const ps2 = (input.type === 'mouse' || input.type === 'keyboard') && (input.bus === 'ps2' || input.bus === undefined);
    if (ps2 && isX86(host.arch)) continue; // bhyve's LPC always has the PS/2 controller
    if (input.type === 'tablet' && input.bus === 'usb') {
      throw unsupported("input 'tablet' needs a <controller type='usb' model='nec-xhci'>");
    }
    refuse(`input '${input.type}' on bus '${input.bus ?? 'default'}'`);
  }
  for (const g of d.graphics) {
    if (g.type !== 'vnc') continue; // the framebuffer builder says "Only VNC supported"
    for (const k of ['websocket', 'keymap', 'sharePolicy', 'passwdValidTo', 'connected', 'powerControl', 'audio'] as const) {
      if (g[k] !== undefined) refuse(`<graphics ${k}>`);
    }
  }
  if (d.graphics.length === 0) {
    for (const v of d.videos) if (v.model.type !== 'none') refuse(`video without <graphics> (bhyve's framebuffer is only shown over VNC)`);
  }
  for (const v of d.videos) {
    if (d.graphics.length > 0 && v.model.type !== 'gop') refuse(`video model '${v.model.type}' (gop only)`);
    if ((v.model.heads ?? 1) !== 1) refuse('video with more than one head');
    if (v.model.acceleration !== undefined) refuse('video acceleration');
    for (const k of ['ram', 'vram', 'vram64', 'vgamem'] as const) if (v.model[k] !== undefined) refuse(`video ${k}`);
    if (v.driver?.name !== undefined) refuse(`video driver '${v.driver.name}'`);
  }
  for (const s of d.sounds) if ((s.codecs?.length ?? 0) > 0) refuse('sound <codec>');
  for (const a of d.audios) if (a.type !== 'oss' && a.type !== 'none') throw unsupported(`unsupported audio backend '${a.type}'`);
  for (const fs of d.filesystems) {
    for (const k of ['model', 'multidevs', 'fmode', 'dmode', 'binary', 'space_hard_limit', 'space_soft_limit'] as const) {
      if (fs[k] !== undefined) refuse(`<${k}> on filesystem '${fs.target.dir}'`);
    }
  }
  for (const r of d.rngs) if (r.driver !== undefined) refuse('<driver> on rng');
  for (const h of d.hostdevs) checkInfo(h, 'hostdev', { boot: true, rom: true });
}

/** Refuses whatever the translation would otherwise not honour. */
export function checkSupported(def: DomainDef, host: BhyveHost, warnings: string[] = []): void {
  if (def.os.type !== 'hvm') throw unsupported(`os type '${def.os.type}' is not supported (hvm only)`);
  if (def.os.arch !== undefined && def.os.arch !== host.arch) {
    throw unsupported(`No guest options available for arch '${def.os.arch}'`);
  }
  checkDomain(def, warnings);
  checkDisks(def);
  checkControllers(def);
  checkNets(def);
  checkChardevs(def, host);
  checkOthers(def, host);
  // libvirt's own bhyve validation, for definitions that skipped the parser hooks.
  const d = def.devices;
  for (const x of d.controllers) bhyveDeviceValidate({ kind: 'controller', def: x }, host);
  for (const x of d.rngs) bhyveDeviceValidate({ kind: 'rng', def: x }, host);
  for (const x of d.serials) bhyveDeviceValidate({ kind: 'serial', def: x }, host);
  for (const x of d.channels) bhyveDeviceValidate({ kind: 'channel', def: x }, host);
  for (const x of d.disks) bhyveDeviceValidate({ kind: 'disk', def: x }, host);
  for (const x of d.interfaces) bhyveDeviceValidate({ kind: 'interface', def: x }, host);
  bhyveValidate(def, host);
}
