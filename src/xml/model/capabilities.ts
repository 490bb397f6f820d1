/**
 * Capabilities models: the host/guest capabilities document (`virsh capabilities`,
 * libvirt's virCaps) and the domain capabilities document (`virsh domcapabilities`,
 * libvirt's virDomainCaps). Hypervisor-neutral data; the driver fills them (for bhyve:
 * guest hvm/x86_64, domain type `bhyve`, emulator `/usr/sbin/bhyve`).
 * Spec: libvirt docs/formatcaps.rst and docs/formatdomaincaps.rst.
 */

/** Host CPU of `<host><cpu>`. */
export interface HostCpuCaps {
  arch: string;
  /** `<features><pae/>...</features>` flags of the host. */
  hostFeatures?: string[];
  model?: string;
  vendor?: string;
  microcode?: string;
  topology?: { sockets: number; dies: number; clusters?: number; cores: number; threads: number };
  maxphysaddr?: { mode: 'emulate' | 'passthrough'; bits: number };
  /** `<feature name=''/>` entries. */
  features?: string[];
  /** Supported page sizes in KiB (`<pages unit='KiB' size=''/>`). */
  pages?: number[];
}

/** One NUMA cell of `<host><topology>`. */
export interface HostNumaCell {
  id: number;
  /** KiB. */
  memory: number;
  pages?: Array<{ size: number; count: number }>;
  distances?: Array<{ id: number; value: number }>;
  cpus: Array<{ id: number; socket_id: number; die_id: number; core_id: number; siblings: string }>;
}

/** `<guest>` entry: an OS type/architecture pair and the domain types that run it. */
export interface GuestCaps {
  os_type: 'hvm' | 'xen' | 'linux' | 'exe' | 'uml' | 'xenpvh';
  arch: string;
  wordsize: number;
  emulator?: string;
  loader?: string;
  machines?: Array<{ name: string; canonical?: string; maxCpus?: number }>;
  domains: Array<{ type: string; emulator?: string }>;
  /** `<features>`: a name alone writes `<name/>`; with default/toggle writes those attributes. */
  features?: Array<{ name: string; default?: 'on' | 'off'; toggle?: 'yes' | 'no' }>;
}

/** The capabilities document. */
export interface CapabilitiesDef {
  host: {
    uuid?: string;
    cpu: HostCpuCaps;
    /** `suspend_mem`, `suspend_disk`, `suspend_hybrid`; empty list writes `<power_management/>`. */
    power_management?: string[];
    iommu?: boolean;
    migration?: { live: boolean; uri_transports: string[] };
    cells?: HostNumaCell[];
    secmodels: Array<{ model: string; doi: string; baselabels?: Array<{ type: string; label: string }> }>;
  };
  guests: GuestCaps[];
}

/** `<enum name=''><value/>...</enum>` of domain capabilities. */
export interface DomainCapsEnum {
  name: string;
  values: string[];
}

/** A `<name supported='yes|no'>` item with its enums (devices, features). */
export interface DomainCapsItem {
  name: string;
  supported: boolean;
  enums?: DomainCapsEnum[];
}

/** The domain capabilities document. */
export interface DomainCapabilitiesDef {
  path: string;
  domain: string;
  machine?: string;
  arch: string;
  vcpuMax?: number;
  /** `<iothreads supported=''/>`. */
  iothreads?: boolean;
  os: {
    supported: boolean;
    /** `<enum name='firmware'>` (firmware autoselection). */
    firmware?: string[];
    loader?: { supported: boolean; values: string[]; enums: DomainCapsEnum[] };
  };
  cpu: { modes: Array<{ name: 'host-passthrough' | 'maximum' | 'host-model' | 'custom'; supported: boolean; enums?: DomainCapsEnum[] }> };
  /** `<devices>` items in order (disk, graphics, video, hostdev, rng, filesystem, tpm, ...). */
  devices: DomainCapsItem[];
  /** `<features>` items in order (gic, vmcoreinfo, genid, sev, sgx, ...). */
  features: DomainCapsItem[];
}
