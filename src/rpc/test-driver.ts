/**
 * The TEST driver: an in-memory `DriverApi` in the spirit of libvirt's `test:///default`
 * driver. Domains are defined, started, paused and stopped in memory; no process runs, no
 * guest executes, nothing is written to disk. It exists so that the protocol front ends
 * (libvirt RPC, D-Bus) can be exercised end to end with real clients before the bhyve
 * driver lands. It reports its type as 'TEST' so that no client mistakes it for bhyve.
 *
 * What it models: libvirt's lifecycle rules (start only when inactive, suspend only when
 * running, undefine of a running domain makes it transient, a transient domain disappears
 * when stopped), ids assigned at start, states/reasons and lifecycle events as libvirt
 * reports them, autostart flags, and a console that echoes input (a loopback line, not a
 * guest). Domain XML is read minimally (name, uuid, memory, currentMemory, vcpu, os type)
 * with the rest of the document kept as given; it is not validated against libvirt's schema.
 * <title> and <description> are served as metadata; <metadata> elements are not.
 * Not modelled: domxml-to/from-native (NO_SUPPORT), managed save and snapshots (none exist).
 */
import { hostname as osHostname, cpus as osCpus, freemem, totalmem, arch as osArch } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Duplex } from 'node:stream';
import {
  DomainAffect,
  DomainCreateFlags,
  DomainMetadataType,
  DomainEventDefinedDetail,
  DomainEventResumedDetail,
  DomainEventStartedDetail,
  DomainEventStoppedDetail,
  DomainEventSuspendedDetail,
  DomainEventType,
  DomainEventUndefinedDetail,
  DomainPausedReason,
  DomainRunningReason,
  DomainShutoffReason,
  DomainState,
  DomainXmlFlags,
  type DomainEvent,
  type DomainEventListener,
  type DomainInfo,
  type DomainRef,
  type DomainStateValue,
  type DomainSummary,
  type DriverApi,
  type NodeInfo,
  type SecurityLabel,
  type SecurityModel,
} from './driver-api.js';
import { children, findChild, formatDef, parseDomainXml, tagOf, textOf, type ParsedDef, type XmlNode } from './test-driver-xml.js';
import { virErr } from '../xml/errors.js';

interface TestDomain {
  uuid: string;
  name: string;
  id: number;
  persistent: boolean;
  autostart: boolean;
  state: DomainStateValue;
  reason: number;
  def: ParsedDef;
  live: ParsedDef | null;
  startedAt: bigint;
  console: Duplex | null;
}

/** The host UUID reported in capabilities: random, fixed for the process lifetime. */
const randomUUIDForHost = randomUUID();

function notRunning(d: TestDomain): Error {
  return virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', `domain '${d.name}' is not running`);
}

/** A console that echoes what the client types: a loopback line, standing in for a guest. */
function loopbackConsole(name: string): Duplex {
  const line: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      line.push(chunk);
      cb();
    },
    final(cb) {
      line.push(null);
      cb();
    },
  });
  line.push(Buffer.from(`tsvirt test console of domain ${name}: input is echoed\r\n`));
  return line;
}

export interface TestDriverOptions {
  /** Hypervisor version reported by virConnectGetVersion. */
  version?: number;
}

export class TestDriver implements DriverApi {
  readonly type = 'TEST';
  private readonly domains = new Map<string, TestDomain>();
  private readonly listeners = new Set<DomainEventListener>();
  private nextId = 1;
  private readonly version: number;

  constructor(opts: TestDriverOptions = {}) {
    this.version = opts.version ?? 1000;
  }

  matchUri(name: string | null): string | null {
    if (name === null || name === '') return 'test:///default';
    const accepted = ['test:///default', 'bhyve:///system', 'bhyve:///session'];
    return accepted.includes(name) ? name : null;
  }

  async getVersion(): Promise<number> {
    return this.version;
  }

  async getHostname(): Promise<string> {
    return osHostname();
  }

  async getCapabilities(): Promise<string> {
    const arch = osArch() === 'x64' ? 'x86_64' : osArch();
    return [
      '<capabilities>',
      '  <host>',
      `    <uuid>${randomUUIDForHost}</uuid>`,
      '    <cpu>',
      `      <arch>${arch}</arch>`,
      '    </cpu>',
      '  </host>',
      '  <guest>',
      '    <os_type>hvm</os_type>',
      `    <arch name='${arch}'>`,
      '      <wordsize>64</wordsize>',
      "      <domain type='test'/>",
      '    </arch>',
      '  </guest>',
      '</capabilities>',
      '',
    ].join('\n');
  }

