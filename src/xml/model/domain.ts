/**
 * DomainDef: the typed model of a libvirt domain definition (everything outside
 * `<devices>`), named as libvirt's XML names it.
 *
 * What it is: plain data, no behaviour. Parsing fills it (`parseDomainXML`), formatting
 * reads it (`formatDomainXML`); the driver reads and completes it (addresses, defaults).
 * Sizes are KiB. Optional properties are absent when the element/attribute is absent;
 * values libvirt always writes (memory, currentMemory, vcpu, clock, on_*) are always set
 * after parsing.
 * Spec: libvirt docs/formatdomain.rst (General metadata, Operating system booting, CPU
 * allocation, Memory allocation/backing, Hypervisor features, Time keeping, Events
 * configuration, Power Management) and src/conf/domain_conf.c virDomainDefFormat.
 */

import type { OnOff, XmlElement, YesNo } from './common.js';
import type { CpuDef } from './cpu.js';
import type { DomainDevices } from './devices.js';
import type { OsDef } from './os.js';

/** Hypervisor type (`<domain type=''>`), libvirt's virDomainVirtType spellings. */
export type DomainVirtType =
  | 'none'
  | 'qemu'
  | 'kqemu'
  | 'kvm'
  | 'xen'
  | 'lxc'
  | 'uml'
  | 'openvz'
  | 'test'
  | 'vmware'
  | 'hyperv'
  | 'vbox'
  | 'phyp'
  | 'parallels'
  | 'bhyve'
  | 'vz'
  | 'ch'
  | 'hvf';

/** `<on_poweroff>`, `<on_reboot>`, `<on_crash>` values. */
export type LifecycleAction =
  | 'destroy'
  | 'restart'
  | 'rename-restart'
  | 'preserve'
  | 'coredump-destroy'
  | 'coredump-restart';

/** `<on_lockfailure>` values. */
export type LockFailureAction = 'poweroff' | 'restart' | 'pause' | 'ignore';

/** `<maxMemory slots='N' unit='KiB'>size</maxMemory>` (memory hotplug ceiling). */
export interface MaxMemoryDef {
  /** Size in KiB. */
  size: number;
  /** Number of hotplug slots (libvirt always writes it). */
  slots: number;
}

/** `<memoryBacking>`. */
export interface MemoryBackingDef {
  /** `<hugepages>`; present (possibly with no pages) when the element is present. */
  hugepages?: { pages: Array<{ size?: number; nodeset?: string }> };
  nosharepages?: true;
  locked?: true;
  source?: { type: 'file' | 'anonymous' | 'memfd' };
  access?: { mode: 'shared' | 'private' };
  allocation?: { mode?: 'immediate' | 'ondemand'; threads?: number };
  discard?: true;
}

/** `<vcpu placement cpuset current>count</vcpu>`. */
export interface VcpuDef {
  /** Maximum vCPUs (the element's text). */
  count: number;
  /** libvirt writes `static` when nothing is given. */
  placement: 'static' | 'auto';
  /** Host CPU list, e.g. `0-3,^2`, written back as given after validation. */
  cpuset?: string;
  /** vCPUs online at boot; only written when below `count`. */
  current?: number;
}

/** `<iothreadids><iothread id=''/></iothreadids>` entries. */
export interface IothreadIdDef {
  id: number;
  thread_pool_min?: number;
  thread_pool_max?: number;
}

/** `<sysinfo type='smbios'>` blocks: each entry is `<entry name=''>value</entry>`. */
export interface SysinfoDef {
  type: 'smbios' | 'fwcfg';
  /** `<bios>` entries: vendor, version, date, release (written in that order). */
  bios?: Array<{ name: string; value: string }>;
  /** `<system>` entries: manufacturer, product, version, serial, uuid, sku, family. */
  system?: Array<{ name: string; value: string }>;
  /** `<baseBoard>` blocks (each a list of entries). */
  baseBoards?: Array<Array<{ name: string; value: string }>>;
  /** `<chassis>` entries. */
  chassis?: Array<{ name: string; value: string }>;
  /** `<oemStrings><entry>` values. */
  oemStrings?: string[];
  /** fwcfg: `<entry name='' file=''>value</entry>`. */
  entries?: Array<{ name: string; file?: string; value?: string }>;
}

/** Simple on/off hypervisor features written as `<name state='on|off'/>`. */
export interface StateFeature {
  state?: OnOff;
}

/**
 * `<features>`. A property is present when the element is; flag features (`<acpi/>`,
 * `<pae/>`) are `true`. Families this model does not break down (`hyperv`, `kvm`, `xen`,
 * `capabilities`, `hpt`, `tcg`, ...) are kept verbatim in `other`.
 * Written in libvirt's virDomainFeature order.
 */
