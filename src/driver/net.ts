/**
 * Networking glue for starting domains: the tap devices of `<interface type='bridge'>`,
 * `'ethernet'` and `'network'` are created before the VM process starts (persistent taps,
 * `ip tuntap add … mode tap`), brought up, enslaved to their bridge, and deleted when the
 * run ends — the part of libvirt's virNetDevTapCreateInBridgePort that bhyve needs.
 * tsbhyve then opens the tap by name through /dev/net/tun.
 *
 * Names: an interface's own `<target dev='tapX'/>` is used as given; otherwise the lowest
 * free `vnetN` on the host, as libvirt names them. Allocation happens under the `net`
 * leaf lock so two starts never pick the same name.
 * Unprivileged: creating taps needs CAP_NET_ADMIN. Without it the start fails with
 * VIR_ERR_SYSTEM_ERROR saying so; `<interface type='user'>` (tsbhyve's unprivileged
 * backend, no host device) works everywhere.
 * Uses iproute2's `ip` (Debian package iproute2).
 */

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { VirError, VIR_ERR_SYSTEM_ERROR, VIR_FROM_BHYVE } from '../xml/errors.js';
import type { InterfaceDef } from '../xml/types.js';

/** One network endpoint the translation planned (PlannedInterface of tsvirt/driver). */
export interface NetEndpoint {
  index: number;
  type: string;
  /** bhyve backend: a tap name, or `slirp` for the unprivileged backend. */
  backend: string;
  bridge?: string;
  mac: string;
}

const IFNAMSIZ = 15;

function ip(args: string[]): Promise<{ ok: true } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _out, stderr) => {
      if (!err) resolve({ ok: true });
      else resolve({ ok: false, message: (stderr || err.message).trim().split('\n')[0]! });
    });
  });
}

function exists(dev: string): boolean {
  return existsSync(`/sys/class/net/${dev}`);
}

/**
 * A tap-name chooser for the translation: the interface's `<target dev>` when it names a
 * tap, else the lowest `vnetN` that is neither on the host nor already handed out.
 */
export function tapNamer(): (iface: InterfaceDef, index: number) => string {
  const taken = new Set<string>();
  let host: Set<string>;
  try {
    host = new Set(readdirSync('/sys/class/net'));
  } catch {
    host = new Set();
  }
  return (iface) => {
    const dev = iface.target?.dev;
    if (dev !== undefined && /^tap/.test(dev)) return dev;
    for (let n = 0; ; n++) {
      const name = `vnet${n}`;
      if (!host.has(name) && !taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
}

function isTap(e: NetEndpoint): boolean {
  return e.backend !== 'slirp' && (e.type === 'bridge' || e.type === 'ethernet' || e.type === 'network');
}

/**
 * Create, raise and enslave the taps of a start. Returns the taps this call created (to
 * delete at stop). On failure every tap created so far is deleted again.
 */
export async function setUpTaps(endpoints: NetEndpoint[]): Promise<string[]> {
  const created: string[] = [];
  try {
    for (const e of endpoints.filter(isTap)) {
      const dev = e.backend;
      if (dev.length > IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(dev)) throw sysError(`invalid tap device name '${dev}'`);
      if (!exists(dev)) {
        const r = await ip(['tuntap', 'add', 'dev', dev, 'mode', 'tap']);
        if (!r.ok) {
          const perm = /not permitted|permission/i.test(r.message);
          throw sysError(
            `Unable to create tap device ${dev}: ${r.message}${perm ? " (interfaces of type 'bridge', 'ethernet' and 'network' need CAP_NET_ADMIN; <interface type='user'> works unprivileged)" : ''}`,
          );
        }
        created.push(dev);
      }
      const up = await ip(['link', 'set', 'dev', dev, 'up']);
      if (!up.ok) throw sysError(`Unable to bring tap device ${dev} up: ${up.message}`);
      if (e.bridge !== undefined) {
        if (!exists(e.bridge)) throw sysError(`Cannot attach tap device ${dev} to bridge '${e.bridge}': no such bridge`);
        const m = await ip(['link', 'set', 'dev', dev, 'master', e.bridge]);
        if (!m.ok) throw sysError(`Unable to add tap device ${dev} to bridge ${e.bridge}: ${m.message}`);
      }
    }
    return created;
  } catch (err) {
    await tearDownTaps(created);
    throw err;
  }
}

/** Delete taps a start created (missing ones are fine). */
export async function tearDownTaps(taps: readonly string[]): Promise<void> {
  for (const dev of taps) if (exists(dev)) await ip(['link', 'del', 'dev', dev]);
}

function sysError(message: string): VirError {
  return new VirError(VIR_ERR_SYSTEM_ERROR, VIR_FROM_BHYVE, message);
}
