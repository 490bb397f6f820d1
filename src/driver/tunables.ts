/**
 * Reading `<cputune>`, which the XML layer keeps verbatim, into typed vCPU pins, and
 * libvirt's CPU-list syntax (`0-3,^2`, virBitmapParse). The driver needs them for vCPU
 * pinning (`-p`). (`<memtune>` and `<blkiotune>` are typed by the XML layer.)
 *
 * Malformed values are VirErrors naming the element; nothing here throws anything else.
 */

import { parseCpuList } from '../xml/domain/cpu.js';
import type { XmlElement } from '../xml/types.js';
import { xmlError } from './errors.js';

/** virBitmapParse (the XML layer's parseCpuList): `0-3,^2,8` → sorted CPU numbers. */
export function parseCpuset(text: string, what: string): number[] {
  const cpus = parseCpuList(text);
  if (cpus === null) throw xmlError(`Invalid value '${text.slice(0, 64)}' for ${what}`);
  if (cpus.length === 0) throw xmlError(`Invalid value '${text.slice(0, 64)}' for ${what}: empty cpuset`);
  return cpus;
}

function attr(el: XmlElement, name: string): string | undefined {
  for (const [k, v] of el.attrs) if (k === name) return v;
  return undefined;
}

function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

/** `<cputune><vcpupin vcpu='N' cpuset='...'/>`: host CPUs per vCPU, vCPU order. */
export function parseVcpuPins(cputune: XmlElement | undefined, vcpus: number): Array<{ vcpu: number; cpus: number[] }> {
  if (!cputune) return [];
  const pins = new Map<number, number[]>();
  for (const el of childElements(cputune)) {
    if (el.name !== 'vcpupin') continue;
    const v = attr(el, 'vcpu');
    const cpuset = attr(el, 'cpuset');
    if (v === undefined || !/^\d+$/.test(v)) throw xmlError(`missing or invalid 'vcpu' in <vcpupin>`);
    if (cpuset === undefined) throw xmlError(`missing 'cpuset' in <vcpupin vcpu='${v}'>`);
    const vcpu = Number(v);
    if (vcpu >= vcpus) throw xmlError(`requested vcpupin for vcpu '${vcpu}' but the domain has ${vcpus} vcpus`);
    if (pins.has(vcpu)) throw xmlError(`duplicate vcpupin for vcpu '${vcpu}'`);
    pins.set(vcpu, parseCpuset(cpuset, `<vcpupin vcpu='${vcpu}'> cpuset`));
  }
  return [...pins.entries()].sort((a, b) => a[0] - b[0]).map(([vcpu, cpus]) => ({ vcpu, cpus }));
}

/** What `<cputune>` holds besides vcpupin (refused by the support check). */
export function cputuneOtherElements(cputune: XmlElement | undefined): string[] {
  return cputune ? childElements(cputune).filter((e) => e.name !== 'vcpupin').map((e) => e.name) : [];
}
