/**
 * What the host's bhyve can do, as the driver sees it: capability flags (libvirt's
 * `BHYVE_CAP_*` / `BHYVE_GRUB_CAP_*`, bhyve_capabilities.h, plus the extensions tsbhyve
 * adds), the host architecture, firmware and NVRAM directories, program paths and the
 * bhyveload timeout — everything `domainToBhyveArgv` takes from its `opts`.
 *
 * libvirt probes its flags by running the bhyve binary; tsvirt knows what tsbhyve does,
 * so `TSBHYVE_CAPS` is a constant. `LIBVIRT_TEST_CAPS` is the set libvirt's
 * bhyvexml2argvtest starts from, so every libvirt case can be replayed with its own flags.
 * Gating works as in libvirt: a feature whose flag is off is refused with
 * VIR_ERR_CONFIG_UNSUPPORTED (command.ts / devices.ts), never silently dropped.
 */

/**
 * Capability flags. libvirt's own (bhyve_capabilities.h), then devices libvirt does not
 * probe because every bhyve it supports has them (tsbhyve lacks these five), then tsvirt's
 * extensions (output libvirt's bhyve driver never produces).
 */
const LIBVIRT_CAPS = [
  // libvirt (src/bhyve/bhyve_capabilities.h)
  'RTC_UTC',
  'AHCI32SLOT',
  'NET_E1000',
  'LPC_BOOTROM',
  'FBUF',
  'XHCI',
  'CPUTOPOLOGY',
  'SOUND_HDA',
  'VNC_PASSWORD',
  'VIRTIO_9P',
  'VIRTIO_RND',
  'NVME',
  // assumed by libvirt (no probe): virtio-scsi, PCI passthrough, slirp networking, TPM,
  // NUMA domains (`-n`)
  'VIRTIO_SCSI',
  'PASSTHRU',
  'NET_SLIRP',
  'TPM',
  'NUMA',
] as const;

export const BHYVE_CAP_NAMES = [
  ...LIBVIRT_CAPS,
  // tsvirt extensions
  /** `-U uuid` is emitted so the guest's SMBIOS UUID is the domain's. */
  'UUID',
  /** `<os><kernel>` direct boot through tsbhyve's `boot.*` keys (`-f kexec|multiboot`). */
  'DIRECT_BOOT',
  /** `vmm.backend` chosen from the domain type (kvm / qemu → soft / bhyve → auto). */
  'VMM_BACKEND',
  /** Serial backends beyond nmdm and tcp: stdio, `file=`, `unix=` (tsbhyve). */
  'SERIAL_BACKENDS',
  /** `<interface type='udp'>` → tsbhyve's unprivileged `udp:HOST:PORT,local=` backend. */
  'NET_UDP',
  /**
   * `<serial type='pty'>` → tsbhyve's console served on its control socket
   * (`lpc.comN.path=tsvirt-console`, docs/control-socket.md), which `virsh console` reaches.
   */
  'CONSOLE_SOCKET',
] as const;

export type BhyveCap = (typeof BHYVE_CAP_NAMES)[number];

/** grub-bhyve capability flags (BHYVE_GRUB_CAP_*). */
export type GrubCap = 'CONSDEV';

/** Host architectures bhyve runs on. */
export type BhyveArch = 'x86_64' | 'aarch64';

/**
 * The host libvirt's bhyvexml2argvtest starts with (CASES.md "Defaults in force"), plus the
 * devices libvirt assumes every bhyve has.
 */
export const LIBVIRT_TEST_CAPS: readonly BhyveCap[] = LIBVIRT_CAPS;

/**
 * What tsbhyve runs today (its `-s help` and src/emulator/pci/registry.ts): hostbridge, lpc
 * (COM1-4, UEFI boot ROM), ahci, virtio-blk, virtio-net and e1000 (tap and udp backends),
 * virtio-rnd, virtio-console, virtio-9p, nvme, xhci with the USB tablet, fbuf with its VNC
 * server and password; direct kernel boot; stdio/file/unix/tcp/tty serial ports. Devices it
 * lacks (hda, virtio-scsi, passthru, TPM, slirp networking, NUMA domains: tsbhyve parses `-n` but
 * builds no SRAT, so the guest would not see them) are refused when translating
 * for it, naming the device, instead of failing when tsbhyve starts.
 * test/driver/tsbhyve-accepts.test.ts feeds every translated fixture through tsbhyve's own
 * parser and checks each device and key against what it implements.
 */
