/**
 * `<rng>`, `<tpm>`, `<watchdog>`, `<memballoon>`, `<panic>`: parse and format (libvirt
 * virDomainRNGDefParseXML/Format, virDomainTPMDefParseXML/Format,
 * virDomainWatchdogDefParseXML/Format, virDomainMemballoonDefParseXML/Format,
 * virDomainPanicDefParseXML/Format).
 *
 * RNG backends: random (device path as text), egd (a chardev source), builtin.
 * Watchdog action defaults to `reset` and is always written, like libvirt.
 * Spec: docs/formatdomain.rst "Random number generator device", "TPM device",
 * "Watchdog devices", "Memory balloon device", "Panic device".
 */

import { attr, type Writer } from '../format/writer.js';
import { xmlError } from '../errors.js';
import { enumAttr, enumAttrReq, enumSet, onOffAttr, uintAttr, uintAttrReq, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { MemballoonDef, PanicDef, RngDef, TpmDef, VirtioOptions, WatchdogDef } from '../types.js';
import { formatDeviceInfo, parseDeviceInfo } from './address.js';
import { formatChrSource, parseChrSource } from './chardev.js';
import type { FormatCtx, ParseCtx } from './context.js';
import { parseVirtioOptions, virtioOptionsAttrs } from './virtio-options.js';

function parseVirtioDriver(el: Elem): VirtioOptions | undefined {
  const d = el.child('driver');
  return d ? parseVirtioOptions(d, {}) : undefined;
}

function formatVirtioDriver(w: Writer, d: VirtioOptions | undefined): void {
  if (!d) return;
  const a = virtioOptionsAttrs(d);
  if (a !== '') w.empty('driver', a);
}

const RNG_MODELS = enumSet('virtio', 'virtio-transitional', 'virtio-non-transitional');
const RNG_BACKENDS = enumSet('random', 'egd', 'builtin');

/** Parses one `<rng>`. */
export function parseRng(el: Elem, ctx: ParseCtx): RngDef {
  const model = enumAttrReq<RngDef['model']>(el, 'model', RNG_MODELS);
  const be = el.child('backend');
  if (!be) throw xmlError(`missing RNG device backend`);
  const bm = enumAttrReq<'random' | 'egd' | 'builtin'>(be, 'model', RNG_BACKENDS);
  let backend: RngDef['backend'];
  if (bm === 'random') {
    const path = be.text();
    // libvirt reads /dev/random when no device is named
    backend = { model: 'random', device: path.trim() !== '' ? path : '/dev/random' };
  } else if (bm === 'egd') {
    if (be.attr('type') === undefined) throw xmlError(`missing EGD backend type`);
    backend = { model: 'egd', ...parseChrSource(be, ctx) };
  } else backend = { model: 'builtin' };
  const rng: RngDef = { model, backend };
  const rate = el.child('rate');
  if (rate) {
    const bytes = uintAttrReq(rate, 'bytes');
    if (bytes === 0) throw xmlError(`rate bytes must be positive`);
    rng.rate = { bytes };
    const period = uintAttr(rate, 'period');
    if (period !== undefined) rng.rate.period = period;
  }
  const drv = parseVirtioDriver(el);
  if (drv) rng.driver = drv;
  parseDeviceInfo(el, rng, ctx, {});
  return rng;
}

/** Writes one `<rng>`. */
export function formatRng(w: Writer, rng: RngDef, ctx: FormatCtx): void {
  w.open('rng', ` model='${rng.model}'`);
  if (rng.rate) w.empty('rate', ` bytes='${rng.rate.bytes}'${attr('period', rng.rate.period)}`);
  const b = rng.backend;
  if (b.model === 'random') {
    if (b.device !== undefined) w.textElem('backend', " model='random'", b.device);
    else w.empty('backend', " model='random'");
  } else if (b.model === 'egd') {
    w.elem('backend', ` model='egd' type='${b.type}'`, (w) => formatChrSource(w, b, ctx));
  } else w.empty('backend', " model='builtin'");
  formatVirtioDriver(w, rng.driver);
  formatDeviceInfo(w, rng, ctx);
  w.close('rng');
}

const TPM_MODELS = enumSet('tpm-tis', 'tpm-crb', 'tpm-spapr', 'spapr-tpm-proxy');
const TPM_BACKENDS = enumSet('passthrough', 'emulator', 'external');
const TPM_VERSIONS = enumSet('1.2', '2.0');

/** Parses one `<tpm>`. */
export function parseTpm(el: Elem, ctx: ParseCtx): TpmDef {
  const model = enumAttr<NonNullable<TpmDef['model']>>(el, 'model', TPM_MODELS);
  const be = el.child('backend');
  if (!be) throw xmlError(`missing TPM device backend`);
  const type = enumAttrReq<TpmDef['backend']['type']>(be, 'type', TPM_BACKENDS);
  const backend: TpmDef['backend'] = { type };
  const version = enumAttr<'1.2' | '2.0'>(be, 'version', TPM_VERSIONS);
  if (version !== undefined) backend.version = version;
  const ps = yesNoAttr(be, 'persistent_state');
  if (ps !== undefined) backend.persistent_state = ps;
  for (const c of be.children()) {
    if (c.name === 'device') {
      const path = c.attr('path');
      if (path !== undefined) backend.device = { path };
    } else if (c.name === 'source') {
      const path = c.attr('path');
      const t = c.attr('type');
      if (path !== undefined && t !== undefined) {
        backend.source = { type: t, path };
        const m = c.attr('mode');
        if (m !== undefined) backend.source.mode = m;
      }
    } else if (c.name === 'encryption') {
      const secret = c.attr('secret');
      if (secret !== undefined) backend.encryption = { secret };
    } else if (c.name === 'active_pcr_banks') {
      backend.active_pcr_banks = c.children().map((b) => b.name);
    }
  }
  const tpm: TpmDef = { backend };
  if (model !== undefined) tpm.model = model;
  parseDeviceInfo(el, tpm, ctx, {});
  return tpm;
}

/** Writes one `<tpm>`. */
export function formatTpm(w: Writer, tpm: TpmDef, ctx: FormatCtx): void {
  w.open('tpm', attr('model', tpm.model));
  const b = tpm.backend;
  const a = ` type='${b.type}'${attr('version', b.version)}${attr('persistent_state', b.persistent_state)}`;
  w.elem('backend', a, (w) => {
    if (b.device) w.empty('device', attr('path', b.device.path));
    if (b.source) w.empty('source', ` type='${b.source.type}'${attr('mode', b.source.mode)}${attr('path', b.source.path)}`);
    if (b.encryption) w.empty('encryption', attr('secret', b.encryption.secret));
    if (b.active_pcr_banks) {
      w.open('active_pcr_banks', '');
      for (const bank of b.active_pcr_banks) w.empty(bank, '');
      w.close('active_pcr_banks');
    }
  });
  formatDeviceInfo(w, tpm, ctx);
  w.close('tpm');
}

const WD_MODELS = enumSet('i6300esb', 'ib700', 'diag288', 'itco');
const WD_ACTIONS = enumSet('reset', 'shutdown', 'poweroff', 'pause', 'dump', 'none', 'inject-nmi');

/** Parses one `<watchdog>`. */
export function parseWatchdog(el: Elem, ctx: ParseCtx): WatchdogDef {
  const model = enumAttrReq<WatchdogDef['model']>(el, 'model', WD_MODELS);
  const action = enumAttr<NonNullable<WatchdogDef['action']>>(el, 'action', WD_ACTIONS) ?? 'reset';
  const wd: WatchdogDef = { model, action };
  parseDeviceInfo(el, wd, ctx, {});
  return wd;
}

/** Writes one `<watchdog>`. */
export function formatWatchdog(w: Writer, wd: WatchdogDef, ctx: FormatCtx): void {
  w.elem('watchdog', ` model='${wd.model}' action='${wd.action ?? 'reset'}'`, (w) => formatDeviceInfo(w, wd, ctx));
}

const BALLOON_MODELS = enumSet('virtio', 'xen', 'none', 'virtio-transitional', 'virtio-non-transitional');

/** Parses `<memballoon>`. */
export function parseMemballoon(el: Elem, ctx: ParseCtx): MemballoonDef {
  const model = enumAttrReq<MemballoonDef['model']>(el, 'model', BALLOON_MODELS);
  const mb: MemballoonDef = { model };
  const ad = onOffAttr(el, 'autodeflate');
  if (ad !== undefined) mb.autodeflate = ad;
  const fpr = onOffAttr(el, 'freePageReporting');
  if (fpr !== undefined) mb.freePageReporting = fpr;
  const stats = el.child('stats');
  if (stats) {
    const period = uintAttr(stats, 'period');
    if (period !== undefined) mb.stats = { period };
  }
  const drv = parseVirtioDriver(el);
  if (drv) mb.driver = drv;
  parseDeviceInfo(el, mb, ctx, {});
  return mb;
}

/** Writes `<memballoon>`. */
export function formatMemballoon(w: Writer, mb: MemballoonDef, ctx: FormatCtx): void {
  w.elem('memballoon', ` model='${mb.model}'${attr('autodeflate', mb.autodeflate)}${attr('freePageReporting', mb.freePageReporting)}`, (w) => {
    if (mb.stats && mb.stats.period) w.empty('stats', ` period='${mb.stats.period}'`);
    formatDeviceInfo(w, mb, ctx);
    formatVirtioDriver(w, mb.driver);
  });
}

const PANIC_MODELS = enumSet('isa', 'pseries', 'hyperv', 's390', 'pvpanic');

/** Parses one `<panic>`. */
export function parsePanic(el: Elem, ctx: ParseCtx): PanicDef {
  const p: PanicDef = {};
  const model = enumAttr<NonNullable<PanicDef['model']>>(el, 'model', PANIC_MODELS);
  if (model !== undefined) p.model = model;
  parseDeviceInfo(el, p, ctx, {});
  return p;
}

/** Writes one `<panic>`. */
export function formatPanic(w: Writer, p: PanicDef, ctx: FormatCtx): void {
  w.elem('panic', attr('model', p.model), (w) => formatDeviceInfo(w, p, ctx));
}
