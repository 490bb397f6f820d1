/**
 * `<cpu>` of the DomainDef model: CPU model/mode, topology, features, NUMA cells.
 *
 * Spec: libvirt docs/formatdomain.rst "CPU model and topology" and "NUMA topology";
 * src/conf/cpu_conf.c virCPUDefFormatBuf (order: model, vendor, topology, cache,
 * maxphysaddr, features, numa).
 */

import type { XmlElement, YesNo } from './common.js';

export type CpuMode = 'custom' | 'host-model' | 'host-passthrough' | 'maximum';
export type CpuMatch = 'minimum' | 'exact' | 'strict';
export type CpuCheck = 'none' | 'partial' | 'full';
export type CpuFeaturePolicy = 'force' | 'require' | 'optional' | 'disable' | 'forbid';

/** `<topology sockets dies clusters cores threads/>`. */
export interface CpuTopology {
  sockets: number;
  /** libvirt writes dies='1' when absent. */
  dies: number;
  /** Written only when given (libvirt ≥ 10.3 knows it). */
  clusters?: number;
  cores: number;
  threads: number;
}

/** `<numa><cell .../></numa>` cell. */
export interface NumaCell {
  id?: number;
  cpus?: string;
  /** KiB. */
  memory: number;
  memAccess?: 'shared' | 'private';
  discard?: YesNo;
  /** `<distances><sibling id value/></distances>`. */
  distances?: Array<{ id: number; value: number }>;
  /** `<cache>` children and other cell content kept verbatim. */
  extra?: XmlElement[];
}

export interface CpuDef {
  /** Absent for a bare `<cpu>` (then libvirt writes no mode). */
  mode?: CpuMode;
  match?: CpuMatch;
  check?: CpuCheck;
  migratable?: 'on' | 'off';
  model?: { name: string; fallback?: 'allow' | 'forbid'; vendor_id?: string };
  vendor?: string;
  topology?: CpuTopology;
  cache?: { level?: number; mode: 'emulate' | 'passthrough' | 'disable' };
  maxphysaddr?: { mode: 'emulate' | 'passthrough'; bits?: number; limit?: number };
  features: Array<{ policy?: CpuFeaturePolicy; name: string }>;
  numa?: { cells: NumaCell[]; interconnects?: XmlElement };
}
