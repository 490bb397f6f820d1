/**
 * The `<domain>` element: reads every top-level child into a DomainDef (structure and
 * value syntax only; defaults and cross-checks are ../postparse.ts and ../validate.ts) and
 * writes a DomainDef back in libvirt's top-level order (virDomainDefFormatInternal):
 * name, uuid, genid, title, description, metadata, maxMemory, memory, currentMemory,
 * blkiotune, memtune, memoryBacking, vcpu, vcpus, iothreads, iothreadids, cputune (cputune.ts),
 * numatune, resource, sysinfo, bootloader, bootloader_args, os, features, cpu, clock,
 * on_poweroff, on_reboot, on_crash, on_lockfailure, pm, perf, idmap, devices, seclabel,
 * keywrap, launchSecurity, then namespace elements (bhyve:commandline, ...).
 *
 * Metadata children are kept verbatim; as in libvirt (virXMLNodeSanitizeNamespaces) a
 * child without a namespace is dropped and only the first child of each namespace kept;
 * declarations made further up move onto `<metadata>`, like libxml2's copy does. Unknown top-level elements are
 * ignored, as libvirt does.
 */

import { randomUUID } from 'node:crypto';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_NAME, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VIR_FROM_XML, VirError, xmlError, configUnsupported } from '../errors.js';
import { attr, escDq, type Writer, writeVerbatim } from '../format/writer.js';
import { intAttr, parseSizeKiB, uintAttr, uuidOrThrow } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { DomainDef, DomainVirtType, LifecycleAction, LockFailureAction, NamespaceHandler, XmlElement } from '../types.js';
import type { FormatCtx, ParseCtx } from './context.js';
import { formatCpu, parseCpu, canonicalCpuList } from './cpu.js';
import { formatCputune, parseCputune } from './cputune.js';
import { emptyDevices, formatDevices, parseDevices } from './devices.js';
import {
  formatClock,
  formatFeatures,
  formatMemoryBacking,
  formatPm,
  formatSysinfo,
  parseClock,
  parseFeatures,
  parseIothreadIds,
  parseMemoryBacking,
  parsePm,
  parseSysinfo,
} from './general.js';
import { formatBootloader, formatOs, parseOs } from './os.js';
import { formatBlkiotune, formatMemtune, parseBlkiotune, parseMemtune } from './tunables.js';
import { BHYVE_NS_PREFIX, BHYVE_NS_URI, formatBhyveNamespace, parseBhyveNamespace } from '../ns/bhyve.js';

const VIRT_TYPES: ReadonlySet<string> = new Set([
  'none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox', 'phyp', 'parallels', 'bhyve', 'vz', 'ch', 'hvf',
]);
const LIFECYCLE: ReadonlySet<string> = new Set(['destroy', 'restart', 'rename-restart', 'preserve']);
const CRASH: ReadonlySet<string> = new Set(['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart']);
const LOCKFAILURE: ReadonlySet<string> = new Set(['poweroff', 'restart', 'pause', 'ignore']);

/** Passthrough elements keyed by element name → property of DomainDef.passthrough. */
const PASSTHROUGH = new Set(['vcpus', 'numatune', 'resource', 'perf', 'idmap', 'keywrap', 'launchSecurity']);

/** Namespace declarations in scope of an element: prefix ('' = default) → URI. */
type NsScope = Map<string, string>;

function scopeWith(parent: NsScope, attrs: Array<[string, string]>): NsScope {
  let scope = parent;
  for (const [k, v] of attrs) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (scope === parent) scope = new Map(parent);
      scope.set(k === 'xmlns' ? '' : k.slice(6), v);
    }
  }
  return scope;
}

function nsOf(name: string, scope: NsScope): string | undefined {
  const colon = name.indexOf(':');
  return scope.get(colon < 0 ? '' : name.slice(0, colon));
}

