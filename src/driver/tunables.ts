/**
 * The `<cputune>` the driver uses: vCPU pins as host CPU numbers for `-p`, and the names of
 * the settings bhyve cannot honour (refused by support.ts); plus libvirt's CPU-list syntax
 * (`0-3,^2`, virBitmapParse). The XML layer types `<cputune>` (src/xml/domain/cputune.ts).
 *
 * Malformed values are VirErrors naming the element; nothing here throws anything else.
 */

import { parseCpuList } from '../xml/domain/cpu.js';
import type { CputuneDef } from '../xml/types.js';
import { xmlError } from './errors.js';

/** virBitmapParse (the XML layer's parseCpuList): `0-3,^2,8` → sorted CPU numbers. */
export function parseCpuset(text: string, what: string): number[] {
  const cpus = parseCpuList(text);
  if (cpus === null) throw xmlError(`Invalid value '${text.slice(0, 64)}' for ${what}`);
  if (cpus.length === 0) throw xmlError(`Invalid value '${text.slice(0, 64)}' for ${what}: empty cpuset`);
  return cpus;
}

/** `<cputune><vcpupin>`: host CPUs per vCPU, in vCPU order (the XML layer checked them). */
export function vcpuPins(cputune: CputuneDef | undefined): Array<{ vcpu: number; cpus: number[] }> {
  return (cputune?.vcpupins ?? []).map((p) => ({ vcpu: p.vcpu, cpus: parseCpuset(p.cpuset, `<vcpupin vcpu='${p.vcpu}'> cpuset`) }));
}

/** The `<cputune>` settings other than vcpupin, by element name (refused by the support check). */
export function cputuneOtherElements(t: CputuneDef | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  if (t.shares !== undefined) out.push('shares');
  for (const k of ['period', 'quota', 'global_period', 'global_quota', 'emulator_period', 'emulator_quota', 'iothread_period', 'iothread_quota'] as const) {
    if (t[k]) out.push(k);
  }
  if (t.emulatorpin !== undefined) out.push('emulatorpin');
  if (t.iothreadpins.length) out.push('iothreadpin');
  if (t.emulatorsched) out.push('emulatorsched');
  if (t.vcpuscheds.length) out.push('vcpusched');
  if (t.iothreadscheds.length) out.push('iothreadsched');
  if (t.cachetunes.length) out.push('cachetune');
  if (t.memorytunes.length) out.push('memorytune');
  return out;
}
