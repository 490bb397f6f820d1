/**
 * `<devices>`: dispatches each child to its family parser, keeps libvirt's list order
 * rules (disks grouped by bus and sorted by target, controllers by type and index,
 * console/serial/parallel port numbering), and writes the families back in libvirt's
 * order (virDomainDefFormatInternal): emulator, disks, controllers, leases, filesystems,
 * interfaces, smartcards, serials, parallels, consoles, channels, inputs, tpms, graphics,
 * sounds, audios, videos, hostdevs, redirdevs, redirfilter, hubs, watchdogs, memballoon,
 * rngs, nvram, panics, shmems, memories, iommu, vsock, cryptos.
 * Unknown children are ignored, as libvirt does without schema validation.
 */

import { configUnsupported } from '../errors.js';
import type { Writer } from '../format/writer.js';
import { xmlValueError } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { ChrDef, DiskDef, DomainDevices } from '../types.js';
import { formatChr, parseChr } from './chardev.js';
import type { FormatCtx, ParseCtx } from './context.js';
import { formatController, insertController, parseController } from './controller.js';
import { busFromTargetName, diskNameToIndex, formatDisk, parseDisk } from './disk.js';
import { formatGraphics, parseGraphics } from './graphics.js';
import { formatFilesystem, formatHostdev, parseFilesystem, parseHostdev } from './hostdev-fs.js';
import { formatInterface, parseInterface } from './interface.js';
import { type DomainFacts, formatAudio, formatInput, formatSound, formatVideo, parseAudio, parseInput, parseSound, parseVideo } from './media.js';
import {
  formatMemballoon,
  formatPanic,
  formatRng,
  formatTpm,
  formatWatchdog,
  parseMemballoon,
  parsePanic,
  parseRng,
  parseTpm,
  parseWatchdog,
} from './misc-devices.js';

/** An empty device set. */
export function emptyDevices(): DomainDevices {
  return {
    disks: [],
    controllers: [],
    leases: [],
    filesystems: [],
    interfaces: [],
    smartcards: [],
    serials: [],
    parallels: [],
    consoles: [],
    channels: [],
    inputs: [],
    tpms: [],
    graphics: [],
    sounds: [],
    audios: [],
    videos: [],
    hostdevs: [],
    redirdevs: [],
    redirfilters: [],
    hubs: [],
    watchdogs: [],
    rngs: [],
    panics: [],
    shmems: [],
    memories: [],
    cryptos: [],
  };
}

/**
 * Where libvirt inserts a disk (virDomainDiskInsertPreAlloced): after its bus peers, by
 * target index. `buses` holds the bus each listed disk had when it was inserted (parallel
 * to `list`); pass the disks' own buses when inserting into a finished definition.
 */
export function insertDisk(list: DiskDef[], disk: DiskDef, buses: Array<string | undefined> = list.map((d) => d.target.bus)): number {
  let insertAt = -1;
  const idx = diskNameToIndex(disk.target.dev);
  const bus = disk.target.bus;
  for (let i = list.length - 1; i >= 0; i--) {
    if (buses[i] !== bus) continue;
    if (diskNameToIndex(list[i]!.target.dev) > idx) insertAt = i;
    else if (insertAt === -1) insertAt = i + 1;
  }
  if (insertAt === -1) insertAt = list.length;
  list.splice(insertAt, 0, disk);
  return insertAt;
}


