/**
 * `<cputune>`: parse into CputuneDef and format in libvirt's order (libvirt
 * virDomainDefTunablesParse / virDomainCputuneDefFormat; docs/formatdomain.rst "CPU Tuning").
 *
 * Output order, as libvirt 9.0 writes it: shares, period, quota, global_period,
 * global_quota, emulator_period, emulator_quota, iothread_period, iothread_quota, vcpupin
 * (by vCPU), emulatorpin, iothreadpin (by iothread id), emulatorsched, vcpusched and
 * iothreadsched (one element per thread, by id), cachetune, memorytune. CPU lists come out
 * canonical (`0-1,3`), zero bandwidth values (libvirt's "unset") are left out, a priority is
 * kept only for the fifo and rr schedulers, cache sizes use the largest exact unit.
 *
 * Checks as libvirt 9.0 (checked with its test driver): period and quota ranges
 * (VIR_ERR_CONFIG_UNSUPPORTED "Value of cputune 'period' must be in range [1000, 1000000]"),
 * duplicate vcpupin (VIR_ERR_INTERNAL_ERROR), iothreads that do not exist
 * (VIR_ERR_CONFIG_UNSUPPORTED "Cannot find 'iothread' : 5"), a missing fifo/rr priority
 * (VIR_ERR_XML_ERROR). A vcpupin naming a vCPU the domain does not have is dropped, as
 * libvirt drops it. Unknown children are dropped, as libvirt drops them.
 * Not done: libvirt's host-dependent resctrl checks (cache ids, levels, bandwidth against
 * the host's caches); drivers that cannot honour a setting refuse it (src/driver/support.ts).
 */

import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, VirError, configUnsupported, xmlError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import { parseUnsigned, ULLONG_SAFE, UINT_MAX, xmlValueError } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { CachetuneDef, CputuneDef, MemorytuneDef, ThreadSchedDef } from '../types.js';
import { canonicalCpuList, parseCpuList } from './cpu.js';

/** Bandwidth elements in libvirt's order; quotas are signed. */
const BANDWIDTH = [
  ['period', false],
  ['quota', true],
  ['global_period', false],
  ['global_quota', true],
  ['emulator_period', false],
  ['emulator_quota', true],
  ['iothread_period', false],
  ['iothread_quota', true],
] as const;
type BandwidthName = (typeof BANDWIDTH)[number][0];

/** virDomainDefCputuneValidate's limits. */
const PERIOD_MIN = 1000;
const PERIOD_MAX = 1000000;
const QUOTA_MIN = 1000;
const QUOTA_MAX = 17592186044415;

