/**
 * `<video>`, `<input>`, `<sound>` and `<audio>`: parse and format (libvirt
 * virDomainVideoDefParseXML/Format, virDomainInputDefParseXML/Format,
 * virDomainSoundDefParseXML/Format, virDomainAudioDefParseXML/Format).
 *
 * Defaults applied as libvirt's parser does: input bus from the guest's OS type and
 * architecture (ps2 for x86 HVM mouse/keyboard, usb otherwise), video heads 1 and the
 * video RAM default of the model (virDomainVideoDefaultRAM).
 * Spec: docs/formatdomain.rst "Video devices", "Input devices", "Sound devices", "Audio
 * backends".
 */

import { attr, type Writer } from '../format/writer.js';
import { xmlError } from '../errors.js';
import { enumAttr, enumAttrReq, enumSet, onOffAttr, uintAttr, uintAttrReq, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { AudioDef, AudioIO, DomainVirtType, InputDef, OsType, SoundDef, VideoDef, VideoDriver } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo } from './address.js';
import type { FormatCtx, ParseCtx } from './context.js';
import { parseVirtioOptions, virtioOptionsAttrs } from './virtio-options.js';

/** What the device parsers need to know about the domain (bus defaults). */
export interface DomainFacts {
  virtType: DomainVirtType;
  osType: OsType;
  arch: string | undefined;
}

const VIDEO_TYPES = enumSet('default', 'vga', 'cirrus', 'vmvga', 'xen', 'vbox', 'qxl', 'parallels', 'virtio', 'gop', 'none', 'bochs', 'ramfb');
const VGACONF = enumSet('io', 'on', 'off');
/** virDomainVideoBackend without its zero value 'default' (VIR_XML_PROP_NONZERO). */
const VIDEO_BACKENDS = enumSet('qemu', 'vhostuser');

/** Common video defaults (after the driver chose the model): heads 1, the model's RAM. */
export function videoDefaults(v: VideoDef, virtType: DomainVirtType): void {
  if (v.model.type === 'none') return;
  v.model.heads ??= 1;
  if (v.model.vram === undefined) {
    const ram = videoDefaultRAM(virtType, v.model.type);
    if (ram) v.model.vram = ram;
  }
}

/** virDomainVideoDefaultRAM (KiB). */
export function videoDefaultRAM(virtType: DomainVirtType, type: VideoDef['model']['type']): number {
  switch (type) {
    case 'vga':
    case 'cirrus':
    case 'vmvga':
      if (virtType === 'vbox') return 8 * 1024;
      if (virtType === 'vmware') return 4 * 1024;
      return 16 * 1024;
    case 'bochs':
      return 16 * 1024;
    case 'xen':
      return 4 * 1024;
    case 'qxl':
      return 64 * 1024;
    default:
      return 0;
  }
}

/** Parses one `<video>`. */
export function parseVideo(el: Elem, ctx: ParseCtx, facts: DomainFacts): VideoDef {
  const v: VideoDef = { model: { type: 'default' } };
  for (const c of el.children()) {
    if (c.name === 'model' && v.model.type === 'default' && !v.model.heads) {
      const type = enumAttr<VideoDef['model']['type']>(c, 'type', VIDEO_TYPES);
      if (type !== undefined) v.model.type = type;
      for (const k of ['ram', 'vram', 'vram64', 'vgamem', 'heads'] as const) {
        const n = uintAttr(c, k);
        if (n !== undefined) v.model[k] = n;
      }
      const primary = yesNoAttr(c, 'primary');
      if (primary === 'yes') v.model.primary = true;
      const acc = c.child('acceleration');
      if (acc) {
        const a: NonNullable<VideoDef['model']['acceleration']> = {};
        const a3 = yesNoAttr(acc, 'accel3d');
        const a2 = yesNoAttr(acc, 'accel2d');
        const rn = acc.attr('rendernode');
        if (a3 !== undefined) a.accel3d = a3;
        if (a2 !== undefined) a.accel2d = a2;
        if (rn !== undefined) a.rendernode = rn;
        v.model.acceleration = a;
      }
      const res = c.child('resolution');
      if (res) v.model.resolution = { x: uintAttrReq(res, 'x'), y: uintAttrReq(res, 'y') };
    } else if (c.name === 'driver' && v.driver === undefined) {
      // virDomainVideoDefParseXML / virDomainVideoDriverDefParseXML: the first <driver>
      const d: VideoDriver = {};
      const vc = enumAttr<NonNullable<VideoDriver['vgaconf']>>(c, 'vgaconf', VGACONF);
      if (vc !== undefined) d.vgaconf = vc;
      const name = enumAttr<NonNullable<VideoDriver['name']>>(c, 'name', VIDEO_BACKENDS);
      if (name !== undefined) d.name = name;
      v.driver = parseVirtioOptions(c, d);
    }
  }
  void facts;
  parseDeviceInfo(el, v, ctx, {});
  return v;
}

