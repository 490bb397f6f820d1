/**
 * The dispatch table of tsvirtd's REMOTE_PROGRAM: one handler per implemented procedure,
 * each turning decoded `_args` into a `DriverApi` call and the result into `_ret`.
 *
 * What it does: connection-level procedures (AUTH_LIST, CONNECT_OPEN/CLOSE, features, URI,
 * versions, close callbacks, event registration) on the connection state; every domain and
 * node procedure through the driver, with libvirt's argument checks (flag sets, list
 * limits) and read-only checks done before the driver is called. Optional driver methods
 * that are absent answer VIR_ERR_NO_SUPPORT naming the public API, as libvirt does.
 * What it does not do: framing, program/version checks, read-only enforcement for
 * `writes` procedures, or packet I/O (see `connection.ts`).
 */
import type { Duplex } from 'node:stream';
import {
  DomainState,
  DomainXmlFlags,
  VIR_DOMAIN_EVENT_ID_LAST,
  type DomainRef,
  type DomainSummary,
  type DriverApi,
} from '../driver-api.js';
import { RemoteProcs, VirDrvFeature, type ArgsOf, type ProcedureDef, type RetOf } from '../protocol/remote-procedures.js';
import { REMOTE_AUTH_NONE, REMOTE_DOMAIN_LIST_MAX, type WireDomain } from '../protocol/remote-types.js';
import { uuidToBytes, uuidToString } from '../../xml/uuid.js';
import { virErr } from '../../xml/errors.js';

/** What a handler may see and change of its client connection. */
export interface ConnectionState {
  readonly readOnly: boolean;
  readonly uri: string | null;
  open(uri: string, readOnly: boolean): void;
  close(): void;
  enableKeepalive(): void;
  registerDomainEvent(eventID: number, domUuid: string | null): number;
  deregisterDomainEvent(callbackID: number): boolean;
  setCloseCallback(on: boolean): void;
  attachStream(proc: number, serial: number, stream: Duplex): void;
}

export interface CallContext {
  readonly driver: DriverApi;
  readonly conn: ConnectionState;
  readonly proc: number;
  readonly serial: number;
  /** libvirt version this daemon's protocol corresponds to (virConnectGetLibVersion). */
  readonly libVersion: number;
  /** Runs `fn` right after the reply has been queued (streams start after their reply). */
  afterReply(fn: () => void): void;
}

export interface DispatchEntry {
  readonly def: ProcedureDef<unknown, unknown>;
  /** Callable before CONNECT_OPEN (authentication and feature probes). */
  readonly preOpen: boolean;
  handle(ctx: CallContext, args: unknown): Promise<unknown>;
}

const table = new Map<number, DispatchEntry>();

function on<P extends ProcedureDef<any, any>>(
  def: P,
  handle: (ctx: CallContext, args: ArgsOf<P>) => Promise<RetOf<P>> | RetOf<P>,
  preOpen = false,
): void {
  table.set(def.proc, {
    def: def as ProcedureDef<unknown, unknown>,
    preOpen,
    handle: async (ctx, args) => handle(ctx, args as ArgsOf<P>),
  });
}

export function dispatchEntry(proc: number): DispatchEntry | undefined {
  return table.get(proc);
}

/** Procedure numbers with a handler (for tests and logs). */
export function implementedProcedures(): number[] {
  return [...table.keys()].sort((a, b) => a - b);
}

export function toRef(w: WireDomain): DomainRef {
  return { name: w.name, uuid: uuidToString(w.uuid), id: w.id };
}

export function toWire(r: DomainRef): WireDomain {
  return { name: r.name, uuid: uuidToBytes(r.uuid), id: r.id };
}

function unsupported(api: string): Error {
  return virErr('VIR_ERR_NO_SUPPORT', api.startsWith('virDomain') ? 'VIR_FROM_DOMAIN' : 'VIR_FROM_NONE', api);
}

/** The optional driver method `m`, or VIR_ERR_NO_SUPPORT for `api`. */
function need<F>(m: F | undefined, api: string): F {
  if (m === undefined) throw unsupported(api);
  return m;
}

function checkFlags(flags: number, allowed: number, api: string): void {
  const extra = flags & ~allowed;
  if (extra !== 0) {
    throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_NONE', `unsupported flags (0x${(extra >>> 0).toString(16)}) in function ${api}`);
  }
}

function checkMax(n: number, max: number, what: string): void {
  if (n < 0) throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_RPC', `${what} must be non-negative`);
  if (n > max) throw virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `${what} > REMOTE_DOMAIN_LIST_MAX`);
}

