/**
 * Parsers of the bhyve options whose argument has its own small syntax: `-c` topology,
 * `-p` vCPU pinning, `-G` debug server, `-n` NUMA domains, `-f` fw_cfg user files
 * (bhyve-userland.md §1.2; bhyverun.c bhyve_topology_parse, bhyve_pincpu_parse,
 * bhyve_parse_gdb_options, bhyve_numa_parse, qemu_fwcfg_parse_cmdline_arg).
 *
 * Each writes the keys bhyve writes and returns false where bhyve's parser fails (the
 * caller then reports "invalid ... '<arg>'" with EX_USAGE). Values are stored verbatim;
 * their typed validation happens at assembly, as in bhyve (calc_topology and friends).
 */
import { ConfigError, EXIT_ERROR } from './errors.js';
import type { ConfigTree } from './tree.js';
import { parseInteger } from './values.js';

/** -c `[[cpus=]n][,sockets=n][,cores=n][,threads=n]`; the empty string means 1 vCPU. */
export function parseTopology(tree: ConfigTree, opt: string): boolean {
  if (opt === '') {
    tree.set('sockets', '1');
    tree.set('cores', '1');
    tree.set('threads', '1');
    tree.set('cpus', '1');
    return true;
  }
  for (const cp of opt.split(',')) {
    const m = /^(cpus|sockets|cores|threads)=(.*)$/s.exec(cp);
    if (m) tree.set(m[1]!, m[2]!);
    else if (cp.includes('=')) return false;
    else tree.set('cpus', cp);
  }
  return true;
}

/** CPU_SETSIZE of the host cpuset type: host CPU numbers must be below it. */
export const CPU_SETSIZE = 1024;

/** -p `vcpu:hostcpu`: appended to `vcpu.<vcpu>.cpuset` (repeats accumulate). */
export function parsePinning(tree: ConfigTree, opt: string): { ok: true } | { ok: false; detail: string } {
  const m = /^\s*([+-]?\d+):\s*([+-]?\d+)/.exec(opt);
  if (!m) return { ok: false, detail: `invalid format: ${opt}` };
  const vcpu = parseInt(m[1]!, 10);
  const pcpu = parseInt(m[2]!, 10);
  if (vcpu < 0) return { ok: false, detail: `invalid vcpu '${vcpu}'` };
  if (pcpu < 0 || pcpu >= CPU_SETSIZE) {
    return { ok: false, detail: `hostcpu '${pcpu}' outside valid range from 0 to ${CPU_SETSIZE - 1}` };
  }
  const key = `vcpu.${vcpu}.cpuset`;
  const old = tree.get(key);
  tree.set(key, old !== undefined ? `${old},${pcpu}` : String(pcpu));
  return { ok: true };
}

/** -G `[w][address:]port`. */
export function parseGdb(tree: ConfigTree, opt: string): void {
  let o = opt;
  if (o.startsWith('w')) {
    tree.setBool('gdb.wait', true);
    o = o.slice(1);
  }
  const colon = o.lastIndexOf(':');
  if (colon < 0) {
    tree.set('gdb.port', o);
  } else {
    tree.set('gdb.address', o.slice(0, colon));
    tree.set('gdb.port', o.slice(colon + 1));
  }
}

/** VM_MAXMEMDOM: at most this many NUMA domains. */
export const MAX_MEM_DOMAINS = 8;

/** -n `id=N[,size=S][,cpus=LIST][,domain_policy=P]`. */
export function parseNuma(tree: ConfigTree, opt: string): boolean {
  if (opt === '') return false;
  let id: number | undefined;
  let size: string | undefined;
  let cpus: string | undefined;
  let policy: string | undefined;
  for (const cp of opt.split(',')) {
    if (cp.startsWith('id=')) {
      const v = parseInteger(cp.slice(3), 0, 255);
      if (v === undefined) throw new ConfigError(`Invalid value for id: '${cp.slice(3)}'`, EXIT_ERROR);
      id = v;
    } else if (cp.startsWith('size=')) size = cp.slice(5);
    else if (cp.startsWith('domain_policy=')) policy = cp.slice('domain_policy='.length);
    else if (cp.startsWith('cpus=')) cpus = cp.slice(5);
  }
  if (id === undefined) return false;
  const node = tree.createNode(`domains.${id}`);
  if (size !== undefined) node.set('size', size);
  if (policy !== undefined) node.set('domain_policy', policy);
  if (cpus !== undefined) node.set('cpus', cpus);
  return true;
}

/** QEMU_FWCFG_MAX_NAME: a fw_cfg file name (with its NUL) fits in 56 bytes. */
export const FWCFG_MAX_NAME = 56;

/** A user fw_cfg file from `-f name,string=VALUE` or `-f name,file=PATH`. */
export interface FwCfgUserFile {
  name: string;
  source: { kind: 'string'; value: string } | { kind: 'file'; path: string };
}

/** bhyve's `-f` form; undefined when the argument is malformed. */
export function parseFwCfgFile(opt: string): FwCfgUserFile | undefined {
  let o = opt.startsWith('name=') ? opt.slice(5) : opt;
  const comma = o.indexOf(',');
  if (comma < 0) return undefined;
  const name = o.slice(0, comma);
  if (name.length === 0 || Buffer.byteLength(name) >= FWCFG_MAX_NAME) return undefined;
  o = o.slice(comma + 1);
  if (o.startsWith('string=')) return { name, source: { kind: 'string', value: o.slice(7) } };
  if (o.startsWith('file=')) return { name, source: { kind: 'file', path: o.slice(5) } };
  return undefined;
}
