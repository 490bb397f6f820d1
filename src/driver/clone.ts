/**
 * Deep copy of a DomainDef (plain data: objects, arrays, strings, numbers, booleans), used
 * to make the live definition without touching the caller's. Several times faster than
 * structuredClone on this shape, which matters because every translation starts with one.
 * Not for anything else: class instances, maps, cycles are not DomainDef data.
 */

import type { DomainDef } from '../xml/types.js';

function copy(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copy(v[i]);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (Object.prototype.hasOwnProperty.call(v, k)) out[k] = copy((v as Record<string, unknown>)[k]);
  }
  return out;
}

export function cloneDomainDef(def: DomainDef): DomainDef {
  return copy(def) as DomainDef;
}