const SCHEDULERS = new Set(['batch', 'idle', 'fifo', 'rr']);
const CACHE_TYPES = new Set(['both', 'code', 'data']);
const SIZE_UNITS: Array<[string, number]> = [
  ['B', 1],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
];
const SIZE_SCALE: Record<string, number> = {
  b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3, t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

function cputuneRange(name: string, min: number, max: number): VirError {
  return configUnsupported(`Value of cputune '${name}' must be in range [${min}, ${max}]`);
}

function parseBandwidth(el: Elem, name: BandwidthName, signed: boolean): number | undefined {
  const c = el.child(name);
  if (c === undefined) return undefined;
  const t = c.text().trim();
  const m = /^([+-]?)(\d{1,20})$/.exec(t);
  const v = m ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : NaN;
  if (!Number.isSafeInteger(v) || (!signed && v < 0)) {
    throw xmlError(`can't parse cputune ${name.replace('_', ' ')} value`);
  }
  if (signed) {
    if (v > 0 && (v < QUOTA_MIN || v > QUOTA_MAX)) throw cputuneRange(name, QUOTA_MIN, QUOTA_MAX);
  } else if (v !== 0 && (v < PERIOD_MIN || v > PERIOD_MAX)) {
    throw cputuneRange(name, PERIOD_MIN, PERIOD_MAX);
  }
  return v === 0 ? undefined : v;
}

function requiredAttr(el: Elem, name: string): string {
  const v = el.attr(name);
  if (v === undefined) throw xmlValueError(`Missing required attribute '${name}' in element '${el.name}'`);
  return v;
}

function idAttr(el: Elem, name: string): number {
  const v = requiredAttr(el, name);
  const n = parseUnsigned(v, 10, UINT_MAX);
  if (Number.isNaN(n)) throw xmlValueError(`Invalid value for attribute '${name}' in element '${el.name}': '${v.slice(0, 64)}'. Expected non-negative integer value`);
  return n;
}

function parseSched(el: Elem): ThreadSchedDef {
  const s = requiredAttr(el, 'scheduler');
  if (!SCHEDULERS.has(s)) throw xmlValueError(`Invalid value for attribute 'scheduler' in element '${el.name}': '${s.slice(0, 64)}'.`);
  const out: ThreadSchedDef = { scheduler: s as ThreadSchedDef['scheduler'] };
  if (s === 'fifo' || s === 'rr') {
    const p = requiredAttr(el, 'priority');
    const n = Number(p);
    if (!/^-?\d{1,10}$/.test(p.trim()) || !Number.isSafeInteger(n)) {
      throw xmlValueError(`Invalid value for attribute 'priority' in element '${el.name}': '${p.slice(0, 64)}'. Expected integer value`);
    }
    out.priority = n;
  }
  return out;
}

/** A thread id list (`vcpus='0-1'`, `iothreads='2'`) as numbers. */
function idList(el: Elem, name: string): number[] {
  const v = requiredAttr(el, name);
  const l = parseCpuList(v);
  if (l === null || l.length === 0) throw xmlError(`Invalid value '${v.slice(0, 64)}' for attribute '${name}' of element '${el.name}'`);
  return l;
}

function parseCacheSize(el: Elem): number {
  const v = requiredAttr(el, 'size');
  const n = parseUnsigned(v, 10, ULLONG_SAFE);
  const unit = (el.attr('unit') ?? 'B').toLowerCase();
  const scale = SIZE_SCALE[unit];
  if (Number.isNaN(n)) throw xmlError(`Invalid value '${v.slice(0, 64)}' for attribute 'size' of element 'cache'`);
  if (scale === undefined) throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `internal error: unknown suffix '${el.attr('unit')}'`);
  const bytes = n * scale;
  if (!Number.isSafeInteger(bytes)) throw xmlError('cache size too large');
  return bytes;
}

function parseCachetune(el: Elem): CachetuneDef {
  const out: CachetuneDef = { vcpus: canonicalCpuList(requiredAttr(el, 'vcpus'), "cachetune attribute 'vcpus'"), caches: [], monitors: [] };
  for (const c of el.children()) {
    if (c.name === 'cache') {
      const type = requiredAttr(c, 'type');
      if (!CACHE_TYPES.has(type)) throw xmlValueError(`Invalid value for attribute 'type' in element 'cache': '${type.slice(0, 64)}'.`);
      out.caches.push({ id: idAttr(c, 'id'), level: idAttr(c, 'level'), type: type as 'both' | 'code' | 'data', sizeBytes: parseCacheSize(c) });
    } else if (c.name === 'monitor') {
      out.monitors.push({ level: idAttr(c, 'level'), vcpus: canonicalCpuList(requiredAttr(c, 'vcpus'), "monitor attribute 'vcpus'") });
    }
  }
  return out;
}

function parseMemorytune(el: Elem): MemorytuneDef {
  const out: MemorytuneDef = { vcpus: canonicalCpuList(requiredAttr(el, 'vcpus'), "memorytune attribute 'vcpus'"), nodes: [], monitors: [] };
  for (const c of el.children()) {
    if (c.name === 'node') out.nodes.push({ id: idAttr(c, 'id'), bandwidth: idAttr(c, 'bandwidth') });
    else if (c.name === 'monitor') out.monitors.push({ vcpus: canonicalCpuList(requiredAttr(c, 'vcpus'), "monitor attribute 'vcpus'") });
  }
  return out;
}

