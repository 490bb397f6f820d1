/**
 * Common validation of a parsed definition (libvirt src/conf/domain_validate.c and
 * virDomainDefValidate): the driver's `validate`/`deviceValidate` hooks first, then the
 * hypervisor-neutral checks — unique disk targets, unique audio ids and references to
 * them, at most one `none` video, video driver backend and virtio options, NUMA cells inside the vCPU range, CPU topology equal to
 * the vCPU count. (Duplicate controllers, panics and boot orders are refused during
 * post-parse, where libvirt refuses them.)
 *
 * Messages name the values at fault, e.g. "target 'hda' duplicated for disk sources
 * '/tmp/a.img' and '/x'" (VIR_ERR_XML_ERROR, as libvirt).
 */

import { VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VirError, xmlError, configUnsupported } from './errors.js';
import { parseCpuList } from './domain/cpu.js';
import { listDevices } from './postparse.js';
import type { DiskDef, DomainDef, DomainParserConfig, ParseContext, VideoDef } from './types.js';

function diskSourceName(d: DiskDef): string {
  const s = d.source;
  return s?.file ?? s?.dev ?? s?.dir ?? s?.name ?? s?.volume ?? '';
}


const VIRTIO_OPTION_NAMES = [
  ['iommu', 'iommu driver option'],
  ['ats', 'ats driver option'],
  ['packed', 'packed driver option'],
  ['page_per_vq', 'page_per_vq option'],
] as const;

/** virDomainVideoDefValidate, the `<driver>` part: backend and virtio options. */
function validateVideoDriver(v: VideoDef): void {
  const drv = v.driver;
  if (!drv) return;
  if (drv.name === 'vhostuser' && v.model.type !== 'virtio') throw configUnsupported("'vhostuser' driver is only supported with 'virtio' device");
  if (v.model.type === 'virtio') return;
  // virDomainCheckVirtioOptionsAreAbsent
  for (const [k, what] of VIRTIO_OPTION_NAMES) {
    if (drv[k] !== undefined) throw configUnsupported(`${what} is only supported for virtio devices`);
  }
}

/** Common (hypervisor-neutral) checks. */
export function validateCommon(def: DomainDef): void {
  const d = def.devices;
  const targets = new Map<string, DiskDef>();
  for (const disk of d.disks) {
    const prev = targets.get(disk.target.dev);
    if (prev) throw xmlError(`target '${disk.target.dev}' duplicated for disk sources '${diskSourceName(prev)}' and '${diskSourceName(disk)}'`);
    targets.set(disk.target.dev, disk);
  }
  const audioIds = new Set<number>();
  for (const a of d.audios) {
    if (audioIds.has(a.id)) throw xmlError(`audio backend id '${a.id}' appears multiple times`);
    audioIds.add(a.id);
  }
  for (const s of d.sounds) {
    if (s.audio && !audioIds.has(s.audio.id)) throw xmlError(`no audio backend with id '${s.audio.id}' for sound device`);
  }
  for (const g of d.graphics) {
    if (g.type === 'vnc' && g.audio && !audioIds.has(g.audio.id)) throw xmlError(`no audio backend with id '${g.audio.id}' for graphics device`);
  }
  if (d.videos.length > 1 && d.videos.some((v) => v.model.type === 'none')) {
    throw configUnsupported("a 'none' video type must be the only video device defined for the domain");
  }
  for (const g of d.graphics) {
    if (g.type === 'vnc' && g.connected !== undefined && g.connected !== 'keep') throw configUnsupported("VNC supports connected='keep' only");
  }
  if (d.videos.filter((v) => v.model.primary).length > 1) throw xmlError('Only one primary video device is supported');
  for (const v of d.videos) validateVideoDriver(v);

  const vcpus = def.vcpu.count;
  if (vcpus === 0) throw xmlError('Invalid number of vCPUs: 0');
  const topo = def.cpu?.topology;
  if (topo) {
    const product = topo.sockets * topo.dies * (topo.clusters ?? 1) * topo.cores * topo.threads;
    if (product !== vcpus) {
      throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `CPU topology doesn't match maximum vcpu count (topology ${product}, vcpus ${vcpus})`);
    }
  }
  const cells = def.cpu?.numa?.cells;
  if (cells) {
    const used = new Set<number>();
    const ids = new Set<number>();
    for (const c of cells) {
      if (ids.has(c.id ?? 0)) throw xmlError(`Duplicate NUMA cell id '${c.id}'`);
      ids.add(c.id ?? 0);
      for (const cpu of parseCpuList(c.cpus ?? '') ?? []) {
        if (cpu >= vcpus) throw configUnsupported(`Number of CPUs in <numa> exceeds the <vcpu> count`);
        if (used.has(cpu)) throw xmlError(`NUMA cells overlap on CPU ${cpu}`);
        used.add(cpu);
      }
    }
  }
}

/** Runs the driver hooks then the common checks (virDomainDefValidate). */
export function validate(def: DomainDef, config: DomainParserConfig, ctx: ParseContext): void {
  config.validate?.(def, ctx);
  if (config.deviceValidate) for (const dev of listDevices(def)) config.deviceValidate(dev, def, ctx);
  validateCommon(def);
}
