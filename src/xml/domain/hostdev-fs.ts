/**
 * `<hostdev>` and `<filesystem>`: parse and format (libvirt virDomainHostdevDefParseXML /
 * virDomainHostdevDefFormat, virDomainFSDefParseXML / virDomainFSDefFormat).
 *
 * Hostdev: subsystem pci (source address, managed, driver name) and usb (vendor/product
 * ids, bus/device address) are modelled; other kinds keep their `<source>` verbatim.
 * Filesystem: every type's source form, driver (type/format/wrpolicy/queue), target dir,
 * readonly, space limits (bytes). Spec: docs/formatdomain.rst "Host device assignment",
 * "Filesystems".
 */

import { attr, type Writer } from '../format/writer.js';
import {
  attrReq,
  enumAttr,
  enumAttrReq,
  enumSet,
  parseSizeKiB,
  parseUnsigned,
  uintAttr,
  xmlValueError,
  yesNoAttr,
  onOffAttr,
} from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { FilesystemDef, HostdevDef } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo, parsePciParts } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';

const HOSTDEV_MODES = enumSet('subsystem', 'capabilities');
const SUBSYS_TYPES = enumSet('pci', 'usb', 'scsi', 'scsi_host', 'mdev');
const CAPS_TYPES = enumSet('storage', 'misc', 'net');
const STARTUP = enumSet('mandatory', 'requisite', 'optional');
const SGIO = enumSet('filtered', 'unfiltered');

function hexId(el: Elem, what: string): number {
  const raw = attrReq(el, 'id');
  const v = parseUnsigned(raw, 0, 0xffff);
  if (Number.isNaN(v)) throw xmlValueError(`cannot parse ${what} id ${raw}`);
  return v;
}

