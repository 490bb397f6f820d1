/**
 * `<graphics>`: parse and format (libvirt virDomainGraphicsDefParseXML /
 * virDomainGraphicsDefFormat), VNC in full, SPICE with its attributes (children kept
 * verbatim), other types with their attributes as written.
 *
 * Listen handling follows libvirt: a `listen` attribute without `<listen>` children
 * becomes an address listen; both present must agree; VNC/SPICE with no listen at all get
 * `<listen type='address'/>`; a VNC `socket` attribute becomes a socket listen. The
 * `listen` attribute is written back from the first address listen.
 * Secrets: `passwd` is written only with the secure flag; `passwdValidTo`/`connected`
 * only when a password exists. Inactive XML writes port='-1' for autoport.
 * Spec: docs/formatdomain.rst "Graphical framebuffers".
 */

import { attr, type Writer } from '../format/writer.js';
import { xmlError } from '../errors.js';
import { enumAttr, enumSet, intAttr, uintAttr, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { GraphicsDef, GraphicsListen, OtherGraphics, SpiceGraphics, VncGraphics } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';

const TYPES = enumSet('sdl', 'vnc', 'rdp', 'desktop', 'spice', 'egl-headless', 'dbus');
const LISTEN_TYPES = enumSet('address', 'network', 'socket', 'none');
const SHARE = enumSet('allow-exclusive', 'force-shared', 'ignore');
const CONNECTED_VNC = enumSet('keep', 'disconnect', 'fail');
const DEFAULT_MODE = enumSet('any', 'secure', 'insecure');
const SPICE_CHILD_ORDER = ['channel', 'image', 'jpeg', 'zlib', 'playback', 'streaming', 'mouse', 'clipboard', 'filetransfer', 'gl'];
const RDP_ATTR_ORDER = ['port', 'autoport', 'replaceUser', 'multiUser'];
const VALID_TO = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$/;

function parseListens(el: Elem, type: string): GraphicsListen[] {
  const out: GraphicsListen[] = [];
  for (const c of el.childrenNamed('listen')) {
    const lt = enumAttr<GraphicsListen['type']>(c, 'type', LISTEN_TYPES);
    if (lt === undefined) throw xmlError(`graphics listen type must be specified`);
    const l: GraphicsListen = { type: lt };
    const address = c.attr('address');
    const network = c.attr('network');
    const socket = c.attr('socket');
    if (lt === 'address' && address !== undefined) l.address = address;
    if (lt === 'network') {
      if (network === undefined) throw xmlError(`'network' attribute is required for listen type 'network'`);
      l.network = network;
    }
    if (lt === 'socket') {
      if (type !== 'vnc' && type !== 'spice') throw xmlError(`listen type 'socket' is not available for graphics type '${type}'`);
      if (socket !== undefined) l.socket = socket;
    }
    out.push(l);
  }
  return out;
}

function mergeListenAttr(el: Elem, listens: GraphicsListen[]): string | undefined {
  const la = el.attr('listen');
  if (la === undefined) return undefined;
  const first = listens.find((l) => l.type === 'address');
  if (first === undefined) {
    if (listens.length === 0) listens.push({ type: 'address', address: la });
    return la;
  }
  if (first.address === undefined) first.address = la;
  else if (first.address !== la) {
    throw xmlError(`graphics 'listen' attribute '${la}' must match 'address' attribute of first listen element (found '${first.address}')`);
  }
  return la;
}

function passwdAttrs(el: Elem, g: { passwd?: string; passwdValidTo?: string }): void {
  const p = el.attr('passwd');
  if (p !== undefined) g.passwd = p;
  const vt = el.attr('passwdValidTo');
  if (vt !== undefined) {
    if (!VALID_TO.test(vt)) throw xmlError(`cannot parse password validity time '${vt}', expect YYYY-MM-DDTHH:MM:SS`);
    g.passwdValidTo = vt;
  }
}

/** Parses one `<graphics>`. */
export function parseGraphics(el: Elem, ctx: ParseCtx): GraphicsDef {
  const type = enumAttr<GraphicsDef['type']>(el, 'type', TYPES);
  if (type === undefined) throw xmlError(`missing graphics device type`);
  const listens = parseListens(el, type);
  if (type === 'vnc') {
    const g: VncGraphics = { type, listens };
    const socket = el.attr('socket');
    if (socket !== undefined && listens.length === 0) listens.push({ type: 'socket', socket });
    let port = intAttr(el, 'port', -1, 65535);
    let autoport = yesNoAttr(el, 'autoport');
    if (port === -1) {
      autoport = 'yes';
      port = undefined;
    }
    if (autoport === 'yes' && ctx.inactive) port = undefined;
    if (port !== undefined) g.port = port;
    if (autoport === undefined && port === undefined && listens.every((l) => l.type !== 'socket')) autoport = 'yes';
    if (autoport !== undefined) g.autoport = autoport;
    const ws = intAttr(el, 'websocket', -1, 65535);
    if (ws !== undefined) g.websocket = ws;
    const listen = mergeListenAttr(el, listens);
    if (listen !== undefined) g.listen = listen;
    const keymap = el.attr('keymap');
    if (keymap !== undefined) g.keymap = keymap;
    const sp = enumAttr<NonNullable<VncGraphics['sharePolicy']>>(el, 'sharePolicy', SHARE);
    if (sp !== undefined) g.sharePolicy = sp;
    passwdAttrs(el, g);
    const conn = enumAttr<NonNullable<VncGraphics['connected']>>(el, 'connected', CONNECTED_VNC);
    if (conn !== undefined) g.connected = conn;
    const pc = yesNoAttr(el, 'powerControl');
    if (pc !== undefined) g.powerControl = pc;
    const wait = yesNoAttr(el, 'wait');
    if (wait !== undefined) g.wait = wait;
    const audio = el.child('audio');
    if (audio) {
      const id = uintAttr(audio, 'id');
      if (id !== undefined && id > 0) g.audio = { id };
    }
    if (listens.length === 0) listens.push({ type: 'address' });
    parseDeviceInfo(el, g, ctx, {});
    return g;
  }
  if (type === 'spice') {
    const g: SpiceGraphics = { type, listens, children: [] };
    let port = intAttr(el, 'port', -1, 65535);
    let tlsPort = intAttr(el, 'tlsPort', -1, 65535);
    let autoport = yesNoAttr(el, 'autoport');
    if (port === -1) port = undefined;
    if (tlsPort === -1) tlsPort = undefined;
    if (autoport === 'yes' && ctx.inactive) {
      port = undefined;
      tlsPort = undefined;
    }
    if (port !== undefined) g.port = port;
    if (tlsPort !== undefined) g.tlsPort = tlsPort;
    if (autoport !== undefined) g.autoport = autoport;
    const listen = mergeListenAttr(el, listens);
    if (listen !== undefined) g.listen = listen;
    const dm = enumAttr<NonNullable<SpiceGraphics['defaultMode']>>(el, 'defaultMode', DEFAULT_MODE);
    if (dm !== undefined) g.defaultMode = dm;
    const keymap = el.attr('keymap');
    if (keymap !== undefined) g.keymap = keymap;
    passwdAttrs(el, g);
    const conn = enumAttr<NonNullable<SpiceGraphics['connected']>>(el, 'connected', CONNECTED_VNC);
    if (conn !== undefined) g.connected = conn;
    for (const c of el.children()) {
      if (SPICE_CHILD_ORDER.includes(c.name)) g.children.push(c.toXmlElement());
    }
    // libvirt writes the children in its own order, channels first
    g.children.sort((a, b) => SPICE_CHILD_ORDER.indexOf(a.name) - SPICE_CHILD_ORDER.indexOf(b.name));
    if (listens.length === 0) listens.push({ type: 'address' });
    parseDeviceInfo(el, g, ctx, {});
    return g;
  }
  const g: OtherGraphics = { type, attrs: el.attrs().filter(([k]) => k !== 'type'), listens, children: [] };
  if (type === 'rdp') {
    // rdp: port always written (0 = none), listen attribute folded into the listens
    const la = mergeListenAttr(el, listens);
    const attrs = g.attrs.filter(([k]) => RDP_ATTR_ORDER.includes(k));
    if (!attrs.some(([k]) => k === 'port')) attrs.unshift(['port', '0']);
    attrs.sort((a, b) => RDP_ATTR_ORDER.indexOf(a[0]) - RDP_ATTR_ORDER.indexOf(b[0]));
    if (la !== undefined) attrs.push(['listen', la]);
    g.attrs = attrs;
    if (listens.length === 0) listens.push({ type: 'address' });
  }
  for (const c of el.children()) if (c.name !== 'listen' && c.name !== 'alias' && c.name !== 'address') g.children.push(c.toXmlElement());
  parseDeviceInfo(el, g, ctx, {});
  return g;
}

function formatListen(w: Writer, l: GraphicsListen, ctx: FormatCtx): void {
  let a = ` type='${l.type}'`;
  if (l.type === 'address') a += attr('address', l.address);
  if (l.type === 'network') a += (!ctx.inactive ? attr('address', l.address) : '') + attr('network', l.network);
  if (l.type === 'socket') a += attr('socket', l.socket);
  w.empty('listen', a);
}

function firstAddress(listens: GraphicsListen[]): string | undefined {
  const l = listens[0];
  return l !== undefined && l.type === 'address' ? l.address : undefined;
}

/** Writes one `<graphics>`. */
export function formatGraphics(w: Writer, g: GraphicsDef, ctx: FormatCtx): void {
  let a = ` type='${g.type}'`;
  if (g.type === 'vnc') {
    const l0 = g.listens[0];
    if (l0?.type === 'socket') a += attr('socket', l0.socket);
    else if (l0?.type !== 'none') {
      if (g.port !== undefined && (g.autoport !== 'yes' || !ctx.inactive)) a += ` port='${g.port}'`;
      else if (g.autoport === 'yes') a += ` port='-1'`;
      a += ` autoport='${g.autoport ?? 'no'}'`;
      if (g.wait !== undefined) a += attr('wait', g.wait);
      a += attr('websocket', g.websocket);
      a += attr('listen', firstAddress(g.listens));
    }
    a += attr('keymap', g.keymap) + attr('sharePolicy', g.sharePolicy) + attr('powerControl', g.powerControl);
    if (g.passwd !== undefined) {
      if (ctx.secure) a += attr('passwd', g.passwd);
      a += attr('passwdValidTo', g.passwdValidTo) + attr('connected', g.connected);
    }
  } else if (g.type === 'spice') {
    if (g.port !== undefined && (g.autoport !== 'yes' || !ctx.inactive)) a += ` port='${g.port}'`;
    if (g.tlsPort !== undefined && (g.autoport !== 'yes' || !ctx.inactive)) a += ` tlsPort='${g.tlsPort}'`;
    if (g.autoport !== undefined) a += ` autoport='${g.autoport}'`;
    a += attr('listen', firstAddress(g.listens));
    a += attr('keymap', g.keymap) + attr('defaultMode', g.defaultMode);
    if (g.passwd !== undefined) {
      if (ctx.secure) a += attr('passwd', g.passwd);
      a += attr('passwdValidTo', g.passwdValidTo) + attr('connected', g.connected);
    }
  } else {
    for (const [k, v] of g.attrs) a += attr(k, v);
  }
  w.elem('graphics', a, (w) => {
    for (const l of g.listens) formatListen(w, l, ctx);
    if (g.type === 'vnc' && g.audio) w.empty('audio', ` id='${g.audio.id}'`);
    if (g.type !== 'vnc') for (const c of g.children) w.raw(c);
    formatDeviceInfo(w, g, ctx);
  });
}