/**
 * Reads `<cputune>` for a domain with `vcpus` vCPUs and the given iothread ids (libvirt's
 * implicit 1..N when `<iothreadids>` is absent).
 */
export function parseCputune(el: Elem, vcpus: number, iothreadIds: readonly number[]): CputuneDef {
  const out: CputuneDef = { vcpupins: [], iothreadpins: [], vcpuscheds: [], iothreadscheds: [], cachetunes: [], memorytunes: [] };
  const sharesEl = el.child('shares');
  if (sharesEl !== undefined) {
    const n = parseUnsigned(sharesEl.text().trim(), 10, ULLONG_SAFE);
    if (Number.isNaN(n)) throw xmlError("can't parse cputune shares value");
    out.shares = n;
  }
  for (const [name, signed] of BANDWIDTH) {
    const v = parseBandwidth(el, name, signed);
    if (v !== undefined) out[name] = v;
  }
  const iothreadKnown = (id: number): void => {
    if (!iothreadIds.includes(id)) throw configUnsupported(`Cannot find 'iothread' : ${id}`);
  };
  const vcpuSched = new Map<number, ThreadSchedDef>();
  const iothreadSched = new Map<number, ThreadSchedDef>();
  for (const c of el.children()) {
    switch (c.name) {
      case 'vcpupin': {
        const vcpu = idAttr(c, 'vcpu');
        const cpuset = canonicalCpuList(requiredAttr(c, 'cpuset'), "vcpupin attribute 'cpuset'");
        if (vcpu >= vcpus) break; // libvirt: "Ignoring vcpupin for missing vcpus"
        if (out.vcpupins.some((p) => p.vcpu === vcpu)) throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `internal error: duplicate vcpupin for vcpu '${vcpu}'`);
        out.vcpupins.push({ vcpu, cpuset });
        break;
      }
      case 'emulatorpin':
        if (out.emulatorpin === undefined) out.emulatorpin = canonicalCpuList(requiredAttr(c, 'cpuset'), "emulatorpin attribute 'cpuset'");
        break;
      case 'iothreadpin': {
        const id = idAttr(c, 'iothread');
        if (id === 0) throw xmlError('zero is an invalid iothread id value');
        const cpuset = canonicalCpuList(requiredAttr(c, 'cpuset'), "iothreadpin attribute 'cpuset'");
        iothreadKnown(id);
        if (out.iothreadpins.some((p) => p.iothread === id)) throw xmlError(`Duplicate iothreadpin for same iothread '${id}'`);
        out.iothreadpins.push({ iothread: id, cpuset });
        break;
      }
      case 'vcpusched': {
        const ids = idList(c, 'vcpus');
        const sched = parseSched(c);
        for (const id of ids) {
          if (id >= vcpus) throw configUnsupported(`vcpusched: vCPU ${id} does not exist`);
          if (vcpuSched.has(id)) throw xmlError("vcpusched attributes 'vcpus' must not overlap");
          vcpuSched.set(id, sched);
        }
        break;
      }
      case 'iothreadsched': {
        const ids = idList(c, 'iothreads');
        const sched = parseSched(c);
        for (const id of ids) {
          iothreadKnown(id);
          if (iothreadSched.has(id)) throw xmlError("iothreadsched attributes 'iothreads' must not overlap");
          iothreadSched.set(id, sched);
        }
        break;
      }
      case 'emulatorsched':
        if (out.emulatorsched === undefined) out.emulatorsched = parseSched(c);
        break;
      case 'cachetune':
        out.cachetunes.push(parseCachetune(c));
        break;
      case 'memorytune':
        out.memorytunes.push(parseMemorytune(c));
        break;
      default:
        break;
    }
  }
  out.vcpupins.sort((a, b) => a.vcpu - b.vcpu);
  out.iothreadpins.sort((a, b) => a.iothread - b.iothread);
  out.vcpuscheds = [...vcpuSched].sort((a, b) => a[0] - b[0]).map(([vcpu, s]) => ({ vcpu, ...s }));
  out.iothreadscheds = [...iothreadSched].sort((a, b) => a[0] - b[0]).map(([iothread, s]) => ({ iothread, ...s }));
  return out;
}

