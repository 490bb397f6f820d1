/**
 * bhyve command line → DomainDef (libvirt src/bhyve/bhyve_parse_command.c, virsh
 * `domxml-from-native bhyve-argv`): the bhyve argv's options (`-c -m -A -I -u -U -S -p
 * -l -s` and the VM name), then the loader argv (bhyveload's `-m -d` and name, or any
 * other loader as `<bootloader>` + `<bootloader_args>`). VM names and memory sizes of the
 * two commands must agree.
 *
 * Two modes. `libvirt` reproduces libvirt's parser exactly, what it ignores and what it
 * refuses included (the conformance suite replays libvirt's cases with it). `tsvirt`
 * (the default) also understands the rest of bhyve's options (`-c cpus=,sockets=...`,
 * `-p` pins, `-w`, `-n`, `-o` SMBIOS / vmm.backend / bootrom, `-f` direct boot, more
 * devices, see parse-devices.ts) and passes what it cannot represent through as
 * `<bhyve:commandline>` arguments with a warning, instead of dropping or failing.
 *
 * Warnings collect what libvirt "reports" without failing (a device it drops).
 * Failures are VirErrors. Input is untrusted: no crash, no unbounded work.
 */

import { randomUUID } from 'node:crypto';
import { generateMac } from '../xml/parse/values.js';
import { emptyCputune } from '../xml/domain/cputune.js';
import { formatCpuList, parseCpuList } from '../xml/domain/cpu.js';
import { parseUuid } from '../xml/uuid.js';
import type { DomainDef } from '../xml/types.js';
import { invalidArg, operationFailed } from './errors.js';
import { isBhyveloadProgram, parseMemsizeKiB, splitNativeCommandLine } from './native-cmdline.js';
import { type ArgvParseContext, parseLpcArg, type ParseMode, parsePciArg } from './parse-devices.js';
import { emptyDomainDef } from './skeleton.js';

export type { ParseMode } from './parse-devices.js';

export interface ArgvToDomainOptions {
  /** `libvirt` (exactly libvirt's parser) or `tsvirt` (default, wider). */
  mode?: ParseMode;
  /** Receives the non-fatal findings. */
  warnings?: string[];
  /** UUID for the new domain when `-U` is absent (default: random). */
  generateUuid?: () => string;
  /** MAC for interfaces without `mac=` (default: random 52:54:00:xx:xx:xx). */
  generateMac?: () => string;
}

function setMemory(def: DomainDef, arg: string): void {
  const kib = parseMemsizeKiB(arg);
  if (kib === undefined) throw operationFailed('Failed to parse memory');
  if (def.currentMemory !== 0 && def.currentMemory !== kib) throw operationFailed('Failed to parse memory: size mismatch');
  def.currentMemory = kib;
  def.memory = kib;
}

function setName(def: DomainDef, name: string | undefined): void {
  if (name === undefined) throw operationFailed('Failed to parse arguments: missing VM name');
  if (def.name === '') def.name = name;
  else if (def.name !== name) throw operationFailed('Failed to parse arguments: VM name mismatch');
}

/** bhyve options that take an argument (bhyve-userland.md §1.2). */
const OPTIONS_WITH_ARG = new Set(['c', 'f', 'G', 'k', 'K', 'l', 'm', 'n', 'o', 'p', 'r', 's', 'U', 'g']);

function parseCpus(ctx: ArgvParseContext, arg: string): void {
  const def = ctx.def;
  if (/^\d+$/.test(arg)) {
    def.vcpu.count = Number(arg);
    if (def.vcpu.count < 1 || def.vcpu.count > 0xffff) throw operationFailed('Failed to parse number of vCPUs');
    return;
  }
  if (ctx.mode === 'libvirt') throw operationFailed('Failed to parse number of vCPUs');
  const t: Record<string, number> = {};
  for (const [i, item] of arg.split(',').entries()) {
    const m = /^(?:(cpus|sockets|cores|threads)=)?(\d+)$/.exec(item);
    if (!m || (!m[1] && i > 0)) throw operationFailed(`Failed to parse -c '${arg}'`);
    t[m[1] ?? 'cpus'] = Number(m[2]);
  }
  const sockets = t.sockets ?? 1;
  const cores = t.cores ?? 1;
  const threads = t.threads ?? 1;
  const cpus = t.cpus ?? sockets * cores * threads;
  if (cpus < 1 || cpus > 0xffff || cpus !== sockets * cores * threads) throw operationFailed(`Failed to parse -c '${arg}': topology does not match the vCPU count`);
  def.vcpu.count = cpus;
  if (t.sockets !== undefined || t.cores !== undefined || t.threads !== undefined) {
    def.cpu = { features: [], topology: { sockets, dies: 1, cores, threads } };
  }
}

function addVcpuPin(ctx: ArgvParseContext, arg: string): void {
  const m = /^(\d+):(\d+)$/.exec(arg);
  if (!m) throw operationFailed(`Failed to parse -p '${arg}'`);
  const cputune = (ctx.def.cputune ??= emptyCputune());
  const vcpu = Number(m[1]);
  const existing = cputune.vcpupins.find((p) => p.vcpu === vcpu);
  if (existing) existing.cpuset = formatCpuList([...(parseCpuList(existing.cpuset) ?? []), Number(m[2])]);
  else {
    cputune.vcpupins.push({ vcpu, cpuset: m[2]! });
    cputune.vcpupins.sort((a, b) => a.vcpu - b.vcpu);
  }
}

