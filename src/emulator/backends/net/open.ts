/**
 * Chooses a network backend from a virtio-net node (bhyve netbe_init: by `type` or by the
 * prefix of `backend`; docs/tsbhyve-config.md):
 *
 *   tapN, vmnetN                 Linux tap interface via /dev/net/tun
 *   udp:HOST:PORT [local=H:P]    frames over UDP to a peer (unprivileged)
 *
 * bhyve's netgraph, netmap/vale and slirp backends are refused by name.
 */
import type { ConfigNode } from '../../config/tree.js';
import type { NetBackend } from './backend.js';
import { TapBackend } from './tap.js';
import { UdpBackend } from './udp.js';

export class NetBackendError extends Error {}

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new NetBackendError(`invalid ${what} address '${s}' (expected HOST:PORT)`);
  return { host: m[1]!, port };
}

export async function openNetBackend(node: ConfigNode): Promise<NetBackend> {
  const backend = node.get('backend');
  if (backend === undefined) throw new NetBackendError('missing backend argument');
  const type = node.get('type');
  if (type === 'tap' || (!type && (backend.startsWith('tap') || backend.startsWith('vmnet')))) {
    return TapBackend.open(backend);
  }
  if (type === 'udp' || (!type && backend.startsWith('udp:'))) {
    const remote = hostPort(backend.replace(/^udp:/, ''), 'remote');
    const localSpec = node.get('local');
    const local = localSpec ? hostPort(localSpec, 'local') : undefined;
    try {
      return await UdpBackend.open(remote, local);
    } catch (e) {
      throw new NetBackendError(`cannot bind ${localSpec ?? 'a UDP port'}: ${(e as Error).message}`);
    }
  }
  if (/^(netgraph|netmap|vale|slirp)/.test(type ?? backend)) {
    throw new NetBackendError(`network backend '${backend}' is not supported by tsbhyve (use tapN or udp:HOST:PORT)`);
  }
  throw new NetBackendError(`unknown backend '${backend}'`);
}