// ---- connection ----

on(RemoteProcs.AUTH_LIST, () => ({ types: [REMOTE_AUTH_NONE] }), true);

on(
  RemoteProcs.CONNECT_SUPPORTS_FEATURE,
  (ctx, { feature }) => {
    switch (feature) {
      case VirDrvFeature.PROGRAM_KEEPALIVE:
        ctx.conn.enableKeepalive();
        return { supported: 1 };
      case VirDrvFeature.REMOTE_EVENT_CALLBACK:
      case VirDrvFeature.REMOTE_CLOSE_CALLBACK:
      case VirDrvFeature.TYPED_PARAM_STRING:
        return { supported: 1 };
      default:
        return { supported: 0 };
    }
  },
  true,
);

const VIR_CONNECT_RO = 1;
const VIR_CONNECT_NO_ALIASES = 2;

on(
  RemoteProcs.CONNECT_OPEN,
  (ctx, { name, flags }) => {
    if (ctx.conn.uri !== null) throw virErr('VIR_ERR_INTERNAL_ERROR', 'VIR_FROM_RPC', 'connection already open');
    checkFlags(flags, VIR_CONNECT_RO | VIR_CONNECT_NO_ALIASES, 'virConnectOpen');
    const uri = ctx.driver.matchUri(name);
    if (uri === null) throw virErr('VIR_ERR_NO_CONNECT', 'VIR_FROM_NONE', name ?? '(default)');
    ctx.conn.open(uri, (flags & VIR_CONNECT_RO) !== 0);
  },
  true,
);

on(RemoteProcs.CONNECT_CLOSE, (ctx) => ctx.conn.close());
on(RemoteProcs.CONNECT_GET_TYPE, (ctx) => ({ type: ctx.driver.type }));
on(RemoteProcs.CONNECT_GET_URI, (ctx) => ({ uri: ctx.conn.uri ?? '' }));
on(RemoteProcs.CONNECT_IS_SECURE, () => ({ secure: 1 }));
on(RemoteProcs.CONNECT_GET_LIB_VERSION, (ctx) => ({ lib_ver: BigInt(ctx.libVersion) }));
on(RemoteProcs.CONNECT_GET_VERSION, async (ctx) => ({ hv_ver: BigInt(await ctx.driver.getVersion()) }));
on(RemoteProcs.CONNECT_GET_HOSTNAME, async (ctx) => ({ hostname: await ctx.driver.getHostname() }));
on(RemoteProcs.CONNECT_GET_CAPABILITIES, async (ctx) => ({ capabilities: await ctx.driver.getCapabilities() }));
on(RemoteProcs.CONNECT_GET_MAX_VCPUS, async (ctx, { type }) => ({
  max_vcpus: await need(ctx.driver.getMaxVcpus, 'virConnectGetMaxVcpus').call(ctx.driver, type),
}));
on(RemoteProcs.CONNECT_GET_DOMAIN_CAPABILITIES, async (ctx, args) => ({
  capabilities: await need(ctx.driver.getDomainCapabilities, 'virConnectGetDomainCapabilities').call(ctx.driver, args),
}));
on(RemoteProcs.CONNECT_REGISTER_CLOSE_CALLBACK, (ctx) => ctx.conn.setCloseCallback(true));
on(RemoteProcs.CONNECT_UNREGISTER_CLOSE_CALLBACK, (ctx) => ctx.conn.setCloseCallback(false));

on(RemoteProcs.NODE_GET_INFO, async (ctx) => {
  const n = await ctx.driver.getNodeInfo();
  return {
    model: n.model,
    memory: n.memoryKiB,
    cpus: n.cpus,
    mhz: n.mhz,
    nodes: n.nodes,
    sockets: n.sockets,
    cores: n.cores,
    threads: n.threads,
  };
});

on(RemoteProcs.NODE_GET_FREE_MEMORY, async (ctx) => ({
  freeMem: await need(ctx.driver.getFreeMemory, 'virNodeGetFreeMemory').call(ctx.driver),
}));

on(RemoteProcs.NODE_GET_SECURITY_MODEL, async (ctx) => need(ctx.driver.getSecurityModel, 'virNodeGetSecurityModel').call(ctx.driver));

on(RemoteProcs.CONNECT_DOMAIN_XML_TO_NATIVE, async (ctx, a) => ({
  nativeConfig: await need(ctx.driver.domainXmlToNative, 'virConnectDomainXMLToNative').call(ctx.driver, a.nativeFormat, a.domainXml, a.flags),
}));
on(RemoteProcs.CONNECT_DOMAIN_XML_FROM_NATIVE, async (ctx, a) => ({
  domainXml: await need(ctx.driver.domainXmlFromNative, 'virConnectDomainXMLFromNative').call(ctx.driver, a.nativeFormat, a.nativeConfig, a.flags),
}));

