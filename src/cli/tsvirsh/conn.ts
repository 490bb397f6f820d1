/**
 * The connection tsvirsh talks to: the driver API (the shape of src/rpc's DriverApi, which
 * the bhyve driver implements), reached either in-process (embedded mode, `bhyve:///embed`)
 * or through a daemon socket. Chooses the URI as virsh does: `-c/--connect`, then
 * VIRSH_DEFAULT_CONNECT_URI, then LIBVIRT_DEFAULT_URI, then — tsvirt's default — the
 * session daemon if its socket exists, else embedded mode in the per-user default root.
 */

import { existsSync } from 'node:fs';
import type { BhyveDriverOptions, DomainEvent, DomainInfo, DomainSummary } from '../../driver/driver.js';
import type { DomainRef } from '../../driver/domain-obj.js';
import { defaultDaemonSocket, defaultEmbedRoot, embedUri, parseBhyveUri } from '../../driver/uri.js';
import { VirError, VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_DENIED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, VIR_FROM_RPC, VIR_FROM_URI } from '../../xml/errors.js';
import type { RemoteDriver } from '../../rpc/remote-driver.js';
import { startMark } from '../../driver/start-trace.js';
import type { DriverApi } from '../../rpc/driver-api.js';

export type { DomainRef, DomainInfo, DomainSummary, DomainEvent };

/** What tsvirsh needs from a connection: these members of DriverApi, same names and shapes. */
export type Conn = Pick<DriverApi,
  | 'type' | 'getVersion' | 'getHostname' | 'getCapabilities' | 'getNodeInfo' | 'getDomainCapabilities'
  | 'getSecurityModel' | 'listDomains' | 'lookupDomainByName' | 'lookupDomainByUuid' | 'lookupDomainById'
  | 'defineDomain' | 'undefineDomain' | 'createDomain' | 'startDomain' | 'destroyDomain' | 'shutdownDomain'
  | 'rebootDomain' | 'resetDomain' | 'suspendDomain' | 'resumeDomain' | 'getDomainInfo' | 'getDomainState'
  | 'getDomainXml' | 'getDomainOsType' | 'getDomainAutostart' | 'setDomainAutostart' | 'isDomainPersistent'
  | 'hasManagedSaveImage' | 'getDomainMessages' | 'domainXmlToNative' | 'domainXmlFromNative' | 'openConsole'
  | 'subscribe' | 'close'> & { readonly uri: string };

export interface ConnectOptions {
  /** -c/--connect. */
  uri?: string;
  readonly?: boolean;
  /** Where load problems (corrupt files) are reported. */
  warn: (message: string) => void;
  /** Options injected into an embedded driver (translator, VM program). */
  overrides?: Partial<BhyveDriverOptions>;
}

/** The URI virsh would use for these options and this environment. */
export function resolveUri(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, uid: number = typeof process.getuid === 'function' ? process.getuid() : 0): string {
  if (explicit) return explicit;
  if (env.VIRSH_DEFAULT_CONNECT_URI) return env.VIRSH_DEFAULT_CONNECT_URI;
  if (env.LIBVIRT_DEFAULT_URI) return env.LIBVIRT_DEFAULT_URI;
  const instance = uid === 0 ? 'system' : 'session';
  if (existsSync(defaultDaemonSocket(instance, env, uid))) return `bhyve:///${instance}`;
  return embedUri(defaultEmbedRoot(env, uid));
}

/**
 * Where a daemon URI is served: `?socket=` when given, tsvirtd's default sockets for
 * bhyve:///system|session, libvirt's for other drivers (qemu:///system, test:///default
 * through libvirtd); and the name sent in CONNECT_OPEN (no transport, no socket).
 */