/** Writes one `<video>`. */
export function formatVideo(w: Writer, v: VideoDef, ctx: FormatCtx): void {
  w.open('video', '');
  if (v.driver) {
    // virDomainVideoDefFormat: vgaconf 'io' is the enum's zero and is not written; a
    // <driver> left without attributes is not written either.
    const d = v.driver;
    const a = virtioOptionsAttrs(d) + (d.vgaconf !== 'io' ? attr('vgaconf', d.vgaconf) : '') + attr('name', d.name);
    if (a !== '') w.empty('driver', a);
  }
  const m = v.model;
  const a =
    ` type='${m.type}'` +
    attr('ram', m.ram) +
    attr('vram', m.vram) +
    attr('vram64', m.vram64) +
    attr('vgamem', m.vgamem) +
    attr('heads', m.heads) +
    (m.primary ? " primary='yes'" : '');
  if (m.acceleration || m.resolution) {
    w.open('model', a);
    if (m.acceleration) {
      const x = m.acceleration;
      w.empty('acceleration', attr('accel3d', x.accel3d) + attr('accel2d', x.accel2d) + attr('rendernode', x.rendernode));
    }
    if (m.resolution) w.empty('resolution', ` x='${m.resolution.x}' y='${m.resolution.y}'`);
    w.close('model');
  } else w.empty('model', a);
  formatDeviceInfo(w, v, ctx);
  w.close('video');
}

const INPUT_TYPES = enumSet('mouse', 'tablet', 'keyboard', 'passthrough', 'evdev');
const INPUT_BUSES = enumSet('ps2', 'usb', 'xen', 'parallels', 'virtio', 'none');
const INPUT_MODELS = enumSet('virtio', 'virtio-transitional', 'virtio-non-transitional');
const GRAB_TOGGLE = enumSet('ctrl-ctrl', 'alt-alt', 'shift-shift', 'meta-meta', 'scrolllock', 'ctrl-scrolllock');

function isX86(arch: string | undefined): boolean {
  return arch === undefined || arch === 'x86_64' || arch === 'i686';
}