// ---- events ----

on(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, (ctx, { eventID, dom }) => {
  if (eventID < 0 || eventID >= VIR_DOMAIN_EVENT_ID_LAST) {
    throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_NONE', `unsupported event ID ${eventID}`);
  }
  return { callbackID: ctx.conn.registerDomainEvent(eventID, dom ? uuidToString(dom.uuid) : null) };
});

on(RemoteProcs.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, (ctx, { callbackID }) => {
  if (!ctx.conn.deregisterDomainEvent(callbackID)) {
    throw virErr('VIR_ERR_INVALID_ARG', 'VIR_FROM_NONE', `callback ID ${callbackID} not registered`);
  }
});

// ---- domain lists ----

const LIST = {
  ACTIVE: 1, INACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, RUNNING: 16, PAUSED: 32, SHUTOFF: 64, OTHER: 128,
  MANAGEDSAVE: 256, NO_MANAGEDSAVE: 512, AUTOSTART: 1024, NO_AUTOSTART: 2048, HAS_SNAPSHOT: 4096, NO_SNAPSHOT: 8192,
  HAS_CHECKPOINT: 16384, NO_CHECKPOINT: 32768,
} as const;
const LIST_ALL_FLAGS = 0xffff;

function isActive(d: DomainSummary): boolean {
  return d.ref.id >= 0;
}

/** virConnectListAllDomains' filter: within each group of flags, a domain must match one set flag. */
export function listFilter(flags: number): (d: DomainSummary) => boolean {
  const group = (a: number, b: number, ma: (d: DomainSummary) => boolean) => (d: DomainSummary) =>
    (flags & (a | b)) === 0 || ((flags & a) !== 0 && ma(d)) || ((flags & b) !== 0 && !ma(d));
  const checks = [
    group(LIST.ACTIVE, LIST.INACTIVE, isActive),
    group(LIST.PERSISTENT, LIST.TRANSIENT, (d) => d.persistent),
    group(LIST.MANAGEDSAVE, LIST.NO_MANAGEDSAVE, (d) => d.hasManagedSave),
    group(LIST.AUTOSTART, LIST.NO_AUTOSTART, (d) => d.autostart),
    group(LIST.HAS_SNAPSHOT, LIST.NO_SNAPSHOT, (d) => d.hasSnapshot),
    group(LIST.HAS_CHECKPOINT, LIST.NO_CHECKPOINT, () => false),
    (d: DomainSummary) => {
      const states = flags & (LIST.RUNNING | LIST.PAUSED | LIST.SHUTOFF | LIST.OTHER);
      if (states === 0) return true;
      const s = d.state;
      if (s === DomainState.RUNNING) return (states & LIST.RUNNING) !== 0;
      if (s === DomainState.PAUSED) return (states & LIST.PAUSED) !== 0;
      if (s === DomainState.SHUTOFF) return (states & LIST.SHUTOFF) !== 0;
      return (states & LIST.OTHER) !== 0;
    },
  ];
  return (d) => checks.every((c) => c(d));
}

on(RemoteProcs.CONNECT_LIST_ALL_DOMAINS, async (ctx, { need_results, flags }) => {
  checkFlags(flags, LIST_ALL_FLAGS, 'virConnectListAllDomains');
  const doms = (await ctx.driver.listDomains()).filter(listFilter(flags));
  if (doms.length > REMOTE_DOMAIN_LIST_MAX) {
    throw virErr('VIR_ERR_RPC', 'VIR_FROM_RPC', `Too many domains '${doms.length}' for limit '${REMOTE_DOMAIN_LIST_MAX}'`);
  }
  return { domains: need_results ? doms.map((d) => toWire(d.ref)) : [], ret: doms.length };
});

on(RemoteProcs.CONNECT_LIST_DOMAINS, async (ctx, { maxids }) => {
  checkMax(maxids, REMOTE_DOMAIN_LIST_MAX, 'maxids');
  const ids = (await ctx.driver.listDomains())
    .filter(isActive)
    .map((d) => d.ref.id)
    .sort((a, b) => a - b);
  return { ids: ids.slice(0, maxids) };
});