  async getNodeInfo(): Promise<NodeInfo> {
    const cpus = osCpus();
    return {
      model: osArch() === 'x64' ? 'x86_64' : osArch(),
      memoryKiB: BigInt(Math.floor(totalmem() / 1024)),
      cpus: cpus.length,
      mhz: cpus[0]?.speed ?? 0,
      nodes: 1,
      sockets: 1,
      cores: cpus.length,
      threads: 1,
    };
  }

  async getMaxVcpus(): Promise<number> {
    return 32;
  }

  async getFreeMemory(): Promise<bigint> {
    return BigInt(freemem());
  }

  async getSecurityModel(): Promise<SecurityModel> {
    return { model: '', doi: '' };
  }

  async listDomains(): Promise<DomainSummary[]> {
    return [...this.domains.values()].map((d) => ({
      ref: this.ref(d),
      state: d.state,
      persistent: d.persistent,
      autostart: d.autostart,
      hasManagedSave: false,
      hasSnapshot: false,
    }));
  }

  async lookupDomainByName(name: string): Promise<DomainRef> {
    for (const d of this.domains.values()) if (d.name === name) return this.ref(d);
    throw virErr('VIR_ERR_NO_DOMAIN', 'VIR_FROM_TEST', `no domain with matching name '${name}'`);
  }

  async lookupDomainByUuid(uuid: string): Promise<DomainRef> {
    return this.ref(this.get({ uuid, name: '' }));
  }

  async lookupDomainById(id: number): Promise<DomainRef> {
    for (const d of this.domains.values()) if (d.id === id && id >= 0) return this.ref(d);
    throw virErr('VIR_ERR_NO_DOMAIN', 'VIR_FROM_TEST', `no domain with matching id ${id}`);
  }