export interface FeaturesDef {
  acpi?: true;
  apic?: { eoi?: OnOff };
  pae?: true;
  hap?: StateFeature;
  viridian?: true;
  privnet?: true;
  pvspinlock?: StateFeature;
  pmu?: StateFeature;
  vmport?: StateFeature;
  gic?: { version?: string };
  smm?: StateFeature & { tseg?: number };
  ioapic?: { driver?: 'kvm' | 'qemu' };
  vmcoreinfo?: StateFeature;
  htm?: StateFeature;
  'nested-hv'?: StateFeature;
  msrs?: { unknown: 'ignore' | 'fail' };
  'ccf-assist'?: StateFeature;
  cfpc?: { value: string };
  sbbc?: { value: string };
  ibs?: { value: string };
  'async-teardown'?: { enabled?: YesNo };
  ps2?: StateFeature;
  /** Verbatim feature elements not modelled above (hyperv, kvm, xen, hpt, tcg, ...). */
  other?: XmlElement[];
}

/** `<timer>` inside `<clock>`. */
export interface TimerDef {
  name: 'platform' | 'pit' | 'rtc' | 'hpet' | 'tsc' | 'kvmclock' | 'hypervclock' | 'armvtimer';
  present?: YesNo;
  tickpolicy?: 'delay' | 'catchup' | 'merge' | 'discard';
  track?: 'boot' | 'guest' | 'wall' | 'realtime';
  frequency?: number;
  mode?: 'auto' | 'native' | 'emulate' | 'paravirt' | 'smpsafe';
  catchup?: { threshold?: number; slew?: number; limit?: number };
}

/** `<clock offset=''>` with its timers. */
export interface ClockDef {
  offset: 'utc' | 'localtime' | 'timezone' | 'variable' | 'absolute';
  /** offset='utc'|'localtime': `adjustment` ('reset' or seconds). */
  adjustment?: string;
  /** offset='timezone'. */
  timezone?: string;
  /** offset='variable'. */
  basis?: 'utc' | 'localtime';
  /** offset='absolute': epoch seconds. */
  start?: number;
  timers: TimerDef[];
}

/** `<pm>`. */
export interface PmDef {
  'suspend-to-mem'?: { enabled: YesNo };
  'suspend-to-disk'?: { enabled: YesNo };
}

/** `<bhyve:commandline>` (namespace http://libvirt.org/schemas/domain/bhyve/1.0). */
export interface BhyveCommandline {
  /** `<bhyve:arg value=''/>` in order. */
  args: string[];
  /** `<bhyve:env name='' value=''/>` in order. */
  envs: Array<{ name: string; value: string }>;
}

/** `<blkiotune><device>` (libvirt virBlkioDevice); a value of 0 means unset. */
export interface BlkioDeviceDef {
  path: string;
  weight?: number;
  read_iops_sec?: number;
  write_iops_sec?: number;
  read_bytes_sec?: number;
  write_bytes_sec?: number;
}

/** `<blkiotune>` (libvirt virBlkioTune). */
export interface BlkiotuneDef {
  /** Domain-wide weight; absent (libvirt: 0) when unset or not a number. */
  weight?: number;
  /** Per-device settings in document order. */
  devices: BlkioDeviceDef[];
}

/**
 * `<memtune>` limits in KiB (libvirt virDomainMemtune). An absent limit is unlimited
 * (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED); larger values are truncated to unlimited on parse.
 */
export interface MemtuneDef {
  hard_limit?: number;
  soft_limit?: number;
  min_guarantee?: number;
  swap_hard_limit?: number;
}

/** A thread scheduler setting (`<vcpusched>`, `<iothreadsched>`, `<emulatorsched>`). */
export interface ThreadSchedDef {
  scheduler: 'batch' | 'idle' | 'fifo' | 'rr';
  /** fifo and rr only (required there); libvirt drops it for batch and idle. */
  priority?: number;
}

/** `<cachetune>` (libvirt virDomainResctrlDef, cache allocation). */
export interface CachetuneDef {
  /** Canonical CPU list of the vCPUs it applies to. */
  vcpus: string;
  caches: Array<{ id: number; level: number; type: 'both' | 'code' | 'data'; sizeBytes: number }>;
  monitors: Array<{ level: number; vcpus: string }>;
}