/**
 * Reads `<metadata>` as libvirt copies it: declarations the children need from further up
 * move onto `<metadata>` (libxml2's namespace reconciliation on copy), then children
 * without a namespace and later children of an already seen namespace are dropped
 * (virXMLNodeSanitizeNamespaces).
 */
function parseMetadata(el: Elem, rootScope: NsScope): { children: XmlElement[]; namespaces: Array<[string, string]> } {
  const ownAttrs = el.attrs();
  const namespaces: Array<[string, string]> = [];
  for (const [k, v] of ownAttrs) if (k === 'xmlns' || k.startsWith('xmlns:')) namespaces.push([k === 'xmlns' ? '' : k.slice(6), v]);
  const metaScope = scopeWith(rootScope, ownAttrs);
  const declared = new Set(namespaces.map(([p]) => p));
  const pull = (prefix: string): void => {
    if (declared.has(prefix)) return;
    const uri = rootScope.get(prefix);
    if (uri === undefined) return;
    declared.add(prefix);
    namespaces.push([prefix, uri]);
  };
  const visit = (x: XmlElement, local: Set<string>): void => {
    let inner = local;
    for (const [k] of x.attrs) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) {
        if (inner === local) inner = new Set(local);
        inner.add(k === 'xmlns' ? '' : k.slice(6));
      }
    }
    const use = (qname: string, isAttr: boolean): void => {
      const c = qname.indexOf(':');
      if (c < 0 && isAttr) return;
      const prefix = c < 0 ? '' : qname.slice(0, c);
      if (prefix === 'xmlns' || prefix === 'xml' || inner.has(prefix)) return;
      pull(prefix);
    };
    use(x.name, false);
    for (const [k] of x.attrs) if (k !== 'xmlns' && !k.startsWith('xmlns:')) use(k, true);
    for (const c of x.children) if (typeof c !== 'string') visit(c, inner);
  };
  const all = el.children().map((c) => c.toXmlElement());
  for (const x of all) visit(x, new Set());
  const seen = new Set<string>();
  const children: XmlElement[] = [];
  for (const x of all) {
    const uri = nsOf(x.name, scopeWith(metaScope, x.attrs));
    if (uri === undefined || uri === '' || seen.has(uri)) continue;
    seen.add(uri);
    children.push(x);
  }
  return { children, namespaces };
}

function lifecycle(el: Elem | undefined, name: string, allowed: ReadonlySet<string>, dflt: string): string {
  if (!el) return dflt;
  const v = el.text().trim();
  if (!allowed.has(v)) throw xmlError(`Invalid value for element '${name}': '${v.slice(0, 64)}'`);
  return v;
}

/** Everything parseDomainElement needs besides the element. */
export interface DomainParseOptions {
  ctx: ParseCtx;
  defaultArch: string;
  namespaces: readonly NamespaceHandler[];
}

