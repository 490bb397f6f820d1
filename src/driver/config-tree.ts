/**
 * DomainDef → bhyve configuration file (`bhyve -k FILE`, bhyve_config(5)): the same
 * BhyvePlan as the argv (command.ts), written as one `key=value` per line with full dotted
 * paths — the tree bhyve itself builds from that argv (bhyve-userland.md §2): `name`,
 * `uuid`, `cpus`/`sockets`/`cores`/`threads`, `memory.size`, `memory.wired`,
 * `x86.strictmsr`, `rtc.use_localtime`, `x86.vmexit_on_hlt|pause`, `domains.N.*`,
 * `vcpu.N.cpuset`, `bootrom`/`bootvars`/`lpc.fwcfg`, `pci.B.S.F.device` and each device's
 * keys, `lpc.comN.path`, `tpm.*`, SMBIOS strings, `console`, tsbhyve's `vmm.backend` and
 * `boot.*` direct-boot keys (docs/tsbhyve-config.md on branch emu).
 *
 * `<bhyve:commandline>` arguments are carried over when they have a config form (`-o
 * key=value` and the flag options of bhyve-userland.md §1.2); any other argument is
 * refused (VIR_ERR_CONFIG_UNSUPPORTED): use domainToBhyveArgv for such domains.
 */

import type { DomainDef } from '../xml/types.js';
import { buildPlan, prepareLiveDomain, type TranslateOptions } from './command.js';
import { unsupported } from './errors.js';
import type { BhyvePlan } from './plan.js';

/** bhyve flag options and the key each sets (bhyve-userland.md §1.2, [new]). */
const FLAG_KEYS: Record<string, [string, string]> = {
  '-a': ['x86.x2apic', 'false'],
  '-A': ['acpi_tables', 'true'],
  '-C': ['memory.guest_in_core', 'true'],
  '-D': ['destroy_on_poweroff', 'true'],
  '-e': ['x86.strictio', 'true'],
  '-H': ['x86.vmexit_on_hlt', 'true'],
  '-P': ['x86.vmexit_on_pause', 'true'],
  '-S': ['memory.wired', 'true'],
  '-u': ['rtc.use_localtime', 'false'],
  '-w': ['x86.strictmsr', 'false'],
  '-W': ['virtio_msix', 'false'],
  '-x': ['x86.x2apic', 'true'],
  '-Y': ['x86.mptable', 'false'],
};

function extraArgKeys(args: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = FLAG_KEYS[a];
    if (flag) {
      out.push(flag);
      continue;
    }
    if (a === '-o' && i + 1 < args.length) {
      const kv = args[++i]!;
      const eq = kv.indexOf('=');
      if (eq <= 0) throw unsupported(`bhyve:commandline '-o ${kv}' is not key=value`);
      out.push([kv.slice(0, eq), kv.slice(eq + 1)]);
      continue;
    }
    throw unsupported(`bhyve:commandline argument '${a}' has no bhyve_config(5) form (translate to argv instead)`);
  }
  return out;
}

/** The keys of a plan, in the order bhyve would create them from the argv. */
export function planToConfigKeys(plan: BhyvePlan): Array<[string, string]> {
  const k: Array<[string, string]> = [];
  k.push(['name', plan.name]);
  if (plan.uuid !== undefined) k.push(['uuid', plan.uuid]);
  k.push(['cpus', String(plan.cpus)]);
  if (plan.topology) {
    k.push(['sockets', String(plan.topology.sockets)], ['cores', String(plan.topology.cores)], ['threads', String(plan.topology.threads)]);
  }
  for (const n of plan.numa) k.push([`domains.${n.id}.size`, `${n.sizeMiB}M`], [`domains.${n.id}.cpus`, n.cpus]);
  const pins = new Map<number, number[]>();
  for (const p of plan.pins) pins.set(p.vcpu, [...(pins.get(p.vcpu) ?? []), p.cpu]);
  for (const [vcpu, cpus] of pins) k.push([`vcpu.${vcpu}.cpuset`, cpus.join(',')]);
  k.push(['memory.size', `${plan.memoryMiB}M`]);
  if (plan.wired) k.push(['memory.wired', 'true']);
  if (plan.ignoreUnknownMsrs) k.push(['x86.strictmsr', 'false']);
  if (plan.rtcUtc) k.push(['rtc.use_localtime', 'false']);
  if (plan.hltPauseExits) k.push(['x86.vmexit_on_hlt', 'true'], ['x86.vmexit_on_pause', 'true']);
  const rom = plan.bootrom;
  if (rom) {
    k.push(['bootrom', rom.rom]);
    if (rom.vars !== undefined) k.push(['bootvars', rom.vars]);
    if (rom.form === 'lpc') k.push(['lpc.fwcfg', 'qemu']);
  }
  for (const s of plan.pci) {
    const node = `pci.${s.bus}.${s.slot}.${s.func}`;
    k.push([`${node}.device`, s.device]);
    for (const [key, value] of s.keys) k.push([`${node}.${key}`, value]);
  }
  for (const l of plan.lpc) k.push(...l.keys);
  k.push(...plan.options);
  const b = plan.directBoot;
  if (b) {
    k.push(['boot.protocol', b.protocol], ['boot.kernel', b.kernel]);
    if (b.initrd !== undefined) k.push(b.protocol === 'linux' ? ['boot.initrd', b.initrd] : ['boot.module.0.path', b.initrd]);
    // bhyve's -k parser refuses `key=` with nothing after it: an empty command line is no key.
    if (b.cmdline) k.push(['boot.cmdline', b.cmdline]);
  }
  k.push(...extraArgKeys(plan.extraArgs));
  return k;
}

/** Writes keys as a `-k` file. Values cannot span lines; keys are fixed by the plan. */
export function formatConfigFile(keys: Array<[string, string]>, comment?: string): string {
  let out = comment === undefined ? '' : `# ${comment.replace(/[\r\n]/g, ' ')}\n`;
  for (const [key, value] of keys) {
    if (/[\r\n]/.test(value)) throw unsupported(`configuration value of '${key}' may not contain a line break`);
    out += `${key}=${value}\n`;
  }
  return out;
}

/**
 * DomainDef → `-k` file text. Same preparation, refusals and warnings as
 * domainToBhyveArgv (warnings go to `opts.warnings` when given).
 */
export function domainToBhyveConfig(def: DomainDef, opts: TranslateOptions & { warnings?: string[] } = {}): string {
  const live = prepareLiveDomain(def, opts);
  const plan = buildPlan(live.def, live.host, opts, live.warnings);
  const text = formatConfigFile(planToConfigKeys(plan), `bhyve configuration of domain '${plan.name}' (tsvirt)`);
  opts.warnings?.push(...plan.warnings);
  return text;
}
