/**
 * The procedures of libvirt's REMOTE_PROGRAM that tsvirt speaks, each with its number, the
 * public API it serves, and typed codecs for its `remote_<name>_args` / `_ret` structs (as
 * declared in libvirt's `src/remote/remote_protocol.x`), plus the event messages it sends.
 *
 * Both the server (dispatch table) and the client (`client.ts`) use these definitions, so
 * the two cannot disagree. Procedures not listed here are answered VIR_ERR_NO_SUPPORT by the
 * server; `procedure-names.ts` names all of libvirt's for logging.
 *
 * `writes: true` marks calls that change state: the public API checks read-only
 * connections for them (libvirt's `virCheckReadOnlyGoto`), so a client of the read-only
 * socket gets VIR_ERR_OPERATION_DENIED.
 */
import {
  type Codec,
  type Infer,
  xarray,
  xcharString,
  xfixedCharString,
  xint,
  xstruct,
  xuchar,
  xuhyper,
  xuint,
  xushort,
  xvoid,
} from '../xdr-codec.js';
import {
  REMOTE_AUTH_TYPE_LIST_MAX,
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_DOMAIN_MESSAGES_MAX,
  REMOTE_SECURITY_DOI_MAX,
  REMOTE_SECURITY_LABEL_MAX,
  REMOTE_SECURITY_MODEL_MAX,
  nonnullDomain,
  nonnullString,
  optDomain,
  optString,
  uuidCodec,
} from './remote-types.js';

export interface ProcedureDef<A, R> {
  readonly proc: number;
  /** REMOTE_PROC_* name */
  readonly name: string;
  /** The public libvirt API this procedure carries (used in error messages). */
  readonly api: string;
  readonly args: Codec<A>;
  readonly ret: Codec<R>;
  /** Changes state: refused on read-only connections. */
  readonly writes: boolean;
}

export type ArgsOf<P> = P extends ProcedureDef<infer A, unknown> ? A : never;
export type RetOf<P> = P extends ProcedureDef<unknown, infer R> ? R : never;

function def<A, R>(proc: number, name: string, api: string, args: Codec<A>, ret: Codec<R>, writes = false): ProcedureDef<A, R> {
  return { proc, name: `REMOTE_PROC_${name}`, api, args, ret, writes };
}

const domOnly = xstruct({ dom: nonnullDomain });
const domFlags = xstruct({ dom: nonnullDomain, flags: xuint });
const domRet = xstruct({ dom: nonnullDomain });
const numRet = xstruct({ num: xint });
const xmlFlags = xstruct({ xml: nonnullString, flags: xuint });

export const nodeInfoRet = xstruct({
  model: xfixedCharString(32),
  memory: xuhyper,
  cpus: xint,
  mhz: xint,
  nodes: xint,
  sockets: xint,
  cores: xint,
  threads: xint,
});

export const domainInfoRet = xstruct({
  state: xuchar,
  maxMem: xuhyper,
  memory: xuhyper,
  nrVirtCpu: xushort,
  cpuTime: xuhyper,
});

export const securityLabelRet = xstruct({
  label: xcharString(REMOTE_SECURITY_LABEL_MAX),
  enforcing: xint,
});

