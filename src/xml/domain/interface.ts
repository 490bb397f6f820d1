/**
 * `<interface>`: parse and format (libvirt virDomainNetDefParseXML / virDomainNetDefFormat).
 *
 * Element order written: mac, source, vlan, virtualport, bandwidth, port, ip, route,
 * script, downscript, backenddomain, target, guest, model, driver, backend, filterref,
 * tune, teaming, link, mtu, coalesce, then boot/alias/rom/address.
 * A MAC is generated (52:54:00:xx:xx:xx) when absent, like libvirt; multicast MACs are
 * refused. Host-side names libvirt generates (`vnet*`, `macvtap*`, `macvlan*`) are dropped
 * from inactive definitions. Spec: docs/formatdomain.rst "Network interfaces".
 */

import { internalError, VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, VirError, xmlError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import { enumAttr, enumSet, intAttr, onOffAttr, parseMac, uintAttr, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { InterfaceDef, InterfaceDriver, InterfaceSource, InterfaceType, PciAddress, UsbAddress } from '../types.js';
import { formatAddress, formatDeviceInfo, parseAddress, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';
import { parseVirtioOptions, virtioOptionsAttrs } from './virtio-options.js';

const TYPES = enumSet('user', 'ethernet', 'vhostuser', 'server', 'client', 'mcast', 'network', 'bridge', 'internal', 'direct', 'hostdev', 'udp', 'vdpa', 'null', 'vds');
const DIRECT_MODES = enumSet('vepa', 'private', 'bridge', 'passthrough');
const MAC_TYPES = enumSet('generated', 'static');
const DRIVER_NAMES = enumSet('qemu', 'vhost', 'kvm', 'vfio', 'xen');
const TXMODES = enumSet('iothread', 'timer');
const LINK = enumSet('up', 'down');
const TEAMING = enumSet('persistent', 'transient');
const GENERATED_PREFIXES = ['vnet', 'macvtap', 'macvlan'];

function parseSource(c: Elem, type: InterfaceType): InterfaceSource {
  const s: InterfaceSource = {};
  for (const k of ['network', 'portgroup', 'portid', 'bridge', 'dev', 'address', 'type', 'path', 'name'] as const) {
    const v = c.attr(k);
    if (v !== undefined) s[k] = v;
  }
  if (type === 'direct') {
    const m = enumAttr<string>(c, 'mode', DIRECT_MODES);
    if (m !== undefined) s.mode = m;
  } else {
    const m = c.attr('mode');
    if (m !== undefined) s.mode = m;
  }
  const port = intAttr(c, 'port', 0, 65535);
  if (port !== undefined) s.port = port;
  for (const k of c.children()) {
    if (k.name === 'local' && type === 'udp') {
      s.local = {};
      const a = k.attr('address');
      if (a !== undefined) s.local.address = a;
      const p = intAttr(k, 'port', 0, 65535);
      if (p !== undefined) s.local.port = p;
    } else if (k.name === 'address' && type === 'hostdev') {
      const a = parseAddress(k);
      if (a.type === 'pci' || a.type === 'usb') s.hostdevAddress = a as PciAddress | UsbAddress;
    } else {
      (s.extra ??= []).push(k.toXmlElement());
    }
  }
  return s;
}

function parseDriver(c: Elem): InterfaceDriver {
  const d: InterfaceDriver = {};
  const name = enumAttr<NonNullable<InterfaceDriver['name']>>(c, 'name', DRIVER_NAMES);
  if (name !== undefined) d.name = name;
  const tx = enumAttr<'iothread' | 'timer'>(c, 'txmode', TXMODES);
  if (tx !== undefined) d.txmode = tx;
  for (const k of ['ioeventfd', 'event_idx', 'rss', 'rss_hash_report'] as const) {
    const v = onOffAttr(c, k);
    if (v !== undefined) d[k] = v;
  }
  parseVirtioOptions(c, d);
  for (const k of ['queues', 'rx_queue_size', 'tx_queue_size'] as const) {
    const v = uintAttr(c, k);
    if (v !== undefined) d[k] = v;
  }
  const host = c.child('host');
  if (host) d.host = host.toXmlElement();
  const guest = c.child('guest');
  if (guest) d.guest = guest.toXmlElement();
  return d;
}

function missingSource(attrName: string, type: string): VirError {
  return new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `internal error: No <source> '${attrName}' attribute specified with <interface type='${type}'/>`);
}

/** Parses one `<interface>`. */
export function parseInterface(el: Elem, ctx: ParseCtx): InterfaceDef {
  const type = enumAttr<InterfaceType>(el, 'type', TYPES) ?? 'user';
  const iface = { type } as InterfaceDef;
  const trust = yesNoAttr(el, 'trustGuestRxFilters');
  if (trust !== undefined) iface.trustGuestRxFilters = trust;
  if (type === 'hostdev') {
    const managed = yesNoAttr(el, 'managed');
    if (managed !== undefined) iface.managed = managed;
  }
  for (const c of el.children()) {
    switch (c.name) {
      case 'mac':
        if (iface.mac === undefined) {
          const raw = c.attr('address');
          if (raw !== undefined) {
            const mac = parseMac(raw);
            if (mac === null) throw xmlError(`unable to parse mac address '${raw}'`);
            if (parseInt(mac.slice(0, 2), 16) & 1) throw xmlError(`expected unicast mac address, found multicast '${raw}'`);
            iface.mac = { address: mac };
          } else iface.mac = { address: '' };
          const mt = enumAttr<'generated' | 'static'>(c, 'type', MAC_TYPES);
          if (mt !== undefined) iface.mac.type = mt;
          const check = yesNoAttr(c, 'check');
          if (check !== undefined) iface.mac.check = check;
        }
        break;
      case 'source':
        iface.source ??= parseSource(c, type);
        break;
      case 'virtualport':
        iface.virtualport ??= c.toXmlElement();
        break;
      case 'ip':
        (iface.ips ??= []).push(c.toXmlElement());
        break;
      case 'route':
        (iface.routes ??= []).push(c.toXmlElement());
        break;
      case 'script':
        iface.script ??= c.attr('path');
        break;
      case 'downscript':
        iface.downscript ??= c.attr('path');
        break;
      case 'backenddomain':
        iface.backenddomain ??= c.attr('name');
        break;
      case 'target':
        if (iface.target === undefined) {
          const dev = c.attr('dev');
          const managed = yesNoAttr(c, 'managed');
          if (dev !== undefined) {
            const generated = managed !== 'no' && GENERATED_PREFIXES.some((p) => dev.startsWith(p));
            if (!(ctx.inactive && generated)) {
              iface.target = { dev };
              if (managed !== undefined) iface.target.managed = managed;
            }
          }
        }
        break;
      case 'guest':
        if (iface.guest === undefined) {
          const g: NonNullable<InterfaceDef['guest']> = {};
          const dev = c.attr('dev');
          const actual = c.attr('actual');
          if (dev !== undefined) g.dev = dev;
          if (actual !== undefined) g.actual = actual;
          iface.guest = g;
        }
        break;
      case 'model':
        if (iface.model === undefined) {
          const m = c.attr('type');
          if (m !== undefined) {
            if (!/^[a-zA-Z0-9_-]+$/.test(m)) throw xmlError(`Model name contains invalid characters: '${m}'`);
            iface.model = m;
          }
        }
        break;
      case 'driver':
        iface.driver ??= parseDriver(c);
        break;
      case 'backend':
        if (iface.backend === undefined) {
          const b: NonNullable<InterfaceDef['backend']> = {};
          for (const k of ['tap', 'vhost', 'type', 'logFile'] as const) {
            const v = c.attr(k);
            if (v !== undefined) b[k] = v;
          }
          iface.backend = b;
        }
        break;
      case 'filterref':
        iface.filterref ??= c.toXmlElement();
        break;
      case 'tune': {
        const sb = c.child('sndbuf');
        if (sb) {
          const n = Number(sb.text().trim());
          if (!Number.isSafeInteger(n) || n < 0) throw xmlError(`sndbuf must be a positive integer`);
          iface.tune = { sndbuf: n };
        }
        break;
      }
      case 'teaming': {
        const t = enumAttr<'persistent' | 'transient'>(c, 'type', TEAMING);
        if (t !== undefined) {
          iface.teaming = { type: t };
          const p = c.attr('persistent');
          if (p !== undefined) iface.teaming.persistent = p;
        }
        break;
      }
      case 'link': {
        const st = enumAttr<'up' | 'down'>(c, 'state', LINK);
        if (st !== undefined) iface.link = { state: st };
        break;
      }
      case 'mtu': {
        const size = uintAttr(c, 'size');
        if (size !== undefined) iface.mtu = { size };
        break;
      }
      case 'bandwidth':
        iface.bandwidth ??= c.toXmlElement();
        break;
      case 'vlan':
        iface.vlan ??= c.toXmlElement();
        break;
      case 'port': {
        const iso = yesNoAttr(c, 'isolated');
        if (iso !== undefined) iface.port = { isolated: iso };
        break;
      }
      case 'coalesce':
        iface.coalesce ??= c.toXmlElement();
        break;
      default:
        break;
    }
  }
  if (iface.mac === undefined || iface.mac.address === '') {
    const generated = ctx.generateMac();
    const address = parseMac(generated);
    if (address === null) throw internalError(`generated MAC address '${generated.slice(0, 64)}' is not a MAC address`);
    iface.mac = { ...(iface.mac ?? {}), address };
  }
  switch (type) {
    case 'network':
      if (iface.source?.network === undefined) throw missingSource('network', type);
      break;
    case 'bridge':
      if (iface.source?.bridge === undefined) throw missingSource('bridge', type);
      break;
    case 'direct':
      if (iface.source?.dev === undefined) throw missingSource('dev', type);
      iface.source.mode ??= 'vepa';
      break;
    case 'server':
    case 'client':
    case 'mcast':
    case 'udp':
      if (iface.source?.port === undefined) throw missingSource('port', type);
      break;
    default:
      break;
  }
  parseDeviceInfo(el, iface, ctx, { boot: true, rom: true });
  return iface;
}

function formatSource(w: Writer, iface: InterfaceDef, ctx: FormatCtx): void {
  const s = iface.source;
  if (!s) return;
  let a = '';
  switch (iface.type) {
    case 'network':
      a = attr('network', s.network) + attr('portgroup', s.portgroup) + (!ctx.inactive ? attr('portid', s.portid) : attr('portid', s.portid));
      break;
    case 'bridge':
      a = attr('bridge', s.bridge);
      break;
    case 'direct':
      a = attr('dev', s.dev) + ` mode='${s.mode ?? 'vepa'}'`;
      break;
    case 'server':
    case 'client':
    case 'mcast':
    case 'udp':
      a = attr('address', s.address) + attr('port', s.port);
      break;
    case 'vhostuser':
      a = attr('type', s.type) + attr('path', s.path) + attr('mode', s.mode);
      break;
    case 'internal':
      a = attr('name', s.name);
      break;
    case 'vdpa':
      a = attr('dev', s.dev);
      break;
    case 'ethernet':
    case 'user':
      a = attr('dev', s.dev);
      break;
    default:
      break;
  }
  w.elem('source', a, (w) => {
    if (s.local) w.empty('local', attr('address', s.local.address) + attr('port', s.local.port));
    if (s.hostdevAddress) formatAddress(w, s.hostdevAddress);
    if (s.extra) for (const x of s.extra) w.raw(x);
  });
}

/** Writes one `<interface>`. */
export function formatInterface(w: Writer, iface: InterfaceDef, ctx: FormatCtx): void {
  w.open('interface', ` type='${iface.type}'${attr('trustGuestRxFilters', iface.trustGuestRxFilters)}${iface.type === 'hostdev' ? attr('managed', iface.managed) : ''}`);
  w.empty('mac', `${attr('address', iface.mac.address)}${attr('type', iface.mac.type)}${attr('check', iface.mac.check)}`);
  formatSource(w, iface, ctx);
  if (iface.vlan) w.raw(iface.vlan);
  if (iface.virtualport) w.raw(iface.virtualport);
  if (iface.bandwidth) w.raw(iface.bandwidth);
  if (iface.port) w.empty('port', ` isolated='${iface.port.isolated}'`);
  if (iface.ips) for (const x of iface.ips) w.raw(x);
  if (iface.routes) for (const x of iface.routes) w.raw(x);
  if (iface.script !== undefined) w.empty('script', attr('path', iface.script));
  if (iface.downscript !== undefined) w.empty('downscript', attr('path', iface.downscript));
  if (iface.backenddomain !== undefined) w.empty('backenddomain', attr('name', iface.backenddomain));
  if (iface.target) {
    const t = iface.target;
    const generated = t.managed !== 'no' && GENERATED_PREFIXES.some((p) => t.dev.startsWith(p));
    const a = (ctx.inactive && generated ? '' : attr('dev', t.dev)) + attr('managed', t.managed);
    if (a !== '') w.empty('target', a);
  }
  if (iface.guest) w.empty('guest', attr('dev', iface.guest.dev) + attr('actual', iface.guest.actual));
  if (iface.model !== undefined) w.empty('model', attr('type', iface.model));
  if (iface.driver) {
    const d = iface.driver;
    const a =
      attr('name', d.name) +
      attr('txmode', d.txmode) +
      attr('ioeventfd', d.ioeventfd) +
      attr('event_idx', d.event_idx) +
      attr('queues', d.queues) +
      attr('rx_queue_size', d.rx_queue_size) +
      attr('tx_queue_size', d.tx_queue_size) +
      attr('rss', d.rss) +
      attr('rss_hash_report', d.rss_hash_report) +
      virtioOptionsAttrs(d);
    if (d.host || d.guest) {
      w.open('driver', a);
      if (d.host) w.raw(d.host);
      if (d.guest) w.raw(d.guest);
      w.close('driver');
    } else if (a !== '') w.empty('driver', a);
  }
  if (iface.backend) {
    const b = iface.backend;
    const a = attr('type', b.type) + attr('tap', b.tap) + attr('vhost', b.vhost) + attr('logFile', b.logFile);
    if (a !== '') w.empty('backend', a);
  }
  if (iface.filterref) w.raw(iface.filterref);
  if (iface.tune) {
    w.open('tune', '');
    w.textElem('sndbuf', '', String(iface.tune.sndbuf));
    w.close('tune');
  }
  if (iface.teaming) w.empty('teaming', ` type='${iface.teaming.type}'${attr('persistent', iface.teaming.persistent)}`);
  if (iface.link) w.empty('link', ` state='${iface.link.state}'`);
  if (iface.mtu) w.empty('mtu', ` size='${iface.mtu.size}'`);
  if (iface.coalesce) w.raw(iface.coalesce);
  formatDeviceInfo(w, iface, ctx);
  w.close('interface');
}