/** Reads the root `<domain>` element (no defaults beyond what libvirt's parser sets). */
export function parseDomainElement(root: Elem, rootName: string, opts: DomainParseOptions): DomainDef {
  const { ctx } = opts;
  if (rootName !== 'domain') {
    throw new VirError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `XML error: expecting root element of 'domain', not '${rootName}'`);
  }
  const typeStr = root.attr('type');
  if (typeStr === undefined) throw new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, 'internal error: missing domain type attribute');
  if (!VIRT_TYPES.has(typeStr)) throw configUnsupported(`invalid domain type ${typeStr}`);
  const rootScope = scopeWith(new Map(), root.attrs());

  // One pass over the children, remembering the first of each name (libvirt's XPath [1]).
  const first = new Map<string, Elem>();
  const nsElems = new Map<string, XmlElement[]>();
  const seclabels: XmlElement[] = [];
  const sysinfos: Elem[] = [];
  for (const c of root.children()) {
    const colon = c.name.indexOf(':');
    if (colon > 0) {
      const uri = rootScope.get(c.name.slice(0, colon));
      if (uri !== undefined) {
        let l = nsElems.get(uri);
        if (!l) nsElems.set(uri, (l = []));
        l.push(c.toXmlElement());
      }
      continue;
    }
    if (c.name === 'seclabel') seclabels.push(c.toXmlElement());
    else if (c.name === 'sysinfo') sysinfos.push(c);
    else if (!first.has(c.name)) first.set(c.name, c);
  }

  const nameEl = first.get('name');
  const name = nameEl?.text() ?? '';
  if (name === '') throw new VirError(VIR_ERR_NO_NAME, VIR_FROM_DOMAIN, 'missing name information');
  if (name.includes('/')) throw xmlError(`name ${name} cannot contain '/'`);
  if (name.includes('\n')) throw xmlError(`name cannot contain a newline`);

  const uuidEl = first.get('uuid');
  const uuid = uuidEl ? uuidOrThrow(uuidEl.text()) : randomUUID();

  const os = parseOs(first.get('os'), opts.defaultArch);
  const facts = { virtType: typeStr as DomainVirtType, osType: os.type, arch: os.arch };

  const memEl = first.get('memory');
  const memory = memEl ? parseSizeKiB(memEl.text(), memEl.attr('unit'), './memory[1]') : 0;
  const curEl = first.get('currentMemory');
  const currentMemory = curEl ? parseSizeKiB(curEl.text(), curEl.attr('unit'), './currentMemory[1]') : 0;

  const vcpuEl = first.get('vcpu');
  let vcpu: DomainDef['vcpu'] = { count: 1, placement: 'static' };
  if (vcpuEl) {
    const t = vcpuEl.text().trim();
    const count = /^[0-9]{1,9}$/.test(t) ? Number(t) : NaN;
    if (Number.isNaN(count)) throw xmlError('maximum vcpus count must be an integer');
    const placement = vcpuEl.attr('placement');
    if (placement !== undefined && placement !== 'static' && placement !== 'auto') {
      throw xmlError(`Invalid value for attribute 'placement' in element 'vcpu': '${placement}'.`);
    }
    vcpu = { count, placement: (placement as 'static' | 'auto' | undefined) ?? 'static' };
    const cpuset = vcpuEl.attr('cpuset');
    if (cpuset !== undefined) vcpu.cpuset = canonicalCpuList(cpuset, "vcpu 'cpuset'");
    const current = uintAttr(vcpuEl, 'current');
    if (current !== undefined) {
      if (current === 0) throw xmlError('Invalid current vcpus count');
      if (current > count) throw xmlError('maximum vcpus count must not be less than current vcpus');
      if (current < count) vcpu.current = current;
    }
  }

  const def: DomainDef = {
    type: typeStr as DomainVirtType,
    name,
    uuid,
    memory,
    currentMemory,
    vcpu,
    os,
    clock: parseClock(first.get('clock')),
    on_poweroff: lifecycle(first.get('on_poweroff'), 'on_poweroff', LIFECYCLE, 'destroy') as LifecycleAction,
    on_reboot: lifecycle(first.get('on_reboot'), 'on_reboot', LIFECYCLE, 'restart') as LifecycleAction,
    on_crash: lifecycle(first.get('on_crash'), 'on_crash', CRASH, 'destroy') as LifecycleAction,
    devices: emptyDevices(),
    passthrough: {},
  };
  if (!ctx.inactive) {
    const id = intAttr(root, 'id', -1);
    if (id !== undefined && id >= 0) def.id = id;
  }
  const genid = first.get('genid');
  if (genid) {
    const t = genid.text().trim();
    def.genid = { value: t === '' ? randomUUID() : uuidOrThrow(t, 'genid') };
  }
  const title = first.get('title');
  if (title) {
    const t = title.text();
    if (t.includes('\n')) throw xmlError(`Domain title can't contain newlines`);
    def.title = t;
  }
  const desc = first.get('description');
  if (desc) def.description = desc.text();
  const meta = first.get('metadata');
  if (meta) {
    const m = parseMetadata(meta, rootScope);
    def.metadata = m.children;
    if (m.namespaces.length) def.metadataNamespaces = m.namespaces;
  }
  const maxMem = first.get('maxMemory');
  if (maxMem) {
    const size = parseSizeKiB(maxMem.text(), maxMem.attr('unit'), './maxMemory[1]');
    const slots = uintAttr(maxMem, 'slots') ?? 0;
    def.maxMemory = { size, slots };
  }
  if (memEl) {
    const dc = memEl.attr('dumpCore');
    if (dc !== undefined) {
      if (dc !== 'on' && dc !== 'off') throw xmlError(`Invalid value for attribute 'dumpCore' in element 'memory': '${dc}'.`);
      def.dumpCore = dc;
    }
  }
  const blkio = first.get('blkiotune');
  if (blkio) def.blkiotune = parseBlkiotune(blkio);
  const memtune = first.get('memtune');
  if (memtune) def.memtune = parseMemtune(memtune);
  const mb = first.get('memoryBacking');
  if (mb) def.memoryBacking = parseMemoryBacking(mb);
  const iot = first.get('iothreads');
  if (iot) {
    const t = iot.text().trim();
    if (!/^[0-9]{1,9}$/.test(t)) throw xmlError(`invalid iothreads count '${t.slice(0, 64)}'`);
    if (Number(t) > 0) def.iothreads = Number(t);
  }
  const iotIds = first.get('iothreadids');
  if (iotIds) {
    const ids = parseIothreadIds(iotIds);
    if (ids.length > 0) {
      def.iothreadids = ids;
      def.iothreads = Math.max(def.iothreads ?? 0, ids.length);
    }
  }
  const cputune = first.get('cputune');
  if (cputune) {
    const iothreadIds = def.iothreadids?.map((t) => t.id) ?? Array.from({ length: def.iothreads ?? 0 }, (_, i) => i + 1);
    def.cputune = parseCputune(cputune, def.vcpu.count, iothreadIds);
  }
  if (sysinfos.length > 0) def.sysinfo = sysinfos.map(parseSysinfo);
  const bl = first.get('bootloader');
  if (bl) def.bootloader = bl.text();
  const bla = first.get('bootloader_args');
  if (bla) def.bootloader_args = bla.text();
  const features = first.get('features');
  if (features) def.features = parseFeatures(features);
  const cpu = first.get('cpu');
  if (cpu) def.cpu = parseCpu(cpu);
  const lf = first.get('on_lockfailure');
  if (lf) def.on_lockfailure = lifecycle(lf, 'on_lockfailure', LOCKFAILURE, 'poweroff') as LockFailureAction;
  const pm = first.get('pm');
  if (pm) def.pm = parsePm(pm);
  const devices = first.get('devices');
  if (devices) parseDevices(devices, def.devices, ctx, facts);
  for (const k of PASSTHROUGH) {
    const e = first.get(k);
    if (e) (def.passthrough as Record<string, XmlElement>)[k] = e.toXmlElement();
  }
  if (seclabels.length) def.passthrough.seclabels = seclabels;

  const bhyveElems = nsElems.get(BHYVE_NS_URI);
  if (bhyveElems) {
    const cmd = parseBhyveNamespace(bhyveElems);
    if (cmd) def.bhyveCommandline = cmd;
  }
  for (const h of opts.namespaces) {
    const elems = nsElems.get(h.uri);
    if (!elems) continue;
    const data = h.parse(elems);
    if (data !== undefined) (def.namespaceData ??= {})[h.uri] = data;
  }
  return def;
}

