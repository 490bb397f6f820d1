/**
 * `DriverApi`: the hypervisor driver as the daemon's front ends (libvirt RPC in `src/rpc`,
 * org.libvirt D-Bus in `src/dbus`) see it. The bhyve driver in `src/driver` implements it;
 * until then `test-driver.ts` (an in-memory test driver, no processes) does, for tests.
 *
 * The shape follows libvirt's `virHypervisorDriver` table: one method per public API, XML
 * text in and out, domains identified by `DomainRef` {name, uuid, id}, states, reasons,
 * events and flags as libvirt's numbers (the enums below carry libvirt's names). Methods
 * marked optional may be left out: the front ends then answer VIR_ERR_NO_SUPPORT ("this
 * function is not supported by the connection driver: virDomainFoo"), exactly as libvirt
 * does for a driver without that callback.
 *
 * Errors: throw an object with libvirt fields — `code` and `domain` as numbers or as
 * libvirt names ('VIR_ERR_NO_DOMAIN', 'VIR_FROM_BHYVE') and a `message` formatted as
 * libvirt formats it ("Domain not found: no domain with matching uuid '…'"). The XML
 * layer's VirError has that shape. Anything else reaches clients as VIR_ERR_INTERNAL_ERROR.
 *
 * Concurrency: the front ends call methods concurrently (many clients); serialising work
 * on one domain is the driver's job. Read-only access is enforced before the driver is
 * called: a method that changes state is never called for a read-only client.
 */
import type { Duplex } from 'node:stream';

/** A domain's identity, as libvirt's `remote_nonnull_domain` carries it. */
export interface DomainRef {
  readonly name: string;
  /** Canonical lowercase UUID text, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  readonly uuid: string;
  /** Runtime id while active, -1 when inactive. */
  readonly id: number;
}

/** virDomainState */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;
export type DomainStateValue = (typeof DomainState)[keyof typeof DomainState];

/** virDomainRunningReason */
export const DomainRunningReason = {
  UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5,
  MIGRATION_CANCELED: 6, SAVE_CANCELED: 7, WAKEUP: 8, CRASHED: 9, POSTCOPY: 10, POSTCOPY_FAILED: 11,
} as const;
/** virDomainPausedReason */
export const DomainPausedReason = {
  UNKNOWN: 0, USER: 1, MIGRATION: 2, SAVE: 3, DUMP: 4, IOERROR: 5, WATCHDOG: 6, FROM_SNAPSHOT: 7,
  SHUTTING_DOWN: 8, SNAPSHOT: 9, CRASHED: 10, STARTING_UP: 11, POSTCOPY: 12, POSTCOPY_FAILED: 13, API_ERROR: 14,
} as const;
/** virDomainShutdownReason */
export const DomainShutdownReason = { UNKNOWN: 0, USER: 1 } as const;
/** virDomainShutoffReason */
export const DomainShutoffReason = {
  UNKNOWN: 0, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, MIGRATED: 4, SAVED: 5, FAILED: 6, FROM_SNAPSHOT: 7, DAEMON: 8,
} as const;
/** virDomainCrashedReason */
export const DomainCrashedReason = { UNKNOWN: 0, PANICKED: 1 } as const;

/** virDomainEventType (lifecycle event) */
export const DomainEventType = {
  DEFINED: 0, UNDEFINED: 1, STARTED: 2, SUSPENDED: 3, RESUMED: 4, STOPPED: 5, SHUTDOWN: 6, PMSUSPENDED: 7, CRASHED: 8,
} as const;
export const DomainEventDefinedDetail = { ADDED: 0, UPDATED: 1, RENAMED: 2, FROM_SNAPSHOT: 3 } as const;
export const DomainEventUndefinedDetail = { REMOVED: 0, RENAMED: 1 } as const;
export const DomainEventStartedDetail = { BOOTED: 0, MIGRATED: 1, RESTORED: 2, FROM_SNAPSHOT: 3, WAKEUP: 4, RECREATED: 5 } as const;
export const DomainEventSuspendedDetail = {
  PAUSED: 0, MIGRATED: 1, IOERROR: 2, WATCHDOG: 3, RESTORED: 4, FROM_SNAPSHOT: 5, API_ERROR: 6, POSTCOPY: 7, POSTCOPY_FAILED: 8,
} as const;
export const DomainEventResumedDetail = { UNPAUSED: 0, MIGRATED: 1, FROM_SNAPSHOT: 2, POSTCOPY: 3, POSTCOPY_FAILED: 4 } as const;
export const DomainEventStoppedDetail = {
  SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, MIGRATED: 3, SAVED: 4, FAILED: 5, FROM_SNAPSHOT: 6,
} as const;
export const DomainEventShutdownDetail = { FINISHED: 0, GUEST: 1, HOST: 2 } as const;
export const DomainEventCrashedDetail = { PANICKED: 0, CRASHLOADED: 1 } as const;

