/**
 * Running domain XML written for QEMU/KVM (`<domain type='kvm'>` or `'qemu'`, from
 * virt-install, virt-manager, Terraform...) on bhyve without editing: this module turns the
 * live copy of such a definition into one the bhyve translation accepts, and reports every
 * change as a warning. The persistent definition is never touched (callers pass a copy).
 *
 * Domain-level mappings live here (machine type, firmware, features, CPU model, clock
 * timers, power management, tuning, memory backing); device mappings in compat-devices.ts.
 * What has no bhyve meaning that is safe to drop (a balloon, a watchdog, a machine type)
 * is dropped with a warning; what would change the guest's contract (qcow2 images,
 * network disks, smartcards, QEMU command-line passthrough) is refused with
 * VIR_ERR_CONFIG_UNSUPPORTED naming the element. The domain type itself is kept: the
 * translation maps `kvm` to tsbhyve's KVM backend and `qemu` to the soft CPU.
 */

import type { DomainDef } from '../xml/types.js';
import type { BhyveHost } from './capabilities.js';
import { hasCap } from './capabilities.js';
import { adaptForeignDevices } from './compat-devices.js';
import { emptyCputune } from '../xml/domain/cputune.js';
import { cputuneOtherElements } from './tunables.js';
import { unsupported } from './errors.js';

/** Names of firmware images that are QEMU's, not bhyve's (OVMF, edk2, SeaBIOS). */
const QEMU_FIRMWARE = /(ovmf|edk2|seabios|bios-256k|qemu)/i;

function adaptFirmware(def: DomainDef, warn: (m: string) => void): void {
  const os = def.os;
  if (def.bootloader !== undefined || os.kernel !== undefined) return;
  const secure = os.loader?.secure === 'yes' || (os.firmwareFeatures ?? []).some((f) => f.name === 'secure-boot' && f.enabled === 'yes');
  if (secure) {
    warn('Secure Boot is not available with bhyve: the guest boots without it');
    if (os.loader) delete os.loader.secure;
  }
  if (os.firmwareFeatures !== undefined) {
    warn('<os><firmware> feature requests dropped (bhyve has one UEFI firmware)');
    delete os.firmwareFeatures;
  }
  if (os.loader?.path !== undefined && QEMU_FIRMWARE.test(os.loader.path)) {
    warn(`firmware '${os.loader.path}' is QEMU's: using bhyve's UEFI firmware instead`);
    delete os.loader;
    if (os.nvram) {
      warn('UEFI variable store reset to the per-domain bhyve default');
      delete os.nvram;
    }
    os.firmware = 'efi';
  }
  if (os.firmware === 'bios' || (os.firmware === undefined && !os.loader)) {
    warn('QEMU would boot this domain with SeaBIOS; bhyve has no legacy BIOS: booting with UEFI firmware');
    os.firmware = 'efi';
  }
}

function adaptOs(def: DomainDef, warn: (m: string) => void): void {
  const os = def.os;
  if (os.machine !== undefined) {
    warn(`machine type '${os.machine}' has no bhyve equivalent: the guest gets bhyve's host bridge, LPC and one PCI bus`);
    delete os.machine;
  }
  if (os.bootmenu !== undefined) {
    warn('<bootmenu> dropped (the UEFI firmware has its own)');
    delete os.bootmenu;
  }
  if (os.bios !== undefined) {
    warn('<os><bios> settings dropped (no legacy BIOS)');
    delete os.bios;
  }
  if (os.smbios?.mode === 'host') {
    warn("<smbios mode='host'> dropped: the guest sees bhyve's SMBIOS strings");
    delete os.smbios;
  }
  if (os.boots.some((b) => b === 'network' || b === 'fd')) {
    warn(`boot devices ${os.boots.filter((b) => b === 'network' || b === 'fd').join(', ')} dropped (bhyve boots from disks)`);
    os.boots = os.boots.filter((b) => b === 'hd' || b === 'cdrom');
  }
  adaptFirmware(def, warn);
}

function adaptFeatures(def: DomainDef, warn: (m: string) => void): void {
  const f = def.features;
  if (!f) return;
  const dropped: string[] = [];
  for (const k of Object.keys(f) as Array<keyof typeof f>) {
    if (k === 'acpi' || k === 'apic' || k === 'pae' || k === 'msrs') continue;
    if (k === 'other') dropped.push(...(f.other ?? []).map((e) => e.name));
    else dropped.push(k);
    delete f[k];
  }
  if (f.apic?.eoi !== undefined) {
    dropped.push('apic eoi');
    delete f.apic.eoi;
  }
  if (dropped.length > 0) warn(`hypervisor features dropped: ${dropped.join(', ')}`);
}

function adaptCpu(def: DomainDef, warn: (m: string) => void): void {
  const cpu = def.cpu;
  if (!cpu) return;
  if ((cpu.mode !== undefined && cpu.mode !== 'host-passthrough') || cpu.model !== undefined || cpu.features.length > 0 || cpu.vendor !== undefined) {
    const what = cpu.model?.name ?? cpu.mode ?? 'custom';
    warn(`CPU '${what}' replaced by the host CPU (bhyve passes the host's CPUID through)`);
    delete cpu.model;
    delete cpu.vendor;
    cpu.features = [];
    if (cpu.mode !== undefined) cpu.mode = 'host-passthrough';
  }
  delete cpu.match;
  delete cpu.check;
  delete cpu.migratable;
  if (cpu.cache !== undefined || cpu.maxphysaddr !== undefined) {
    warn('CPU cache/maxphysaddr settings dropped');
    delete cpu.cache;
    delete cpu.maxphysaddr;
  }
  const t = cpu.topology;
  if (t && (t.dies !== 1 || (t.clusters ?? 1) !== 1)) {
    warn(`CPU topology dies=${t.dies} clusters=${t.clusters ?? 1} folded into sockets`);
    t.sockets *= t.dies * (t.clusters ?? 1);
    t.dies = 1;
    delete t.clusters;
  }
}

