/**
 * `<cpu>` (with its NUMA cells) and CPU-list syntax (`0-3,^2,8`): parse and format
 * (libvirt virCPUDefParseXML / virCPUDefFormatBufFull, virDomainNumaDefParseXML /
 * virDomainNumaDefFormatXML, virBitmapParse / virBitmapFormat).
 *
 * Attribute rules: `mode` is written unless the CPU is custom without a model; `match`
 * (default exact) only for a custom CPU with a model; `<model fallback>` always (default
 * allow). Children order: model, vendor, topology, cache, maxphysaddr, features, numa.
 * Spec: docs/formatdomain.rst "CPU model and topology", "NUMA topology".
 */

import { attr, type Writer } from '../format/writer.js';
import { xmlError } from '../errors.js';
import { enumAttr, enumSet, parseSizeKiB, uintAttr, uintAttrReq, xmlValueError, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { CpuDef, CpuFeaturePolicy, CpuTopology, NumaCell } from '../types.js';

/** Highest CPU number accepted in a CPU list (VIR_DOMAIN_CPUMASK_LEN - 1). */
export const MAX_CPU_ID = 16383;

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * virBitmapParse: a CPU list (`0-3,^2,8`, blanks allowed around numbers, `-` and `,`, a
 * trailing comma tolerated) into sorted CPU numbers, or null when malformed or above
 * MAX_CPU_ID. Items apply in order, as libvirt's do: `^1,0-3` selects 0-3.
 * Work is bounded by MAX_CPU_ID per item, so hostile input stays linear.
 */
export function parseCpuList(s: string): number[] | null {
  const bits = new Uint8Array(MAX_CPU_ID + 1);
  let hi = -1;
  let i = 0;
  const n = s.length;
  const skip = (): void => {
    while (i < n && isSpace(s[i])) i++;
  };
  const num = (): number => {
    const start = i;
    while (i < n && isDigit(s[i])) i++;
    if (i === start || i - start > 9) return -1;
    const v = Number(s.slice(start, i));
    return v > MAX_CPU_ID ? -1 : v;
  };
  skip();
  if (i >= n) return null;
  while (i < n) {
    const neg = s[i] === '^';
    if (neg) i++;
    if (!isDigit(s[i])) return null;
    const first = num();
    if (first < 0) return null;
    skip();
    if (i >= n || s[i] === ',') {
      bits[first] = neg ? 0 : 1;
      if (!neg && first > hi) hi = first;
    } else if (s[i] === '-') {
      if (neg) return null;
      i++;
      skip();
      const last = num();
      if (last < first) return null;
      bits.fill(1, first, last + 1);
      if (last > hi) hi = last;
      skip();
    }
    if (s[i] === ',') {
      i++;
      skip();
    } else if (i < n) return null;
  }
  const out: number[] = [];
  for (let c = 0; c <= hi; c++) if (bits[c]) out.push(c);
  return out;
}

/** virBitmapFormat: ranges joined by commas (`0-3,5,7-8`). */
export function formatCpuList(cpus: number[]): string {
  let out = '';
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    out += (out ? ',' : '') + (j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j + 1;
  }
  return out;
}

/** Canonicalises a CPU list attribute, or throws naming it. */
export function canonicalCpuList(s: string, what: string): string {
  const l = parseCpuList(s);
  if (l === null) throw xmlValueError(`Invalid value '${s.slice(0, 64)}' for ${what}`);
  if (l.length === 0) throw xmlError(`${what} '${s.slice(0, 64)}' selects no CPU`);
  return formatCpuList(l);
}

const MODES = enumSet('custom', 'host-model', 'host-passthrough', 'maximum');
const MATCHES = enumSet('minimum', 'exact', 'strict');
const CHECKS = enumSet('none', 'partial', 'full');
const FALLBACK = enumSet('allow', 'forbid');
const POLICIES = enumSet('force', 'require', 'optional', 'disable', 'forbid');
const CACHE_MODES = enumSet('emulate', 'passthrough', 'disable');
const MAXPHYS_MODES = enumSet('emulate', 'passthrough');
const MEM_ACCESS = enumSet('shared', 'private');

function parseCell(c: Elem, nextId: number): NumaCell {
  const memRaw = c.attr('memory');
  if (memRaw === undefined) throw xmlError(`Missing 'memory' attribute in NUMA cell`);
  const cell: NumaCell = { memory: parseSizeKiB(memRaw, c.attr('unit'), './numa/cell/@memory') };
  cell.id = uintAttr(c, 'id') ?? nextId;
  const cpus = c.attr('cpus');
  if (cpus !== undefined) cell.cpus = canonicalCpuList(cpus, "NUMA cell 'cpus'");
  const ma = enumAttr<'shared' | 'private'>(c, 'memAccess', MEM_ACCESS);
  if (ma !== undefined) cell.memAccess = ma;
  const discard = yesNoAttr(c, 'discard');
  if (discard !== undefined) cell.discard = discard;
  for (const k of c.children()) {
    if (k.name === 'distances') {
      cell.distances = k.childrenNamed('sibling').map((s) => ({ id: uintAttrReq(s, 'id'), value: uintAttrReq(s, 'value') }));
    } else (cell.extra ??= []).push(k.toXmlElement());
  }
  return cell;
}

/** libvirt's distance defaults: local distance 10, a missing reverse distance mirrors. */
const LOCAL_DISTANCE = 10;

function completeDistances(cells: NumaCell[]): void {
  if (!cells.some((c) => c.distances && c.distances.length)) return;
  const n = cells.length;
  const d: number[][] = cells.map(() => new Array<number>(n).fill(0));
  cells.forEach((c, i) => {
    for (const s of c.distances ?? []) {
      if (s.id >= n) throw xmlError(`'sibling_id' attribute ${s.id} for <sibling> element doesn't match any NUMA node`);
      if (s.value < LOCAL_DISTANCE || s.value > 255) throw xmlError(`'value' attribute ${s.value} for <sibling> element must be in range 10..255`);
      if (s.id === i && s.value !== LOCAL_DISTANCE) throw xmlError(`'value' attribute ${s.value} for <sibling> element must be ${LOCAL_DISTANCE} for the local node`);
      d[i]![s.id] = s.value;
      if (!d[s.id]![i]) d[s.id]![i] = s.value;
      if (!d[i]![i]) d[i]![i] = LOCAL_DISTANCE;
      if (!d[s.id]![s.id]) d[s.id]![s.id] = LOCAL_DISTANCE;
    }
  });
  cells.forEach((c, i) => {
    const sib: Array<{ id: number; value: number }> = [];
    for (let j = 0; j < n; j++) if (d[i]![j]) sib.push({ id: j, value: d[i]![j]! });
    if (sib.length) c.distances = sib;
    else delete c.distances;
  });
}

/** Parses `<cpu>`. */
export function parseCpu(el: Elem): CpuDef {
  const cpu: CpuDef = { features: [] };
  const mode = enumAttr<NonNullable<CpuDef['mode']>>(el, 'mode', MODES);
  if (mode !== undefined) cpu.mode = mode;
  const check = enumAttr<NonNullable<CpuDef['check']>>(el, 'check', CHECKS);
  if (check !== undefined) cpu.check = check;
  const mig = el.attr('migratable');
  if (mig !== undefined) {
    if (mig !== 'on' && mig !== 'off') throw xmlValueError(`Invalid value for attribute 'migratable' in element 'cpu': '${mig}'.`);
    cpu.migratable = mig;
  }
  const match = enumAttr<NonNullable<CpuDef['match']>>(el, 'match', MATCHES);
  for (const c of el.children()) {
    switch (c.name) {
      case 'model': {
        const name = c.text().trim();
        if (name === '') break;
        cpu.model = { name, fallback: enumAttr<'allow' | 'forbid'>(c, 'fallback', FALLBACK) ?? 'allow' };
        const vid = c.attr('vendor_id');
        if (vid !== undefined) {
          if (vid.length !== 12) throw xmlError(`vendor_id must be exactly 12 characters long`);
          cpu.model.vendor_id = vid;
        }
        break;
      }
      case 'vendor':
        cpu.vendor ??= c.text();
        break;
      case 'topology': {
        const t: CpuTopology = {
          sockets: uintAttrReq(c, 'sockets'),
          dies: uintAttr(c, 'dies') ?? 1,
          cores: uintAttrReq(c, 'cores'),
          threads: uintAttrReq(c, 'threads'),
        };
        const clusters = uintAttr(c, 'clusters');
        if (clusters !== undefined) t.clusters = clusters;
        if (!t.sockets || !t.dies || !t.cores || !t.threads || t.clusters === 0) {
          throw xmlError(`Invalid CPU topology`);
        }
        cpu.topology = t;
        break;
      }
      case 'cache':
        cpu.cache = { mode: enumAttr<'emulate' | 'passthrough' | 'disable'>(c, 'mode', CACHE_MODES) ?? 'emulate' };
        if (c.attr('level') !== undefined) cpu.cache.level = uintAttr(c, 'level')!;
        break;
      case 'maxphysaddr': {
        const m = enumAttr<'emulate' | 'passthrough'>(c, 'mode', MAXPHYS_MODES);
        if (m === undefined) throw xmlError(`missing 'mode' attribute in 'maxphysaddr'`);
        cpu.maxphysaddr = { mode: m };
        const bits = uintAttr(c, 'bits');
        if (bits !== undefined) cpu.maxphysaddr.bits = bits;
        const limit = uintAttr(c, 'limit');
        if (limit !== undefined) cpu.maxphysaddr.limit = limit;
        break;
      }
      case 'feature': {
        const name = c.attr('name');
        if (name === undefined) throw xmlError(`invalid CPU feature name`);
        const policy = enumAttr<CpuFeaturePolicy>(c, 'policy', POLICIES) ?? 'require';
        if (cpu.features.some((f) => f.name === name)) throw xmlError(`CPU feature '${name}' specified more than once`);
        cpu.features.push({ policy, name });
        break;
      }
      case 'numa': {
        const cells: NumaCell[] = [];
        for (const cell of c.childrenNamed('cell')) cells.push(parseCell(cell, cells.length));
        if (cells.length > 0) {
          completeDistances(cells);
          cpu.numa = { cells };
          const ic = c.child('interconnects');
          if (ic) cpu.numa.interconnects = ic.toXmlElement();
        }
        break;
      }
      default:
        break;
    }
  }
  if (cpu.mode === undefined && cpu.model !== undefined) cpu.mode = 'custom';
  if ((cpu.mode ?? 'custom') === 'custom' && cpu.model) cpu.match = match ?? 'exact';
  else if (match !== undefined && cpu.model) cpu.match = match;
  return cpu;
}

/** True when `<cpu>` would be written with nothing in it (libvirt then omits it). */
function cpuIsEmpty(cpu: CpuDef): boolean {
  return (
    (cpu.mode === undefined || cpu.mode === 'custom') &&
    !cpu.model &&
    !cpu.vendor &&
    !cpu.topology &&
    !cpu.cache &&
    !cpu.maxphysaddr &&
    cpu.features.length === 0 &&
    !cpu.numa &&
    cpu.check === undefined
  );
}

/** Writes `<cpu>`. */
export function formatCpu(w: Writer, cpu: CpuDef): void {
  if (cpuIsEmpty(cpu)) return;
  const mode = cpu.mode ?? 'custom';
  let a = '';
  if (mode !== 'custom' || cpu.model) a += ` mode='${mode}'`;
  if (cpu.model && mode === 'custom') a += ` match='${cpu.match ?? 'exact'}'`;
  a += attr('check', cpu.check);
  if ((mode === 'host-passthrough' || mode === 'maximum') && cpu.migratable) a += ` migratable='${cpu.migratable}'`;
  w.elem('cpu', a, (w) => {
    if (cpu.model) w.textElem('model', ` fallback='${cpu.model.fallback ?? 'allow'}'${attr('vendor_id', cpu.model.vendor_id)}`, cpu.model.name);
    if (cpu.vendor !== undefined) w.textElem('vendor', '', cpu.vendor);
    const t = cpu.topology;
    if (t) w.empty('topology', ` sockets='${t.sockets}' dies='${t.dies}'${attr('clusters', t.clusters)} cores='${t.cores}' threads='${t.threads}'`);
    if (cpu.cache) w.empty('cache', `${attr('level', cpu.cache.level)} mode='${cpu.cache.mode}'`);
    if (cpu.maxphysaddr) w.empty('maxphysaddr', ` mode='${cpu.maxphysaddr.mode}'${attr('bits', cpu.maxphysaddr.bits)}${attr('limit', cpu.maxphysaddr.limit)}`);
    for (const f of cpu.features) w.empty('feature', ` policy='${f.policy ?? 'require'}' name='${f.name}'`);
    if (cpu.numa) {
      w.open('numa', '');
      for (const c of cpu.numa.cells) {
        const ca = ` id='${c.id ?? 0}'${attr('cpus', c.cpus)} memory='${c.memory}' unit='KiB'${attr('memAccess', c.memAccess)}${attr('discard', c.discard)}`;
        if (c.distances || c.extra) {
          w.open('cell', ca);
          if (c.distances) {
            w.open('distances', '');
            for (const s of c.distances) w.empty('sibling', ` id='${s.id}' value='${s.value}'`);
            w.close('distances');
          }
          if (c.extra) for (const x of c.extra) w.raw(x);
          w.close('cell');
        } else w.empty('cell', ca);
      }
      if (cpu.numa.interconnects) w.raw(cpu.numa.interconnects);
      w.close('numa');
    }
  });
}