/** virDomainEventID: the event kinds a client may register for (libvirt 9.0 defines 0..26). */
export const DomainEventId = { LIFECYCLE: 0, REBOOT: 1 } as const;
export const VIR_DOMAIN_EVENT_ID_LAST = 27;

/** virDomainMetadataType */
export const DomainMetadataType = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;
/** virDomainModificationImpact */
export const DomainAffect = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** virDomainXMLFlags */
export const DomainXmlFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;
/** virDomainCreateFlags */
export const DomainCreateFlags = { PAUSED: 1, AUTODESTROY: 2, BYPASS_CACHE: 4, FORCE_BOOT: 8, VALIDATE: 16, RESET_NVRAM: 32 } as const;
/** virDomainDefineFlags */
export const DomainDefineFlags = { VALIDATE: 1 } as const;
/** virDomainUndefineFlagsValues */
export const DomainUndefineFlags = {
  MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4, KEEP_NVRAM: 8, CHECKPOINTS_METADATA: 16, TPM: 32, KEEP_TPM: 64,
} as const;
/** virDomainDestroyFlagsValues */
export const DomainDestroyFlags = { GRACEFUL: 1, REMOVE_LOGS: 2 } as const;
/** virDomainShutdownFlagValues / virDomainRebootFlagValues (same bits) */
export const DomainShutdownFlags = { ACPI_POWER_BTN: 1, GUEST_AGENT: 2, INITCTL: 4, SIGNAL: 8, PARAVIRT: 16 } as const;

/** What `virDomainGetInfo` reports. Memory in KiB, CPU time in nanoseconds. */
export interface DomainInfo {
  state: DomainStateValue;
  maxMemKiB: bigint;
  memoryKiB: bigint;
  nrVirtCpu: number;
  cpuTimeNs: bigint;
}

/** One domain as listed: enough for virConnectListAllDomains' filter flags. */
export interface DomainSummary {
  ref: DomainRef;
  state: DomainStateValue;
  persistent: boolean;
  autostart: boolean;
  hasManagedSave: boolean;
  hasSnapshot: boolean;
}

/** What `virNodeGetInfo` reports. Memory in KiB. */
export interface NodeInfo {
  /** CPU model string, at most 31 bytes (e.g. 'x86_64'). */
  model: string;
  memoryKiB: bigint;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface SecurityModel {
  model: string;
  doi: string;
}

export interface SecurityLabel {
  label: string;
  enforcing: boolean;
}

export interface DomainCapabilitiesQuery {
  emulatorbin: string | null;
  arch: string | null;
  machine: string | null;
  virttype: string | null;
  flags: number;
}

/** Events the driver emits; each front end forwards them to its subscribers. */
export type DomainEvent =
  | { kind: 'lifecycle'; dom: DomainRef; event: number; detail: number }
  | { kind: 'reboot'; dom: DomainRef };

export type DomainEventListener = (event: DomainEvent) => void;

export interface DriverApi {
  /** virConnectGetType: the driver's name as libvirt reports it ('BHYVE', 'TEST'). */
  readonly type: string;

  /**
   * The canonical URI this driver serves for a CONNECT_OPEN name (null: the client's
   * default), or null when the name is not one of this driver's URIs.
   */
  matchUri(name: string | null): string | null;

