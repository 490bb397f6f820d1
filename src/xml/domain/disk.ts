/**
 * `<disk>`: parse and format (libvirt virDomainDiskDefParseXML / virDomainDiskDefFormat),
 * plus the disk-name arithmetic libvirt uses for ordering and drive addresses
 * (virDiskNameToIndex) and the bus libvirt infers from a target name.
 *
 * Element order written: driver, auth, source, backingStore, geometry, blockio, target,
 * iotune, readonly, shareable, transient, serial, wwn, vendor, product, encryption, then
 * boot/alias/address. Spec: docs/formatdomain.rst "Hard drives, floppy disks, CDROMs".
 * Not interpreted (kept verbatim): auth, encryption, iotune, backingStore, source children
 * other than `<host>`.
 */

import { VIR_ERR_NO_TARGET, VIR_FROM_DOMAIN, VirError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import {
  enumAttr,
  enumSet,
  onOffAttr,
  uintAttr,
  uintAttrReq,
  xmlValueError,
  yesNoAttr,
} from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { DiskBus, DiskDef, DiskDriver, DiskSource, DiskSourceHost } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';

const DISK_TYPES = enumSet('file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser', 'vhostvdpa', 'ctl');
const DISK_DEVICES = enumSet('disk', 'cdrom', 'floppy', 'lun');
export const DISK_BUSES = enumSet('ide', 'fdc', 'scsi', 'virtio', 'xen', 'usb', 'uml', 'sata', 'sd', 'nvme');
const DISK_MODELS = enumSet('virtio', 'virtio-transitional', 'virtio-non-transitional');
const SGIO = enumSet('filtered', 'unfiltered');
const SNAPSHOT = enumSet('no', 'internal', 'external', 'manual');
const CACHE = enumSet('default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe');
const ERROR_POLICY = enumSet('stop', 'report', 'ignore', 'enospace');
const RERROR_POLICY = enumSet('stop', 'report', 'ignore');
const IO = enumSet('threads', 'native', 'io_uring');
const DISCARD = enumSet('unmap', 'ignore');
const DETECT_ZEROES = enumSet('off', 'on', 'unmap');
const PROTOCOLS = enumSet('nbd', 'rbd', 'sheepdog', 'gluster', 'iscsi', 'http', 'https', 'ftp', 'ftps', 'tftp', 'ssh', 'vxhs', 'nfs');
const TRANSPORTS = enumSet('tcp', 'unix', 'rdma');
const STARTUP = enumSet('mandatory', 'requisite', 'optional');
const TRAY = enumSet('open', 'closed');
const TRANS = enumSet('auto', 'none', 'lba');
const VOLUME_MODE = enumSet('host', 'direct');

/** A disk target name taken apart (libvirt virDiskNameParse). */
export interface DiskName {
  /** NVMe controller number (0 for the other prefixes). */
  controller: number;
  /** Disk index: the letters base 26 (`sda` 0, `vdaa` 26), or the NVMe namespace - 1. */
  disk: number;
  /** Trailing partition number, or -1. */
  partition: number;
}

const DRIVE_PREFIXES = ['fd', 'hd', 'vd', 'sd', 'xvd', 'ubd'] as const;
const NVME_NAME = /^nvme(0|[1-9][0-9]{0,8})n([1-9][0-9]{0,8})(?:p(0|[1-9][0-9]{0,8}))?$/;
/** Beyond 11 letters the index leaves the exactly representable integers. */
const MAX_LETTERS = 11;

/**
 * virDiskNameParse: `hda` → disk 0, `sdz` 25, `vdaa` 26, `sda3` partition 3;
 * `nvme<ctrl>n<ns>[p<part>]` → controller and namespace - 1 (libvirt's NVMe names).
 * undefined when the name has no known prefix, no letter after it, anything but digits
 * after the letters, or a partition with a leading zero.
 */
export function parseDiskName(name: string): DiskName | undefined {
  const nvme = NVME_NAME.exec(name);
  if (nvme) return { controller: Number(nvme[1]), disk: Number(nvme[2]) - 1, partition: nvme[3] === undefined ? -1 : Number(nvme[3]) };
  const prefix = DRIVE_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === undefined) return undefined;
  let i = prefix.length;
  let idx = 0;
  let letters = 0;
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) break;
    if (++letters > MAX_LETTERS) return undefined;
    idx = (idx + (letters > 1 ? 1 : 0)) * 26 + (c - 0x61);
  }
  if (letters === 0) return undefined;
  const digits = name.slice(i);
  if (!/^(?:|0|[1-9][0-9]{0,8})$/.test(digits)) return undefined;
  return { controller: 0, disk: idx, partition: digits === '' ? -1 : Number(digits) };
}