export const RemoteProcs = {
  CONNECT_OPEN: def(1, 'CONNECT_OPEN', 'virConnectOpen', xstruct({ name: optString, flags: xuint }), xvoid),
  CONNECT_CLOSE: def(2, 'CONNECT_CLOSE', 'virConnectClose', xvoid, xvoid),
  CONNECT_GET_TYPE: def(3, 'CONNECT_GET_TYPE', 'virConnectGetType', xvoid, xstruct({ type: nonnullString })),
  CONNECT_GET_VERSION: def(4, 'CONNECT_GET_VERSION', 'virConnectGetVersion', xvoid, xstruct({ hv_ver: xuhyper })),
  CONNECT_GET_MAX_VCPUS: def(5, 'CONNECT_GET_MAX_VCPUS', 'virConnectGetMaxVcpus', xstruct({ type: optString }), xstruct({ max_vcpus: xint })),
  NODE_GET_INFO: def(6, 'NODE_GET_INFO', 'virNodeGetInfo', xvoid, nodeInfoRet),
  CONNECT_GET_CAPABILITIES: def(7, 'CONNECT_GET_CAPABILITIES', 'virConnectGetCapabilities', xvoid, xstruct({ capabilities: nonnullString })),
  DOMAIN_CREATE: def(9, 'DOMAIN_CREATE', 'virDomainCreate', domOnly, xvoid, true),
  DOMAIN_CREATE_XML: def(10, 'DOMAIN_CREATE_XML', 'virDomainCreateXML', xstruct({ xml_desc: nonnullString, flags: xuint }), domRet, true),
  DOMAIN_DEFINE_XML: def(11, 'DOMAIN_DEFINE_XML', 'virDomainDefineXML', xstruct({ xml: nonnullString }), domRet, true),
  DOMAIN_DESTROY: def(12, 'DOMAIN_DESTROY', 'virDomainDestroy', domOnly, xvoid, true),
  DOMAIN_GET_XML_DESC: def(14, 'DOMAIN_GET_XML_DESC', 'virDomainGetXMLDesc', domFlags, xstruct({ xml: nonnullString })),
  DOMAIN_GET_AUTOSTART: def(15, 'DOMAIN_GET_AUTOSTART', 'virDomainGetAutostart', domOnly, xstruct({ autostart: xint })),
  DOMAIN_GET_INFO: def(16, 'DOMAIN_GET_INFO', 'virDomainGetInfo', domOnly, domainInfoRet),
  DOMAIN_GET_MAX_MEMORY: def(17, 'DOMAIN_GET_MAX_MEMORY', 'virDomainGetMaxMemory', domOnly, xstruct({ memory: xuhyper })),
  DOMAIN_GET_MAX_VCPUS: def(18, 'DOMAIN_GET_MAX_VCPUS', 'virDomainGetMaxVcpus', domOnly, numRet),
  DOMAIN_GET_OS_TYPE: def(19, 'DOMAIN_GET_OS_TYPE', 'virDomainGetOSType', domOnly, xstruct({ type: nonnullString })),
  CONNECT_LIST_DEFINED_DOMAINS: def(21, 'CONNECT_LIST_DEFINED_DOMAINS', 'virConnectListDefinedDomains', xstruct({ maxnames: xint }), xstruct({ names: xarray(nonnullString, REMOTE_DOMAIN_LIST_MAX) })),
  DOMAIN_LOOKUP_BY_ID: def(22, 'DOMAIN_LOOKUP_BY_ID', 'virDomainLookupByID', xstruct({ id: xint }), domRet),
  DOMAIN_LOOKUP_BY_NAME: def(23, 'DOMAIN_LOOKUP_BY_NAME', 'virDomainLookupByName', xstruct({ name: nonnullString }), domRet),
  DOMAIN_LOOKUP_BY_UUID: def(24, 'DOMAIN_LOOKUP_BY_UUID', 'virDomainLookupByUUID', xstruct({ uuid: uuidCodec }), domRet),
  CONNECT_NUM_OF_DEFINED_DOMAINS: def(25, 'CONNECT_NUM_OF_DEFINED_DOMAINS', 'virConnectNumOfDefinedDomains', xvoid, numRet),
  DOMAIN_REBOOT: def(27, 'DOMAIN_REBOOT', 'virDomainReboot', domFlags, xvoid, true),
  DOMAIN_RESUME: def(28, 'DOMAIN_RESUME', 'virDomainResume', domOnly, xvoid, true),
  DOMAIN_SET_AUTOSTART: def(29, 'DOMAIN_SET_AUTOSTART', 'virDomainSetAutostart', xstruct({ dom: nonnullDomain, autostart: xint }), xvoid, true),
  DOMAIN_SHUTDOWN: def(33, 'DOMAIN_SHUTDOWN', 'virDomainShutdown', domOnly, xvoid, true),
  DOMAIN_SUSPEND: def(34, 'DOMAIN_SUSPEND', 'virDomainSuspend', domOnly, xvoid, true),
  DOMAIN_UNDEFINE: def(35, 'DOMAIN_UNDEFINE', 'virDomainUndefine', domOnly, xvoid, true),
  CONNECT_LIST_DOMAINS: def(37, 'CONNECT_LIST_DOMAINS', 'virConnectListDomains', xstruct({ maxids: xint }), xstruct({ ids: xarray(xint, REMOTE_DOMAIN_LIST_MAX) })),
  CONNECT_NUM_OF_DOMAINS: def(51, 'CONNECT_NUM_OF_DOMAINS', 'virConnectNumOfDomains', xvoid, numRet),
  CONNECT_GET_HOSTNAME: def(59, 'CONNECT_GET_HOSTNAME', 'virConnectGetHostname', xvoid, xstruct({ hostname: nonnullString })),
  CONNECT_SUPPORTS_FEATURE: def(60, 'CONNECT_SUPPORTS_FEATURE', 'virConnectSupportsFeature', xstruct({ feature: xint }), xstruct({ supported: xint })),
  AUTH_LIST: def(66, 'AUTH_LIST', 'virConnectOpen', xvoid, xstruct({ types: xarray(xint, REMOTE_AUTH_TYPE_LIST_MAX) })),
  NODE_GET_FREE_MEMORY: def(102, 'NODE_GET_FREE_MEMORY', 'virNodeGetFreeMemory', xvoid, xstruct({ freeMem: xuhyper })),
  CONNECT_GET_URI: def(110, 'CONNECT_GET_URI', 'virConnectGetURI', xvoid, xstruct({ uri: nonnullString })),
  DOMAIN_GET_SECURITY_LABEL: def(121, 'DOMAIN_GET_SECURITY_LABEL', 'virDomainGetSecurityLabel', domOnly, securityLabelRet),
  NODE_GET_SECURITY_MODEL: def(122, 'NODE_GET_SECURITY_MODEL', 'virNodeGetSecurityModel', xvoid, xstruct({ model: xcharString(REMOTE_SECURITY_MODEL_MAX), doi: xcharString(REMOTE_SECURITY_DOI_MAX) })),
  CONNECT_DOMAIN_XML_FROM_NATIVE: def(135, 'CONNECT_DOMAIN_XML_FROM_NATIVE', 'virConnectDomainXMLFromNative', xstruct({ nativeFormat: nonnullString, nativeConfig: nonnullString, flags: xuint }), xstruct({ domainXml: nonnullString }), true),
  CONNECT_DOMAIN_XML_TO_NATIVE: def(136, 'CONNECT_DOMAIN_XML_TO_NATIVE', 'virConnectDomainXMLToNative', xstruct({ nativeFormat: nonnullString, domainXml: nonnullString, flags: xuint }), xstruct({ nativeConfig: nonnullString }), true),
  CONNECT_IS_SECURE: def(149, 'CONNECT_IS_SECURE', 'virConnectIsSecure', xvoid, xstruct({ secure: xint })),
  DOMAIN_IS_ACTIVE: def(150, 'DOMAIN_IS_ACTIVE', 'virDomainIsActive', domOnly, xstruct({ active: xint })),
  DOMAIN_IS_PERSISTENT: def(151, 'DOMAIN_IS_PERSISTENT', 'virDomainIsPersistent', domOnly, xstruct({ persistent: xint })),
  CONNECT_GET_LIB_VERSION: def(157, 'CONNECT_GET_LIB_VERSION', 'virConnectGetLibVersion', xvoid, xstruct({ lib_ver: xuhyper })),
  DOMAIN_HAS_MANAGED_SAVE_IMAGE: def(183, 'DOMAIN_HAS_MANAGED_SAVE_IMAGE', 'virDomainHasManagedSaveImage', domFlags, xstruct({ result: xint })),
  DOMAIN_SNAPSHOT_NUM: def(187, 'DOMAIN_SNAPSHOT_NUM', 'virDomainSnapshotNum', domFlags, numRet),
  DOMAIN_CREATE_WITH_FLAGS: def(196, 'DOMAIN_CREATE_WITH_FLAGS', 'virDomainCreateWithFlags', domFlags, domRet, true),
  DOMAIN_GET_VCPUS_FLAGS: def(200, 'DOMAIN_GET_VCPUS_FLAGS', 'virDomainGetVcpusFlags', domFlags, numRet),
  DOMAIN_OPEN_CONSOLE: def(201, 'DOMAIN_OPEN_CONSOLE', 'virDomainOpenConsole', xstruct({ dom: nonnullDomain, dev_name: optString, flags: xuint }), xvoid, true),
  DOMAIN_IS_UPDATED: def(202, 'DOMAIN_IS_UPDATED', 'virDomainIsUpdated', domOnly, xstruct({ updated: xint })),
  DOMAIN_GET_STATE: def(212, 'DOMAIN_GET_STATE', 'virDomainGetState', domFlags, xstruct({ state: xint, reason: xint })),
  DOMAIN_UNDEFINE_FLAGS: def(231, 'DOMAIN_UNDEFINE_FLAGS', 'virDomainUndefineFlags', domFlags, xvoid, true),
  DOMAIN_DESTROY_FLAGS: def(234, 'DOMAIN_DESTROY_FLAGS', 'virDomainDestroyFlags', domFlags, xvoid, true),
  DOMAIN_RESET: def(245, 'DOMAIN_RESET', 'virDomainReset', domFlags, xvoid, true),
  DOMAIN_SHUTDOWN_FLAGS: def(258, 'DOMAIN_SHUTDOWN_FLAGS', 'virDomainShutdownFlags', domFlags, xvoid, true),
  DOMAIN_GET_METADATA: def(265, 'DOMAIN_GET_METADATA', 'virDomainGetMetadata', xstruct({ dom: nonnullDomain, type: xint, uri: optString, flags: xuint }), xstruct({ metadata: nonnullString })),
  CONNECT_LIST_ALL_DOMAINS: def(273, 'CONNECT_LIST_ALL_DOMAINS', 'virConnectListAllDomains', xstruct({ need_results: xint, flags: xuint }), xstruct({ domains: xarray(nonnullDomain, REMOTE_DOMAIN_LIST_MAX), ret: xuint })),
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: def(316, 'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', 'virConnectDomainEventRegisterAny', xstruct({ eventID: xint, dom: optDomain }), xstruct({ callbackID: xint })),
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: def(317, 'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', 'virConnectDomainEventDeregisterAny', xstruct({ callbackID: xint }), xvoid),
  CONNECT_GET_DOMAIN_CAPABILITIES: def(342, 'CONNECT_GET_DOMAIN_CAPABILITIES', 'virConnectGetDomainCapabilities', xstruct({ emulatorbin: optString, arch: optString, machine: optString, virttype: optString, flags: xuint }), xstruct({ capabilities: nonnullString })),
  DOMAIN_DEFINE_XML_FLAGS: def(350, 'DOMAIN_DEFINE_XML_FLAGS', 'virDomainDefineXMLFlags', xmlFlags, domRet, true),
  CONNECT_REGISTER_CLOSE_CALLBACK: def(360, 'CONNECT_REGISTER_CLOSE_CALLBACK', 'virConnectRegisterCloseCallback', xvoid, xvoid),
  CONNECT_UNREGISTER_CLOSE_CALLBACK: def(361, 'CONNECT_UNREGISTER_CLOSE_CALLBACK', 'virConnectUnregisterCloseCallback', xvoid, xvoid),
  DOMAIN_GET_MESSAGES: def(426, 'DOMAIN_GET_MESSAGES', 'virDomainGetMessages', domFlags, xstruct({ msgs: xarray(nonnullString, REMOTE_DOMAIN_MESSAGES_MAX) })),
} as const;