on(RemoteProcs.CONNECT_LIST_DEFINED_DOMAINS, async (ctx, { maxnames }) => {
  checkMax(maxnames, REMOTE_DOMAIN_LIST_MAX, 'maxnames');
  const names = (await ctx.driver.listDomains()).filter((d) => !isActive(d) && d.persistent).map((d) => d.ref.name);
  return { names: names.slice(0, maxnames) };
});

on(RemoteProcs.CONNECT_NUM_OF_DOMAINS, async (ctx) => ({ num: (await ctx.driver.listDomains()).filter(isActive).length }));
on(RemoteProcs.CONNECT_NUM_OF_DEFINED_DOMAINS, async (ctx) => ({
  num: (await ctx.driver.listDomains()).filter((d) => !isActive(d) && d.persistent).length,
}));

// ---- lookups, define, lifecycle ----

on(RemoteProcs.DOMAIN_LOOKUP_BY_NAME, async (ctx, { name }) => ({ dom: toWire(await ctx.driver.lookupDomainByName(name)) }));
on(RemoteProcs.DOMAIN_LOOKUP_BY_UUID, async (ctx, { uuid }) => ({ dom: toWire(await ctx.driver.lookupDomainByUuid(uuidToString(uuid))) }));
on(RemoteProcs.DOMAIN_LOOKUP_BY_ID, async (ctx, { id }) => ({ dom: toWire(await ctx.driver.lookupDomainById(id)) }));

on(RemoteProcs.DOMAIN_DEFINE_XML, async (ctx, { xml }) => ({ dom: toWire(await ctx.driver.defineDomain(xml, 0)) }));
on(RemoteProcs.DOMAIN_DEFINE_XML_FLAGS, async (ctx, { xml, flags }) => ({ dom: toWire(await ctx.driver.defineDomain(xml, flags)) }));
on(RemoteProcs.DOMAIN_UNDEFINE, (ctx, { dom }) => ctx.driver.undefineDomain(toRef(dom), 0));
on(RemoteProcs.DOMAIN_UNDEFINE_FLAGS, (ctx, { dom, flags }) => ctx.driver.undefineDomain(toRef(dom), flags));
on(RemoteProcs.DOMAIN_CREATE_XML, async (ctx, { xml_desc, flags }) => ({ dom: toWire(await ctx.driver.createDomain(xml_desc, flags)) }));
on(RemoteProcs.DOMAIN_CREATE, async (ctx, { dom }) => {
  await ctx.driver.startDomain(toRef(dom), 0);
});
on(RemoteProcs.DOMAIN_CREATE_WITH_FLAGS, async (ctx, { dom, flags }) => ({ dom: toWire(await ctx.driver.startDomain(toRef(dom), flags)) }));
on(RemoteProcs.DOMAIN_DESTROY, (ctx, { dom }) => ctx.driver.destroyDomain(toRef(dom), 0));
on(RemoteProcs.DOMAIN_DESTROY_FLAGS, (ctx, { dom, flags }) => ctx.driver.destroyDomain(toRef(dom), flags));
on(RemoteProcs.DOMAIN_SHUTDOWN, (ctx, { dom }) => ctx.driver.shutdownDomain(toRef(dom), 0));
on(RemoteProcs.DOMAIN_SHUTDOWN_FLAGS, (ctx, { dom, flags }) => ctx.driver.shutdownDomain(toRef(dom), flags));
on(RemoteProcs.DOMAIN_REBOOT, (ctx, { dom, flags }) => ctx.driver.rebootDomain(toRef(dom), flags));
on(RemoteProcs.DOMAIN_RESET, (ctx, { dom, flags }) => ctx.driver.resetDomain(toRef(dom), flags));
on(RemoteProcs.DOMAIN_SUSPEND, (ctx, { dom }) => ctx.driver.suspendDomain(toRef(dom)));
on(RemoteProcs.DOMAIN_RESUME, (ctx, { dom }) => ctx.driver.resumeDomain(toRef(dom)));

// ---- domain queries ----

