/**
 * formatCapabilitiesXML and formatDomainCapabilitiesXML: the two capabilities documents
 * as libvirt writes them (virCapabilitiesFormatXML; virDomainCapsFormat), from the
 * hypervisor-neutral models in model/capabilities.ts. Also the bhyve shapes the bhyve
 * driver reports (bhyve_capabilities.c): guest hvm/x86_64 with domain type `bhyve`, and
 * the domain capabilities of a bhyve binary (disk buses virtio/sata, loader, VNC/gop).
 *
 * Layout details copied from libvirt's output, not its code: blank lines around host and
 * guest sections, `<power_management/>` when empty, empty enums as `<enum name=''/>`,
 * unsupported items as `<name supported='no'/>`.
 */

import { attr, esc, Writer } from './format/writer.js';
import type { CapabilitiesDef, DomainCapabilitiesDef, DomainCapsEnum, DomainCapsItem, GuestCaps } from './model/capabilities.js';

function formatEnum(w: Writer, e: DomainCapsEnum): void {
  if (e.values.length === 0) {
    w.empty('enum', attr('name', e.name));
    return;
  }
  w.open('enum', attr('name', e.name));
  for (const v of e.values) w.textElem('value', '', v);
  w.close('enum');
}

function formatItem(w: Writer, it: DomainCapsItem): void {
  if (!it.supported) {
    w.empty(it.name, " supported='no'");
    return;
  }
  if (!it.enums || it.enums.length === 0) {
    w.empty(it.name, " supported='yes'");
    return;
  }
  w.open(it.name, " supported='yes'");
  for (const e of it.enums) formatEnum(w, e);
  w.close(it.name);
}

/** Writes the domain capabilities document (virsh domcapabilities). */
export function formatDomainCapabilitiesXML(caps: DomainCapabilitiesDef): string {
  const w = new Writer();
  w.open('domainCapabilities', '');
  w.textElem('path', '', caps.path);
  w.textElem('domain', '', caps.domain);
  if (caps.machine !== undefined) w.textElem('machine', '', caps.machine);
  w.textElem('arch', '', caps.arch);
  if (caps.vcpuMax !== undefined) w.empty('vcpu', ` max='${caps.vcpuMax}'`);
  if (caps.iothreads !== undefined) w.empty('iothreads', ` supported='${caps.iothreads ? 'yes' : 'no'}'`);
  const os = caps.os;
  if (!os.supported) w.empty('os', " supported='no'");
  else {
    w.open('os', " supported='yes'");
    if (os.firmware) formatEnum(w, { name: 'firmware', values: os.firmware });
    if (os.loader) {
      const l = os.loader;
      if (!l.supported) w.empty('loader', " supported='no'");
      else {
        w.open('loader', " supported='yes'");
        for (const v of l.values) w.textElem('value', '', v);
        for (const e of l.enums) formatEnum(w, e);
        w.close('loader');
      }
    }
    w.close('os');
  }
  w.open('cpu', '');
  for (const m of caps.cpu.modes) {
    if (!m.supported) w.empty('mode', ` name='${m.name}' supported='no'`);
    else if (!m.enums || m.enums.length === 0) w.empty('mode', ` name='${m.name}' supported='yes'`);
    else {
      w.open('mode', ` name='${m.name}' supported='yes'`);
      for (const e of m.enums) formatEnum(w, e);
      w.close('mode');
    }
  }
  w.close('cpu');
  w.open('devices', '');
  for (const d of caps.devices) formatItem(w, d);
  w.close('devices');
  w.open('features', '');
  for (const f of caps.features) formatItem(w, f);
  w.close('features');
  w.close('domainCapabilities');
  return w.out;
}

function formatGuest(w: Writer, g: GuestCaps): void {
  w.out += '\n';
  w.open('guest', '');
  w.textElem('os_type', '', g.os_type);
  w.open('arch', attr('name', g.arch));
  w.textElem('wordsize', '', String(g.wordsize));
  if (g.emulator !== undefined) w.textElem('emulator', '', g.emulator);
  if (g.loader !== undefined) w.textElem('loader', '', g.loader);
  for (const m of g.machines ?? []) w.textElem('machine', attr('canonical', m.canonical) + attr('maxCpus', m.maxCpus), m.name);
  for (const d of g.domains) {
    if (d.emulator !== undefined) {
      w.open('domain', attr('type', d.type));
      w.textElem('emulator', '', d.emulator);
      w.close('domain');
    } else w.empty('domain', attr('type', d.type));
  }
  w.close('arch');
  if (g.features && g.features.length) {
    w.open('features', '');
    for (const f of g.features) w.empty(f.name, attr('default', f.default) + attr('toggle', f.toggle));
    w.close('features');
  }
  w.close('guest');
}

