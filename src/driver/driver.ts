/**
 * The bhyve driver's entry points: one class whose methods are libvirt's public domain and
 * connection APIs (the role of libvirt's bhyve_driver.c and its virHypervisorDriver table).
 * Embedded mode (`tsvirsh -c bhyve:///embed?root=DIR`) calls it in-process; tsvirtd wraps
 * the same class behind libvirt's RPC protocol and D-Bus. Its method names and shapes are
 * those of `DriverApi` (src/rpc/driver-api.ts) — matched structurally, since the driver
 * must not import from rpc (imports go cli → rpc → driver → xml).
 *
 * Each method: validate flags (libvirt's virCheckFlags: unknown bits → VIR_ERR_INVALID_ARG),
 * find the domain (by uuid, as remote calls identify it), take the domain's lock, re-read
 * it, check the state machine (domain-obj.ts), act (runner.ts), record events.
 * Concurrent callers — other methods of this instance, other tsvirsh processes, VM
 * supervisors — are serialised by the cross-process locks (lock.ts): registry → domain → ids.
 *
 *   API (virsh)                         method                 since libvirt
 *   virConnectGetType/Version/Hostname  type/getVersion/...    0.0.3 / 0.1.0
 *   virConnectGetCapabilities           getCapabilities        0.2.1
 *   virNodeGetInfo                      getNodeInfo            0.1.0
 *   virConnectListAllDomains (list)     listDomains            0.9.13
 *   virDomainLookupByName/UUID/ID       lookupDomainBy*        0.1.0
 *   virDomainDefineXMLFlags (define)    defineDomain           1.2.12
 *   virDomainUndefineFlags (undefine)   undefineDomain         0.9.4
 *   virDomainCreateXML (create)         createDomain           0.1.0
 *   virDomainCreateWithFlags (start)    startDomain            0.8.2
 *   virDomainDestroyFlags (destroy)     destroyDomain          0.9.4
 *   virDomainShutdownFlags (shutdown)   shutdownDomain         0.9.10
 *   virDomainReboot / Reset             rebootDomain/resetDomain 0.1.0 / 0.9.7
 *   virDomainSuspend / Resume           suspendDomain/resumeDomain 0.0.3
 *   virDomainGetInfo / GetState         getDomainInfo/getDomainState 0.0.3 / 0.9.2
 *   virDomainGetXMLDesc (dumpxml)       getDomainXml           0.0.3
 *   virDomainGet/SetAutostart           get/setDomainAutostart 0.2.1
 *   virDomainOpenConsole (console)      openConsole            0.8.6
 *   virConnectDomainXMLTo/FromNative    domainXmlToNative/...  0.6.4 / 0.6.4
 *   virConnectDomainEventRegisterAny    subscribe              0.8.0
 */

import { promises as fsp } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { formatDomainXML, parseDomainXML } from '../xml/index.js';
import type { DomainDef, DomainParserConfig } from '../xml/types.js';
import {
  VirError,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_SUPPORT,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_BHYVE,
  isVirError,
} from '../xml/errors.js';
import { DomainObj, type DomainRef } from './domain-obj.js';
import { DomainList, filterDomains, noDomain, type LoadProblem } from './domain-list.js';
import {
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_DEFINED_ADDED,
  VIR_DOMAIN_EVENT_DEFINED_UPDATED,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_ID_REBOOT,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
  type DomainState,
} from './domain-state.js';
import { EventLog, type DomainEventRecord } from './events.js';
import { capabilitiesXml, domainCapabilitiesXml, type DomainCapsQuery } from './host-caps.js';
import { bootId, hostName, nodeInfo, versionNumber, type HostNodeInfo } from './host-info.js';
import { allocateId } from './ids.js';
import { assignLiveAliases } from './live-aliases.js';
import { DEFAULT_LOCK_TIMEOUT_MS, LockSpace, type LockHandle } from './lock.js';
import { checkLifecycleActions } from './monitor.js';
import { cpuTimeNs } from './process.js';
import { pidAlive } from './proc-identity.js';
import { sweepTempFiles, writeFileAtomic } from './atomic-file.js';
import * as run from './runner.js';
import { StateStore, checkDomainName } from './store.js';
import { domainLockKey } from './supervisor.js';
import { startMark } from './start-trace.js';
import { embedUri, parseBhyveUri } from './uri.js';
import { setUpTaps, tearDownTaps, type NetEndpoint } from './net.js';