  async defineDomain(xml: string, _flags: number): Promise<DomainRef> {
    const def = parseDomainXml(xml);
    const existing = this.checkUnique(def);
    if (existing) {
      existing.def = def;
      existing.persistent = true;
      this.emit({ kind: 'lifecycle', dom: this.ref(existing), event: DomainEventType.DEFINED, detail: DomainEventDefinedDetail.UPDATED });
      return this.ref(existing);
    }
    const d: TestDomain = {
      uuid: def.uuid, name: def.name, id: -1, persistent: true, autostart: false,
      state: DomainState.SHUTOFF, reason: DomainShutoffReason.UNKNOWN, def, live: null, startedAt: 0n, console: null,
    };
    this.domains.set(d.uuid, d);
    this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.DEFINED, detail: DomainEventDefinedDetail.ADDED });
    return this.ref(d);
  }

  async undefineDomain(dom: DomainRef, _flags: number): Promise<void> {
    const d = this.get(dom);
    if (!d.persistent) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', 'cannot undefine transient domain');
    this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.UNDEFINED, detail: DomainEventUndefinedDetail.REMOVED });
    if (d.id >= 0) {
      d.persistent = false;
      d.autostart = false;
    } else {
      this.domains.delete(d.uuid);
    }
  }

  async createDomain(xml: string, flags: number): Promise<DomainRef> {
    const def = parseDomainXml(xml);
    const existing = this.checkUnique(def);
    if (existing) {
      if (existing.id >= 0) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', `domain '${def.name}' is already active`);
      this.run(existing, def, flags);
      return this.ref(existing);
    }
    const d: TestDomain = {
      uuid: def.uuid, name: def.name, id: -1, persistent: false, autostart: false,
      state: DomainState.SHUTOFF, reason: DomainShutoffReason.UNKNOWN, def, live: null, startedAt: 0n, console: null,
    };
    this.domains.set(d.uuid, d);
    this.run(d, def, flags);
    return this.ref(d);
  }

  async startDomain(dom: DomainRef, flags: number): Promise<DomainRef> {
    const d = this.get(dom);
    if (d.id >= 0) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', 'domain is already running');
    this.run(d, d.def, flags);
    return this.ref(d);
  }

  async destroyDomain(dom: DomainRef, _flags: number): Promise<void> {
    const d = this.get(dom);
    if (d.id < 0) throw notRunning(d);
    this.stop(d, DomainShutoffReason.DESTROYED, DomainEventStoppedDetail.DESTROYED);
  }

  async shutdownDomain(dom: DomainRef, _flags: number): Promise<void> {
    const d = this.get(dom);
    if (d.state !== DomainState.RUNNING) throw notRunning(d);
    this.stop(d, DomainShutoffReason.SHUTDOWN, DomainEventStoppedDetail.SHUTDOWN);
  }

  async rebootDomain(dom: DomainRef, _flags: number): Promise<void> {
    const d = this.get(dom);
    if (d.state !== DomainState.RUNNING) throw notRunning(d);
    this.emit({ kind: 'reboot', dom: this.ref(d) });
  }

  async resetDomain(dom: DomainRef, _flags: number): Promise<void> {
    const d = this.get(dom);
    if (d.id < 0) throw notRunning(d);
  }

  async suspendDomain(dom: DomainRef): Promise<void> {
    const d = this.get(dom);
    if (d.id < 0) throw notRunning(d);
    if (d.state === DomainState.PAUSED) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', `domain '${d.name}' is already paused`);
    d.state = DomainState.PAUSED;
    d.reason = DomainPausedReason.USER;
    this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.SUSPENDED, detail: DomainEventSuspendedDetail.PAUSED });
  }

  async resumeDomain(dom: DomainRef): Promise<void> {
    const d = this.get(dom);
    if (d.state !== DomainState.PAUSED) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', `domain '${d.name}' is not paused`);
    d.state = DomainState.RUNNING;
    d.reason = DomainRunningReason.UNPAUSED;
    this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.RESUMED, detail: DomainEventResumedDetail.UNPAUSED });
  }

  async getDomainInfo(dom: DomainRef): Promise<DomainInfo> {
    const d = this.get(dom);
    const def = d.live ?? d.def;
    return {
      state: d.state,
      maxMemKiB: def.memoryKiB,
      memoryKiB: d.id >= 0 ? def.currentMemoryKiB : def.currentMemoryKiB,
      nrVirtCpu: def.vcpus,
      cpuTimeNs: d.id >= 0 ? process.hrtime.bigint() - d.startedAt : 0n,
    };
  }

  async getDomainState(dom: DomainRef, _flags: number): Promise<{ state: DomainStateValue; reason: number }> {
    const d = this.get(dom);
    return { state: d.state, reason: d.reason };
  }

  async getDomainXml(dom: DomainRef, flags: number): Promise<string> {
    const d = this.get(dom);
    if (d.live && (flags & DomainXmlFlags.INACTIVE) === 0) return formatDef(d.live, d.id);
    return formatDef(d.def, (flags & DomainXmlFlags.INACTIVE) !== 0 ? -1 : d.id);
  }

  async getDomainOsType(dom: DomainRef): Promise<string> {
    return this.get(dom).def.osType;
  }

  async getDomainAutostart(dom: DomainRef): Promise<boolean> {
    return this.get(dom).autostart;
  }

  async setDomainAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    const d = this.get(dom);
    if (!d.persistent) throw virErr('VIR_ERR_OPERATION_INVALID', 'VIR_FROM_TEST', 'cannot set autostart for transient domain');
    d.autostart = autostart;
  }

  async isDomainActive(dom: DomainRef): Promise<boolean> {
    return this.get(dom).id >= 0;
  }

  async isDomainPersistent(dom: DomainRef): Promise<boolean> {
    return this.get(dom).persistent;
  }

  async isDomainUpdated(dom: DomainRef): Promise<boolean> {
    this.get(dom);
    return false;
  }

  async getDomainMaxMemory(dom: DomainRef): Promise<bigint> {
    return this.get(dom).def.memoryKiB;
  }

  async getDomainVcpus(dom: DomainRef): Promise<number> {
    const d = this.get(dom);
    return (d.live ?? d.def).vcpus;
  }

  async hasManagedSaveImage(dom: DomainRef): Promise<boolean> {
    this.get(dom);
    return false;
  }

  async snapshotCount(dom: DomainRef): Promise<number> {
    this.get(dom);
    return 0;
  }

  async getSecurityLabel(dom: DomainRef): Promise<SecurityLabel> {
    this.get(dom);
    return { label: '', enforcing: false };
  }

  async getDomainMessages(dom: DomainRef): Promise<string[]> {
    this.get(dom);
    return [];
  }

  async getDomainMetadata(dom: DomainRef, type: number, _uri: string | null, flags: number): Promise<string> {
    const d = this.get(dom);
    const def = (flags & DomainAffect.CONFIG) !== 0 || !d.live ? d.def : d.live;
    const tag = type === DomainMetadataType.DESCRIPTION ? 'description' : type === DomainMetadataType.TITLE ? 'title' : null;
    if (tag === null) {
      if (type === DomainMetadataType.ELEMENT) {
        throw virErr('VIR_ERR_ARGUMENT_UNSUPPORTED', 'VIR_FROM_TEST', 'the TEST driver keeps no <metadata> elements');
      }
      throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_TEST', `unknown metadata type '${type}'`);
    }
    const root = def.tree.find((n) => tagOf(n) === 'domain') as XmlNode;
    const text = textOf(findChild(children(root), tag));
    if (text === undefined || text === '') {
      throw virErr('VIR_ERR_NO_DOMAIN_METADATA', 'VIR_FROM_TEST', 'Requested metadata element is not present');
    }
    return text;
  }

  async openConsole(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
    const d = this.get(dom);
    if (d.id < 0) throw notRunning(d);
    if (devName !== null && devName !== 'serial0' && devName !== 'console0') {
      throw virErr('VIR_ERR_INTERNAL_ERROR', 'VIR_FROM_TEST', `cannot find character device ${devName}`);
    }
    const VIR_DOMAIN_CONSOLE_FORCE = 1;
    if (d.console && !d.console.destroyed) {
      if ((flags & VIR_DOMAIN_CONSOLE_FORCE) === 0) {
        throw virErr('VIR_ERR_OPERATION_FAILED', 'VIR_FROM_TEST', 'Active console session exists for this domain');
      }
      d.console.destroy();
    }
    const c = loopbackConsole(d.name);
    d.console = c;
    c.once('close', () => {
      if (d.console === c) d.console = null;
    });
    return c;
  }

  subscribe(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const d of this.domains.values()) d.console?.destroy();
    this.listeners.clear();
  }

  private ref(d: TestDomain): DomainRef {
    return { name: d.name, uuid: d.uuid, id: d.id };
  }

  private get(dom: { uuid: string; name: string }): TestDomain {
    const d = this.domains.get(dom.uuid);
    if (!d) {
      throw virErr('VIR_ERR_NO_DOMAIN', 'VIR_FROM_TEST', `no domain with matching uuid '${dom.uuid}'${dom.name ? ` (${dom.name})` : ''}`);
    }
    return d;
  }

  /** The existing domain with this name and UUID, none, or an error if only one matches. */
  private checkUnique(def: ParsedDef): TestDomain | undefined {
    const byUuid = this.domains.get(def.uuid);
    if (byUuid) {
      if (byUuid.name !== def.name) {
        throw virErr('VIR_ERR_OPERATION_FAILED', 'VIR_FROM_TEST', `domain '${byUuid.name}' is already defined with uuid ${def.uuid}`);
      }
      return byUuid;
    }
    for (const d of this.domains.values()) {
      if (d.name === def.name) {
        throw virErr('VIR_ERR_OPERATION_FAILED', 'VIR_FROM_TEST', `domain '${def.name}' already exists with uuid ${d.uuid}`);
      }
    }
    return undefined;
  }

  private run(d: TestDomain, def: ParsedDef, flags: number): void {
    d.live = def;
    d.id = this.nextId++;
    d.startedAt = process.hrtime.bigint();
    d.state = DomainState.RUNNING;
    d.reason = DomainRunningReason.BOOTED;
    this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.STARTED, detail: DomainEventStartedDetail.BOOTED });
    if ((flags & DomainCreateFlags.PAUSED) !== 0) {
      d.state = DomainState.PAUSED;
      d.reason = DomainPausedReason.USER;
      this.emit({ kind: 'lifecycle', dom: this.ref(d), event: DomainEventType.SUSPENDED, detail: DomainEventSuspendedDetail.PAUSED });
    }
  }

  private stop(d: TestDomain, reason: number, detail: number): void {
    const ref = this.ref(d);
    d.console?.end();
    d.console = null;
    d.id = -1;
    d.live = null;
    d.state = DomainState.SHUTOFF;
    d.reason = reason;
    this.emit({ kind: 'lifecycle', dom: ref, event: DomainEventType.STOPPED, detail });
    if (!d.persistent) this.domains.delete(d.uuid);
  }

  /** Events are delivered after the call that caused them has returned, as libvirt does. */
  private emit(e: DomainEvent): void {
    setImmediate(() => {
      for (const l of this.listeners) l(e);
    });
  }
}