/** Parses `<devices>` into `devs`. */
export function parseDevices(el: Elem, devs: DomainDevices, ctx: ParseCtx, facts: DomainFacts): void {
  const diskBuses: Array<string | undefined> = [];
  for (const c of el.children()) {
    switch (c.name) {
      case 'emulator':
        devs.emulator ??= c.text();
        break;
      case 'disk': {
        const d = parseDisk(c, ctx);
        // libvirt groups by the bus as written (an absent bus groups with other absent
        // ones) and derives the missing bus from the target name afterwards.
        diskBuses.splice(insertDisk(devs.disks, d, diskBuses), 0, d.target.bus);
        d.target.bus ??= busFromTargetName(d.target.dev, d.device);
        break;
      }
      case 'controller':
        insertController(devs.controllers, parseController(c, ctx));
        break;
      case 'lease':
        devs.leases.push(c.toXmlElement());
        break;
      case 'filesystem':
        devs.filesystems.push(parseFilesystem(c, ctx));
        break;
      case 'interface':
        devs.interfaces.push(parseInterface(c, ctx));
        break;
      case 'smartcard':
        devs.smartcards.push(c.toXmlElement());
        break;
      case 'serial': {
        devs.serials.push(parseChr(c, 'serial', ctx));
        break;
      }
      case 'parallel': {
        devs.parallels.push(parseChr(c, 'parallel', ctx));
        break;
      }
      case 'console': {
        const con = parseChr(c, 'console', ctx);
        con.target.port = devs.consoles.length;
        devs.consoles.push(con);
        break;
      }
      case 'channel':
        devs.channels.push(parseChr(c, 'channel', ctx));
        break;
      case 'input':
        devs.inputs.push(parseInput(c, ctx, facts));
        break;
      case 'tpm':
        devs.tpms.push(parseTpm(c, ctx));
        break;
      case 'graphics':
        devs.graphics.push(parseGraphics(c, ctx));
        break;
      case 'sound':
        devs.sounds.push(parseSound(c, ctx));
        break;
      case 'audio':
        devs.audios.push(parseAudio(c));
        break;
      case 'video': {
        const v = parseVideo(c, ctx, facts);
        // libvirt puts the primary video first
        if (v.model.primary) {
          if (devs.videos[0]?.model.primary) throw xmlValueError('Only one primary video device is supported');
          devs.videos.unshift(v);
        } else devs.videos.push(v);
        break;
      }
      case 'hostdev':
        devs.hostdevs.push(parseHostdev(c, ctx));
        break;
      case 'redirdev':
        devs.redirdevs.push(c.toXmlElement());
        break;
      case 'redirfilter':
        devs.redirfilters.push(c.toXmlElement());
        break;
      case 'hub':
        devs.hubs.push(c.toXmlElement());
        break;
      case 'watchdog':
        devs.watchdogs.push(parseWatchdog(c, ctx));
        break;
      case 'memballoon':
        if (devs.memballoon) throw configUnsupported('only a single memory balloon device is supported');
        devs.memballoon = parseMemballoon(c, ctx);
        break;
      case 'rng':
        devs.rngs.push(parseRng(c, ctx));
        break;
      case 'nvram':
        devs.nvram ??= c.toXmlElement();
        break;
      case 'panic':
        devs.panics.push(parsePanic(c, ctx));
        break;
      case 'shmem':
        devs.shmems.push(c.toXmlElement());
        break;
      case 'memory':
        devs.memories.push(c.toXmlElement());
        break;
      case 'iommu':
        if (devs.iommu) throw configUnsupported('only a single IOMMU device is supported');
        devs.iommu = c.toXmlElement();
        break;
      case 'vsock':
        if (devs.vsock) throw configUnsupported('only a single vsock device is supported');
        devs.vsock = c.toXmlElement();
        break;
      case 'crypto':
        devs.cryptos.push(c.toXmlElement());
        break;
      default:
        break;
    }
  }
}

/**
 * Writes `<devices>`. For HVM guests a console whose target is `serial` (or unset) is an
 * alias of serial[n] and is written from that serial's source (libvirt's back-compat).
 */
export function formatDevices(w: Writer, devs: DomainDevices, ctx: FormatCtx, hvm: boolean): void {
  w.open('devices', '');
  if (devs.emulator !== undefined) w.textElem('emulator', '', devs.emulator);
  for (const d of devs.disks) formatDisk(w, d, ctx);
  for (const c of devs.controllers) formatController(w, c, ctx);
  for (const x of devs.leases) w.raw(x);
  for (const f of devs.filesystems) formatFilesystem(w, f, ctx);
  for (const i of devs.interfaces) formatInterface(w, i, ctx);
  for (const x of devs.smartcards) w.raw(x);
  for (const s of devs.serials) formatChr(w, 'serial', s, ctx);
  for (const p of devs.parallels) formatChr(w, 'parallel', p, ctx);
  for (let n = 0; n < devs.consoles.length; n++) {
    const con = devs.consoles[n]!;
    const serial = devs.serials[n];
    if (hvm && (con.target.type === 'serial' || con.target.type === undefined) && serial !== undefined) {
      const alias: ChrDef = { ...serial, target: { type: 'serial', port: serial.target.port ?? 0 } };
      formatChr(w, 'console', alias, ctx);
    } else formatChr(w, 'console', con, ctx);
  }
  for (const c of devs.channels) formatChr(w, 'channel', c, ctx);
  for (const i of devs.inputs) formatInput(w, i, ctx);
  for (const t of devs.tpms) formatTpm(w, t, ctx);
  for (const g of devs.graphics) formatGraphics(w, g, ctx);
  for (const s of devs.sounds) formatSound(w, s, ctx);
  for (const a of devs.audios) formatAudio(w, a);
  for (const v of devs.videos) formatVideo(w, v, ctx);
  for (const h of devs.hostdevs) formatHostdev(w, h, ctx);
  for (const x of devs.redirdevs) w.raw(x);
  for (const x of devs.redirfilters) w.raw(x);
  for (const x of devs.hubs) w.raw(x);
  for (const wd of devs.watchdogs) formatWatchdog(w, wd, ctx);
  if (devs.memballoon) formatMemballoon(w, devs.memballoon, ctx);
  for (const r of devs.rngs) formatRng(w, r, ctx);
  if (devs.nvram) w.raw(devs.nvram);
  for (const p of devs.panics) formatPanic(w, p, ctx);
  for (const x of devs.shmems) w.raw(x);
  for (const x of devs.memories) w.raw(x);
  if (devs.iommu) w.raw(devs.iommu);
  if (devs.vsock) w.raw(devs.vsock);
  for (const x of devs.cryptos) w.raw(x);
  w.close('devices');
}
