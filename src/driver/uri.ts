/**
 * Connection URIs of the bhyve driver, libvirt style:
 *
 *   bhyve:///embed?root=DIR      no daemon: this process runs the driver, state under DIR
 *                                (DIR absolute, as libvirt requires for embedded drivers)
 *   bhyve:///system              tsvirtd's system instance (/run/tsvirt/tsvirt-sock)
 *   bhyve:///session             tsvirtd's per-user instance ($XDG_RUNTIME_DIR/tsvirt/…)
 *   bhyve+unix:///system?socket=PATH   the same over an explicit socket
 *
 * What it does: parse and canonicalise; compute the per-user default embedded root and
 * the default daemon socket paths. What it does not: choose between them (tsvirsh does,
 * like virsh: -c, then VIRSH_DEFAULT_CONNECT_URI, then LIBVIRT_DEFAULT_URI, then probing).
 */

import { homedir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';
import { VirError, VIR_ERR_INVALID_ARG, VIR_FROM_URI } from '../xml/errors.js';

export type BhyveUri =
  | { kind: 'embed'; root: string; uri: string }
  | { kind: 'daemon'; instance: 'system' | 'session'; socket: string | undefined; uri: string };

export const RW_SOCKET_NAME = 'tsvirt-sock';

function uriError(uri: string, why: string): VirError {
  return new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_URI, `invalid argument: URI '${uri}' ${why}`);
}

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** Default state root of embedded mode for the calling user. */
export function defaultEmbedRoot(env: NodeJS.ProcessEnv = process.env, user: number = uid()): string {
  if (user === 0) return '/var/lib/tsvirt/embed';
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'tsvirt', 'embed');
}

/** Default read-write socket of the daemon instance. */
export function defaultDaemonSocket(instance: 'system' | 'session', env: NodeJS.ProcessEnv = process.env, user: number = uid()): string {
  if (instance === 'system') return join('/run/tsvirt', RW_SOCKET_NAME);
  const runtime = env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : `/tmp/tsvirt-${user}`;
  return join(runtime, 'tsvirt', RW_SOCKET_NAME);
}

export function embedUri(root: string): string {
  return `bhyve:///embed?root=${encodeURIComponent(root).replace(/%2F/g, '/')}`;
}

/** Parse a bhyve URI; undefined when the URI is not a bhyve one (another driver's). */
export function parseBhyveUri(uri: string): BhyveUri | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  const scheme = u.protocol.replace(/:$/, '');
  const [driver, transport] = scheme.split('+', 2) as [string, string | undefined];
  if (driver !== 'bhyve') return undefined;
  if (transport !== undefined && transport !== 'unix') throw uriError(uri, `uses transport '${transport}'; only local unix sockets are supported`);
  if (u.host !== '') throw uriError(uri, 'names a remote host; only local connections are supported');
  const path = u.pathname.replace(/\/+$/, '');
  if (path === '/embed') {
    if (transport) throw uriError(uri, 'is embedded: it takes no transport');
    const root = u.searchParams.get('root');
    if (!root) throw uriError(uri, "needs a 'root' parameter");
    if (!isAbsolute(root)) throw uriError(uri, `has a relative root '${root}'; it must be absolute`);
    for (const k of u.searchParams.keys()) if (k !== 'root') throw uriError(uri, `has an unknown parameter '${k}'`);
    const r = normalize(root).replace(/(.)\/+$/, '$1');
    return { kind: 'embed', root: r, uri: embedUri(r) };
  }
  if (path === '/system' || path === '/session') {
    const instance = path.slice(1) as 'system' | 'session';
    const socket = u.searchParams.get('socket') ?? undefined;
    if (socket !== undefined && !isAbsolute(socket)) throw uriError(uri, 'has a relative socket path');
    return { kind: 'daemon', instance, socket, uri: `bhyve:///${instance}` };
  }
  throw uriError(uri, `has an unknown path '${u.pathname}' (expected /embed, /system or /session)`);
}