/** `<memorytune>` (libvirt virDomainResctrlDef, memory bandwidth). */
export interface MemorytuneDef {
  vcpus: string;
  nodes: Array<{ id: number; bandwidth: number }>;
  monitors: Array<{ vcpus: string }>;
}

/**
 * `<cputune>` (libvirt virDomainCputune plus the per-thread pins, schedulers and resctrl
 * groups it formats inside `<cputune>`). Bandwidth numbers keep libvirt's element names;
 * an absent one is unset (libvirt: 0). Lists are kept in libvirt's order: pins and
 * schedulers by vCPU / iothread id, one scheduler entry per thread.
 */
export interface CputuneDef {
  shares?: number;
  period?: number;
  quota?: number;
  global_period?: number;
  global_quota?: number;
  emulator_period?: number;
  emulator_quota?: number;
  iothread_period?: number;
  iothread_quota?: number;
  vcpupins: Array<{ vcpu: number; cpuset: string }>;
  emulatorpin?: string;
  iothreadpins: Array<{ iothread: number; cpuset: string }>;
  emulatorsched?: ThreadSchedDef;
  vcpuscheds: Array<ThreadSchedDef & { vcpu: number }>;
  iothreadscheds: Array<ThreadSchedDef & { iothread: number }>;
  cachetunes: CachetuneDef[];
  memorytunes: MemorytuneDef[];
}

/**
 * Elements of the domain that libvirt knows and tsvirt keeps verbatim (each written at
 * libvirt's position for it). Nothing in tsvirt interprets them; a driver refuses them
 * when it cannot honour them.
 */
export interface DomainPassthrough {
  /** `<vcpus>` (per-vCPU enable/hotplug/order). */
  vcpus?: XmlElement;
  numatune?: XmlElement;
  resource?: XmlElement;
  perf?: XmlElement;
  idmap?: XmlElement;
  /** `<seclabel>` elements. */
  seclabels?: XmlElement[];
  keywrap?: XmlElement;
  launchSecurity?: XmlElement;
}

/** A parsed libvirt domain definition. */
export interface DomainDef {
  /** `<domain type=''>` (required). */
  type: DomainVirtType;
  /** `<domain id=''>`: only in live XML of a running domain. */
  id?: number;
  name: string;
  /** Canonical lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; generated when absent. */
  uuid: string;
  /** `<genid/>` (auto-generated at start) or `<genid>uuid</genid>`. */
  genid?: { value?: string };
  title?: string;
  description?: string;
  /**
   * Children of `<metadata>` (each in its own namespace), kept verbatim; an empty array for
   * an empty `<metadata/>`. As in libvirt, a child without a namespace, or a second child of
   * the same namespace, is dropped.
   */
  metadata?: XmlElement[];
  /**
   * Namespace declarations libvirt writes on `<metadata>` itself (`[prefix, uri]`, prefix ''
   * for a default namespace): those written there, then those the children use but that
   * were declared further up (on `<domain>`), in order of first use.
   */
  metadataNamespaces?: Array<[prefix: string, uri: string]>;
  maxMemory?: MaxMemoryDef;
  /** `<memory>` in KiB (the initial/maximum allocation). */
  memory: number;
  /** `<memory dumpCore=''>`. */
  dumpCore?: OnOff;
  /** `<currentMemory>` in KiB; equals `memory` when absent from the input. */
  currentMemory: number;
  blkiotune?: BlkiotuneDef;
  memtune?: MemtuneDef;
  memoryBacking?: MemoryBackingDef;
  vcpu: VcpuDef;
  /** `<iothreads>N</iothreads>`. */
  iothreads?: number;
  iothreadids?: IothreadIdDef[];
  /** `<cputune>`. */
  cputune?: CputuneDef;
  sysinfo?: SysinfoDef[];
  /** `<bootloader>` (host-side boot loader, e.g. bhyveload or grub-bhyve). */
  bootloader?: string;
  bootloader_args?: string;
  os: OsDef;
  features?: FeaturesDef;
  cpu?: CpuDef;
  clock: ClockDef;
  on_poweroff: LifecycleAction;
  on_reboot: LifecycleAction;
  on_crash: LifecycleAction;
  on_lockfailure?: LockFailureAction;
  pm?: PmDef;
  devices: DomainDevices;
  /** libvirt elements kept verbatim (see DomainPassthrough). */
  passthrough: DomainPassthrough;
  /** `<bhyve:commandline>`; the root gets `xmlns:bhyve` when present. */
  bhyveCommandline?: BhyveCommandline;
  /**
   * Other registered namespaces' data, keyed by namespace URI (see ParserConfig.namespaces).
   */
  namespaceData?: Record<string, unknown>;
}