export function remoteTarget(uri: string, env: NodeJS.ProcessEnv = process.env): { socket: string; name: string } {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_URI, `invalid argument: cannot parse URI '${uri}'`);
  }
  const [driver, transport] = u.protocol.replace(/:$/, '').split('+', 2) as [string, string | undefined];
  if ((transport !== undefined && transport !== 'unix') || u.host !== '') {
    throw new VirError(VIR_ERR_NO_SUPPORT, VIR_FROM_NONE, `this function is not supported by the connection driver: URI '${uri}' needs a remote transport; tsvirsh connects to local unix sockets only`);
  }
  const socket = u.searchParams.get('socket');
  u.searchParams.delete('socket');
  const name = `${driver}://${u.pathname}${u.searchParams.toString() ? `?${u.searchParams}` : ''}`;
  if (socket) return { socket, name };
  const session = u.pathname.replace(/\/+$/, '') === '/session';
  if (driver === 'bhyve') return { socket: defaultDaemonSocket(session ? 'session' : 'system', env), name };
  const runtime = env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`;
  return { socket: session ? `${runtime}/libvirt/libvirt-sock` : '/var/run/libvirt/libvirt-sock', name };
}

export async function openConnection(opts: ConnectOptions): Promise<Conn> {
  const uri = resolveUri(opts.uri);
  const parsed = parseBhyveUri(uri);
  // Each kind of connection loads only its own code (the in-process driver, or the RPC
  // client): tsvirsh's start-up is on the path of every command.
  if (parsed?.kind === 'embed') {
    const [{ BhyveDriver }, { loadTranslator }] = await Promise.all([import('../../driver/driver.js'), import('../../driver/translator.js')]);
    startMark('driver modules loaded');
    const drv = await BhyveDriver.open({
      root: parsed.root,
      uri: parsed.uri,
      translator: await loadTranslator(parsed.root),
      onProblem: (p) => opts.warn(`${p.path}: ${p.message}`),
      ...opts.overrides,
    });
    startMark('driver open');
    return opts.readonly ? readOnly(drv) : drv;
  }
  const target = remoteTarget(uri);
  const { RemoteDriver } = await import('../../rpc/remote-driver.js');
  let remote: RemoteDriver;
  try {
    remote = await RemoteDriver.connect(target.socket, target.name, { readOnly: opts.readonly });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      throw new VirError(VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, `Failed to connect socket to '${target.socket}': ${code === 'ENOENT' ? 'No such file or directory' : code === 'ECONNREFUSED' ? 'Connection refused' : code === 'EACCES' ? 'Permission denied' : code}`);
    }
    throw e;
  }
  // The compiler checks that the remote driver offers everything tsvirsh uses.
  const methods: Omit<Conn, 'uri'> = remote;
  // The daemon's URI (what `tsvirsh uri` prints) is the one it opened.
  return new Proxy(methods as Conn, {
    get(target, prop, receiver) {
      if (prop === 'uri') return remote.connectedUri;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(remote) : v;
    },
  });
}

/** libvirt API names of the calls a read-only connection refuses (VIR_ERR_OPERATION_DENIED). */
const MUTATING: Record<string, string> = {
  defineDomain: 'virDomainDefineXMLFlags',
  undefineDomain: 'virDomainUndefineFlags',
  createDomain: 'virDomainCreateXML',
  startDomain: 'virDomainCreateWithFlags',
  destroyDomain: 'virDomainDestroyFlags',
  shutdownDomain: 'virDomainShutdownFlags',
  rebootDomain: 'virDomainReboot',
  resetDomain: 'virDomainReset',
  suspendDomain: 'virDomainSuspend',
  resumeDomain: 'virDomainResume',
  setDomainAutostart: 'virDomainSetAutostart',
  openConsole: 'virDomainOpenConsole',
};

/** `-r`: the same connection with every state-changing call refused, as libvirt does. */
function readOnly(conn: Conn): Conn {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      const api = typeof prop === 'string' ? MUTATING[prop] : undefined;
      if (api) {
        return () => Promise.reject(new VirError(VIR_ERR_OPERATION_DENIED, VIR_FROM_NONE, `operation forbidden: read only access prevents ${api}`));
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