/** Writes the capabilities document (virsh capabilities). */
export function formatCapabilitiesXML(caps: CapabilitiesDef): string {
  const w = new Writer();
  w.open('capabilities', '');
  w.out += '\n';
  const h = caps.host;
  w.open('host', '');
  if (h.uuid !== undefined) w.textElem('uuid', '', h.uuid);
  const c = h.cpu;
  w.open('cpu', '');
  w.textElem('arch', '', c.arch);
  if (c.hostFeatures && c.hostFeatures.length) {
    w.open('features', '');
    for (const f of c.hostFeatures) w.empty(f, '');
    w.close('features');
  }
  if (c.model !== undefined) w.textElem('model', '', c.model);
  if (c.vendor !== undefined) w.textElem('vendor', '', c.vendor);
  if (c.microcode !== undefined) w.empty('microcode', attr('version', c.microcode));
  if (c.topology) {
    const t = c.topology;
    w.empty('topology', ` sockets='${t.sockets}' dies='${t.dies}'${attr('clusters', t.clusters)} cores='${t.cores}' threads='${t.threads}'`);
  }
  if (c.maxphysaddr) w.empty('maxphysaddr', ` mode='${c.maxphysaddr.mode}' bits='${c.maxphysaddr.bits}'`);
  for (const f of c.features ?? []) w.empty('feature', attr('name', f));
  for (const p of c.pages ?? []) w.empty('pages', ` unit='KiB' size='${p}'`);
  w.close('cpu');
  if (h.power_management !== undefined) {
    if (h.power_management.length === 0) w.empty('power_management', '');
    else {
      w.open('power_management', '');
      for (const p of h.power_management) w.empty(p, '');
      w.close('power_management');
    }
  }
  if (h.iommu !== undefined) w.empty('iommu', ` support='${h.iommu ? 'yes' : 'no'}'`);
  if (h.migration) {
    w.open('migration_features', '');
    if (h.migration.live) w.empty('live', '');
    if (h.migration.uri_transports.length) {
      w.open('uri_transports', '');
      for (const t of h.migration.uri_transports) w.textElem('uri_transport', '', t);
      w.close('uri_transports');
    }
    w.close('migration_features');
  }
  if (h.cells && h.cells.length) {
    w.open('topology', '');
    w.open('cells', ` num='${h.cells.length}'`);
    for (const cell of h.cells) {
      w.open('cell', ` id='${cell.id}'`);
      w.textElem('memory', " unit='KiB'", String(cell.memory));
      for (const p of cell.pages ?? []) w.textElem('pages', ` unit='KiB' size='${p.size}'`, String(p.count));
      if (cell.distances && cell.distances.length) {
        w.open('distances', '');
        for (const d of cell.distances) w.empty('sibling', ` id='${d.id}' value='${d.value}'`);
        w.close('distances');
      }
      w.open('cpus', ` num='${cell.cpus.length}'`);
      for (const cpu of cell.cpus) {
        w.empty('cpu', ` id='${cpu.id}' socket_id='${cpu.socket_id}' die_id='${cpu.die_id}' core_id='${cpu.core_id}' siblings='${esc(cpu.siblings)}'`);
      }
      w.close('cpus');
      w.close('cell');
    }
    w.close('cells');
    w.close('topology');
  }
  for (const s of h.secmodels) {
    w.open('secmodel', '');
    w.textElem('model', '', s.model);
    w.textElem('doi', '', s.doi);
    for (const b of s.baselabels ?? []) w.textElem('baselabel', attr('type', b.type), b.label);
    w.close('secmodel');
  }
  w.close('host');
  for (const g of caps.guests) formatGuest(w, g);
  w.out += '\n';
  w.close('capabilities');
  return w.out;
}

/** What a bhyve binary can do, as the bhyve driver probes it (BHYVE_CAP_* bits). */
export interface BhyveProbe {
  emulator: string;
  arch?: string;
  /** Firmware images found in the firmware directory (enables `<loader>`). */
  firmwares?: string[];
  /** LPC bootrom support (UEFI). */
  lpcBootrom?: boolean;
  /** Framebuffer (VNC + gop video). */
  fbuf?: boolean;
}

/** Domain capabilities of a bhyve binary, shaped like libvirt's bhyve driver reports them. */
export function bhyveDomainCapabilities(p: BhyveProbe): DomainCapabilitiesDef {
  const loader =
    p.lpcBootrom && p.firmwares
      ? { supported: true, values: p.firmwares, enums: [{ name: 'type', values: ['pflash'] }, { name: 'readonly', values: ['yes'] }] }
      : { supported: false, values: [], enums: [] };
  return {
    path: p.emulator,
    domain: 'bhyve',
    arch: p.arch ?? 'x86_64',
    iothreads: false,
    os: { supported: true, loader },
    cpu: {
      modes: [
        { name: 'host-passthrough', supported: false },
        { name: 'maximum', supported: false },
        { name: 'host-model', supported: false },
        { name: 'custom', supported: false },
      ],
    },
    devices: [
      {
        name: 'disk',
        supported: true,
        enums: [
          { name: 'diskDevice', values: ['disk', 'cdrom'] },
          { name: 'bus', values: ['virtio', 'sata'] },
          { name: 'model', values: [] },
        ],
      },
      p.fbuf ? { name: 'graphics', supported: true, enums: [{ name: 'type', values: ['vnc'] }] } : { name: 'graphics', supported: false },
      p.fbuf ? { name: 'video', supported: true, enums: [{ name: 'modelType', values: ['gop'] }] } : { name: 'video', supported: false },
      { name: 'hostdev', supported: false },
    ],
    features: [
      { name: 'gic', supported: false },
      { name: 'vmcoreinfo', supported: false },
      { name: 'genid', supported: false },
      { name: 'sev', supported: false },
      { name: 'sgx', supported: false },
    ],
  };
}

/** The guest entry the bhyve driver reports: hvm, x86_64 (64-bit), domain type bhyve. */
export function bhyveGuestCaps(emulator: string, arch = 'x86_64'): GuestCaps {
  return { os_type: 'hvm', arch, wordsize: arch === 'x86_64' || arch === 'aarch64' ? 64 : 32, emulator, domains: [{ type: 'bhyve' }] };
}