function schedAttrs(s: ThreadSchedDef): string {
  return ` scheduler='${s.scheduler}'${s.scheduler === 'fifo' || s.scheduler === 'rr' ? attr('priority', s.priority) : ''}`;
}

/** Size in the largest unit that divides it exactly (libvirt's resctrl cache format). */
function formatCacheSize(bytes: number): string {
  let best: [string, number] = SIZE_UNITS[0]!;
  for (const u of SIZE_UNITS) if (bytes % u[1] === 0) best = u;
  return ` size='${bytes / best[1]}' unit='${best[0]}'`;
}

/** True when the cputune has anything libvirt would write. */
function isEmpty(t: CputuneDef): boolean {
  return (
    t.shares === undefined &&
    BANDWIDTH.every(([n]) => !t[n]) &&
    t.vcpupins.length === 0 &&
    t.emulatorpin === undefined &&
    t.iothreadpins.length === 0 &&
    t.emulatorsched === undefined &&
    t.vcpuscheds.length === 0 &&
    t.iothreadscheds.length === 0 &&
    t.cachetunes.length === 0 &&
    t.memorytunes.length === 0
  );
}

/** Writes `<cputune>` in libvirt's order (nothing when it has nothing to say). */
export function formatCputune(w: Writer, t: CputuneDef): void {
  if (isEmpty(t)) return;
  w.open('cputune', '');
  if (t.shares !== undefined) w.textElem('shares', '', String(t.shares));
  for (const [n] of BANDWIDTH) if (t[n]) w.textElem(n, '', String(t[n]));
  for (const p of [...t.vcpupins].sort((a, b) => a.vcpu - b.vcpu)) w.empty('vcpupin', ` vcpu='${p.vcpu}'${attr('cpuset', p.cpuset)}`);
  if (t.emulatorpin !== undefined) w.empty('emulatorpin', attr('cpuset', t.emulatorpin));
  for (const p of [...t.iothreadpins].sort((a, b) => a.iothread - b.iothread)) w.empty('iothreadpin', ` iothread='${p.iothread}'${attr('cpuset', p.cpuset)}`);
  if (t.emulatorsched) w.empty('emulatorsched', schedAttrs(t.emulatorsched));
  for (const s of [...t.vcpuscheds].sort((a, b) => a.vcpu - b.vcpu)) w.empty('vcpusched', ` vcpus='${s.vcpu}'${schedAttrs(s)}`);
  for (const s of [...t.iothreadscheds].sort((a, b) => a.iothread - b.iothread)) w.empty('iothreadsched', ` iothreads='${s.iothread}'${schedAttrs(s)}`);
  for (const c of t.cachetunes) {
    w.open('cachetune', attr('vcpus', c.vcpus));
    for (const k of c.caches) w.empty('cache', ` id='${k.id}' level='${k.level}' type='${k.type}'${formatCacheSize(k.sizeBytes)}`);
    for (const m of c.monitors) w.empty('monitor', ` level='${m.level}'${attr('vcpus', m.vcpus)}`);
    w.close('cachetune');
  }
  for (const m of t.memorytunes) {
    w.open('memorytune', attr('vcpus', m.vcpus));
    for (const n of m.nodes) w.empty('node', ` id='${n.id}' bandwidth='${n.bandwidth}'`);
    for (const k of m.monitors) w.empty('monitor', attr('vcpus', k.vcpus));
    w.close('memorytune');
  }
  w.close('cputune');
}

/** A fresh empty cputune (for code that adds pins, e.g. domxml-from-native). */
export function emptyCputune(): CputuneDef {
  return { vcpupins: [], iothreadpins: [], vcpuscheds: [], iothreadscheds: [], cachetunes: [], memorytunes: [] };
}

/** The CPU list of a vcpupin, as numbers (for drivers). */
export function pinCpus(cpuset: string): number[] {
  return parseCpuList(cpuset) ?? [];
}