on(RemoteProcs.DOMAIN_GET_INFO, async (ctx, { dom }) => {
  const i = await ctx.driver.getDomainInfo(toRef(dom));
  return { state: i.state, maxMem: i.maxMemKiB, memory: i.memoryKiB, nrVirtCpu: i.nrVirtCpu, cpuTime: i.cpuTimeNs };
});
on(RemoteProcs.DOMAIN_GET_STATE, (ctx, { dom, flags }) => ctx.driver.getDomainState(toRef(dom), flags));
on(RemoteProcs.DOMAIN_GET_XML_DESC, async (ctx, { dom, flags }) => {
  if (ctx.conn.readOnly && (flags & DomainXmlFlags.SECURE) !== 0) {
    throw virErr('VIR_ERR_OPERATION_DENIED', 'VIR_FROM_DOMAIN', 'virDomainGetXMLDesc with secure flag');
  }
  return { xml: await ctx.driver.getDomainXml(toRef(dom), flags) };
});
on(RemoteProcs.DOMAIN_GET_OS_TYPE, async (ctx, { dom }) => ({ type: await ctx.driver.getDomainOsType(toRef(dom)) }));
on(RemoteProcs.DOMAIN_GET_AUTOSTART, async (ctx, { dom }) => ({ autostart: (await ctx.driver.getDomainAutostart(toRef(dom))) ? 1 : 0 }));
on(RemoteProcs.DOMAIN_SET_AUTOSTART, (ctx, { dom, autostart }) => ctx.driver.setDomainAutostart(toRef(dom), autostart !== 0));
on(RemoteProcs.DOMAIN_IS_ACTIVE, async (ctx, { dom }) => ({ active: (await ctx.driver.isDomainActive(toRef(dom))) ? 1 : 0 }));
on(RemoteProcs.DOMAIN_IS_PERSISTENT, async (ctx, { dom }) => ({ persistent: (await ctx.driver.isDomainPersistent(toRef(dom))) ? 1 : 0 }));
on(RemoteProcs.DOMAIN_IS_UPDATED, async (ctx, { dom }) => ({
  updated: (await need(ctx.driver.isDomainUpdated, 'virDomainIsUpdated').call(ctx.driver, toRef(dom))) ? 1 : 0,
}));
on(RemoteProcs.DOMAIN_GET_MAX_MEMORY, async (ctx, { dom }) => ({
  memory: await need(ctx.driver.getDomainMaxMemory, 'virDomainGetMaxMemory').call(ctx.driver, toRef(dom)),
}));
/** virDomainGetMaxVcpus is virDomainGetVcpusFlags(LIVE | MAXIMUM) in libvirt's drivers. */
const VIR_DOMAIN_AFFECT_LIVE = 1;
const VIR_DOMAIN_VCPU_MAXIMUM = 4;
on(RemoteProcs.DOMAIN_GET_MAX_VCPUS, async (ctx, { dom }) => ({
  num: await need(ctx.driver.getDomainVcpus, 'virDomainGetMaxVcpus').call(ctx.driver, toRef(dom), VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM),
}));
on(RemoteProcs.DOMAIN_GET_VCPUS_FLAGS, async (ctx, { dom, flags }) => ({
  num: await need(ctx.driver.getDomainVcpus, 'virDomainGetVcpusFlags').call(ctx.driver, toRef(dom), flags),
}));
on(RemoteProcs.DOMAIN_HAS_MANAGED_SAVE_IMAGE, async (ctx, { dom, flags }) => ({
  result: (await need(ctx.driver.hasManagedSaveImage, 'virDomainHasManagedSaveImage').call(ctx.driver, toRef(dom), flags)) ? 1 : 0,
}));
on(RemoteProcs.DOMAIN_SNAPSHOT_NUM, async (ctx, { dom, flags }) => ({
  num: await need(ctx.driver.snapshotCount, 'virDomainSnapshotNum').call(ctx.driver, toRef(dom), flags),
}));
on(RemoteProcs.DOMAIN_GET_SECURITY_LABEL, async (ctx, { dom }) => {
  const l = await need(ctx.driver.getSecurityLabel, 'virDomainGetSecurityLabel').call(ctx.driver, toRef(dom));
  return { label: l.label, enforcing: l.enforcing ? 1 : 0 };
});
on(RemoteProcs.DOMAIN_GET_MESSAGES, async (ctx, { dom, flags }) => ({
  msgs: await need(ctx.driver.getDomainMessages, 'virDomainGetMessages').call(ctx.driver, toRef(dom), flags),
}));

on(RemoteProcs.DOMAIN_GET_METADATA, async (ctx, { dom, type, uri, flags }) => ({
  metadata: await need(ctx.driver.getDomainMetadata, 'virDomainGetMetadata').call(ctx.driver, toRef(dom), type, uri, flags),
}));

// ---- console stream ----

on(RemoteProcs.DOMAIN_OPEN_CONSOLE, async (ctx, { dom, dev_name, flags }) => {
  const stream = await need(ctx.driver.openConsole, 'virDomainOpenConsole').call(ctx.driver, toRef(dom), dev_name, flags);
  const { proc, serial } = ctx;
  ctx.afterReply(() => ctx.conn.attachStream(proc, serial, stream));
});
