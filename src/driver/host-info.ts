/**
 * Facts about the host for virNodeGetInfo, virConnectGetHostname, virConnectGetVersion and
 * the capabilities XML: CPU count and topology (sysfs), memory (/proc/meminfo), the host
 * uuid (/etc/machine-id), hostname.
 *
 * Linux sources; every read is guarded and falls back to what Node's `os` module reports,
 * so a container with a partial /sys still answers.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { arch, cpus, hostname, totalmem } from 'node:os';

/** What virNodeGetInfo reports (memory in KiB). */
export interface HostNodeInfo {
  model: string;
  memoryKiB: bigint;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface HostCpu {
  id: number;
  socket: number;
  core: number;
  siblings: string;
  node: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** libvirt reports the uname machine, mapped like virArch: 'x86_64', 'aarch64'. */
export function hostArch(): string {
  switch (arch()) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'ia32':
      return 'i686';
    default:
      return arch();
  }
}

/** Online CPUs with their topology. */
export function hostCpus(): HostCpu[] {
  const n = cpus().length;
  const out: HostCpu[] = [];
  const nodeOf = new Map<number, number>();
  try {
    for (const d of readdirSync('/sys/devices/system/node')) {
      const m = /^node(\d+)$/.exec(d);
      if (!m) continue;
      const list = readText(`/sys/devices/system/node/${d}/cpulist`) ?? '';
      for (const id of expandList(list)) nodeOf.set(id, Number(m[1]));
    }
  } catch {
    /* no NUMA information */
  }
  for (let id = 0; id < n; id++) {
    const base = `/sys/devices/system/cpu/cpu${id}/topology`;
    out.push({
      id,
      socket: Number(readText(`${base}/physical_package_id`) ?? 0),
      core: Number(readText(`${base}/core_id`) ?? id),
      siblings: readText(`${base}/thread_siblings_list`) ?? String(id),
      node: nodeOf.get(id) ?? 0,
    });
  }
  return out;
}

/** Expand a sysfs CPU list ("0-3,8,10-11"). */
export function expandList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let i = a; i <= b && i - a < 65536; i++) out.push(i);
  }
  return out;
}

export function hostMemoryKiB(): bigint {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '');
  return m ? BigInt(m[1]!) : BigInt(Math.floor(totalmem() / 1024));
}

/** virNodeGetInfo, computed the way libvirt's linuxNodeInfoCPUPopulate does. */
export function nodeInfo(): HostNodeInfo {
  const list = hostCpus();
  const nodes = Math.max(1, new Set(list.map((c) => c.node)).size);
  const sockets = new Set(list.map((c) => `${c.node}/${c.socket}`)).size;
  const cores = new Set(list.map((c) => `${c.node}/${c.socket}/${c.core}`)).size;
  const socketsPerNode = Math.max(1, Math.round(sockets / nodes));
  const coresPerSocket = Math.max(1, Math.round(cores / Math.max(1, sockets)));
  const threadsPerCore = Math.max(1, Math.round(list.length / Math.max(1, cores)));
  const speed = cpus()[0]?.speed || cpuinfoMhz();
  return {
    model: hostArch(),
    memoryKiB: hostMemoryKiB(),
    cpus: list.length,
    mhz: speed,
    nodes,
    sockets: socketsPerNode,
    cores: coresPerSocket,
    threads: threadsPerCore,
  };
}

/** "cpu MHz" of /proc/cpuinfo (what libvirt reads when sysfs has no cpufreq). */
function cpuinfoMhz(): number {
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readText('/proc/cpuinfo') ?? '');
  return m ? Math.trunc(Number(m[1])) : 0;
}

/** Host uuid from /etc/machine-id (stable across reboots), formatted as a uuid. */
export function hostUuid(): string {
  const id = (readText('/etc/machine-id') ?? readText('/var/lib/dbus/machine-id') ?? '').toLowerCase();
  const hex = /^[0-9a-f]{32}$/.test(id) ? id : '00000000000000000000000000000000';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function hostName(): string {
  return hostname();
}

/** The id of the current boot (changes at every host boot): drives autostart. */
export function bootId(): string {
  return readText('/proc/sys/kernel/random/boot_id') ?? 'unknown-boot';
}

/** A "major.minor.micro" version as libvirt's number: major*1e6 + minor*1e3 + micro. */
export function versionNumber(v: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) return 0;
  return Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Number(m[3]);
}
