/**
 * Character devices: `<serial>`, `<parallel>`, `<console>`, `<channel>` and the chardev
 * source shared with `<rng><backend model='egd'>` (libvirt virDomainChrDefParseXML,
 * virDomainChrSourceDefParseXML, virDomainChrDefFormat, virDomainChrSourceDefFormat).
 *
 * Source forms: pty (path only in live XML), dev/file/pipe (path; file: append), unix
 * (mode bind|connect, path), tcp (mode, host, service, tls + `<protocol>`, raw by
 * default), udp (a bind and a connect source), nmdm (master/slave, FreeBSD), spiceport /
 * dbus (channel); null, vc, stdio and spicevmc have none.
 * Spec: docs/formatdomain.rst "Consoles, serial, parallel & channel devices".
 * The console ⇄ serial[0] aliasing of HVM guests lives in ../postparse.ts and in
 * devices.ts (formatting a serial-type console writes serial[n]'s source).
 */

import { xmlError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import { enumAttr, enumSet, intAttr, onOffAttr, xmlValueError, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { ChrDef, ChrSource, ChrSourceElement, ChrTarget, ChrType } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';

export type ChrDeviceKind = 'serial' | 'parallel' | 'console' | 'channel';

const CHR_TYPES = enumSet('null', 'vc', 'pty', 'dev', 'file', 'pipe', 'stdio', 'udp', 'tcp', 'unix', 'spicevmc', 'spiceport', 'nmdm', 'qemu-vdagent', 'dbus');
const MODES = enumSet('bind', 'connect');
const PROTOCOLS = enumSet('raw', 'telnet', 'telnets', 'tls');
const SERIAL_TARGETS = enumSet('isa-serial', 'usb-serial', 'pci-serial', 'spapr-vio-serial', 'system-serial', 'sclp-serial', 'isa-debug');
const CONSOLE_TARGETS = enumSet('none', 'serial', 'xen', 'uml', 'virtio', 'lxc', 'openvz', 'sclp', 'sclplm');
const CHANNEL_TARGETS = enumSet('guestfwd', 'virtio', 'xen');
const SERIAL_MODELS = enumSet('isa-serial', 'usb-serial', 'pci-serial', 'spapr-vty', 'pl011', 'sclpconsole', 'sclplmconsole', '16550a', 'isa-debugcon');
const CHANNEL_STATES = enumSet('connected', 'disconnected');

/**
 * Reads the source half of a chardev from element `el` (a device or an rng backend):
 * its `type` attribute (default `pty`), `<source>` children, `<protocol>`, `<log>`.
 */
export function parseChrSource(el: Elem, ctx: ParseCtx, typeDefault: ChrType = 'pty'): ChrSource {
  const type = enumAttr<ChrType>(el, 'type', CHR_TYPES) ?? typeDefault;
  const src: ChrSource = { type, sources: [] };
  const tty = el.attr('tty');
  if (tty !== undefined && !ctx.inactive) src.tty = tty;
  for (const c of el.children()) {
    if (c.name === 'source') {
      const s: ChrSourceElement = {};
      switch (type) {
        case 'pty':
          if (!ctx.inactive) {
            const p = c.attr('path');
            if (p !== undefined) s.path = p;
          }
          break;
        case 'dev':
        case 'file':
        case 'pipe':
        case 'unix': {
          const p = c.attr('path');
          if (p !== undefined) s.path = p;
          if (type === 'file') {
            const ap = onOffAttr(c, 'append');
            if (ap !== undefined) s.append = ap;
          }
          if (type === 'unix') {
            const m = enumAttr<'bind' | 'connect'>(c, 'mode', MODES);
            if (m !== undefined) s.mode = m;
          }
          break;
        }
        case 'tcp':
        case 'udp': {
          const m = enumAttr<'bind' | 'connect'>(c, 'mode', MODES);
          if (m !== undefined) s.mode = m;
          const host = c.attr('host');
          const service = c.attr('service');
          if (host !== undefined) s.host = host;
          if (service !== undefined) s.service = service;
          if (type === 'tcp') {
            const tls = yesNoAttr(c, 'tls');
            if (tls !== undefined) s.tls = tls;
          }
          break;
        }
        case 'nmdm': {
          const master = c.attr('master');
          const slave = c.attr('slave');
          if (master !== undefined) s.master = master;
          if (slave !== undefined) s.slave = slave;
          break;
        }
        case 'spiceport':
        case 'dbus': {
          const ch = c.attr('channel');
          if (ch !== undefined) s.channel = ch;
          break;
        }
        default:
          break;
      }
      src.sources.push(s);
    } else if (c.name === 'protocol' && type === 'tcp') {
      const p = enumAttr<NonNullable<ChrSource['protocol']>>(c, 'type', PROTOCOLS);
      if (p !== undefined) src.protocol = p;
    } else if (c.name === 'log') {
      const file = c.attr('file');
      if (file !== undefined) {
        src.log = { file };
        const ap = onOffAttr(c, 'append');
        if (ap !== undefined) src.log.append = ap;
      }
    }
  }
  normaliseSources(src);
  return src;
}

/** Collapses the sources to the ones libvirt keeps for the type (first wins; udp: bind+connect). */
function normaliseSources(src: ChrSource): void {
  const s = src.sources;
  if (src.type === 'udp') {
    let bind: ChrSourceElement | undefined;
    let connect: ChrSourceElement | undefined;
    for (const e of s) {
      if (e.mode === 'bind') bind ??= e;
      else connect ??= { ...e, mode: 'connect' };
    }
    src.sources = [];
    if (bind && (bind.host !== undefined || bind.service !== undefined)) src.sources.push(bind);
    if (connect && (connect.host !== undefined || connect.service !== undefined)) src.sources.push(connect);
    return;
  }
  if (s.length > 1) src.sources = [s[0]!];
  if (src.type === 'tcp') {
    const e = src.sources[0];
    if (e) e.mode ??= 'connect';
    src.protocol ??= 'raw';
  }
  if (src.type === 'unix') {
    const e = src.sources[0];
    if (e) e.mode ??= 'connect';
  }
  if (src.sources.length === 1 && Object.keys(src.sources[0]!).length === 0) src.sources = [];
}

/** Parses a chardev device element. */
export function parseChr(el: Elem, kind: ChrDeviceKind, ctx: ParseCtx): ChrDef {
  const src = parseChrSource(el, ctx);
  const target: ChrTarget = {};
  const t = el.child('target');
  if (t) {
    const allowed = kind === 'serial' ? SERIAL_TARGETS : kind === 'console' ? CONSOLE_TARGETS : kind === 'channel' ? CHANNEL_TARGETS : null;
    const ttype = t.attr('type');
    if (ttype !== undefined && kind !== 'parallel') {
      if (!allowed!.has(ttype)) {
        throw xmlError(`unknown target type '${ttype}' specified for character device`);
      }
      if (!(kind === 'console' && ttype === 'none')) target.type = ttype;
    }
    if (kind === 'channel') {
      if (target.type === 'guestfwd') {
        const addr = t.attr('address');
        const port = t.attr('port');
        if (addr === undefined || port === undefined) {
          throw xmlValueError(`guestfwd channel does not define a target address or port`);
        }
        target.address = addr;
        const p = intAttr(t, 'port', 0, 65535);
        target.port = p!;
      } else {
        const name = t.attr('name');
        if (name !== undefined) target.name = name;
        if (!ctx.inactive) {
          const st = enumAttr<'connected' | 'disconnected'>(t, 'state', CHANNEL_STATES);
          if (st !== undefined) target.state = st;
        }
      }
    } else {
      const port = intAttr(t, 'port', -1, 0x7fffffff);
      if (port !== undefined && port >= 0) target.port = port;
      if (kind === 'serial') {
        const m = t.child('model');
        if (m) {
          const name = enumAttr<string>(m, 'name', SERIAL_MODELS);
          if (name !== undefined) target.model = name;
        }
      }
    }
  }
  if (kind === 'channel' && target.type === undefined) {
    throw xmlError('target type must be specified for channel device');
  }
  const chr = { ...src, target } as ChrDef;
  parseDeviceInfo(el, chr, ctx, {});
  return chr;
}

/** Writes the `<source>`, `<protocol>` and `<log>` of a chardev (virDomainChrSourceDefFormat). */
export function formatChrSource(w: Writer, src: ChrSource, ctx: FormatCtx): void {
  const s0 = src.sources[0];
  switch (src.type) {
    case 'pty':
    case 'dev':
    case 'file':
    case 'pipe':
      if (s0?.path !== undefined && (src.type !== 'pty' || !ctx.inactive)) {
        w.empty('source', attr('path', s0.path) + (src.type === 'file' ? attr('append', s0.append) : ''));
      }
      break;
    case 'nmdm':
      if (s0) w.empty('source', attr('master', s0.master) + attr('slave', s0.slave));
      break;
    case 'udp':
      for (const s of src.sources) w.empty('source', ` mode='${s.mode ?? 'connect'}'${attr('host', s.host)}${attr('service', s.service)}`);
      break;
    case 'tcp':
      if (s0) w.empty('source', ` mode='${s0.mode ?? 'connect'}'${attr('host', s0.host)}${attr('service', s0.service)}${attr('tls', s0.tls)}`);
      w.empty('protocol', ` type='${src.protocol ?? 'raw'}'`);
      break;
    case 'unix':
      if (s0?.path !== undefined) w.empty('source', ` mode='${s0.mode ?? 'connect'}'${attr('path', s0.path)}`);
      break;
    case 'spiceport':
    case 'dbus':
      if (s0?.channel !== undefined) w.empty('source', attr('channel', s0.channel));
      break;
    default:
      break;
  }
  if (src.log) w.empty('log', attr('file', src.log.file) + attr('append', src.log.append));
}

/** Writes one chardev device element. */
export function formatChr(w: Writer, kind: ChrDeviceKind, chr: ChrDef, ctx: FormatCtx): void {
  const s0 = chr.sources[0];
  const ttyCompat = kind === 'console' && (chr.target.port ?? 0) === 0 && chr.type === 'pty' && !ctx.inactive && s0?.path !== undefined;
  w.open(kind, ` type='${chr.type}'${ttyCompat ? attr('tty', s0!.path) : ''}`);
  formatChrSource(w, chr, ctx);
  const t = chr.target;
  switch (kind) {
    case 'channel':
      if (t.type === 'guestfwd') w.empty('target', ` type='guestfwd'${attr('address', t.address)}${attr('port', t.port)}`);
      else w.empty('target', ` type='${t.type ?? 'virtio'}'${attr('name', t.name)}${!ctx.inactive ? attr('state', t.state) : ''}`);
      break;
    case 'console':
      w.empty('target', `${attr('type', t.type)} port='${t.port ?? 0}'`);
      break;
    case 'serial': {
      const a = `${attr('type', t.type)} port='${t.port ?? 0}'`;
      if (t.model !== undefined) {
        w.open('target', a);
        w.empty('model', attr('name', t.model));
        w.close('target');
      } else w.empty('target', a);
      break;
    }
    case 'parallel':
      w.empty('target', ` port='${t.port ?? 0}'`);
      break;
  }
  formatDeviceInfo(w, chr, ctx);
  w.close(kind);
}

/** libvirt virDomainChrSourceDefIsEqual (used by the console ⇄ serial aliasing). */
export function chrSourceEqual(a: ChrSource, b: ChrSource): boolean {
  if (a.type !== b.type) return false;
  if (a.sources.length !== b.sources.length) return false;
  for (let i = 0; i < a.sources.length; i++) {
    const x = a.sources[i]!;
    const y = b.sources[i]!;
    if (x.path !== y.path || x.mode !== y.mode || x.host !== y.host || x.service !== y.service || x.master !== y.master || x.slave !== y.slave || x.channel !== y.channel) {
      return false;
    }
  }
  return (a.protocol ?? 'raw') === (b.protocol ?? 'raw');
}
