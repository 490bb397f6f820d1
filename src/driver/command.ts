/**
 * DomainDef → bhyve command line (libvirt src/bhyve/bhyve_command.c
 * virBhyveProcessBuildBhyveCmd), through the BhyvePlan that config-tree.ts renders too.
 *
 * `domainToBhyveArgv(def, opts)` never mutates `def`: it works on a live copy that is
 * mapped from QEMU/KVM conventions when needed (compat.ts), completed (defaults.ts),
 * given its firmware (firmware.ts), checked against what bhyve can run (support.ts), and
 * then translated. Argument order is libvirt's: `-c` (`cpus=,sockets=,cores=,threads=`
 * with a topology), `-n` NUMA domains, `-p` pins, `-m` MiB, `-S`, `-w`, `-u`, `-H -P`
 * (x86), [`-U uuid`], `-s 0:0,hostbridge`, the boot ROM, controllers, interfaces, virtio
 * disks, framebuffer, sound, 9p shares, RNGs, passthrough, `-l comN`, `-o` settings,
 * tsbhyve's `-f kexec|multiboot`, `<bhyve:commandline>` arguments, the name.
 * Refusals are VirErrors (VIR_ERR_CONFIG_UNSUPPORTED naming the element).
 */

import type { DomainDef, InterfaceDef } from '../xml/types.js';
import { type BhyveHost, type BhyveHostOptions, hasCap, isArm, isX86, resolveHost } from './capabilities.js';
import { cloneDomainDef } from './clone.js';
import { adaptForeignDomain } from './compat.js';
import { completeBhyveDefinition } from './defaults.js';
import {
  buildAhci,
  buildFbuf,
  buildFs,
  buildLpc,
  buildNet,
  buildNvme,
  buildPassthru,
  buildRng,
  buildSound,
  buildVirtioConsole,
  buildVirtioDisk,
  buildVirtioScsi,
  buildXhci,
  type DeviceContext,
} from './devices.js';
import { diskBus, isBhyveTyped } from './domain.js';
import { unsupported } from './errors.js';
import { defaultListDir, type ListDir, prepareFirmware } from './firmware.js';
import { detectKernelProtocol, type KernelProtocol } from './kernel-image.js';
import { buildLoaderCommand, memoryMiB } from './loader.js';
import type { BhyvePlan, DirectBootSpec, LpcSpec, PciSlotSpec, PlannedInterface } from './plan.js';
import { checkSupported } from './support.js';
import { sysinfoOptions } from './sysinfo.js';
import { parseCpuset, vcpuPins } from './tunables.js';

/** Host description plus the seams a caller may fill (tests, the lifecycle code). */
export interface TranslateOptions extends BhyveHostOptions {
  /** Tap device for an interface (default: its `<target dev>` when it starts with `tap`, else `tapN`). */
  tapName?: (iface: InterfaceDef, index: number) => string;
  /** A free port for a VNC server with autoport (default: 5900). */
  vncPort?: () => number;
  /** Bridge of a libvirt network (default: none known, so type='network' is refused). */
  resolveNetwork?: (name: string) => string | undefined;
  /** Directory listing for firmware autoselection (default: the real directory). */
  listDir?: ListDir;
  /** Kernel image classification for direct boot (default: reads the file's header). */
  kernelProtocol?: (path: string) => KernelProtocol;
  /** File grub-bhyve is told to read its device map from. */
  deviceMapPath?: string;
}

/** What `domainToBhyveArgv` returns: libvirt's `.args`, `.ldargs` and `.devmap`, and more. */
export interface BhyveArgvResult {
  /** Whole bhyve argv, program first. */
  bhyve: string[];
  /** Loader argv (bhyveload, grub-bhyve or custom), absent when bhyve boots by itself. */
  loader?: string[];
  /** grub-bhyve's device.map contents. */
  deviceMap?: string;
  /** Changes made to run the domain (QEMU/KVM mapping) and other notes. */
  warnings: string[];
  /** Environment for the bhyve process (`<bhyve:env>`). */
  env: Record<string, string>;
  /** Network endpoints the process expects (taps to create and enslave). */
  interfaces: PlannedInterface[];
  /** The live definition the command was built from. */
  def: DomainDef;
}

/** The live copy of a definition, ready to translate, and what was changed on the way. */
export interface LiveDomain {
  def: DomainDef;
  host: BhyveHost;
  warnings: string[];
}