/** virDiskNameToIndex: the disk index, or -1 for a name virDiskNameParse refuses. */
export function diskNameToIndex(name: string): number {
  return parseDiskName(name)?.disk ?? -1;
}

/**
 * The bus libvirt picks when `bus` is absent (virDomainDiskDefPostParse): fdc for a
 * floppy, else from the target name's prefix (nvme as libvirt does since it has that
 * bus), ide when nothing matches.
 */
export function busFromTargetName(dev: string, device?: DiskDef['device']): DiskBus {
  if (device === 'floppy') return 'fdc';
  if (dev.startsWith('hd')) return 'ide';
  if (dev.startsWith('fd')) return 'fdc';
  if (dev.startsWith('sd')) return 'scsi';
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('xvd')) return 'xen';
  if (dev.startsWith('ubd')) return 'uml';
  if (dev.startsWith('nvme')) return 'nvme';
  return 'ide';
}

function parseDriver(el: Elem): DiskDriver {
  const d: DiskDriver = {};
  const name = el.attr('name');
  if (name !== undefined) d.name = name;
  const type = el.attr('type');
  if (type !== undefined) d.type = type === 'aio' ? 'raw' : type;
  const cache = enumAttr<NonNullable<DiskDriver['cache']>>(el, 'cache', CACHE);
  if (cache !== undefined) d.cache = cache;
  const ep = enumAttr<NonNullable<DiskDriver['error_policy']>>(el, 'error_policy', ERROR_POLICY);
  if (ep !== undefined) d.error_policy = ep;
  const rep = enumAttr<NonNullable<DiskDriver['rerror_policy']>>(el, 'rerror_policy', RERROR_POLICY);
  if (rep !== undefined) d.rerror_policy = rep;
  const io = enumAttr<NonNullable<DiskDriver['io']>>(el, 'io', IO);
  if (io !== undefined) d.io = io;
  const ioeventfd = onOffAttr(el, 'ioeventfd');
  if (ioeventfd !== undefined) d.ioeventfd = ioeventfd;
  const eventIdx = onOffAttr(el, 'event_idx');
  if (eventIdx !== undefined) d.event_idx = eventIdx;
  const cor = onOffAttr(el, 'copy_on_read');
  if (cor !== undefined) d.copy_on_read = cor;
  const discard = enumAttr<'unmap' | 'ignore'>(el, 'discard', DISCARD);
  if (discard !== undefined) d.discard = discard;
  const iothread = uintAttr(el, 'iothread');
  if (iothread !== undefined) d.iothread = iothread;
  const dz = enumAttr<'off' | 'on' | 'unmap'>(el, 'detect_zeroes', DETECT_ZEROES);
  if (dz !== undefined) d.detect_zeroes = dz;
  const queues = uintAttr(el, 'queues');
  if (queues !== undefined) d.queues = queues;
  const qs = uintAttr(el, 'queue_size');
  if (qs !== undefined) d.queue_size = qs;
  const mc = el.child('metadata_cache');
  if (mc) d.metadata_cache = mc.toXmlElement();
  return d;
}

function parseSource(el: Elem): DiskSource {
  const s: DiskSource = {};
  for (const k of ['file', 'dev', 'dir', 'name', 'query', 'pool', 'volume'] as const) {
    const v = el.attr(k);
    if (v !== undefined) s[k] = v;
  }
  const protocol = enumAttr<NonNullable<DiskSource['protocol']>>(el, 'protocol', PROTOCOLS);
  if (protocol !== undefined) s.protocol = protocol;
  const tls = yesNoAttr(el, 'tls');
  if (tls !== undefined) s.tls = tls;
  const mode = enumAttr<'host' | 'direct'>(el, 'mode', VOLUME_MODE);
  if (mode !== undefined) s.mode = mode;
  const sp = enumAttr<NonNullable<DiskSource['startupPolicy']>>(el, 'startupPolicy', STARTUP);
  if (sp !== undefined) s.startupPolicy = sp;
  const index = uintAttr(el, 'index');
  if (index !== undefined) s.index = index;
  for (const c of el.children()) {
    if (c.name === 'host') {
      const h: DiskSourceHost = {};
      const name = c.attr('name');
      if (name !== undefined) h.name = name;
      const port = c.attr('port');
      if (port !== undefined) {
        if (!/^[0-9]+$/.test(port)) throw xmlValueError(`failed to parse port number '${port}'`);
        h.port = port;
      }
      const tr = enumAttr<NonNullable<DiskSourceHost['transport']>>(c, 'transport', TRANSPORTS);
      if (tr !== undefined) h.transport = tr;
      const sock = c.attr('socket');
      if (sock !== undefined) h.socket = sock;
      (s.hosts ??= []).push(h);
    } else {
      (s.extra ??= []).push(c.toXmlElement());
    }
  }
  return s;
}