export type { DomainRef } from './domain-obj.js';

/** The DomainDef ⇄ bhyve translation the driver needs (issue 4's `tsvirt/driver`). */
export interface Translator {
  /**
   * Translate a domain (the live definition, with its id) into the `-k` config file text.
   * Returns the completed live definition (addresses assigned) and the changes it made.
   */
  toConfig(def: DomainDef): { config: string; liveDef: DomainDef; warnings: string[]; interfaces?: NetEndpoint[]; env?: Record<string, string> };
  /** domxml-to-native bhyve-argv: the bhyve (and loader) command lines as text. */
  toNative?(def: DomainDef): string;
  /** domxml-from-native bhyve-argv. */
  fromNative?(config: string): DomainDef;
  /** Parser hooks of the bhyve driver (postParse, validate...). */
  parserConfig?: DomainParserConfig;
}

export interface BhyveDriverOptions {
  /** State root (absolute). */
  root: string;
  /** URI this instance serves; default the embedded URI of `root`. */
  uri?: string;
  /** argv prefix of the VM program; default TSVIRT_TSBHYVE or this package's tsbhyve. */
  emulator?: string[];
  /** Compiled supervisor entry; default the tsvirt-supervisor program (src/cli/tsvirt-supervisor.ts). */
  supervisorEntry?: string;
  node?: string;
  /** The translation; without one, starting domains is refused with a clear error. */
  translator?: Translator;
  /** Called for every file skipped while loading (corrupt config or status). */
  onProblem?: (p: LoadProblem) => void;
  /** Start autostart domains once per host boot (default true). */
  autostart?: boolean;
  lockTimeoutMs?: number;
  readyTimeoutMs?: number;
  /**
   * A long-lived driver (tsvirtd) re-checks active domains this often, so a VM whose
   * supervisor was killed is adopted, or recorded stopped, without waiting for a restart.
   * Embedded tsvirsh processes reconcile when they open, which is enough for them.
   */
  reconcileEveryMs?: number;
}

/** virDomainInfo, as DriverApi's DomainInfo. */
export interface DomainInfo {
  state: DomainState;
  maxMemKiB: bigint;
  memoryKiB: bigint;
  nrVirtCpu: number;
  cpuTimeNs: bigint;
}

export interface DomainSummary {
  ref: DomainRef;
  state: DomainState;
  persistent: boolean;
  autostart: boolean;
  hasManagedSave: boolean;
  hasSnapshot: boolean;
}

export type DomainEvent =
  | { kind: 'lifecycle'; dom: DomainRef; event: number; detail: number }
  | { kind: 'reboot'; dom: DomainRef };

/** Flag values (libvirt-domain.h). */
export const VIR_DOMAIN_XML_SECURE = 1;
export const VIR_DOMAIN_XML_INACTIVE = 2;
export const VIR_DOMAIN_START_PAUSED = 1;
export const VIR_DOMAIN_DEFINE_VALIDATE = 1;
export const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1;
export const VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 2;
export const VIR_DOMAIN_UNDEFINE_NVRAM = 4;
export const VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 8;
export const VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 16;
export const VIR_DOMAIN_UNDEFINE_TPM = 32;
export const VIR_DOMAIN_UNDEFINE_KEEP_TPM = 64;
export const VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN = 1;
export const VIR_DOMAIN_REBOOT_ACPI_POWER_BTN = 1;
export const VIR_DOMAIN_CONSOLE_FORCE = 1;
export const VIR_DOMAIN_CONSOLE_SAFE = 2;

const PACKAGE_VERSION = '0.1.0';