/** SMBIOS `-o` keys back into `<sysinfo>` entries. */
const SYSINFO_KEYS: Record<string, [block: 'bios' | 'system' | 'baseBoard' | 'chassis', entry: string]> = {
  'bios.vendor': ['bios', 'vendor'],
  'bios.version': ['bios', 'version'],
  'bios.release_date': ['bios', 'date'],
  'system.manufacturer': ['system', 'manufacturer'],
  'system.product_name': ['system', 'product'],
  'system.serial_number': ['system', 'serial'],
  'system.sku': ['system', 'sku'],
  'system.version': ['system', 'version'],
  'system.family_name': ['system', 'family'],
  'board.manufacturer': ['baseBoard', 'manufacturer'],
  'board.product_name': ['baseBoard', 'product'],
  'board.version': ['baseBoard', 'version'],
  'board.serial_number': ['baseBoard', 'serial'],
  'board.asset_tag': ['baseBoard', 'asset'],
  'board.location': ['baseBoard', 'location'],
  'chassis.manufacturer': ['chassis', 'manufacturer'],
  'chassis.version': ['chassis', 'version'],
  'chassis.serial_number': ['chassis', 'serial'],
  'chassis.asset_tag': ['chassis', 'asset'],
  'chassis.sku': ['chassis', 'sku'],
};

/** tsvirt: `-o key=value`. Returns false when the setting has no XML form. */
function applyOption(ctx: ArgvParseContext, kv: string): boolean {
  const eq = kv.indexOf('=');
  if (eq <= 0) return false;
  const key = kv.slice(0, eq);
  const value = kv.slice(eq + 1);
  const def = ctx.def;
  const si = SYSINFO_KEYS[key];
  if (si) {
    const sys = (def.sysinfo ??= [{ type: 'smbios' }])[0]!;
    const [block, entry] = si;
    if (block === 'baseBoard') ((sys.baseBoards ??= [[]])[0]!).push({ name: entry, value });
    else (sys[block] ??= []).push({ name: entry, value });
    return true;
  }
  if (key === 'vmm.backend' && (value === 'kvm' || value === 'soft' || value === 'auto')) {
    def.type = value === 'kvm' ? 'kvm' : value === 'soft' ? 'qemu' : 'bhyve';
    return true;
  }
  if (key === 'bootrom') {
    def.os.loader = { path: value, readonly: 'yes', type: 'pflash' };
    return true;
  }
  if (key === 'bootvars') {
    def.os.nvram = { path: value };
    return true;
  }
  if (key === 'uuid') {
    const u = parseUuid(value);
    if (!u) return false;
    def.uuid = u;
    return true;
  }
  if (key === 'x86.strictmsr' && value === 'false') {
    (def.features ??= {}).msrs = { unknown: 'ignore' };
    return true;
  }
  return false;
}

/** tsvirt: `-f kexec,KERNEL,INITRD,"CMDLINE"` / `-f multiboot,KERNEL,MODULE,"CMDLINE"`. */
function applyDirectBoot(ctx: ArgvParseContext, arg: string): boolean {
  const m = /^(kexec|multiboot),([^,]+)(?:,([^,]*)(?:,(.*))?)?$/.exec(arg);
  if (!m) return false;
  const os = ctx.def.os;
  os.kernel = m[2]!;
  if (m[3]) os.initrd = m[3];
  let cmdline = m[4];
  if (cmdline && cmdline.length >= 2 && cmdline.startsWith('"') && cmdline.endsWith('"')) cmdline = cmdline.slice(1, -1);
  if (cmdline) os.cmdline = cmdline;
  return true;
}

/** tsvirt: `-n id=N,size=S,cpus=LIST`. */
function applyNuma(ctx: ArgvParseContext, arg: string): boolean {
  const m = /^id=(\d+),size=([^,]+),cpus=([0-9,\-^]+)$/.exec(arg);
  if (!m) return false;
  const kib = parseMemsizeKiB(m[2]!);
  if (kib === undefined) return false;
  const cpu = (ctx.def.cpu ??= { features: [] });
  const numa = (cpu.numa ??= { cells: [] });
  numa.cells.push({ id: Number(m[1]), cpus: m[3]!, memory: kib });
  return true;
}