/** Parses one `<input>`. */
export function parseInput(el: Elem, ctx: ParseCtx, facts: DomainFacts): InputDef {
  const type = enumAttrReq<InputDef['type']>(el, 'type', INPUT_TYPES);
  const input: InputDef = { type };
  let bus = enumAttr<NonNullable<InputDef['bus']>>(el, 'bus', INPUT_BUSES);
  if (bus === undefined) {
    if (facts.osType === 'hvm') {
      if ((type === 'mouse' || type === 'keyboard') && isX86(facts.arch)) bus = 'ps2';
      else if (facts.arch?.startsWith('s390') || type === 'passthrough') bus = 'virtio';
      else if (type === 'evdev') bus = undefined;
      else bus = 'usb';
    } else if (facts.osType === 'xen' || facts.osType === 'xenpvh') bus = 'xen';
    else if (facts.virtType === 'vz' || facts.virtType === 'parallels') bus = 'parallels';
  }
  if (bus !== undefined && bus !== 'none') input.bus = bus;
  const model = enumAttr<NonNullable<InputDef['model']>>(el, 'model', INPUT_MODELS);
  if (model !== undefined) input.model = model;
  const src = el.child('source');
  if (src) {
    const s: NonNullable<InputDef['source']> = {};
    const evdev = src.attr('evdev');
    const dev = src.attr('dev');
    if (evdev !== undefined) s.evdev = evdev;
    if (dev !== undefined) s.dev = dev;
    const grab = src.attr('grab');
    if (grab !== undefined) {
      if (grab !== 'all') throw xmlError(`Invalid value for attribute 'grab' in element 'source': '${grab}'.`);
      s.grab = 'all';
    }
    const gt = enumAttr<string>(src, 'grabToggle', GRAB_TOGGLE);
    if (gt !== undefined) s.grabToggle = gt;
    const rep = onOffAttr(src, 'repeat');
    if (rep !== undefined) s.repeat = rep;
    input.source = s;
  }
  if (type === 'passthrough' && input.source?.evdev === undefined) throw xmlError(`Missing evdev path for input device passthrough`);
  if (type === 'evdev' && input.source?.dev === undefined) throw xmlError(`Missing evdev path for input device`);
  const drv = el.child('driver');
  if (drv) input.driver = parseVirtioOptions(drv, {});
  parseDeviceInfo(el, input, ctx, {});
  return input;
}

/** Writes one `<input>`. */
export function formatInput(w: Writer, input: InputDef, ctx: FormatCtx): void {
  w.elem('input', ` type='${input.type}'${attr('bus', input.bus)}${attr('model', input.model)}`, (w) => {
    const s = input.source;
    if (s) w.empty('source', attr('evdev', s.evdev) + attr('dev', s.dev) + attr('grab', s.grab) + attr('grabToggle', s.grabToggle) + attr('repeat', s.repeat));
    const d = input.driver;
    if (d) {
      const a = virtioOptionsAttrs(d);
      if (a !== '') w.empty('driver', a);
    }
    formatDeviceInfo(w, input, ctx);
  });
}

const SOUND_MODELS = enumSet('sb16', 'es1370', 'pcspk', 'ac97', 'ich6', 'ich7', 'ich9', 'usb', 'ics', 'hda');
const CODECS = enumSet('duplex', 'micro', 'output');

/** Parses one `<sound>`. */
export function parseSound(el: Elem, ctx: ParseCtx): SoundDef {
  const model = enumAttrReq<SoundDef['model']>(el, 'model', SOUND_MODELS);
  const s: SoundDef = { model };
  for (const c of el.children()) {
    if (c.name === 'codec') (s.codecs ??= []).push({ type: enumAttrReq<'duplex' | 'micro' | 'output'>(c, 'type', CODECS) });
    else if (c.name === 'audio') {
      const id = uintAttr(c, 'id');
      if (id !== undefined && id > 0) s.audio = { id };
    }
  }
  parseDeviceInfo(el, s, ctx, {});
  return s;
}

/** Writes one `<sound>`. */
export function formatSound(w: Writer, s: SoundDef, ctx: FormatCtx): void {
  w.elem('sound', ` model='${s.model}'`, (w) => {
    if (s.codecs) for (const c of s.codecs) w.empty('codec', ` type='${c.type}'`);
    if (s.audio) w.empty('audio', ` id='${s.audio.id}'`);
    formatDeviceInfo(w, s, ctx);
  });
}

const AUDIO_TYPES = enumSet('none', 'alsa', 'coreaudio', 'jack', 'oss', 'pulseaudio', 'sdl', 'spice', 'file', 'dbus', 'pipewire');