/**
 * Makes the live definition: a copy of `def` mapped from QEMU/KVM conventions (kvm/qemu
 * types), completed, with firmware resolved and checked against what bhyve can run.
 */
export function prepareLiveDomain(def: DomainDef, opts: TranslateOptions = {}): LiveDomain {
  const host = resolveHost(opts);
  const live = cloneDomainDef(def);
  const warnings: string[] = [];
  if (!isBhyveTyped(live)) adaptForeignDomain(live, host, warnings);
  completeBhyveDefinition(live, host);
  prepareFirmware(live, host, opts.listDir ?? defaultListDir);
  checkSupported(live, host, warnings);
  return { def: live, host, warnings };
}

function defaultTapName(iface: InterfaceDef, index: number): string {
  const dev = iface.target?.dev;
  return dev !== undefined && dev.startsWith('tap') ? dev : `tap${index}`;
}

/** `-c` value and topology (with libvirt's checks). */
function planCpus(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  const n = def.vcpu.count;
  plan.cpus = n;
  const topo = def.cpu?.topology;
  if (!topo || !topo.sockets) return;
  if (topo.dies !== 1) throw unsupported('Only 1 die per socket is supported');
  if ((topo.clusters ?? 1) !== 1) throw unsupported('Only 1 cluster per die is supported');
  if (n !== topo.sockets * topo.cores * topo.threads) {
    throw unsupported('Invalid CPU topology: total number of vCPUs must equal the product of sockets, cores, and threads');
  }
  if (!hasCap(host, 'CPUTOPOLOGY')) throw unsupported('Installed bhyve binary does not support defining CPU topology');
  plan.topology = { sockets: topo.sockets, cores: topo.cores, threads: topo.threads };
}

