/**
 * The typed platform settings read from the tree before a VM is created, with the checks
 * bhyve makes at that point (bhyverun.c calc_topology, build_vcpumaps/parse_cpuset,
 * vm_parse_memsize; bhyve-userland.md §1.2, §2.4, §5.1).
 *
 * Throws ConfigError with bhyve's message and status (4 for topology and cpuset errors,
 * 64 for a bad memory size). The memory split follows vm_setup_memory: low memory is
 * min(size, 3 GiB) at GPA 0, the rest at 4 GiB.
 */
import { ConfigError, EXIT_ERROR } from './errors.js';
import type { ConfigTree } from './tree.js';
import { parseInteger, scanInteger } from './values.js';
import { CPU_SETSIZE } from './options.js';
import { KEY_DEFAULTS, VMM_BACKENDS, type VmmBackendName } from './keys.js';

export const LOWMEM_LIMIT = 3 * 2 ** 30;
export const HIGHMEM_BASE = 4 * 2 ** 30;
const UINT16_MAX = 0xffff;

export interface PlatformConfig {
  name: string;
  ncpus: number;
  sockets: number;
  cores: number;
  threads: number;
  /** Guest RAM in bytes and its split (bytes). */
  memSize: number;
  lowMem: number;
  highMem: number;
  /** Host CPUs each vCPU may run on (only vCPUs with a `vcpu.N.cpuset`). */
  cpusets: Map<number, number[]>;
  vmmBackend: VmmBackendName;
}

/** parse_cpuset: `a,b,c-d` list of host CPUs. */
export function parseCpuset(vcpu: number, list: string): number[] {
  const bad = (): never => {
    throw new ConfigError(`invalid cpuset for vcpu ${vcpu}: '${list}'`, EXIT_ERROR);
  };
  const set = new Set<number>();
  let start = -1;
  let rest = list;
  for (;;) {
    const r = scanInteger(rest, 0);
    if (r.consumed === 0) bad();
    const pcpu = r.value;
    if (pcpu < 0 || pcpu >= CPU_SETSIZE) {
      throw new ConfigError(`hostcpu '${pcpu}' outside valid range from 0 to ${CPU_SETSIZE - 1}`, EXIT_ERROR);
    }
    const sep = rest[r.consumed];
    if (sep === ',' || sep === undefined) {
      if (start >= 0) {
        if (start > pcpu) throw new ConfigError(`Invalid hostcpu range ${start}-${pcpu}`, EXIT_ERROR);
        for (let c = start; c < pcpu; c++) set.add(c);
        start = -1;
      }
      set.add(pcpu);
    } else if (sep === '-') {
      if (start >= 0) bad();
      start = pcpu;
    } else bad();
    if (sep === undefined) break;
    rest = rest.slice(r.consumed + 1);
  }
  return [...set].sort((a, b) => a - b);
}

function topologyValue(tree: ConfigTree, key: string): number | undefined {
  const v = tree.get(key);
  if (v === undefined) return undefined;
  const n = parseInteger(v, 1, UINT16_MAX);
  if (n === undefined) throw new ConfigError(`Invalid value for ${key}: '${v}'`, EXIT_ERROR);
  return n;
}

export function readPlatformConfig(tree: ConfigTree): PlatformConfig {
  const name = tree.get('name');
  if (name === undefined) throw new ConfigError('no VM name configured', EXIT_ERROR);
  const cpus = topologyValue(tree, 'cpus');
  const cores = topologyValue(tree, 'cores') ?? 1;
  const threads = topologyValue(tree, 'threads') ?? 1;
  const sockets = topologyValue(tree, 'sockets') ?? cpus ?? 1;
  const product = sockets * cores * threads;
  if (product > UINT16_MAX) throw new ConfigError(`Computed number of vCPUs too high: ${product}`, EXIT_ERROR);
  let ncpus = product;
  if (cpus !== undefined) {
    if (cpus !== product) {
      throw new ConfigError(
        `Topology (${sockets} sockets, ${cores} cores, ${threads} threads) does not match ${cpus} vCPUs`,
        EXIT_ERROR,
      );
    }
    ncpus = cpus;
  }
  const cpusets = new Map<number, number[]>();
  for (let v = 0; v < ncpus; v++) {
    const list = tree.get(`vcpu.${v}.cpuset`);
    if (list !== undefined) cpusets.set(v, parseCpuset(v, list));
  }
  const memSize = tree.getMemSize('memory.size', 256 * 2 ** 20);
  if (memSize === 0) throw new ConfigError(`invalid memsize '${tree.get('memory.size')}'`, 64);
  const lowMem = Math.min(memSize, LOWMEM_LIMIT);
  const backend = tree.get('vmm.backend') ?? KEY_DEFAULTS['vmm.backend'];
  if (!(VMM_BACKENDS as readonly string[]).includes(backend)) {
    throw new ConfigError(`Invalid value for vmm.backend: '${backend}' (expected ${VMM_BACKENDS.join(', ')})`, EXIT_ERROR);
  }
  return {
    name,
    ncpus,
    sockets,
    cores,
    threads,
    memSize,
    lowMem,
    highMem: memSize - lowMem,
    cpusets,
    vmmBackend: backend as VmmBackendName,
  };
}