const IO_STRING_ATTRS = ['dev', 'name', 'streamName', 'serverName', 'clientName', 'connectPorts', 'policy'] as const;
const IO_YESNO_ATTRS = ['mixingEngine', 'fixedSettings', 'exactName', 'tryPoll', 'tryMMap', 'exclusive'] as const;
const IO_UINT_ATTRS = ['voices', 'bufferLength', 'latency', 'bufferCount'] as const;

function parseAudioIO(c: Elem): AudioIO {
  const io: AudioIO = {};
  for (const k of IO_YESNO_ATTRS) {
    const v = yesNoAttr(c, k);
    if (v !== undefined) io[k] = v;
  }
  for (const k of IO_UINT_ATTRS) {
    const v = uintAttr(c, k);
    if (v !== undefined) io[k] = v;
  }
  for (const k of IO_STRING_ATTRS) {
    const v = c.attr(k);
    if (v !== undefined) io[k] = v;
  }
  const st = c.child('settings');
  if (st) {
    const s: NonNullable<AudioIO['settings']> = {};
    const f = uintAttr(st, 'frequency');
    const ch = uintAttr(st, 'channels');
    const fmt = st.attr('format');
    if (f !== undefined) s.frequency = f;
    if (ch !== undefined) s.channels = ch;
    if (fmt !== undefined) s.format = fmt;
    io.settings = s;
  }
  return io;
}

/** Parses one `<audio>`. */
export function parseAudio(el: Elem): AudioDef {
  const id = uintAttrReq(el, 'id');
  if (id === 0) throw xmlError(`audio id must be a positive integer`);
  const type = enumAttrReq<AudioDef['type']>(el, 'type', AUDIO_TYPES);
  const a: AudioDef = { id, type };
  const tp = uintAttr(el, 'timerPeriod');
  if (tp !== undefined) a.timerPeriod = tp;
  const tryPoll = yesNoAttr(el, 'tryPoll');
  if (tryPoll !== undefined) a.tryPoll = tryPoll;
  for (const k of ['path', 'serverName', 'driver', 'runtimeDir'] as const) {
    const v = el.attr(k);
    if (v !== undefined) a[k] = v;
  }
  const input = el.child('input');
  if (input) a.input = parseAudioIO(input);
  const output = el.child('output');
  if (output) a.output = parseAudioIO(output);
  return a;
}

function formatAudioIO(w: Writer, name: string, io: AudioIO): void {
  let a = attr('mixingEngine', io.mixingEngine) + attr('fixedSettings', io.fixedSettings) + attr('voices', io.voices) + attr('bufferLength', io.bufferLength);
  a += attr('dev', io.dev) + attr('name', io.name) + attr('streamName', io.streamName) + attr('latency', io.latency);
  a += attr('serverName', io.serverName) + attr('clientName', io.clientName) + attr('connectPorts', io.connectPorts) + attr('exactName', io.exactName);
  a += attr('bufferCount', io.bufferCount) + attr('tryPoll', io.tryPoll) + attr('tryMMap', io.tryMMap) + attr('exclusive', io.exclusive) + attr('policy', io.policy);
  if (io.settings) {
    w.open(name, a);
    const s = io.settings;
    w.empty('settings', attr('frequency', s.frequency) + attr('channels', s.channels) + attr('format', s.format));
    w.close(name);
  } else if (a !== '') w.empty(name, a);
}

/** Writes one `<audio>`. */
export function formatAudio(w: Writer, a: AudioDef): void {
  const at =
    ` id='${a.id}' type='${a.type}'` +
    attr('timerPeriod', a.timerPeriod) +
    attr('tryPoll', a.tryPoll) +
    attr('path', a.path) +
    attr('serverName', a.serverName) +
    attr('driver', a.driver) +
    attr('runtimeDir', a.runtimeDir);
  w.elem('audio', at, (w) => {
    if (a.input) formatAudioIO(w, 'input', a.input);
    if (a.output) formatAudioIO(w, 'output', a.output);
  });
}