/** bhyveParseBhyveCommandLine. */
function parseBhyveArgv(ctx: ArgvParseContext, argv: string[]): void {
  const def = ctx.def;
  const last = argv.length - 1;
  let i = 1;
  // libvirt's CONSUME_ARG: an option's value may not be the last argument (the name).
  const consume = (): string => {
    if (i + 1 >= last) throw invalidArg(`Missing argument for '${argv[i]}'`);
    return argv[++i]!;
  };
  for (; i < last; i++) {
    const a = argv[i]!;
    if (a[0] !== '-') break;
    const opt = a[1];
    switch (opt) {
      case 'A':
        (def.features ??= {}).acpi = true;
        break;
      case 'c':
        parseCpus(ctx, consume());
        break;
      case 'l':
        parseLpcArg(ctx, consume());
        break;
      case 's':
        parsePciArg(ctx, consume());
        break;
      case 'm':
        setMemory(def, consume());
        break;
      case 'I':
        (def.features ??= {}).apic = {};
        break;
      case 'u':
        def.clock.offset = 'utc';
        break;
      case 'U': {
        const arg = consume();
        const u = parseUuid(arg);
        if (!u) throw invalidArg(`Cannot parse UUID '${arg}'`);
        def.uuid = u;
        break;
      }
      case 'S':
        (def.memoryBacking ??= {}).locked = true;
        break;
      case 'p':
        if (ctx.mode === 'libvirt') consume();
        else addVcpuPin(ctx, consume());
        break;
      case 'g':
        consume();
        if (ctx.mode === 'tsvirt') ctx.warnings.push(`${a} ${argv[i]} (gdb port) dropped`);
        break;
      default:
        if (ctx.mode === 'libvirt') break; // libvirt ignores other options (not their values)
        if (opt === 'H' || opt === 'P') break; // always given by the driver
        if (opt === 'w') {
          (def.features ??= {}).msrs = { unknown: 'ignore' };
          break;
        }
        if (opt !== undefined && OPTIONS_WITH_ARG.has(opt) && a.length === 2) {
          const v = consume();
          if (opt === 'o' && applyOption(ctx, v)) break;
          if (opt === 'f' && applyDirectBoot(ctx, v)) break;
          if (opt === 'n' && applyNuma(ctx, v)) break;
          ctx.warnings.push(`${a} ${v}: passed through as <bhyve:arg>`);
          ctx.passthrough.push(a, v);
        } else {
          ctx.warnings.push(`${a}: passed through as <bhyve:arg>`);
          ctx.passthrough.push(a);
        }
    }
  }
  if (i !== last) throw operationFailed('Failed to parse arguments for bhyve command');
  setName(def, argv[last]);
}

/** bhyveParseBhyveLoadCommandLine. */
function parseBhyveloadArgv(def: DomainDef, argv: string[]): void {
  const last = argv.length - 1;
  let seen = 0;
  let i = 1;
  for (; i < last; i++) {
    const a = argv[i]!;
    if (a[0] !== '-') break;
    switch (a[1]) {
      case 'd': {
        if (i + 1 >= last) throw invalidArg(`Missing argument for '${a}'`);
        const path = argv[++i]!;
        seen |= 1;
        const idx = def.devices.disks.findIndex((d) => (d.source?.file ?? d.source?.dev) === path);
        // libvirt stores the disk's position as its boot index (0 means none).
        if (idx > 0) def.devices.disks[idx]!.boot = { order: idx };
        break;
      }
      case 'm':
        if (i + 1 >= last) throw invalidArg(`Missing argument for '${a}'`);
        seen |= 2;
        setMemory(def, argv[++i]!);
        break;
      default:
        seen |= 4;
    }
  }
  if (i !== last) throw operationFailed('Failed to parse arguments for bhyve command');
  if (seen !== 3) {
    def.bootloader = argv[0]!;
    def.bootloader_args = argv.slice(1).join(' ');
  }
  setName(def, argv[last]);
}

/**
 * bhyve argv (and optionally the loader argv) → DomainDef. The result is unvalidated,
 * as libvirt's is: callers that want to run it go through the usual parse/translate path.
 */
export function bhyveArgvToDomain(bhyveArgv: readonly string[], loaderArgv?: readonly string[], opts: ArgvToDomainOptions = {}): DomainDef {
  if (bhyveArgv.length < 2) throw invalidArg('a bhyve command line needs at least the program and the VM name');
  const def = emptyDomainDef();
  def.uuid = (opts.generateUuid ?? randomUUID)();
  def.clock.offset = 'localtime';
  const ctx: ArgvParseContext = {
    def,
    mode: opts.mode ?? 'tsvirt',
    warnings: opts.warnings ?? [],
    generateMac: opts.generateMac ?? generateMac,
    counters: { virtio: 0, sata: 0, nvme: 0 },
    passthrough: [],
  };
  parseBhyveArgv(ctx, [...bhyveArgv]);
  if (loaderArgv && loaderArgv.length > 0) {
    if (isBhyveloadProgram(loaderArgv[0]!)) parseBhyveloadArgv(def, [...loaderArgv]);
    else {
      def.bootloader = loaderArgv[0]!;
      def.bootloader_args = loaderArgv.slice(1).join(' ');
    }
  }
  if (ctx.passthrough.length > 0) def.bhyveCommandline = { args: ctx.passthrough, envs: [] };
  return def;
}

/** `domxml-from-native bhyve-argv`: the text form (bhyve line and optional loader line). */
export function bhyveCommandLineToDomain(text: string, opts: ArgvToDomainOptions = {}): DomainDef {
  const cmds = splitNativeCommandLine(text);
  return bhyveArgvToDomain(cmds.bhyve, cmds.loader, opts);
}