/** Host CPU list formatted as ranges (libvirt's virBitmapFormat). */
function formatCpus(cpus: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    out.push(i === j ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

function planNuma(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  const cells = def.cpu?.numa?.cells ?? [];
  if (cells.length > 0 && !hasCap(host, 'NUMA')) throw unsupported('NUMA domains (<cpu><numa>) are not supported by given bhyve binary');
  cells.forEach((cell, i) => {
    const cpus = parseCpuset(cell.cpus ?? '', `NUMA cell ${i} cpus`);
    for (const c of cpus) {
      if (c >= def.vcpu.count) throw unsupported(`NUMA cell ${i}: vCPU ${c} does not exist`);
    }
    plan.numa.push({ id: cell.id ?? i, sizeMiB: Math.ceil(cell.memory / 1024), cpus: formatCpus(cpus) });
  });
}

function planClock(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  switch (def.clock.offset) {
    case 'localtime':
      break;
    case 'utc':
      if (!hasCap(host, 'RTC_UTC')) throw unsupported('Installed bhyve binary does not support UTC clock');
      plan.rtcUtc = true;
      break;
    default:
      throw unsupported(`unsupported clock offset '${def.clock.offset}'`);
  }
}

function planBootrom(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  const loader = def.os.loader;
  if (def.bootloader !== undefined || !loader) return;
  if (loader.path === undefined) throw unsupported('<loader> without a firmware path');
  if (isArm(host.arch)) {
    plan.bootrom = { rom: loader.path, form: 'option' };
    return;
  }
  if (!hasCap(host, 'LPC_BOOTROM')) throw unsupported('Installed bhyve binary does not support UEFI loader');
  plan.bootrom = { rom: loader.path, form: 'lpc' };
  const vars = def.os.nvram?.path;
  if (vars !== undefined) plan.bootrom.vars = vars;
}

/** The PCI devices, libvirt's order. */
function planPci(ctx: DeviceContext, plan: BhyvePlan): void {
  const { def } = ctx;
  const d = def.devices;
  plan.pci.push({ bus: 0, slot: 0, func: 0, slotText: '0:0', emulation: 'hostbridge', device: 'hostbridge', keys: [] });
  let nusb = 0;
  let nisa = 0;
  for (const c of d.controllers) {
    switch (c.type) {
      case 'pci':
        if (c.model !== 'pci-root') throw unsupported('unsupported PCI controller model: only PCI root supported');
        break;
      case 'sata':
        plan.pci.push(buildAhci(ctx, c));
        break;
      case 'usb':
        if (c.model === 'none') break;
        if (++nusb > 1) throw unsupported('only single USB controller is supported');
        if (c.model !== 'nec-xhci') throw unsupported(`USB controller model '${c.model ?? 'default'}' is not supported (nec-xhci only)`);
        plan.pci.push(buildXhci(ctx, c));
        break;
      case 'isa':
        if (++nisa > 1) throw unsupported('only single ISA controller is supported');
        plan.pci.push(buildLpc(c));
        break;
      case 'virtio-serial':
        plan.pci.push(buildVirtioConsole(ctx, c));
        break;
      case 'nvme':
        plan.pci.push(buildNvme(ctx, c));
        break;
      case 'scsi':
        plan.pci.push(buildVirtioScsi(ctx, c));
        break;
      default:
        throw unsupported(`unsupported controller device '${c.type}'`);
    }
  }
  d.interfaces.forEach((n, i) => plan.pci.push(buildNet(ctx, n, i)));
  for (const disk of d.disks) {
    const bus = diskBus(disk);
    if (bus === 'sata' || bus === 'nvme' || bus === 'scsi') continue; // on their controllers
    if (bus !== 'virtio') throw unsupported(`unsupported disk bus '${bus ?? 'unknown'}' for disk '${disk.target.dev}'`);
    plan.pci.push(buildVirtioDisk(disk));
  }
  if (d.graphics.length > 0 && d.videos.length > 0) {
    if (d.graphics.length !== 1 || d.videos.length !== 1) throw unsupported('Multiple graphics devices are not supported');
    plan.pci.push(buildFbuf(ctx, d.graphics[0]!, d.videos[0]!));
  }
  for (const s of d.sounds) plan.pci.push(buildSound(ctx, s));
  for (const f of d.filesystems) plan.pci.push(buildFs(ctx, f));
  for (const r of d.rngs) plan.pci.push(buildRng(ctx, r));
  for (const h of d.hostdevs) plan.pci.push(buildPassthru(ctx, h));
}

/** A serial backend string for `-l comN,` / `-o console=`. */
export function serialBackend(chr: DomainDef['devices']['serials'][number]): string | undefined {
  const src = chr.sources[0];
  switch (chr.type) {
    case 'nmdm':
      if (src?.master === undefined) throw unsupported('nmdm serial port without a master device');
      return src.master;
    case 'tcp': {
      if (src?.host === undefined || src.service === undefined) throw unsupported('TCP serial port needs a host and a service');
      const host = src.host.includes(':') ? `[${src.host}]` : src.host;
      return `tcp=${host}:${src.service}`;
    }
    case 'stdio':
      return 'stdio';
    case 'file':
      if (src?.path === undefined) throw unsupported('file serial port without a path');
      return `file=${src.path}`;
    case 'unix':
      if (src?.path === undefined) throw unsupported('unix serial port without a path');
      if (src.mode === 'connect') throw unsupported('Only listening UNIX sockets are supported for serial ports');
      return `unix=${src.path}`;
    case 'null':
      return undefined;
    case 'pty':
      // Only reachable with the CONSOLE_SOCKET capability (checked in domain.ts): tsbhyve
      // serves this UART on its control socket, where `console` attaches.
      return 'tsvirt-console';
    default:
      throw unsupported(`serial type '${chr.type}' is not supported`);
  }
}

/** bhyveBuildConsoleArgStr: COM ports on x86, the console option on arm64. */
function planSerials(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  const used = new Set<number>();
  for (const chr of def.devices.serials) {
    const port = chr.target.port ?? 0;
    if (used.has(port)) throw unsupported(`only one serial port on com1..com4 per index (com${port + 1} is given twice)`);
    used.add(port);
    const backend = serialBackend(chr);
    if (isArm(host.arch)) {
      if (port !== 0) throw unsupported('only one serial port is supported on aarch64');
      if (backend !== undefined) plan.options.push(['console', backend]);
      continue;
    }
    if (port > 3) throw unsupported('Only four serial ports are supported');
    if (backend === undefined) continue; // a COM port with no backend is what bhyve has anyway
    const com = `com${port + 1}`;
    plan.lpc.push({ arg: `${com},${backend}`, keys: [[`lpc.${com}.path`, backend]] });
  }
}

function planTpm(def: DomainDef, host: BhyveHost, plan: BhyvePlan): void {
  const tpms = def.devices.tpms;
  if (tpms.length === 0) return;
  if (!hasCap(host, 'TPM')) throw unsupported('TPM devices are not supported by given bhyve binary');
  if (tpms.length > 1) throw unsupported('only one TPM device is supported');
  const tpm = tpms[0]!;
  if (tpm.model !== undefined && tpm.model !== 'tpm-crb') throw unsupported(`TPM model '${tpm.model}' is not supported (tpm-crb only)`);
  if ((tpm.backend.version ?? '2.0') !== '2.0') throw unsupported('only TPM 2.0 is supported');
  let spec: LpcSpec;
  if (tpm.backend.type === 'passthrough') {
    const path = tpm.backend.device?.path ?? '/dev/tpm0';
    spec = { arg: `tpm,passthru,${path}`, keys: [['tpm.type', 'passthru'], ['tpm.path', path], ['tpm.version', '2.0']] };
  } else if (tpm.backend.type === 'external') {
    const path = tpm.backend.source?.path;
    if (path === undefined) throw unsupported('external TPM backend without a socket path');
    spec = { arg: `tpm,swtpm,${path}`, keys: [['tpm.type', 'swtpm'], ['tpm.path', path], ['tpm.version', '2.0']] };
  } else {
    throw unsupported("TPM backend 'emulator' is not supported: run swtpm and use backend type='external'");
  }
  if (spec.arg.split(',').length !== 3) throw unsupported(`TPM path '${spec.keys[1]![1]}' may not contain ','`);
  plan.lpc.push(spec);
}

function planDirectBoot(def: DomainDef, host: BhyveHost, opts: TranslateOptions, plan: BhyvePlan): void {
  const os = def.os;
  if (os.kernel === undefined) {
    if (os.initrd !== undefined || os.cmdline !== undefined) throw unsupported('<initrd>/<cmdline> need a <kernel>');
    return;
  }
  if (!hasCap(host, 'DIRECT_BOOT')) throw unsupported('direct kernel boot (<os><kernel>) is not supported by given bhyve binary');
  if (def.bootloader !== undefined || os.loader) throw unsupported('<os><kernel> cannot be combined with <loader> or <bootloader>');
  const protocol = (opts.kernelProtocol ?? detectKernelProtocol)(os.kernel);
  if (os.kernel.includes(',')) throw unsupported(`kernel path '${os.kernel}' may not contain ','`);
  if (os.initrd !== undefined) {
    if (os.initrd.includes(',')) throw unsupported(`initrd path '${os.initrd}' may not contain ','`);
    if (protocol === 'multiboot' && /[:;]/.test(os.initrd)) throw unsupported(`multiboot module path '${os.initrd}' may not contain ':' or ';'`);
  }
  if (os.cmdline?.includes('\n')) throw unsupported('kernel command line may not contain a newline');
  const spec: DirectBootSpec = { protocol, kernel: os.kernel };
  if (os.initrd !== undefined) spec.initrd = os.initrd;
  if (os.cmdline !== undefined) spec.cmdline = os.cmdline;
  plan.directBoot = spec;
}

/** The whole plan for a live definition. */
export function buildPlan(def: DomainDef, host: BhyveHost, opts: TranslateOptions = {}, warnings: string[] = []): BhyvePlan {
  const plan: BhyvePlan = {
    name: def.name,
    cpus: 1,
    numa: [],
    pins: [],
    memoryMiB: memoryMiB(def),
    wired: def.memoryBacking?.locked === true,
    ignoreUnknownMsrs: def.features?.msrs?.unknown === 'ignore',
    rtcUtc: false,
    hltPauseExits: isX86(host.arch),
    pci: [],
    lpc: [],
    options: [],
    extraArgs: [...(def.bhyveCommandline?.args ?? [])],
    env: {},
    interfaces: [],
    warnings,
  };
  if (hasCap(host, 'UUID')) plan.uuid = def.uuid;
  for (const e of def.bhyveCommandline?.envs ?? []) plan.env[e.name] = e.value;
  planCpus(def, host, plan);
  planNuma(def, host, plan);
  for (const { vcpu, cpus } of vcpuPins(def.cputune)) {
    for (const cpu of cpus) plan.pins.push({ vcpu, cpu });
  }
  planClock(def, host, plan);
  planBootrom(def, host, plan);
  const ctx: DeviceContext = {
    host,
    def,
    tapName: opts.tapName ?? defaultTapName,
    vncPort: opts.vncPort ?? (() => 5900),
    resolveNetwork: opts.resolveNetwork ?? (() => undefined),
    interfaces: plan.interfaces,
  };
  planPci(ctx, plan);
  planSerials(def, host, plan);
  planTpm(def, host, plan);
  planDirectBoot(def, host, opts, plan);
  plan.options.push(...sysinfoOptions(def));
  if (hasCap(host, 'VMM_BACKEND') && def.type !== 'bhyve') {
    plan.options.push(['vmm.backend', def.type === 'kvm' ? 'kvm' : 'soft']);
  }
  return plan;
}

function slotArg(s: PciSlotSpec): string {
  return `${s.slotText},${s.emulation}${s.conf === undefined ? '' : `,${s.conf}`}`;
}

/** The `-f` argument of tsbhyve's direct boot (docs/tsbhyve-config.md on branch emu). */
export function directBootArg(b: DirectBootSpec): string {
  const kind = b.protocol === 'linux' ? 'kexec' : 'multiboot';
  // The command line is quoted: tsbhyve removes one pair of double quotes.
  const cmdline = b.cmdline === undefined ? '' : `"${b.cmdline}"`;
  return `${kind},${b.kernel},${b.initrd ?? ''},${cmdline}`;
}

/** Renders a plan as bhyve's argv (program first, name last). */
export function renderArgv(plan: BhyvePlan, program: string): string[] {
  const argv = [program, '-c'];
  argv.push(
    plan.topology
      ? `cpus=${plan.cpus},sockets=${plan.topology.sockets},cores=${plan.topology.cores},threads=${plan.topology.threads}`
      : String(plan.cpus),
  );
  for (const n of plan.numa) argv.push('-n', `id=${n.id},size=${n.sizeMiB},cpus=${n.cpus}`);
  for (const p of plan.pins) argv.push('-p', `${p.vcpu}:${p.cpu}`);
  argv.push('-m', String(plan.memoryMiB));
  if (plan.wired) argv.push('-S');
  if (plan.ignoreUnknownMsrs) argv.push('-w');
  if (plan.rtcUtc) argv.push('-u');
  if (plan.hltPauseExits) argv.push('-H', '-P');
  if (plan.uuid !== undefined) argv.push('-U', plan.uuid);
  const [hostbridge, ...devices] = plan.pci;
  argv.push('-s', slotArg(hostbridge!));
  const rom = plan.bootrom;
  if (rom?.form === 'lpc') argv.push('-l', `bootrom,${rom.rom}${rom.vars === undefined ? '' : `,${rom.vars}`},fwcfg=qemu`);
  else if (rom?.form === 'option') argv.push('-o', `bootrom=${rom.rom}`);
  for (const s of devices) argv.push('-s', slotArg(s));
  for (const l of plan.lpc) argv.push('-l', l.arg);
  for (const [k, v] of plan.options) argv.push('-o', `${k}=${v}`);
  if (plan.directBoot) argv.push('-f', directBootArg(plan.directBoot));
  argv.push(...plan.extraArgs, plan.name);
  return argv;
}

/**
 * DomainDef → `{ bhyve, loader?, deviceMap? }` (plus warnings, env, interfaces and the
 * live definition). Throws a VirError for what cannot be translated.
 */
export function domainToBhyveArgv(def: DomainDef, opts: TranslateOptions = {}): BhyveArgvResult {
  const live = prepareLiveDomain(def, opts);
  const plan = buildPlan(live.def, live.host, opts, live.warnings);
  const loader = buildLoaderCommand(
    live.def,
    live.host,
    opts.deviceMapPath ?? `/var/run/libvirt/bhyve/grub_bhyve-${live.def.name}-device.map`,
  );
  const out: BhyveArgvResult = {
    bhyve: renderArgv(plan, live.host.paths.bhyve),
    warnings: plan.warnings,
    env: plan.env,
    interfaces: plan.interfaces,
    def: live.def,
  };
  if (loader) {
    out.loader = loader.argv;
    if (loader.deviceMap !== undefined) out.deviceMap = loader.deviceMap;
  }
  return out;
}