export const TSBHYVE_CAPS: readonly BhyveCap[] = [
  'RTC_UTC',
  'AHCI32SLOT',
  'NET_E1000',
  'LPC_BOOTROM',
  'FBUF',
  'XHCI',
  'CPUTOPOLOGY',
  'VNC_PASSWORD',
  'VIRTIO_9P',
  'VIRTIO_RND',
  'NVME',
  'UUID',
  'DIRECT_BOOT',
  'VMM_BACKEND',
  'SERIAL_BACKENDS',
  'NET_UDP',
  'CONSOLE_SOCKET',
];

/** Every flag: FreeBSD's bhyve device set plus tsvirt's extensions (tests use it). */
export const ALL_BHYVE_CAPS: readonly BhyveCap[] = BHYVE_CAP_NAMES;

/** Paths of the programs the driver names in argv[0]. */
export interface ProgramPaths {
  /** The hypervisor (libvirt: /usr/sbin/bhyve; tsvirt passes tsbhyve's path). */
  bhyve: string;
  bhyveload: string;
  /** coreutils timeout(1), used to bound bhyveload when a timeout is configured. */
  timeout: string;
}

export const DEFAULT_PROGRAM_PATHS: ProgramPaths = {
  bhyve: '/usr/sbin/bhyve',
  bhyveload: '/usr/sbin/bhyveload',
  timeout: 'timeout',
};

/** The host as the translation needs it. Every field has a default (see `resolveHost`). */
export interface BhyveHost {
  arch: BhyveArch;
  caps: ReadonlySet<BhyveCap>;
  grubCaps: ReadonlySet<GrubCap>;
  /** Where `<os firmware='efi'>` looks for a UEFI image (libvirt bhyve.conf firmware_dir). */
  firmwareDir: string;
  /** Where per-domain UEFI variable stores live (`NAME_VARS.fd`). */
  nvramDir: string;
  /** bhyveload timeout in seconds (0: none) and the extra grace before SIGKILL. */
  bhyveloadTimeout: number;
  bhyveloadTimeoutKill: number;
  paths: ProgramPaths;
}

/** Partial host description accepted from callers. */
export interface BhyveHostOptions {
  arch?: BhyveArch;
  caps?: Iterable<BhyveCap>;
  grubCaps?: Iterable<GrubCap>;
  firmwareDir?: string;
  nvramDir?: string;
  bhyveloadTimeout?: number;
  bhyveloadTimeoutKill?: number;
  paths?: Partial<ProgramPaths>;
}

/** Fills the defaults: a tsbhyve host on x86_64 with FreeBSD's usual directories. */
export function resolveHost(opts: BhyveHostOptions = {}): BhyveHost {
  return {
    arch: opts.arch ?? 'x86_64',
    caps: new Set(opts.caps ?? TSBHYVE_CAPS),
    grubCaps: new Set(opts.grubCaps ?? ['CONSDEV']),
    firmwareDir: opts.firmwareDir ?? '/usr/local/share/uefi-firmware',
    nvramDir: opts.nvramDir ?? '/var/lib/libvirt/bhyve/nvram',
    bhyveloadTimeout: opts.bhyveloadTimeout ?? 0,
    bhyveloadTimeoutKill: opts.bhyveloadTimeoutKill ?? 0,
    paths: { ...DEFAULT_PROGRAM_PATHS, ...opts.paths },
  };
}

/** True when the host's bhyve has `cap`. */
export function hasCap(host: BhyveHost, cap: BhyveCap): boolean {
  return host.caps.has(cap);
}

/** x86 family check (libvirt ARCH_IS_X86). */
export function isX86(arch: string | undefined): boolean {
  return arch === 'x86_64' || arch === 'i686';
}

/** ARM family check (libvirt ARCH_IS_ARM). */
export function isArm(arch: string | undefined): boolean {
  return arch === 'aarch64' || arch === 'armv7l' || arch === 'armv6l';
}

/**
 * Domain types a tsvirt host accepts (its capabilities XML lists them as guest domain
 * types): `bhyve` runs on the `auto` vmm backend, `kvm` on KVM, `qemu` on the soft CPU
 * (compat.ts explains the mapping for XML written for QEMU/KVM).
 */
export const SUPPORTED_DOMAIN_TYPES = ['bhyve', 'kvm', 'qemu'] as const;
