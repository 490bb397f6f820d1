/**
 * Domain-level elements outside `<os>`, `<cpu>` and `<devices>`: memory sizes and
 * `<memoryBacking>`, `<vcpu>`, `<iothreads>`, `<sysinfo>`, `<features>`, `<clock>`,
 * `<pm>` and the lifecycle actions (libvirt virDomainDefParseXML's sections and the
 * matching blocks of virDomainDefFormatInternal).
 *
 * Features are written in libvirt's virDomainFeature order; state features (`hap`, `pmu`,
 * ...) given as `<x/>` mean on and are written `<x state='on'/>`. Unknown feature names are
 * refused like libvirt ("unexpected feature"). Spec: docs/formatdomain.rst "Memory
 * allocation", "Memory Backing", "CPU Allocation", "Hypervisor features", "Time keeping",
 * "Events configuration", "Power Management", "SMBIOS System Information".
 */

import { attr, type Writer } from '../format/writer.js';
import { xmlError } from '../errors.js';
import { enumAttr, enumSet, intAttr, parseSizeKiB, uintAttr, uintAttrReq, xmlValueError, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import { canonicalCpuList } from './cpu.js';
import type { ClockDef, FeaturesDef, MemoryBackingDef, PmDef, StateFeature, SysinfoDef, TimerDef, XmlElement } from '../types.js';

/* ------------------------------------------------------------------ memory backing */

const SOURCE_TYPES = enumSet('file', 'anonymous', 'memfd');
const ACCESS = enumSet('shared', 'private');
const ALLOC = enumSet('immediate', 'ondemand');

export function parseMemoryBacking(el: Elem): MemoryBackingDef {
  const mb: MemoryBackingDef = {};
  for (const c of el.children()) {
    switch (c.name) {
      case 'hugepages': {
        const pages: NonNullable<MemoryBackingDef['hugepages']>['pages'] = [];
        for (const p of c.childrenNamed('page')) {
          const sz = p.attr('size');
          if (sz === undefined) throw xmlError(`hugepage size can't be zero`);
          const page: { size?: number; nodeset?: string } = { size: parseSizeKiB(sz, p.attr('unit'), './hugepages/page/@size') };
          const ns = p.attr('nodeset');
          if (ns !== undefined) page.nodeset = canonicalCpuList(ns, "hugepage 'nodeset'");
          pages.push(page);
        }
        mb.hugepages = { pages };
        break;
      }
      case 'nosharepages':
        mb.nosharepages = true;
        break;
      case 'locked':
        mb.locked = true;
        break;
      case 'source': {
        const t = enumAttr<'file' | 'anonymous' | 'memfd'>(c, 'type', SOURCE_TYPES);
        if (t !== undefined) mb.source = { type: t };
        break;
      }
      case 'access': {
        const m = enumAttr<'shared' | 'private'>(c, 'mode', ACCESS);
        if (m !== undefined) mb.access = { mode: m };
        break;
      }
      case 'allocation': {
        const a: NonNullable<MemoryBackingDef['allocation']> = {};
        const m = enumAttr<'immediate' | 'ondemand'>(c, 'mode', ALLOC);
        if (m !== undefined) a.mode = m;
        const th = uintAttr(c, 'threads');
        if (th !== undefined) a.threads = th;
        mb.allocation = a;
        break;
      }
      case 'discard':
        mb.discard = true;
        break;
      default:
        break;
    }
  }
  return mb;
}

export function formatMemoryBacking(w: Writer, mb: MemoryBackingDef): void {
  w.elem('memoryBacking', '', (w) => {
    if (mb.hugepages) {
      if (mb.hugepages.pages.length === 0) w.empty('hugepages', '');
      else {
        w.open('hugepages', '');
        for (const p of mb.hugepages.pages) w.empty('page', ` size='${p.size}' unit='KiB'${attr('nodeset', p.nodeset)}`);
        w.close('hugepages');
      }
    }
    if (mb.nosharepages) w.empty('nosharepages', '');
    if (mb.locked) w.empty('locked', '');
    if (mb.source) w.empty('source', ` type='${mb.source.type}'`);
    if (mb.access) w.empty('access', ` mode='${mb.access.mode}'`);
    if (mb.allocation) {
      const a = attr('mode', mb.allocation.mode) + attr('threads', mb.allocation.threads);
      if (a !== '') w.empty('allocation', a);
    }
    if (mb.discard) w.empty('discard', '');
  });
}

/* ------------------------------------------------------------------ sysinfo */

const SYSINFO_ORDER: Record<string, string[]> = {
  bios: ['vendor', 'version', 'date', 'release'],
  system: ['manufacturer', 'product', 'version', 'serial', 'uuid', 'sku', 'family'],
  baseBoard: ['manufacturer', 'product', 'version', 'serial', 'asset', 'location'],
  chassis: ['manufacturer', 'version', 'serial', 'asset', 'sku'],
};

function parseEntries(block: Elem, kind: string): Array<{ name: string; value: string }> {
  const allowed = SYSINFO_ORDER[kind]!;
  const found = new Map<string, string>();
  for (const e of block.childrenNamed('entry')) {
    const name = e.attr('name');
    if (name === undefined || !allowed.includes(name)) continue;
    if (!found.has(name)) found.set(name, e.text());
  }
  if (kind === 'bios') {
    const date = found.get('date');
    if (date !== undefined && !/^(0[1-9]|1[0-2])\/(0[1-9]|[12][0-9]|3[01])\/([0-9]{2}|[0-9]{4})$/.test(date)) {
      throw xmlError(`Invalid BIOS 'date' format: ${date}`);
    }
  }
  return allowed.filter((n) => found.has(n)).map((n) => ({ name: n, value: found.get(n)! }));
}

export function parseSysinfo(el: Elem): SysinfoDef {
  const type = el.attr('type');
  if (type !== 'smbios' && type !== 'fwcfg') throw xmlError(`unknown sysinfo type '${type ?? ''}'`);
  const s: SysinfoDef = { type };
  if (type === 'fwcfg') {
    s.entries = el.childrenNamed('entry').map((e) => {
      const name = e.attr('name');
      if (name === undefined) throw xmlError(`Firmware entry is missing 'name' attribute`);
      const entry: { name: string; file?: string; value?: string } = { name };
      const file = e.attr('file');
      if (file !== undefined) entry.file = file;
      const v = e.text();
      if (v !== '') entry.value = v;
      return entry;
    });
    return s;
  }
  for (const c of el.children()) {
    if (c.name === 'bios') s.bios = parseEntries(c, 'bios');
    else if (c.name === 'system') {
      s.system = parseEntries(c, 'system');
      const uuid = s.system.find((e) => e.name === 'uuid');
      if (uuid && !/^[0-9a-fA-F-]+$/.test(uuid.value)) throw xmlError(`malformed <sysinfo> uuid element`);
    } else if (c.name === 'baseBoard') (s.baseBoards ??= []).push(parseEntries(c, 'baseBoard'));
    else if (c.name === 'chassis') s.chassis = parseEntries(c, 'chassis');
    else if (c.name === 'oemStrings') s.oemStrings = c.childrenNamed('entry').map((e) => e.text());
  }
  return s;
}

function formatEntries(w: Writer, name: string, entries: Array<{ name: string; value: string }> | undefined): void {
  if (!entries || entries.length === 0) return;
  w.open(name, '');
  for (const e of entries) w.textElem('entry', ` name='${e.name}'`, e.value);
  w.close(name);
}

export function formatSysinfo(w: Writer, s: SysinfoDef): void {
  w.elem('sysinfo', ` type='${s.type}'`, (w) => {
    if (s.type === 'fwcfg') {
      for (const e of s.entries ?? []) {
        const a = ` name='${e.name}'${attr('file', e.file)}`;
        if (e.value !== undefined) w.textElem('entry', a, e.value);
        else w.empty('entry', a);
      }
      return;
    }
    formatEntries(w, 'bios', s.bios);
    formatEntries(w, 'system', s.system);
    for (const b of s.baseBoards ?? []) formatEntries(w, 'baseBoard', b);
    formatEntries(w, 'chassis', s.chassis);
    if (s.oemStrings && s.oemStrings.length) {
      w.open('oemStrings', '');
      for (const o of s.oemStrings) w.textElem('entry', '', o);
      w.close('oemStrings');
    }
  });
}

/* ------------------------------------------------------------------ features */

/** libvirt's virDomainFeature order; the value says how the feature is modelled. */
const FEATURE_ORDER: Array<[string, 'flag' | 'state' | 'raw' | 'special']> = [
  ['acpi', 'flag'],
  ['apic', 'special'],
  ['pae', 'flag'],
  ['hap', 'state'],
  ['viridian', 'flag'],
  ['privnet', 'flag'],
  ['hyperv', 'raw'],
  ['kvm', 'raw'],
  ['pvspinlock', 'state'],
  ['capabilities', 'raw'],
  ['pmu', 'state'],
  ['vmport', 'state'],
  ['gic', 'special'],
  ['smm', 'special'],
  ['ioapic', 'special'],
  ['hpt', 'raw'],
  ['vmcoreinfo', 'state'],
  ['htm', 'state'],
  ['nested-hv', 'state'],
  ['msrs', 'special'],
  ['ccf-assist', 'state'],
  ['xen', 'raw'],
  ['cfpc', 'special'],
  ['sbbc', 'special'],
  ['ibs', 'special'],
  ['tcg', 'raw'],
  ['async-teardown', 'special'],
  ['ras', 'state'],
  ['ps2', 'state'],
];
const FEATURE_KIND = new Map(FEATURE_ORDER);
const ON_OFF = enumSet('on', 'off');

function stateOf(c: Elem): StateFeature {
  const s = c.attr('state');
  if (s === undefined) return { state: 'on' };
  if (!ON_OFF.has(s)) throw xmlValueError(`Invalid value for attribute 'state' in element '${c.name}': '${s}'.`);
  return { state: s as 'on' | 'off' };
}

export function parseFeatures(el: Elem): FeaturesDef {
  const f: FeaturesDef = {};
  const bag = f as Record<string, unknown>;
  for (const c of el.children()) {
    const kind = FEATURE_KIND.get(c.name);
    if (kind === undefined) throw xmlError(`unexpected feature '${c.name}'`);
    switch (kind) {
      case 'flag':
        bag[c.name] = true;
        break;
      case 'state':
        bag[c.name] = stateOf(c);
        break;
      case 'raw':
        f.other = (f.other ?? []).filter((x) => x.name !== c.name);
        f.other.push(c.toXmlElement());
        break;
      case 'special':
        switch (c.name) {
          case 'apic': {
            const eoi = c.attr('eoi');
            if (eoi !== undefined && !ON_OFF.has(eoi)) throw xmlValueError(`Invalid value for attribute 'eoi' in element 'apic': '${eoi}'.`);
            f.apic = eoi !== undefined ? { eoi: eoi as 'on' | 'off' } : {};
            break;
          }
          case 'gic': {
            const v = c.attr('version');
            f.gic = v !== undefined ? { version: v } : {};
            break;
          }
          case 'smm': {
            f.smm = stateOf(c);
            const tseg = c.child('tseg');
            if (tseg) f.smm.tseg = Math.floor(parseSizeKiB(tseg.text(), tseg.attr('unit') ?? 'MiB', './features/smm/tseg') / 1024);
            break;
          }
          case 'ioapic': {
            const d = c.attr('driver');
            if (d !== undefined && d !== 'kvm' && d !== 'qemu') throw xmlValueError(`Invalid value for attribute 'driver' in element 'ioapic': '${d}'.`);
            f.ioapic = d !== undefined ? { driver: d as 'kvm' | 'qemu' } : {};
            break;
          }
          case 'msrs': {
            const u = c.attr('unknown');
            if (u !== 'ignore' && u !== 'fail') throw xmlValueError(`Invalid value for attribute 'unknown' in element 'msrs': '${u ?? ''}'.`);
            f.msrs = { unknown: u };
            break;
          }
          case 'cfpc':
          case 'sbbc':
          case 'ibs': {
            const v = c.attr('value');
            if (v === undefined) throw xmlError(`missing 'value' attribute for '${c.name}'`);
            f[c.name] = { value: v };
            break;
          }
          case 'async-teardown': {
            const e = yesNoAttr(c, 'enabled');
            f['async-teardown'] = e !== undefined ? { enabled: e } : {};
            break;
          }
        }
        break;
    }
  }
  return f;
}

export function formatFeatures(w: Writer, f: FeaturesDef): void {
  const bag = f as Record<string, unknown>;
  w.elem('features', '', (w) => {
    for (const [name, kind] of FEATURE_ORDER) {
      if (kind === 'raw') {
        const x = f.other?.find((e: XmlElement) => e.name === name);
        if (x) w.raw(x);
        continue;
      }
      const v = bag[name];
      if (v === undefined) continue;
      if (kind === 'flag') w.empty(name, '');
      else if (kind === 'state') w.empty(name, ` state='${(v as StateFeature).state ?? 'on'}'`);
      else {
        switch (name) {
          case 'apic':
            w.empty('apic', attr('eoi', f.apic!.eoi));
            break;
          case 'gic':
            w.empty('gic', attr('version', f.gic!.version));
            break;
          case 'smm':
            if (f.smm!.tseg !== undefined) {
              w.open('smm', ` state='${f.smm!.state ?? 'on'}'`);
              w.textElem('tseg', " unit='MiB'", String(f.smm!.tseg));
              w.close('smm');
            } else w.empty('smm', ` state='${f.smm!.state ?? 'on'}'`);
            break;
          case 'ioapic':
            w.empty('ioapic', attr('driver', f.ioapic!.driver));
            break;
          case 'msrs':
            w.empty('msrs', ` unknown='${f.msrs!.unknown}'`);
            break;
          case 'cfpc':
          case 'sbbc':
          case 'ibs':
            w.empty(name, attr('value', (v as { value: string }).value));
            break;
          case 'async-teardown':
            w.empty(name, attr('enabled', f['async-teardown']!.enabled));
            break;
        }
      }
    }
  });
}

/* ------------------------------------------------------------------ clock */

const OFFSETS = enumSet('utc', 'localtime', 'timezone', 'variable', 'absolute');
const TIMER_NAMES = enumSet('platform', 'pit', 'rtc', 'hpet', 'tsc', 'kvmclock', 'hypervclock', 'armvtimer');
const TICKPOLICY = enumSet('delay', 'catchup', 'merge', 'discard');
const TRACK = enumSet('boot', 'guest', 'wall', 'realtime');
const TIMER_MODES = enumSet('auto', 'native', 'emulate', 'paravirt', 'smpsafe');
const BASIS = enumSet('utc', 'localtime');

export function parseClock(el: Elem | undefined): ClockDef {
  if (!el) return { offset: 'utc', timers: [] };
  const offset = enumAttr<ClockDef['offset']>(el, 'offset', OFFSETS) ?? 'utc';
  const clock: ClockDef = { offset, timers: [] };
  switch (offset) {
    case 'utc':
    case 'localtime': {
      const adj = el.attr('adjustment');
      if (adj !== undefined) {
        if (adj === 'reset') clock.adjustment = 'reset';
        else if (/^[+-]?[0-9]+$/.test(adj)) {
          // libvirt turns a numeric adjustment on utc/localtime into variable
          clock.offset = 'variable';
          clock.adjustment = String(Number(adj));
          clock.basis = offset;
        } else throw xmlError(`unknown clock adjustment '${adj}'`);
      }
      break;
    }
    case 'variable': {
      const adj = el.attr('adjustment') ?? '0';
      if (!/^[+-]?[0-9]{1,19}$/.test(adj)) throw xmlError(`invalid clock adjustment '${adj}'`);
      clock.adjustment = String(BigInt(adj));
      clock.basis = enumAttr<'utc' | 'localtime'>(el, 'basis', BASIS) ?? 'utc';
      break;
    }
    case 'timezone': {
      const tz = el.attr('timezone');
      if (tz === undefined) throw xmlError(`missing 'timezone' attribute for clock with offset='timezone'`);
      clock.timezone = tz;
      break;
    }
    case 'absolute': {
      const start = uintAttr(el, 'start', 10, Number.MAX_SAFE_INTEGER);
      if (start === undefined) throw xmlError(`missing 'start' attribute for clock with offset='absolute'`);
      clock.start = start;
      break;
    }
  }
  for (const t of el.childrenNamed('timer')) {
    const name = enumAttr<TimerDef['name']>(t, 'name', TIMER_NAMES);
    if (name === undefined) throw xmlError(`missing timer name`);
    const timer: TimerDef = { name };
    const present = yesNoAttr(t, 'present');
    if (present !== undefined) timer.present = present;
    const tp = enumAttr<NonNullable<TimerDef['tickpolicy']>>(t, 'tickpolicy', TICKPOLICY);
    if (tp !== undefined) timer.tickpolicy = tp;
    const track = enumAttr<NonNullable<TimerDef['track']>>(t, 'track', TRACK);
    if (track !== undefined) timer.track = track;
    const freq = uintAttr(t, 'frequency', 10, Number.MAX_SAFE_INTEGER);
    if (freq !== undefined) timer.frequency = freq;
    const mode = enumAttr<NonNullable<TimerDef['mode']>>(t, 'mode', TIMER_MODES);
    if (mode !== undefined) timer.mode = mode;
    const cu = t.child('catchup');
    if (cu) {
      const c: NonNullable<TimerDef['catchup']> = {};
      for (const k of ['threshold', 'slew', 'limit'] as const) {
        const v = uintAttr(cu, k);
        if (v !== undefined) c[k] = v;
      }
      timer.catchup = c;
    }
    clock.timers.push(timer);
  }
  return clock;
}

export function formatClock(w: Writer, c: ClockDef): void {
  let a = ` offset='${c.offset}'`;
  if (c.offset === 'utc' || c.offset === 'localtime') a += attr('adjustment', c.adjustment);
  else if (c.offset === 'variable') a += ` adjustment='${c.adjustment ?? '0'}' basis='${c.basis ?? 'utc'}'`;
  else if (c.offset === 'timezone') a += attr('timezone', c.timezone);
  else if (c.offset === 'absolute') a += attr('start', c.start);
  w.elem('clock', a, (w) => {
    for (const t of c.timers) {
      const ta = ` name='${t.name}'${attr('present', t.present)}${attr('tickpolicy', t.tickpolicy)}${attr('track', t.track)}${attr('frequency', t.frequency)}${attr('mode', t.mode)}`;
      if (t.catchup && (t.catchup.threshold !== undefined || t.catchup.slew !== undefined || t.catchup.limit !== undefined)) {
        w.open('timer', ta);
        w.empty('catchup', attr('threshold', t.catchup.threshold) + attr('slew', t.catchup.slew) + attr('limit', t.catchup.limit));
        w.close('timer');
      } else w.empty('timer', ta);
    }
  });
}

/* ------------------------------------------------------------------ pm */

export function parsePm(el: Elem): PmDef {
  const pm: PmDef = {};
  for (const k of ['suspend-to-mem', 'suspend-to-disk'] as const) {
    const c = el.child(k);
    if (c) {
      const en = yesNoAttr(c, 'enabled');
      if (en !== undefined) pm[k] = { enabled: en };
    }
  }
  return pm;
}

export function formatPm(w: Writer, pm: PmDef): void {
  w.elem('pm', '', (w) => {
    if (pm['suspend-to-mem']) w.empty('suspend-to-mem', ` enabled='${pm['suspend-to-mem'].enabled}'`);
    if (pm['suspend-to-disk']) w.empty('suspend-to-disk', ` enabled='${pm['suspend-to-disk'].enabled}'`);
  });
}

/* ------------------------------------------------------------------ iothreads */

export function parseIothreadIds(el: Elem): Array<{ id: number; thread_pool_min?: number; thread_pool_max?: number }> {
  const out: Array<{ id: number; thread_pool_min?: number; thread_pool_max?: number }> = [];
  for (const t of el.childrenNamed('iothread')) {
    const id = uintAttrReq(t, 'id');
    if (id === 0) throw xmlError(`invalid iothread 'id' value '0'`);
    if (out.some((x) => x.id === id)) throw xmlError(`duplicate iothread id '${id}' found`);
    const e: { id: number; thread_pool_min?: number; thread_pool_max?: number } = { id };
    const mn = intAttr(t, 'thread_pool_min', -1);
    const mx = intAttr(t, 'thread_pool_max', -1);
    if (mn !== undefined && mn >= 0) e.thread_pool_min = mn;
    if (mx !== undefined && mx >= 0) e.thread_pool_max = mx;
    out.push(e);
  }
  return out;
}