/** Writes the whole `<domain>` element. */
export function writeDomain(w: Writer, def: DomainDef, ctx: FormatCtx, namespaces: readonly NamespaceHandler[]): void {
  let rootAttrs = ` type='${def.type}'`;
  if (!ctx.inactive && def.id !== undefined && def.id >= 0) rootAttrs += ` id='${def.id}'`;
  const active = namespaces.filter((h) => def.namespaceData?.[h.uri] !== undefined);
  if (def.bhyveCommandline) rootAttrs += ` xmlns:${BHYVE_NS_PREFIX}='${BHYVE_NS_URI}'`;
  for (const h of active) rootAttrs += ` xmlns:${h.prefix}='${h.uri}'`;
  w.open('domain', rootAttrs);
  w.textElem('name', '', def.name);
  w.textElem('uuid', '', def.uuid);
  if (def.genid?.value !== undefined) w.textElem('genid', '', def.genid.value);
  if (def.title !== undefined) w.textElem('title', '', def.title);
  if (def.description !== undefined) w.textElem('description', '', def.description);
  if (def.metadata) {
    let a = '';
    for (const [p, uri] of def.metadataNamespaces ?? []) a += ` ${p === '' ? 'xmlns' : `xmlns:${p}`}="${escDq(uri)}"`;
    if (def.metadata.length === 0) w.empty('metadata', a);
    else {
      w.open('metadata', a);
      for (const m of def.metadata) writeVerbatim(w, m, '"');
      w.close('metadata');
    }
  }
  if (def.maxMemory) w.textElem('maxMemory', ` slots='${def.maxMemory.slots}' unit='KiB'`, String(def.maxMemory.size));
  w.textElem('memory', `${attr('dumpCore', def.dumpCore)} unit='KiB'`, String(def.memory));
  w.textElem('currentMemory', " unit='KiB'", String(def.currentMemory));
  const p = def.passthrough;
  if (def.blkiotune) formatBlkiotune(w, def.blkiotune);
  if (def.memtune) formatMemtune(w, def.memtune);
  if (def.memoryBacking) formatMemoryBacking(w, def.memoryBacking);
  const v = def.vcpu;
  w.textElem('vcpu', ` placement='${v.placement}'${attr('cpuset', v.cpuset)}${v.current !== undefined && v.current < v.count ? ` current='${v.current}'` : ''}`, String(v.count));
  if (p.vcpus) w.raw(p.vcpus);
  if (def.iothreads !== undefined) w.textElem('iothreads', '', String(def.iothreads));
  if (def.iothreadids && def.iothreadids.length) {
    w.open('iothreadids', '');
    for (const t of def.iothreadids) w.empty('iothread', ` id='${t.id}'${attr('thread_pool_min', t.thread_pool_min)}${attr('thread_pool_max', t.thread_pool_max)}`);
    w.close('iothreadids');
  }
  if (def.cputune) formatCputune(w, def.cputune);
  if (p.numatune) w.raw(p.numatune);
  if (p.resource) w.raw(p.resource);
  if (def.sysinfo) for (const s of def.sysinfo) formatSysinfo(w, s);
  formatBootloader(w, def.bootloader, def.bootloader_args);
  formatOs(w, def.os);
  if (def.features) formatFeatures(w, def.features);
  if (def.cpu) formatCpu(w, def.cpu);
  formatClock(w, def.clock);
  w.textElem('on_poweroff', '', def.on_poweroff);
  w.textElem('on_reboot', '', def.on_reboot);
  w.textElem('on_crash', '', def.on_crash);
  if (def.on_lockfailure !== undefined) w.textElem('on_lockfailure', '', def.on_lockfailure);
  if (def.pm) formatPm(w, def.pm);
  if (p.perf) w.raw(p.perf);
  if (p.idmap) w.raw(p.idmap);
  formatDevices(w, def.devices, ctx, def.os.type === 'hvm');
  if (p.seclabels) for (const s of p.seclabels) w.raw(s);
  if (p.keywrap) w.raw(p.keywrap);
  if (p.launchSecurity) w.raw(p.launchSecurity);
  if (def.bhyveCommandline) formatBhyveNamespace(w, def.bhyveCommandline);
  for (const h of active) {
    const text = h.format(def.namespaceData![h.uri], '  '.repeat(w.depth));
    if (text !== '') w.out += text + '\n';
  }
  w.close('domain');
}