/** Parses one `<disk>`; defaults that need the whole domain are applied in post-parse. */
export function parseDisk(el: Elem, ctx: ParseCtx): DiskDef {
  const type = enumAttr<DiskDef['type']>(el, 'type', DISK_TYPES) ?? 'file';
  const device = enumAttr<DiskDef['device']>(el, 'device', DISK_DEVICES) ?? 'disk';
  let target: DiskDef['target'] | undefined;
  const disk = { type, device } as DiskDef;
  const model = enumAttr<NonNullable<DiskDef['model']>>(el, 'model', DISK_MODELS);
  if (model !== undefined) disk.model = model;
  const rawio = yesNoAttr(el, 'rawio');
  if (rawio !== undefined) disk.rawio = rawio;
  const sgio = enumAttr<'filtered' | 'unfiltered'>(el, 'sgio', SGIO);
  if (sgio !== undefined) disk.sgio = sgio;
  const snapshot = enumAttr<NonNullable<DiskDef['snapshot']>>(el, 'snapshot', SNAPSHOT);
  if (snapshot !== undefined) disk.snapshot = snapshot;

  for (const c of el.children()) {
    switch (c.name) {
      case 'driver':
        if (!disk.driver) disk.driver = parseDriver(c);
        break;
      case 'source':
        if (!disk.source) disk.source = parseSource(c);
        break;
      case 'auth':
        disk.auth ??= c.toXmlElement();
        break;
      case 'backingStore':
        disk.backingStore ??= c.toXmlElement();
        break;
      case 'geometry':
        if (!disk.geometry) {
          disk.geometry = { cyls: uintAttrReq(c, 'cyls'), heads: uintAttrReq(c, 'heads'), secs: uintAttrReq(c, 'secs') };
          const trans = enumAttr<'auto' | 'none' | 'lba'>(c, 'trans', TRANS);
          if (trans !== undefined) disk.geometry.trans = trans;
        }
        break;
      case 'blockio':
        if (!disk.blockio) {
          disk.blockio = {};
          const l = uintAttr(c, 'logical_block_size');
          const p = uintAttr(c, 'physical_block_size');
          const g = uintAttr(c, 'discard_granularity');
          if (l !== undefined) disk.blockio.logical_block_size = l;
          if (p !== undefined) disk.blockio.physical_block_size = p;
          if (g !== undefined) disk.blockio.discard_granularity = g;
        }
        break;
      case 'target':
        if (!target) {
          const dev = c.attr('dev');
          if (dev === undefined || dev === '') break;
          target = { dev };
          const bus = enumAttr<DiskBus>(c, 'bus', DISK_BUSES);
          if (bus !== undefined) target.bus = bus;
          const tray = enumAttr<'open' | 'closed'>(c, 'tray', TRAY);
          if (tray !== undefined) target.tray = tray;
          const removable = onOffAttr(c, 'removable');
          if (removable !== undefined) target.removable = removable;
          const rr = uintAttr(c, 'rotation_rate');
          if (rr !== undefined) target.rotation_rate = rr;
        }
        break;
      case 'iotune':
        disk.iotune ??= c.toXmlElement();
        break;
      case 'readonly':
        disk.readonly = true;
        break;
      case 'shareable':
        disk.shareable = true;
        break;
      case 'transient': {
        disk.transient = {};
        const sb = yesNoAttr(c, 'shareBacking');
        if (sb !== undefined) disk.transient.shareBacking = sb;
        break;
      }
      case 'serial':
        disk.serial ??= c.text();
        break;
      case 'wwn':
        if (disk.wwn === undefined) {
          const wwn = c.text();
          if (!/^(0x)?[0-9a-fA-F]{16}$/.test(wwn)) throw xmlValueError(`Malformed wwn: ${wwn.slice(0, 64)}`);
          disk.wwn = wwn;
        }
        break;
      case 'vendor':
        disk.vendor ??= c.text();
        break;
      case 'product':
        disk.product ??= c.text();
        break;
      case 'encryption':
        disk.encryption ??= c.toXmlElement();
        break;
      default:
        break;
    }
  }
  if (!target) {
    const src = disk.source?.file ?? disk.source?.dev ?? disk.source?.dir ?? disk.source?.name ?? disk.source?.volume;
    throw new VirError(VIR_ERR_NO_TARGET, VIR_FROM_DOMAIN, `missing target information for device ${src ?? '<null>'}`);
  }
  disk.target = target;
  parseDeviceInfo(el, disk, ctx, { boot: true });
  return disk;
}

