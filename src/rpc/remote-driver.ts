/**
 * `RemoteDriver`: the `DriverApi` over a libvirt RPC connection — the same interface the
 * daemon's drivers implement, answered by a daemon instead. `tsvirsh` uses it when a daemon
 * socket is present, so its commands are written once against DriverApi whether they run
 * embedded or through tsvirtd (or a real libvirtd: the protocol is the same).
 *
 * What it does: one RpcClient call per method, domains as {name, uuid, id} in canonical
 * UUID text, errors from the server rethrown as `RemoteCallError` (libvirt's code, domain
 * and message, the shape DriverApi errors have), events through one server-side callback
 * per event kind registered on first subscription, the console as the stream's Duplex.
 * What it does not do: reconnect (a closed connection fails every later call with
 * ConnectionClosedError).
 */
import type { Duplex } from 'node:stream';
import { RpcClient } from './client.js';
import {
  DomainEventId,
  DomainState,
  type DomainCapabilitiesQuery,
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
import { RemoteProcs } from './protocol/remote-procedures.js';
import type { WireDomain } from './protocol/remote-types.js';
import { uuidToBytes, uuidToString } from '../xml/uuid.js';

const wire = (r: DomainRef): WireDomain => ({ name: r.name, uuid: uuidToBytes(r.uuid), id: r.id });
const ref = (w: WireDomain): DomainRef => ({ name: w.name, uuid: uuidToString(w.uuid), id: w.id });

/** virConnectListAllDomains flags used to learn each domain's list attributes. */
const LIST = { PERSISTENT: 4, RUNNING: 16, PAUSED: 32, SHUTOFF: 64, MANAGEDSAVE: 256, AUTOSTART: 1024, HAS_SNAPSHOT: 4096 } as const;

export class RemoteDriver implements DriverApi {
  readonly type: string;
  private readonly listeners = new Set<DomainEventListener>();
  private eventsRegistered: Promise<void> | null = null;

  private constructor(
    private readonly client: RpcClient,
    type: string,
    private readonly uri: string,
  ) {
    this.type = type;
  }

  /** Connects to a daemon socket and opens `uri` (null: the daemon's default). */
  static async connect(socketPath: string, uri: string | null, opts: { readOnly?: boolean } = {}): Promise<RemoteDriver> {
    const client = await RpcClient.connect(socketPath);
    try {
      await client.open(uri, opts.readOnly ? 1 : 0);
      const { type } = await client.call(RemoteProcs.CONNECT_GET_TYPE, undefined);
      const { uri: opened } = await client.call(RemoteProcs.CONNECT_GET_URI, undefined);
      return new RemoteDriver(client, type, opened);
    } catch (e) {
      client.destroy();
      throw e;
    }
  }

  /** The URI the daemon opened for this connection. */
  get connectedUri(): string {
    return this.uri;
  }

  matchUri(name: string | null): string | null {
    return name === null || name === this.uri ? this.uri : null;
  }

  async getVersion(): Promise<number> {
    return Number((await this.client.call(RemoteProcs.CONNECT_GET_VERSION, undefined)).hv_ver);
  }

  /** virConnectGetLibVersion: the daemon's libvirt protocol level. */
  async getLibVersion(): Promise<number> {
    return Number((await this.client.call(RemoteProcs.CONNECT_GET_LIB_VERSION, undefined)).lib_ver);
  }

  async getHostname(): Promise<string> {
    return (await this.client.call(RemoteProcs.CONNECT_GET_HOSTNAME, undefined)).hostname;
  }

  async getCapabilities(): Promise<string> {
    return (await this.client.call(RemoteProcs.CONNECT_GET_CAPABILITIES, undefined)).capabilities;
  }

  async getNodeInfo(): Promise<NodeInfo> {
    const n = await this.client.call(RemoteProcs.NODE_GET_INFO, undefined);
    return { model: n.model, memoryKiB: n.memory, cpus: n.cpus, mhz: n.mhz, nodes: n.nodes, sockets: n.sockets, cores: n.cores, threads: n.threads };
  }

  async getDomainCapabilities(q: DomainCapabilitiesQuery): Promise<string> {
    return (await this.client.call(RemoteProcs.CONNECT_GET_DOMAIN_CAPABILITIES, q)).capabilities;
  }

  async getMaxVcpus(type: string | null): Promise<number> {
    return (await this.client.call(RemoteProcs.CONNECT_GET_MAX_VCPUS, { type })).max_vcpus;
  }

  async getSecurityModel(): Promise<SecurityModel> {
    return this.client.call(RemoteProcs.NODE_GET_SECURITY_MODEL, undefined);
  }

  async listDomains(): Promise<DomainSummary[]> {
    // A few filtered list calls whatever the number of domains, instead of several calls
    // per domain; only domains in a state other than running/paused/shut off are asked one
    // by one.
    const all = async (flags: number) => (await this.client.call(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags })).domains;
    const uuids = async (flags: number) => new Set((await all(flags)).map((d) => uuidToString(d.uuid)));
    const [doms, persistent, autostart, managed, snap, running, paused, shutoff] = await Promise.all([
      all(0),
      uuids(LIST.PERSISTENT),
      uuids(LIST.AUTOSTART),
      uuids(LIST.MANAGEDSAVE),
      uuids(LIST.HAS_SNAPSHOT),
      uuids(LIST.RUNNING),
      uuids(LIST.PAUSED),
      uuids(LIST.SHUTOFF),
    ]);
    return Promise.all(
      doms.map(async (w) => {
        const r = ref(w);
        let state: DomainStateValue;
        if (running.has(r.uuid)) state = DomainState.RUNNING;
        else if (paused.has(r.uuid)) state = DomainState.PAUSED;
        else if (shutoff.has(r.uuid)) state = DomainState.SHUTOFF;
        else state = (await this.client.call(RemoteProcs.DOMAIN_GET_STATE, { dom: w, flags: 0 })).state as DomainStateValue;
        return {
          ref: r,
          state,
          persistent: persistent.has(r.uuid),
          autostart: autostart.has(r.uuid),
          hasManagedSave: managed.has(r.uuid),
          hasSnapshot: snap.has(r.uuid),
        };
      }),
    );
  }

  async lookupDomainByName(name: string): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, { name })).dom);
  }

  async lookupDomainByUuid(uuid: string): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_LOOKUP_BY_UUID, { uuid: uuidToBytes(uuid) })).dom);
  }

  async lookupDomainById(id: number): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_LOOKUP_BY_ID, { id })).dom);
  }

  async defineDomain(xml: string, flags: number): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_DEFINE_XML_FLAGS, { xml, flags })).dom);
  }

  async undefineDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_UNDEFINE_FLAGS, { dom: wire(dom), flags });
  }

  async createDomain(xml: string, flags: number): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_CREATE_XML, { xml_desc: xml, flags })).dom);
  }

  async startDomain(dom: DomainRef, flags: number): Promise<DomainRef> {
    return ref((await this.client.call(RemoteProcs.DOMAIN_CREATE_WITH_FLAGS, { dom: wire(dom), flags })).dom);
  }

  async destroyDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_DESTROY_FLAGS, { dom: wire(dom), flags });
  }

  async shutdownDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_SHUTDOWN_FLAGS, { dom: wire(dom), flags });
  }

  async rebootDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_REBOOT, { dom: wire(dom), flags });
  }

  async resetDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_RESET, { dom: wire(dom), flags });
  }

  async suspendDomain(dom: DomainRef): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_SUSPEND, { dom: wire(dom) });
  }

  async resumeDomain(dom: DomainRef): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_RESUME, { dom: wire(dom) });
  }

  async getDomainInfo(dom: DomainRef): Promise<DomainInfo> {
    const i = await this.client.call(RemoteProcs.DOMAIN_GET_INFO, { dom: wire(dom) });
    return { state: i.state as DomainStateValue, maxMemKiB: i.maxMem, memoryKiB: i.memory, nrVirtCpu: i.nrVirtCpu, cpuTimeNs: i.cpuTime };
  }

  async getDomainState(dom: DomainRef, flags: number): Promise<{ state: DomainStateValue; reason: number }> {
    const s = await this.client.call(RemoteProcs.DOMAIN_GET_STATE, { dom: wire(dom), flags });
    return { state: s.state as DomainStateValue, reason: s.reason };
  }

  async getDomainXml(dom: DomainRef, flags: number): Promise<string> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_XML_DESC, { dom: wire(dom), flags })).xml;
  }

  async getDomainOsType(dom: DomainRef): Promise<string> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_OS_TYPE, { dom: wire(dom) })).type;
  }

  async getDomainAutostart(dom: DomainRef): Promise<boolean> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_AUTOSTART, { dom: wire(dom) })).autostart !== 0;
  }

  async setDomainAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    await this.client.call(RemoteProcs.DOMAIN_SET_AUTOSTART, { dom: wire(dom), autostart: autostart ? 1 : 0 });
  }

  async isDomainActive(dom: DomainRef): Promise<boolean> {
    return (await this.client.call(RemoteProcs.DOMAIN_IS_ACTIVE, { dom: wire(dom) })).active !== 0;
  }

  async isDomainPersistent(dom: DomainRef): Promise<boolean> {
    return (await this.client.call(RemoteProcs.DOMAIN_IS_PERSISTENT, { dom: wire(dom) })).persistent !== 0;
  }

  async isDomainUpdated(dom: DomainRef): Promise<boolean> {
    return (await this.client.call(RemoteProcs.DOMAIN_IS_UPDATED, { dom: wire(dom) })).updated !== 0;
  }

  async getDomainMaxMemory(dom: DomainRef): Promise<bigint> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_MAX_MEMORY, { dom: wire(dom) })).memory;
  }

  async getDomainVcpus(dom: DomainRef, flags: number): Promise<number> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_VCPUS_FLAGS, { dom: wire(dom), flags })).num;
  }

  async hasManagedSaveImage(dom: DomainRef, flags: number): Promise<boolean> {
    return (await this.client.call(RemoteProcs.DOMAIN_HAS_MANAGED_SAVE_IMAGE, { dom: wire(dom), flags })).result !== 0;
  }

  async snapshotCount(dom: DomainRef, flags: number): Promise<number> {
    return (await this.client.call(RemoteProcs.DOMAIN_SNAPSHOT_NUM, { dom: wire(dom), flags })).num;
  }

  async getSecurityLabel(dom: DomainRef): Promise<SecurityLabel> {
    const l = await this.client.call(RemoteProcs.DOMAIN_GET_SECURITY_LABEL, { dom: wire(dom) });
    return { label: l.label, enforcing: l.enforcing !== 0 };
  }

  async getDomainMessages(dom: DomainRef, flags: number): Promise<string[]> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_MESSAGES, { dom: wire(dom), flags })).msgs;
  }

  async getFreeMemory(): Promise<bigint> {
    return (await this.client.call(RemoteProcs.NODE_GET_FREE_MEMORY, undefined)).freeMem;
  }

  async getDomainMetadata(dom: DomainRef, type: number, uri: string | null, flags: number): Promise<string> {
    return (await this.client.call(RemoteProcs.DOMAIN_GET_METADATA, { dom: wire(dom), type, uri, flags })).metadata;
  }

  async domainXmlToNative(format: string, xml: string, flags: number): Promise<string> {
    return (await this.client.call(RemoteProcs.CONNECT_DOMAIN_XML_TO_NATIVE, { nativeFormat: format, domainXml: xml, flags })).nativeConfig;
  }

  async domainXmlFromNative(format: string, config: string, flags: number): Promise<string> {
    return (await this.client.call(RemoteProcs.CONNECT_DOMAIN_XML_FROM_NATIVE, { nativeFormat: format, nativeConfig: config, flags })).domainXml;
  }

  async openConsole(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
    return this.client.openConsole(wire(dom), devName, flags);
  }

  subscribe(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    if (!this.eventsRegistered) {
      const fan = (e: Parameters<DomainEventListener>[0]) => {
        for (const l of this.listeners) l(e);
      };
      this.eventsRegistered = Promise.all([
        this.client.registerDomainEvent(DomainEventId.LIFECYCLE, fan),
        this.client.registerDomainEvent(DomainEventId.REBOOT, fan),
      ]).then(() => undefined);
    }
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the server-side event callbacks are in place (after `subscribe`). */
  async eventsReady(): Promise<void> {
    await this.eventsRegistered;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
