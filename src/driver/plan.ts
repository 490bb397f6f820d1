/**
 * The translation's intermediate form: a `BhyvePlan` says, once, what the bhyve process
 * must be given — vCPUs, memory, flags, each PCI device with both its `-s` spelling and
 * its bhyve_config(5) keys, LPC devices, extra `-o` settings, pass-through arguments.
 * command.ts renders it as argv, config-tree.ts as a `-k` file; both outputs therefore
 * carry the same devices at the same addresses and were refused for the same reasons.
 *
 * Plain data; built by devices.ts/command.ts, never by hand elsewhere.
 */

/** One `-s` device. */
export interface PciSlotSpec {
  bus: number;
  slot: number;
  func: number;
  /** How the slot is written after `-s` (libvirt prints `N:0` for most devices). */
  slotText: string;
  /** The emulation name given to `-s`, alias included (`ahci-hd`). */
  emulation: string;
  /** The configuration string after the emulation name, if any. */
  conf?: string;
  /** bhyve_config(5): the model name (`device=`) and keys relative to `pci.B.S.F`. */
  device: string;
  keys: Array<[key: string, value: string]>;
}

/** One `-l` LPC device other than the boot ROM. */
export interface LpcSpec {
  /** The `-l` argument, e.g. `com1,/dev/nmdm0A` or `tpm,passthru,/dev/tpm0`. */
  arg: string;
  /** Its keys (full paths). */
  keys: Array<[key: string, value: string]>;
}

/** A tap (or other host network endpoint) the process expects to exist. */
export interface PlannedInterface {
  /** Index in `def.devices.interfaces`. */
  index: number;
  type: string;
  /** bhyve backend string (`tap0`, `slirp`). */
  backend: string;
  /** Bridge to enslave the tap to, when any. */
  bridge?: string;
  mac: string;
}

/** tsbhyve's direct kernel boot (docs/tsbhyve-config.md on branch emu). */
export interface DirectBootSpec {
  protocol: 'linux' | 'multiboot';
  kernel: string;
  initrd?: string;
  cmdline?: string;
}

export interface BhyvePlan {
  name: string;
  /** Emitted as `-U` / `uuid=` when the host has the UUID capability. */
  uuid?: string;
  /** `-c`: vCPU count, and the topology when the domain gives one. */
  cpus: number;
  topology?: { sockets: number; cores: number; threads: number };
  /** `-n id=N,size=MiB,cpus=LIST` (NUMA domains). */
  numa: Array<{ id: number; sizeMiB: number; cpus: string }>;
  /** `-p vcpu:hostcpu` pins, vCPU order. */
  pins: Array<{ vcpu: number; cpu: number }>;
  memoryMiB: number;
  /** `-S`. */
  wired: boolean;
  /** `-w` (msrs unknown='ignore'). */
  ignoreUnknownMsrs: boolean;
  /** `-u` (RTC in UTC). */
  rtcUtc: boolean;
  /** `-H -P` (x86 only). */
  hltPauseExits: boolean;
  /** UEFI/U-Boot ROM: `-l bootrom,ROM[,VARS],fwcfg=qemu` (x86) or `-o bootrom=` (arm). */
  bootrom?: { rom: string; vars?: string; form: 'lpc' | 'option' };
  /** PCI devices in argv order, hostbridge first. */
  pci: PciSlotSpec[];
  /** `-l comN,...`, `-l tpm,...` in argv order. */
  lpc: LpcSpec[];
  /** `-o key=value` settings in argv order (arm console, SMBIOS strings, vmm backend). */
  options: Array<[key: string, value: string]>;
  directBoot?: DirectBootSpec;
  /** `<bhyve:commandline>` arguments, appended before the name. */
  extraArgs: string[];
  /** `<bhyve:env>` variables for the bhyve process's environment. */
  env: Record<string, string>;
  interfaces: PlannedInterface[];
  warnings: string[];
}