export type RemoteProcName = keyof typeof RemoteProcs;

/** Event messages (type MESSAGE, serial 0) the server sends. */
export const domainEventLifecycleMsg = xstruct({ dom: nonnullDomain, event: xint, detail: xint });
export const domainEventCallbackLifecycleMsg = xstruct({ callbackID: xint, msg: domainEventLifecycleMsg });
export const domainEventCallbackRebootMsg = xstruct({ callbackID: xint, msg: xstruct({ dom: nonnullDomain }) });
export const connectEventConnectionClosedMsg = xstruct({ reason: xint });

export type DomainEventCallbackLifecycleMsg = Infer<typeof domainEventCallbackLifecycleMsg>;

export const RemoteEvents = {
  DOMAIN_EVENT_LIFECYCLE: 107,
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
  DOMAIN_EVENT_CALLBACK_REBOOT: 319,
  CONNECT_EVENT_CONNECTION_CLOSED: 362,
} as const;

/** Internal driver features clients ask about (libvirt_internal.h `virDrvFeature`). */
export const VirDrvFeature = {
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
} as const;

/** Every definition by procedure number. */
export const remoteProcsByNumber: ReadonlyMap<number, ProcedureDef<unknown, unknown>> = new Map(
  Object.values(RemoteProcs).map((p) => [p.proc, p as ProcedureDef<unknown, unknown>]),
);
