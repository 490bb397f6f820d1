/**
 * Reading the tuning elements the XML layer keeps verbatim (`<cputune>`, `<memtune>`,
 * `<blkiotune>`) into typed values, and libvirt's CPU-list syntax (`0-3,^2`,
 * virBitmapParse). The driver needs them for vCPU pinning (`-p`), and to refuse the
 * memtune/blkiotune settings bhyve cannot honour (bhyve_domain.c bhyveDomainDefValidate).
 *
 * Malformed values are VirErrors naming the element; nothing here throws anything else.
 */

import type { XmlElement } from '../xml/types.js';
import { unsupported, xmlError } from './errors.js';

/** Highest CPU number accepted in a cpuset (guards against absurd ranges). */
const MAX_CPU_ID = 16383;

/** virBitmapParse: `0-3,^2,8` → sorted CPU numbers. */
export function parseCpuset(text: string, what: string): number[] {
  const set = new Set<number>();
  const excluded = new Set<number>();
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw xmlError(`Invalid value '${text}' for ${what}: empty cpuset`);
  for (const part of parts) {
    let m: RegExpExecArray | null;
    if ((m = /^\^(\d+)$/.exec(part))) {
      excluded.add(checkCpu(Number(m[1]), text, what));
    } else if ((m = /^(\d+)$/.exec(part))) {
      set.add(checkCpu(Number(m[1]), text, what));
    } else if ((m = /^(\d+)\s*-\s*(\d+)$/.exec(part))) {
      const lo = checkCpu(Number(m[1]), text, what);
      const hi = checkCpu(Number(m[2]), text, what);
      if (hi < lo) throw xmlError(`Invalid value '${text}' for ${what}: range ${part} is reversed`);
      for (let c = lo; c <= hi; c++) set.add(c);
    } else {
      throw xmlError(`Invalid value '${text}' for ${what}`);
    }
  }
  for (const c of excluded) set.delete(c);
  return [...set].sort((a, b) => a - b);
}

function checkCpu(n: number, text: string, what: string): number {
  if (!Number.isSafeInteger(n) || n > MAX_CPU_ID) throw xmlError(`Invalid value '${text}' for ${what}: CPU ${n} out of range`);
  return n;
}

function attr(el: XmlElement, name: string): string | undefined {
  for (const [k, v] of el.attrs) if (k === name) return v;
  return undefined;
}

function text(el: XmlElement): string {
  return el.children.filter((c): c is string => typeof c === 'string').join('').trim();
}

function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

const UNIT_SCALE: Record<string, number> = {
  b: 1, bytes: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1e6,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1e9,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1e12,
  p: 1024 ** 5, pib: 1024 ** 5, pb: 1e15,
  e: 1024 ** 6, eib: 1024 ** 6, eb: 1e18,
};

/** `<elem unit='M'>512</elem>` → KiB (libvirt virScaleInteger; default unit KiB). */
function sizeKiB(el: XmlElement, where: string): number {
  const raw = text(el);
  if (!/^\d+$/.test(raw)) throw xmlError(`invalid value '${raw}' for <${where}>`);
  const unit = (attr(el, 'unit') ?? 'KiB').toLowerCase();
  const scale = UNIT_SCALE[unit];
  if (scale === undefined) throw xmlError(`unknown unit '${attr(el, 'unit')}' in <${where}>`);
  return Math.ceil((Number(raw) * scale) / 1024);
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

export interface Memtune {
  hard_limit?: number;
  soft_limit?: number;
  swap_hard_limit?: number;
  min_guarantee?: number;
}

/** `<memtune>` limits in KiB. */
export function parseMemtune(el: XmlElement | undefined): Memtune {
  const out: Memtune = {};
  if (!el) return out;
  for (const c of childElements(el)) {
    switch (c.name) {
      case 'hard_limit':
      case 'soft_limit':
      case 'swap_hard_limit':
      case 'min_guarantee':
        out[c.name] = sizeKiB(c, `memtune/${c.name}`);
        break;
      default:
        throw unsupported(`memtune element <${c.name}> is not supported`);
    }
  }
  return out;
}

export interface BlkioDevice {
  path: string;
  weight?: number;
  read_bytes_sec?: number;
  write_bytes_sec?: number;
  read_iops_sec?: number;
  write_iops_sec?: number;
}

export interface Blkiotune {
  weight?: number;
  devices: BlkioDevice[];
}

const BLKIO_NUMBERS = ['weight', 'read_bytes_sec', 'write_bytes_sec', 'read_iops_sec', 'write_iops_sec'] as const;

/** `<blkiotune>`: domain weight and per-device throttles. */
export function parseBlkiotune(el: XmlElement | undefined): Blkiotune {
  const out: Blkiotune = { devices: [] };
  if (!el) return out;
  for (const c of childElements(el)) {
    if (c.name === 'weight') {
      out.weight = Number(text(c));
      continue;
    }
    if (c.name !== 'device') throw unsupported(`blkiotune element <${c.name}> is not supported`);
    let path: string | undefined;
    const dev: Omit<BlkioDevice, 'path'> = {};
    for (const f of childElements(c)) {
      if (f.name === 'path') {
        path = text(f);
      } else if ((BLKIO_NUMBERS as readonly string[]).includes(f.name)) {
        const raw = text(f);
        if (!/^\d+$/.test(raw)) throw xmlError(`invalid value '${raw}' for <blkiotune><device><${f.name}>`);
        dev[f.name as (typeof BLKIO_NUMBERS)[number]] = Number(raw);
      } else {
        throw unsupported(`blkiotune device element <${f.name}> is not supported`);
      }
    }
    if (path === undefined) throw xmlError('missing <path> in <blkiotune><device>');
    out.devices.push({ path, ...dev });
  }
  return out;
}