function checkFlags(flags: number, allowed: number, fn: string): void {
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~allowed) !== 0) {
    throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unsupported flags (0x${(flags & ~allowed).toString(16)}) in function ${fn}`);
  }
}

function opInvalid(msg: string): VirError {
  return new VirError(VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE, `Requested operation is not valid: ${msg}`);
}

/** The emulator command: TSVIRT_TSBHYVE (a program, or a .js file run with node), else ours. */
function defaultEmulator(node: string): string[] {
  const env = process.env.TSVIRT_TSBHYVE;
  if (env) return extname(env) === '.js' ? [node, resolve(env)] : [resolve(env)];
  // Resolves the same from dist/driver/driver.js and from a bundle in dist/cli/.
  return [node, fileURLToPath(new URL('../cli/tsbhyve.js', import.meta.url))];
}

export class BhyveDriver {
  readonly type = 'BHYVE';
  readonly uri: string;
  readonly store: StateStore;
  readonly locks: LockSpace;
  readonly events: EventLog;
  readonly list: DomainList;
  readonly ctx: run.RunContext;
  /** Files skipped by the last listing. */
  problems: LoadProblem[] = [];
  private readonly translator: Translator | undefined;
  private readonly onProblem: (p: LoadProblem) => void;
  private readonly lockTimeoutMs: number;
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private stopFollowing: Promise<() => Promise<void>> | undefined;
  private readonly reported = new Set<string>();
  private reconcileTimer: NodeJS.Timeout | undefined;

  private constructor(opts: BhyveDriverOptions) {
    const root = resolve(opts.root);
    this.uri = opts.uri ?? embedUri(root);
    this.store = new StateStore(root);
    this.locks = new LockSpace(root);
    this.events = new EventLog(this.store.eventsPath(), this.locks);
    this.translator = opts.translator;
    const parserConfig = opts.translator?.parserConfig;
    this.list = new DomainList(this.store, {
      parseConfig: (xml) => parseDomainXML(xml, { inactive: true, config: parserConfig }),
      parseLive: (xml) => parseDomainXML(xml, { inactive: false, config: parserConfig, skipValidate: true }),
    });
    this.onProblem = opts.onProblem ?? (() => undefined);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const node = opts.node ?? process.execPath;
    this.ctx = {
      store: this.store,
      locks: this.locks,
      events: this.events,
      emulator: opts.emulator ?? defaultEmulator(node),
      node,
      // The same path from this module (dist/driver/driver.js) and from a bundled program
      // that contains it (dist/cli/, scripts/bundle.mjs).
      supervisorEntry: opts.supervisorEntry ?? fileURLToPath(new URL('../cli/tsvirt-supervisor.js', import.meta.url)),
      readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    };
  }

  /**
   * Open the driver on its state root: create the tree, reconcile every active domain with
   * the processes that exist (re-attach), and run autostart once per host boot.
   */
  static async open(opts: BhyveDriverOptions): Promise<BhyveDriver> {
    const d = new BhyveDriver(opts);
    await d.store.init();
    await sweepTempFiles(d.store.configDir, pidAlive);
    await sweepTempFiles(d.store.runDir, pidAlive);
    await d.reconcileAll();
    if (opts.autostart ?? true) await d.autostartOnce();
    if (opts.reconcileEveryMs) {
      d.reconcileTimer = setInterval(() => void d.reconcileAll().catch(() => undefined), opts.reconcileEveryMs);
      d.reconcileTimer.unref();
    }
    return d;
  }

  // ---- connection --------------------------------------------------------------------

  matchUri(name: string | null): string | null {
    if (name === null || name === '') return this.uri;
    try {
      const p = parseBhyveUri(name);
      if (!p) return null;
      const mine = parseBhyveUri(this.uri)!;
      if (p.kind === 'embed' && mine.kind === 'embed') return p.root === mine.root ? this.uri : null;
      if (p.kind === 'daemon' && mine.kind === 'daemon') return p.instance === mine.instance ? this.uri : null;
      return null;
    } catch {
      return null;
    }
  }

  async getVersion(): Promise<number> {
    return versionNumber(PACKAGE_VERSION);
  }

  async getHostname(): Promise<string> {
    return hostName();
  }

  async getCapabilities(): Promise<string> {
    return capabilitiesXml(this.ctx.emulator[this.ctx.emulator.length - 1]!);
  }

  async getDomainCapabilities(query: DomainCapsQuery & { flags: number }): Promise<string> {
    checkFlags(query.flags, 0, 'bhyveConnectGetDomainCapabilities');
    return domainCapabilitiesXml(this.ctx.emulator[this.ctx.emulator.length - 1]!, query);
  }

  async getNodeInfo(): Promise<HostNodeInfo> {
    return nodeInfo();
  }

  async getSecurityModel(): Promise<{ model: string; doi: string }> {
    return { model: '', doi: '' };
  }

  // ---- lookups and listing -----------------------------------------------------------

  private report(problems: LoadProblem[]): void {
    this.problems = problems;
    for (const p of problems) {
      const key = `${p.path}\0${p.message}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.onProblem(p);
    }
  }

  /** All domains (after reporting files that had to be skipped). */
  async loadDomains(): Promise<DomainObj[]> {
    const { domains, problems } = await this.list.load();
    this.report(problems);
    return domains;
  }

  async listDomains(): Promise<DomainSummary[]> {
    return (await this.loadDomains()).map((d) => ({
      ref: d.ref,
      state: d.state,
      persistent: d.persistent,
      autostart: d.autostart,
      hasManagedSave: false,
      hasSnapshot: false,
    }));
  }

  /** virConnectListAllDomains with libvirt's filter flags. */
  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    return filterDomains(await this.loadDomains(), flags).map((d) => d.ref);
  }

  async lookupDomainByName(name: string): Promise<DomainRef> {
    const problems: LoadProblem[] = [];
    const obj = checkDomainName(name) === undefined ? await this.list.get(name, problems) : undefined;
    this.report(problems);
    if (!obj) throw noDomain(`no domain with matching name '${name}'`);
    return obj.ref;
  }

  async lookupDomainByUuid(uuid: string): Promise<DomainRef> {
    return (await this.list.byUuid(uuid)).ref;
  }

  async lookupDomainById(id: number): Promise<DomainRef> {
    return (await this.list.byId(id)).ref;
  }

  private find(ref: DomainRef): Promise<DomainObj> {
    return this.list.byUuid(ref.uuid, checkDomainName(ref.name) === undefined ? ref.name : undefined);
  }

  private async withLock<T>(key: string, purpose: string, fn: () => Promise<T>): Promise<T> {
    const lock: LockHandle = await this.locks.acquire(key, { purpose, timeoutMs: this.lockTimeoutMs });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** Run `fn` on a fresh read of the domain under its lock. */
  private withDomain<T>(ref: DomainRef, purpose: string, fn: (obj: DomainObj) => Promise<T>): Promise<T> {
    return this.withLock(domainLockKey(ref.uuid.toLowerCase()), purpose, async () => fn(await this.find(ref)));
  }

  private async emit(obj: { name: string; uuid: string }, id: number, event: number, detail: number): Promise<void> {
    try {
      await this.events.append({ time: Date.now(), name: obj.name, uuid: obj.uuid, id, eventId: VIR_DOMAIN_EVENT_ID_LIFECYCLE, event, detail });
    } catch {
      /* recording an event never fails the operation */
    }
  }

  // ---- definitions -------------------------------------------------------------------

  private parse(xml: string): DomainDef {
    const def = parseDomainXML(xml, { inactive: true, config: this.translator?.parserConfig });
    const bad = checkDomainName(def.name);
    if (bad) throw new VirError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_BHYVE, `unsupported configuration: ${bad}`);
    checkLifecycleActions(def);
    return def;
  }

  /** Refuse a name/uuid pair that clashes with another domain (libvirt's messages). */
  private async checkIdentity(def: DomainDef): Promise<DomainObj | undefined> {
    const domains = await this.loadDomains();
    const byName = domains.find((d) => d.name === def.name);
    if (byName && byName.uuid !== def.uuid) {
      throw new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, `operation failed: domain '${def.name}' is already defined with uuid ${byName.uuid}`);
    }
    const byUuid = domains.find((d) => d.uuid === def.uuid);
    if (byUuid && byUuid.name !== def.name) {
      throw new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, `operation failed: domain '${byUuid.name}' already exists with uuid ${def.uuid}`);
    }
    return byName;
  }

  async defineDomain(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, VIR_DOMAIN_DEFINE_VALIDATE, 'bhyveDomainDefineXMLFlags');
    const def = this.parse(xml);
    return this.withLock('registry', 'define', async () => {
      const existing = await this.checkIdentity(def);
      return this.withLock(domainLockKey(def.uuid), 'define', async () => {
        await this.store.writeConfig(def.name, formatDomainXML(def, { inactive: true, secure: true }));
        const cur = await this.list.get(def.name);
        if (cur?.status?.transient && cur.active) await this.store.writeStatus({ ...cur.status, transient: undefined });
        const updated = existing?.def !== undefined;
        await this.emit(def, cur?.id ?? -1, VIR_DOMAIN_EVENT_DEFINED, updated ? VIR_DOMAIN_EVENT_DEFINED_UPDATED : VIR_DOMAIN_EVENT_DEFINED_ADDED);
        return { name: def.name, uuid: def.uuid, id: cur?.id ?? -1 };
      });
    });
  }

  async undefineDomain(ref: DomainRef, flags: number): Promise<void> {
    const all =
      VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
      VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
      VIR_DOMAIN_UNDEFINE_NVRAM |
      VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
      VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
      VIR_DOMAIN_UNDEFINE_TPM |
      VIR_DOMAIN_UNDEFINE_KEEP_TPM;
    checkFlags(flags, all, 'bhyveDomainUndefineFlags');
    if ((flags & VIR_DOMAIN_UNDEFINE_NVRAM) && (flags & VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)) {
      throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, "invalid argument: cannot both keep and delete nvram");
    }
    await this.withLock('registry', 'undefine', () =>
      this.withDomain(ref, 'undefine', async (obj) => {
        if (!obj.def) throw opInvalid('cannot undefine transient domain');
        const nvram = obj.def.os.nvram?.path;
        if (nvram && !(flags & VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)) {
          const exists = await fsp.access(nvram).then(() => true, () => false);
          if (exists && !(flags & VIR_DOMAIN_UNDEFINE_NVRAM)) {
            throw opInvalid('cannot undefine domain with nvram');
          }
          if (exists && !obj.active) await fsp.rm(nvram, { force: true });
        }
        await this.store.setAutostart(obj.name, false);
        await this.store.removeConfig(obj.name);
        if (obj.active && obj.status) await this.store.writeStatus({ ...obj.status, transient: true });
        else await this.store.removeStatus(obj.name).catch(() => undefined);
        await this.emit(obj, obj.id, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
      }),
    );
  }

  // ---- starting ----------------------------------------------------------------------

  /** Start `def` (persistent or transient). Caller holds the domain lock; domain inactive. */
  private async startDef(def: DomainDef, transient: boolean, paused: boolean): Promise<DomainRef> {
    if (!this.translator) {
      throw new VirError(
        VIR_ERR_NO_SUPPORT,
        VIR_FROM_BHYVE,
        'this function is not supported by the connection driver: starting domains needs the DomainDef → bhyve config translation (tsvirt/driver), which this build does not include',
      );
    }
    startMark('start: domain locked');
    checkLifecycleActions(def);
    const domains = await this.list.load();
    const used = new Set(domains.domains.filter((d) => d.active).map((d) => d.id));
    const id = await allocateId(this.store.idSeqPath(), this.locks, (n) => used.has(n));
    const live = structuredClone(def);
    live.id = id;
    const translator = this.translator;
    // Tap names are chosen during translation and created right after, under one lock.
    const { tr, taps } = await this.withLock('net', 'allocate taps', async () => {
      const t = translator.toConfig(live);
      return { tr: t, taps: await setUpTaps(t.interfaces ?? []) };
    });
    startMark('start: translated');
    try {
      const liveDef = tr.liveDef;
      liveDef.id = id;
      assignLiveAliases(liveDef);
      const liveXml = formatDomainXML(liveDef, { inactive: false, secure: true });
      const st = await run.startRun(this.ctx, {
        taps,
        env: tr.env ?? {},
        name: def.name,
        uuid: def.uuid,
        id,
        configText: tr.config,
        liveXml,
        actions: { on_poweroff: def.on_poweroff, on_reboot: def.on_reboot, on_crash: def.on_crash },
        transient,
        paused,
        messages: tr.warnings,
      });
      return { name: st.name, uuid: st.uuid, id };
    } catch (err) {
      await tearDownTaps(taps);
      throw err;
    }
  }

  async startDomain(ref: DomainRef, flags: number): Promise<DomainRef> {
    checkFlags(flags, VIR_DOMAIN_START_PAUSED, 'bhyveDomainCreateWithFlags');
    return this.withDomain(ref, 'start', async (obj) => {
      obj.checkCanStart();
      if (!obj.def) throw opInvalid('domain has no persistent definition');
      return this.startDef(obj.def, false, (flags & VIR_DOMAIN_START_PAUSED) !== 0);
    });
  }

  async createDomain(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, VIR_DOMAIN_START_PAUSED, 'bhyveDomainCreateXML');
    const def = this.parse(xml);
    return this.withLock('registry', 'create', async () => {
      const existing = await this.checkIdentity(def);
      return this.withLock(domainLockKey(def.uuid), 'create', async () => {
        const cur = existing ? await this.list.get(def.name) : undefined;
        if (cur?.active) throw opInvalid(`domain '${def.name}' is already active`);
        // Starting a defined-but-inactive domain from new XML keeps it persistent (libvirt).
        return this.startDef(def, cur?.def === undefined, (flags & VIR_DOMAIN_START_PAUSED) !== 0);
      });
    });
  }

  // ---- stopping and controlling ------------------------------------------------------

  async destroyDomain(ref: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0, 'bhyveDomainDestroyFlags');
    await this.withDomain(ref, 'destroy', async (obj) => {
      obj.checkActive();
      await run.destroyRun(this.ctx, obj.status!);
    });
  }

  async shutdownDomain(ref: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, 'bhyveDomainShutdownFlags');
    await this.withDomain(ref, 'shutdown', async (obj) => {
      obj.checkHasVm();
      await run.requestGuestStop(this.ctx, obj.status!, 'shutdown');
    });
  }

  async rebootDomain(ref: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN, 'bhyveDomainReboot');
    await this.withDomain(ref, 'reboot', async (obj) => {
      obj.checkHasVm();
      await run.requestGuestStop(this.ctx, obj.status!, 'reboot');
    });
  }

  async resetDomain(ref: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0, 'bhyveDomainReset');
    await this.withDomain(ref, 'reset', async (obj) => {
      obj.checkHasVm();
      await run.resetRun(this.ctx, obj.status!);
    });
  }

  async suspendDomain(ref: DomainRef): Promise<void> {
    await this.withDomain(ref, 'suspend', async (obj) => {
      obj.checkHasVm();
      await run.suspendRun(this.ctx, obj.status!);
    });
  }

  async resumeDomain(ref: DomainRef): Promise<void> {
    await this.withDomain(ref, 'resume', async (obj) => {
      obj.checkPaused();
      await run.resumeRun(this.ctx, obj.status!);
    });
  }

  // ---- queries -----------------------------------------------------------------------

  async getDomainInfo(ref: DomainRef): Promise<DomainInfo> {
    const obj = await this.find(ref);
    const def = obj.currentDef!;
    return {
      state: obj.state,
      maxMemKiB: BigInt(def.memory),
      memoryKiB: BigInt(def.currentMemory),
      nrVirtCpu: def.vcpu.current ?? def.vcpu.count,
      cpuTimeNs: BigInt(obj.active ? cpuTimeNs(obj.status?.vm) : 0),
    };
  }

  async getDomainState(ref: DomainRef, flags: number): Promise<{ state: DomainState; reason: number }> {
    checkFlags(flags, 0, 'bhyveDomainGetState');
    const obj = await this.find(ref);
    return { state: obj.state, reason: obj.reason };
  }

  async getDomainXml(ref: DomainRef, flags: number): Promise<string> {
    checkFlags(flags, VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE, 'bhyveDomainGetXMLDesc');
    const obj = await this.find(ref);
    const secure = (flags & VIR_DOMAIN_XML_SECURE) !== 0;
    const inactive = (flags & VIR_DOMAIN_XML_INACTIVE) !== 0;
    const def = inactive ? (obj.def ?? obj.liveDef) : obj.currentDef;
    return formatDomainXML(def!, { inactive: inactive || !obj.active, secure });
  }

  async getDomainOsType(ref: DomainRef): Promise<string> {
    return (await this.find(ref)).currentDef!.os.type;
  }

  async getDomainMaxMemory(ref: DomainRef): Promise<bigint> {
    return BigInt((await this.find(ref)).currentDef!.memory);
  }

  async getDomainAutostart(ref: DomainRef): Promise<boolean> {
    return (await this.find(ref)).autostart;
  }

  async setDomainAutostart(ref: DomainRef, autostart: boolean): Promise<void> {
    await this.withDomain(ref, 'autostart', async (obj) => {
      obj.checkPersistent();
      await this.store.setAutostart(obj.name, autostart);
    });
  }

  async isDomainActive(ref: DomainRef): Promise<boolean> {
    return (await this.find(ref)).active;
  }

  async isDomainPersistent(ref: DomainRef): Promise<boolean> {
    return (await this.find(ref)).persistent;
  }

  async isDomainUpdated(ref: DomainRef): Promise<boolean> {
    const obj = await this.find(ref);
    if (!obj.active || !obj.def || !obj.liveDef) return false;
    const a = formatDomainXML(obj.def, { inactive: true, secure: true });
    const b = formatDomainXML(obj.liveDef, { inactive: true, secure: true });
    return a !== b;
  }

  async hasManagedSaveImage(ref: DomainRef, flags: number): Promise<boolean> {
    checkFlags(flags, 0, 'bhyveDomainHasManagedSaveImage');
    await this.find(ref);
    return false;
  }

  async snapshotCount(ref: DomainRef, flags: number): Promise<number> {
    await this.find(ref);
    void flags;
    return 0;
  }

  async getDomainMessages(ref: DomainRef, flags: number): Promise<string[]> {
    const obj = await this.find(ref);
    void flags;
    return obj.active ? (obj.status?.messages ?? []) : [];
  }

  // ---- native formats ----------------------------------------------------------------

  async domainXmlToNative(format: string, xml: string, flags: number): Promise<string> {
    checkFlags(flags, 0, 'bhyveConnectDomainXMLToNative');
    if (format !== 'bhyve-argv') throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unsupported config type ${format}`);
    if (!this.translator?.toNative) throw new VirError(VIR_ERR_NO_SUPPORT, VIR_FROM_BHYVE, 'this function is not supported by the connection driver: virConnectDomainXMLToNative');
    return this.translator.toNative(parseDomainXML(xml, { inactive: true, config: this.translator.parserConfig }));
  }

  async domainXmlFromNative(format: string, config: string, flags: number): Promise<string> {
    checkFlags(flags, 0, 'bhyveConnectDomainXMLFromNative');
    if (format !== 'bhyve-argv') throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unsupported config type ${format}`);
    if (!this.translator?.fromNative) throw new VirError(VIR_ERR_NO_SUPPORT, VIR_FROM_BHYVE, 'this function is not supported by the connection driver: virConnectDomainXMLFromNative');
    return formatDomainXML(this.translator.fromNative(config), { inactive: true });
  }

  // ---- console -----------------------------------------------------------------------

  /** Which UART a libvirt console device name designates (null: the first serial port). */
  private consoleDevice(obj: DomainObj, devName: string | null): string {
    const def = obj.currentDef!;
    const serials = def.devices.serials;
    const portOf = (i: number) => `com${(serials[i]?.target.port ?? i) + 1}`;
    if (devName === null) {
      if (serials.length === 0 && def.devices.consoles.length === 0) throw new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, 'operation failed: cannot find default console device');
      return portOf(0);
    }
    const si = serials.findIndex((s) => s.alias === devName);
    if (si >= 0) return portOf(si);
    const ci = def.devices.consoles.findIndex((c) => c.alias === devName);
    if (ci >= 0) return portOf(def.devices.consoles[ci]!.target.port ?? ci);
    const m = /^(serial|console)(\d+)$/.exec(devName);
    if (m) return portOf(Number(m[2]));
    throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: cannot find character device ${devName}`);
  }

  async openConsole(ref: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
    checkFlags(flags, VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE, 'bhyveDomainOpenConsole');
    const obj = await this.find(ref);
    obj.checkHasVm();
    const dev = this.consoleDevice(obj, devName);
    return run.openConsoleStream(obj.status!, dev, { force: (flags & VIR_DOMAIN_CONSOLE_FORCE) !== 0, replay: true });
  }

  // ---- events ------------------------------------------------------------------------

  subscribe(listener: (e: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.stopFollowing) {
      this.stopFollowing = this.events.follow((r) => this.dispatch(r), this.events.endOffset());
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once event following has started (tests and `event --loop` wait for it). */
  async eventsReady(): Promise<void> {
    await this.stopFollowing;
  }

  private dispatch(r: DomainEventRecord): void {
    const dom = { name: r.name, uuid: r.uuid, id: r.id };
    const ev: DomainEvent = r.eventId === VIR_DOMAIN_EVENT_ID_REBOOT ? { kind: 'reboot', dom } : { kind: 'lifecycle', dom, event: r.event!, detail: r.detail! };
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  async close(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    const stop = await this.stopFollowing;
    this.stopFollowing = undefined;
    await stop?.();
    this.listeners.clear();
  }

  // ---- re-attach and autostart -------------------------------------------------------

  /** Reconcile every active domain with its processes (skipping domains being worked on). */
  async reconcileAll(): Promise<void> {
    const domains = await this.loadDomains();
    for (const d of domains) {
      if (!d.active || !d.status) continue;
      // A short wait covers brief holders (a supervisor checking its start, an event
      // append); a long operation in progress reconciles its domain itself.
      const lock = await this.locks.acquire(domainLockKey(d.uuid), { purpose: 'reconcile', timeoutMs: 1000 }).catch(() => undefined);
      if (!lock) continue;
      try {
        const cur = await this.store.readStatus(d.name);
        if (cur.kind === 'ok' && cur.status.uuid === d.uuid) await run.reconcile(this.ctx, cur.status);
      } catch (err) {
        this.onProblem({ path: this.store.statusPath(d.name), message: `cannot reconcile: ${(err as Error).message}` });
      } finally {
        await lock.release();
      }
    }
  }

  /**
   * Start the autostart domains, once per host boot per state root (the daemonless
   * equivalent of libvirtd starting them at boot). Failures are reported, not thrown.
   */
  async autostartOnce(): Promise<void> {
    const marker = this.store.autostartMarkerPath();
    const boot = bootId();
    const done = await fsp.readFile(marker, 'utf8').then((s) => s.trim(), () => '');
    if (done === boot) return;
    const lock = await this.locks.tryAcquire('autostart', 'autostart');
    if (!lock) return; // another process is doing it
    try {
      const again = await fsp.readFile(marker, 'utf8').then((s) => s.trim(), () => '');
      if (again === boot) return;
      for (const name of await this.store.listAutostartNames()) {
        try {
          const obj = await this.list.get(name);
          if (!obj || obj.active || !obj.def) continue;
          await this.startDomain(obj.ref, 0);
        } catch (err) {
          this.onProblem({ path: this.store.autostartPath(name), message: `autostart of '${name}' failed: ${isVirError(err) ? err.message : String(err)}` });
        }
      }
      await writeFileAtomic(marker, `${boot}\n`);
    } finally {
      await lock.release();
    }
  }
}