function adaptTuning(def: DomainDef, warn: (m: string) => void): void {
  const p = def.passthrough;
  for (const k of ['numatune', 'resource', 'perf', 'vcpus', 'idmap', 'keywrap'] as const) {
    if (p[k] !== undefined) {
      warn(`<${k}> dropped`);
      delete p[k];
    }
  }
  if (p.launchSecurity !== undefined) throw unsupported('<launchSecurity> (confidential guests) cannot be mapped to bhyve');
  if ((p.seclabels?.length ?? 0) > 0) {
    warn('<seclabel> dropped (no security driver)');
    delete p.seclabels;
  }
  if (def.cputune && cputuneOtherElements(def.cputune).length > 0) {
    warn('<cputune> settings other than vcpupin dropped');
    def.cputune = { ...emptyCputune(), vcpupins: def.cputune.vcpupins };
  }
  if (def.iothreads !== undefined || def.iothreadids !== undefined) {
    warn('<iothreads> dropped');
    delete def.iothreads;
    delete def.iothreadids;
  }
  if (def.vcpu.placement === 'auto') {
    warn("<vcpu placement='auto'> dropped (no numad)");
    def.vcpu.placement = 'static';
  }
  if (def.vcpu.current !== undefined && def.vcpu.current !== def.vcpu.count) {
    warn(`vCPU hotplug: all ${def.vcpu.count} vCPUs start online`);
    delete def.vcpu.current;
  }
}

function adaptMemory(def: DomainDef, warn: (m: string) => void): void {
  if (def.maxMemory) {
    warn('<maxMemory> dropped (no memory hotplug)');
    delete def.maxMemory;
  }
  if (def.currentMemory !== def.memory) {
    warn(`<currentMemory> ${def.currentMemory} KiB raised to <memory> ${def.memory} KiB (no balloon)`);
    def.currentMemory = def.memory;
  }
  const mb = def.memoryBacking;
  if (mb) {
    const dropped = (['hugepages', 'nosharepages', 'source', 'access', 'allocation', 'discard'] as const).filter((k) => mb[k] !== undefined);
    for (const k of dropped) delete mb[k];
    if (dropped.length) warn(`<memoryBacking> ${dropped.join(', ')} dropped`);
    if (mb.locked === undefined) delete def.memoryBacking;
  }
}

function adaptClockAndPm(def: DomainDef, warn: (m: string) => void): void {
  if (def.clock.timers.length > 0) {
    warn(`clock timers ${def.clock.timers.map((t) => t.name).join(', ')} dropped (bhyve's timers are fixed)`);
    def.clock.timers = [];
  }
  if (def.clock.adjustment !== undefined) {
    warn('<clock adjustment> dropped');
    delete def.clock.adjustment;
  }
  if (def.pm !== undefined) {
    warn('<pm> suspend settings dropped (no S3/S4)');
    delete def.pm;
  }
  if (def.genid !== undefined) {
    warn('<genid> dropped (no VM generation ID device)');
    delete def.genid;
  }
  if (def.on_lockfailure !== undefined) {
    warn('<on_lockfailure> dropped (no lock manager)');
    delete def.on_lockfailure;
  }
}

/** Options of the mapping (where channel sockets go when the XML leaves it to libvirt). */
export interface CompatOptions {
  channelDir?: string;
}

/**
 * Maps a kvm/qemu-typed live definition onto what bhyve can run, in place, pushing one
 * warning per change. Throws VIR_ERR_CONFIG_UNSUPPORTED for what cannot be mapped.
 */
export function adaptForeignDomain(def: DomainDef, host: BhyveHost, warnings: string[], opts: CompatOptions = {}): void {
  const warn = (m: string): void => {
    warnings.push(m);
  };
  if (def.namespaceData && Object.keys(def.namespaceData).length > 0) {
    throw unsupported(`driver-specific XML (namespace '${Object.keys(def.namespaceData)[0]}') cannot be mapped to bhyve`);
  }
  if (!hasCap(host, 'VMM_BACKEND')) {
    warn(`domain type '${def.type}': this bhyve has one backend, the type only selects the backend on tsbhyve`);
  }
  adaptOs(def, warn);
  adaptFeatures(def, warn);
  adaptCpu(def, warn);
  if ((def.cpu?.numa?.cells?.length ?? 0) > 0 && !hasCap(host, 'NUMA')) {
    warn('<cpu><numa> cells dropped: this bhyve has no NUMA domains');
    delete def.cpu!.numa;
  }
  adaptTuning(def, warn);
  adaptMemory(def, warn);
  adaptClockAndPm(def, warn);
  adaptForeignDevices(def, host, warn, opts.channelDir ?? '/var/run/libvirt/bhyve');
}