/** Parses one `<hostdev>`. */
export function parseHostdev(el: Elem, ctx: ParseCtx): HostdevDef {
  const mode = enumAttr<HostdevDef['mode']>(el, 'mode', HOSTDEV_MODES) ?? 'subsystem';
  const type = enumAttrReq<HostdevDef['type']>(el, 'type', mode === 'subsystem' ? SUBSYS_TYPES : CAPS_TYPES);
  const h = { mode, type, source: {} } as HostdevDef;
  if (mode === 'subsystem' && type !== 'mdev' && type !== 'scsi_host') h.managed = yesNoAttr(el, 'managed') ?? 'no';
  const sgio = enumAttr<'filtered' | 'unfiltered'>(el, 'sgio', SGIO);
  if (sgio !== undefined) h.sgio = sgio;
  const rawio = yesNoAttr(el, 'rawio');
  if (rawio !== undefined) h.rawio = rawio;
  if (type === 'mdev') {
    const model = el.attr('model');
    if (model !== undefined) h.model = model;
    const display = onOffAttr(el, 'display');
    if (display !== undefined) h.display = display;
    const ramfb = onOffAttr(el, 'ramfb');
    if (ramfb !== undefined) h.ramfb = ramfb;
  }
  for (const c of el.children()) {
    switch (c.name) {
      case 'source':
        if (mode === 'subsystem' && (type === 'pci' || type === 'usb')) {
          const sp = enumAttr<'mandatory' | 'requisite' | 'optional'>(c, 'startupPolicy', STARTUP);
          if (sp !== undefined) h.source.startupPolicy = sp;
          const wf = yesNoAttr(c, 'writeFiltering');
          if (wf !== undefined) h.source.writeFiltering = wf;
          for (const s of c.children()) {
            if (s.name === 'address') {
              if (type === 'pci') h.source.address = parsePciParts(s);
              else {
                const bus = uintAttr(s, 'bus', 0);
                const device = uintAttr(s, 'device', 0);
                if (bus === undefined || device === undefined) throw xmlValueError(`usb address needs bus and device`);
                h.source.address = { bus, device };
              }
            } else if (s.name === 'vendor' && type === 'usb') h.source.vendor = hexId(s, 'vendor');
            else if (s.name === 'product' && type === 'usb') h.source.product = hexId(s, 'product');
          }
          if (type === 'pci' && h.source.address === undefined) throw xmlValueError('PCI host devices must use \'pci\' address type');
          if (type === 'usb' && h.source.vendor === undefined && h.source.address === undefined) {
            throw xmlValueError('Missing vendor/product or bus/device in USB hostdev source');
          }
        } else {
          h.source.raw = c.toXmlElement();
        }
        break;
      case 'driver': {
        const name = c.attr('name');
        if (name !== undefined) h.driver = { name };
        break;
      }
      case 'readonly':
        h.readonly = true;
        break;
      case 'shareable':
        h.shareable = true;
        break;
      case 'address':
      case 'alias':
      case 'boot':
      case 'rom':
      case 'acpi':
        break;
      default:
        (h.extra ??= []).push(c.toXmlElement());
    }
  }
  parseDeviceInfo(el, h, ctx, { boot: true, rom: true });
  return h;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** Writes one `<hostdev>`. */
export function formatHostdev(w: Writer, h: HostdevDef, ctx: FormatCtx): void {
  w.open(
    'hostdev',
    ` mode='${h.mode}' type='${h.type}'${attr('managed', h.managed)}${attr('sgio', h.sgio)}${attr('rawio', h.rawio)}${attr('model', h.model)}${attr('display', h.display)}${attr('ramfb', h.ramfb)}`,
  );
  if (h.driver) w.empty('driver', attr('name', h.driver.name));
  if (h.source.raw) w.raw(h.source.raw);
  else {
    const s = h.source;
    w.elem('source', attr('startupPolicy', s.startupPolicy) + attr('writeFiltering', s.writeFiltering), (w) => {
      if (s.vendor !== undefined) w.empty('vendor', ` id='0x${hex4(s.vendor)}'`);
      if (s.product !== undefined) w.empty('product', ` id='0x${hex4(s.product)}'`);
      const a = s.address;
      if (a) {
        if (h.type === 'pci') {
          w.empty(
            'address',
            ` domain='0x${hex4(a.domain ?? 0)}' bus='0x${a.bus.toString(16).padStart(2, '0')}' slot='0x${(a.slot ?? 0).toString(16).padStart(2, '0')}' function='0x${a.function ?? 0}'`,
          );
        } else w.empty('address', ` bus='${a.bus}' device='${a.device ?? 0}'`);
      }
    });
  }
  if (h.extra) for (const x of h.extra) w.raw(x);
  if (h.readonly) w.empty('readonly', '');
  if (h.shareable) w.empty('shareable', '');
  formatDeviceInfo(w, h, ctx);
  w.close('hostdev');
}

const FS_TYPES = enumSet('mount', 'block', 'file', 'template', 'ram', 'bind', 'volume');
const ACCESS = enumSet('passthrough', 'mapped', 'squash');
const FS_MODELS = enumSet('virtio', 'virtio-transitional', 'virtio-non-transitional');
const MULTIDEVS = enumSet('default', 'remap', 'forbid', 'warn');
const FS_DRIVERS = enumSet('default', 'path', 'handle', 'loop', 'nbd', 'ploop', 'virtiofs');
const WRPOLICY = enumSet('immediate', 'default');

/** Parses one `<filesystem>`. */
export function parseFilesystem(el: Elem, ctx: ParseCtx): FilesystemDef {
  const type = enumAttr<FilesystemDef['type']>(el, 'type', FS_TYPES) ?? 'mount';
  const fs = { type } as FilesystemDef;
  const am = enumAttr<NonNullable<FilesystemDef['accessmode']>>(el, 'accessmode', ACCESS);
  fs.accessmode = am ?? 'passthrough';
  const model = enumAttr<NonNullable<FilesystemDef['model']>>(el, 'model', FS_MODELS);
  if (model !== undefined) fs.model = model;
  const md = enumAttr<NonNullable<FilesystemDef['multidevs']>>(el, 'multidevs', MULTIDEVS);
  if (md !== undefined) fs.multidevs = md;
  for (const k of ['fmode', 'dmode'] as const) {
    const v = el.attr(k);
    if (v !== undefined) {
      if (!/^[0-7]{1,4}$/.test(v) || parseInt(v, 8) > 0o777) throw xmlValueError(`invalid ${k}: '${v}'`);
      // libvirt stores the mode and writes it as %04o
      fs[k] = parseInt(v, 8).toString(8).padStart(4, '0');
    }
  }
  let target: string | undefined;
  for (const c of el.children()) {
    switch (c.name) {
      case 'driver': {
        const d: NonNullable<FilesystemDef['driver']> = {};
        const t = enumAttr<string>(c, 'type', FS_DRIVERS);
        if (t !== undefined && t !== 'default') d.type = t as NonNullable<typeof d.type>;
        const f = c.attr('format');
        if (f !== undefined) d.format = f;
        const wp = enumAttr<string>(c, 'wrpolicy', WRPOLICY);
        if (wp === 'immediate') d.wrpolicy = 'immediate';
        const q = uintAttr(c, 'queue');
        if (q !== undefined) d.queue = q;
        fs.driver = d;
        break;
      }
      case 'binary':
        fs.binary = c.toXmlElement();
        break;
      case 'source':
        if (!fs.source) {
          const s: NonNullable<FilesystemDef['source']> = {};
          for (const k of ['dir', 'dev', 'file', 'name', 'pool', 'volume', 'socket'] as const) {
            const v = c.attr(k);
            if (v !== undefined) s[k] = v;
          }
          const usage = c.attr('usage');
          if (usage !== undefined) s.usage = parseSizeKiB(usage, c.attr('units'), './source/@usage');
          fs.source = s;
        }
        break;
      case 'target':
        target ??= c.attr('dir');
        break;
      case 'readonly':
        fs.readonly = true;
        break;
      case 'space_hard_limit':
        fs.space_hard_limit = parseSizeKiB(c.text(), c.attr('unit'), './space_hard_limit[1]', 1) * 1024;
        break;
      case 'space_soft_limit':
        fs.space_soft_limit = parseSizeKiB(c.text(), c.attr('unit'), './space_soft_limit[1]', 1) * 1024;
        break;
      default:
        break;
    }
  }
  if (target === undefined) throw xmlValueError(`missing target information for filesystem`);
  fs.target = { dir: target };
  if (!fs.source && fs.driver?.type !== 'virtiofs') throw xmlValueError(`missing source information for filesystem`);
  parseDeviceInfo(el, fs, ctx, {});
  return fs;
}

/** Writes one `<filesystem>`. */
export function formatFilesystem(w: Writer, fs: FilesystemDef, ctx: FormatCtx): void {
  w.open(
    'filesystem',
    ` type='${fs.type}' accessmode='${fs.accessmode ?? 'passthrough'}'${attr('model', fs.model)}${attr('multidevs', fs.multidevs)}${attr('fmode', fs.fmode)}${attr('dmode', fs.dmode)}`,
  );
  if (fs.driver) {
    const d = fs.driver;
    const a = attr('type', d.type) + attr('format', d.format) + attr('wrpolicy', d.wrpolicy) + attr('queue', d.queue);
    if (a !== '') w.empty('driver', a);
  }
  if (fs.binary) w.raw(fs.binary);
  const s = fs.source;
  if (s) {
    let a = '';
    switch (fs.type) {
      case 'mount':
      case 'bind':
        a = s.socket !== undefined ? attr('socket', s.socket) : attr('dir', s.dir);
        break;
      case 'block':
        a = attr('dev', s.dev);
        break;
      case 'file':
        a = attr('file', s.file);
        break;
      case 'template':
        a = attr('name', s.name);
        break;
      case 'ram':
        a = s.usage !== undefined ? ` usage='${s.usage}' units='KiB'` : '';
        break;
      case 'volume':
        a = attr('pool', s.pool) + attr('volume', s.volume);
        break;
    }
    if (a !== '') w.empty('source', a);
  }
  w.empty('target', attr('dir', fs.target.dir));
  if (fs.readonly) w.empty('readonly', '');
  if (fs.space_hard_limit !== undefined) w.textElem('space_hard_limit', " unit='bytes'", String(fs.space_hard_limit));
  if (fs.space_soft_limit !== undefined) w.textElem('space_soft_limit', " unit='bytes'", String(fs.space_soft_limit));
  formatDeviceInfo(w, fs, ctx);
  w.close('filesystem');
}