  /** virConnectGetVersion: hypervisor version as major * 1,000,000 + minor * 1,000 + micro. */
  getVersion(): Promise<number>;
  getHostname(): Promise<string>;
  getCapabilities(): Promise<string>;
  getNodeInfo(): Promise<NodeInfo>;
  getDomainCapabilities?(query: DomainCapabilitiesQuery): Promise<string>;
  getMaxVcpus?(type: string | null): Promise<number>;
  /** virNodeGetFreeMemory: free host memory in bytes. */
  getFreeMemory?(): Promise<bigint>;
  /** virNodeGetSecurityModel: empty strings when no security driver is active. */
  getSecurityModel?(): Promise<SecurityModel>;

  listDomains(): Promise<DomainSummary[]>;
  lookupDomainByName(name: string): Promise<DomainRef>;
  lookupDomainByUuid(uuid: string): Promise<DomainRef>;
  lookupDomainById(id: number): Promise<DomainRef>;

  defineDomain(xml: string, flags: number): Promise<DomainRef>;
  undefineDomain(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainCreateXML: start a transient domain. Returns it with its new id. */
  createDomain(xml: string, flags: number): Promise<DomainRef>;
  /** virDomainCreateWithFlags: start a defined domain. Returns it with its new id. */
  startDomain(dom: DomainRef, flags: number): Promise<DomainRef>;
  destroyDomain(dom: DomainRef, flags: number): Promise<void>;
  shutdownDomain(dom: DomainRef, flags: number): Promise<void>;
  rebootDomain(dom: DomainRef, flags: number): Promise<void>;
  resetDomain(dom: DomainRef, flags: number): Promise<void>;
  suspendDomain(dom: DomainRef): Promise<void>;
  resumeDomain(dom: DomainRef): Promise<void>;

  getDomainInfo(dom: DomainRef): Promise<DomainInfo>;
  getDomainState(dom: DomainRef, flags: number): Promise<{ state: DomainStateValue; reason: number }>;
  getDomainXml(dom: DomainRef, flags: number): Promise<string>;
  getDomainOsType(dom: DomainRef): Promise<string>;
  getDomainAutostart(dom: DomainRef): Promise<boolean>;
  setDomainAutostart(dom: DomainRef, autostart: boolean): Promise<void>;
  isDomainActive(dom: DomainRef): Promise<boolean>;
  isDomainPersistent(dom: DomainRef): Promise<boolean>;
  isDomainUpdated?(dom: DomainRef): Promise<boolean>;
  getDomainMaxMemory?(dom: DomainRef): Promise<bigint>;
  getDomainVcpus?(dom: DomainRef, flags: number): Promise<number>;
  hasManagedSaveImage?(dom: DomainRef, flags: number): Promise<boolean>;
  snapshotCount?(dom: DomainRef, flags: number): Promise<number>;
  getSecurityLabel?(dom: DomainRef): Promise<SecurityLabel>;
  getDomainMessages?(dom: DomainRef, flags: number): Promise<string[]>;
  /**
   * virDomainGetMetadata: `type` from DomainMetadataType; `uri` names the namespace for
   * ELEMENT. Absent metadata throws VIR_ERR_NO_DOMAIN_METADATA.
   */
  getDomainMetadata?(dom: DomainRef, type: number, uri: string | null, flags: number): Promise<string>;

  /** virConnectDomainXMLToNative / FromNative (format 'bhyve-argv' for bhyve). */
  domainXmlToNative?(format: string, xml: string, flags: number): Promise<string>;
  domainXmlFromNative?(format: string, config: string, flags: number): Promise<string>;

  /**
   * virDomainOpenConsole: a byte stream of the domain's console (`devName` null: the first
   * serial). Reading gives guest output; writing sends input; ending it detaches.
   */
  openConsole?(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex>;

  /** Subscribes to domain events; returns the unsubscribe function. */
  subscribe(listener: DomainEventListener): () => void;

  /** Called once when the daemon stops. Guests keep running. */
  close?(): Promise<void>;
}