function driverAttrs(d: DiskDriver): string {
  return (
    attr('name', d.name) +
    attr('type', d.type) +
    attr('cache', d.cache) +
    attr('error_policy', d.error_policy) +
    attr('rerror_policy', d.rerror_policy) +
    attr('io', d.io) +
    attr('ioeventfd', d.ioeventfd) +
    attr('event_idx', d.event_idx) +
    attr('copy_on_read', d.copy_on_read) +
    attr('discard', d.discard) +
    attr('iothread', d.iothread) +
    attr('detect_zeroes', d.detect_zeroes) +
    attr('queues', d.queues) +
    attr('queue_size', d.queue_size)
  );
}

function formatSource(w: Writer, disk: DiskDef, ctx: FormatCtx): void {
  const s = disk.source;
  if (!s) return;
  let a: string;
  switch (disk.type) {
    case 'file':
      a = attr('file', s.file);
      break;
    case 'block':
    case 'ctl':
      a = attr('dev', s.dev);
      break;
    case 'dir':
      a = attr('dir', s.dir);
      break;
    case 'network':
      a = attr('protocol', s.protocol) + attr('name', s.name) + attr('query', s.query) + attr('tls', s.tls);
      break;
    case 'volume':
      a = attr('pool', s.pool) + attr('volume', s.volume) + attr('mode', s.mode);
      break;
    default:
      a = attr('file', s.file) + attr('dev', s.dev) + attr('dir', s.dir) + attr('name', s.name);
  }
  a += attr('startupPolicy', s.startupPolicy);
  if (!ctx.inactive && s.index !== undefined) a += attr('index', s.index);
  if (a === '' && !s.hosts && !s.extra) return;
  w.elem('source', a, (w) => {
    if (s.hosts) {
      for (const h of s.hosts) w.empty('host', attr('name', h.name) + attr('port', h.port) + attr('transport', h.transport) + attr('socket', h.socket));
    }
    if (s.extra) for (const x of s.extra) w.raw(x);
  });
}

/** Writes one `<disk>`. */
export function formatDisk(w: Writer, disk: DiskDef, ctx: FormatCtx): void {
  w.open(
    'disk',
    ` type='${disk.type}' device='${disk.device}'${attr('model', disk.model)}${attr('rawio', disk.rawio)}${attr('sgio', disk.sgio)}${disk.snapshot === 'no' && disk.readonly ? '' : attr('snapshot', disk.snapshot)}`,
  );
  if (disk.driver) {
    const a = driverAttrs(disk.driver);
    if (disk.driver.metadata_cache) {
      w.open('driver', a);
      w.raw(disk.driver.metadata_cache);
      w.close('driver');
    } else if (a !== '') w.empty('driver', a);
  }
  if (disk.auth) w.raw(disk.auth);
  formatSource(w, disk, ctx);
  if (disk.backingStore) w.raw(disk.backingStore);
  if (disk.geometry) {
    const g = disk.geometry;
    w.empty('geometry', ` cyls='${g.cyls}' heads='${g.heads}' secs='${g.secs}'${attr('trans', g.trans)}`);
  }
  if (disk.blockio) {
    const b = disk.blockio;
    const a = attr('logical_block_size', b.logical_block_size) + attr('physical_block_size', b.physical_block_size) + attr('discard_granularity', b.discard_granularity);
    if (a !== '') w.empty('blockio', a);
  }
  const t = disk.target;
  w.empty('target', `${attr('dev', t.dev)}${attr('bus', t.bus)}${attr('tray', t.tray)}${attr('removable', t.removable)}${attr('rotation_rate', t.rotation_rate)}`);
  if (disk.iotune) w.raw(disk.iotune);
  if (disk.readonly) w.empty('readonly', '');
  if (disk.shareable) w.empty('shareable', '');
  if (disk.transient) w.empty('transient', attr('shareBacking', disk.transient.shareBacking));
  if (disk.serial !== undefined) w.textElem('serial', '', disk.serial);
  if (disk.wwn !== undefined) w.textElem('wwn', '', disk.wwn);
  if (disk.vendor !== undefined) w.textElem('vendor', '', disk.vendor);
  if (disk.product !== undefined) w.textElem('product', '', disk.product);
  if (disk.encryption) w.raw(disk.encryption);
  formatDeviceInfo(w, disk, ctx);
  w.close('disk');
}
