/**
 * The `e1000` PCI model: a `pci.B.S.F` node → an E1000Device (bhyve pci_e82545.c
 * e82545_init; keys as for virtio-net: `backend` (tapN, vmnetN, udp:HOST:PORT with
 * `local=`), `mac`; bhyve's e1000 has no `mtu`). The MAC default is bhyve's (NetApp OUI
 * + MD5 of "slot-func-vmname"); a multicast or all-zero `mac` is refused.
 */
import { openNetBackend } from '../backends/net/open.js';
import type { ConfigNode } from '../config/tree.js';
import type { PciFunction } from '../pci/function.js';
import { slotError, type PciModelContext } from '../pci/models.js';
import { defaultMac, parseMac } from '../virtio/net/device.js';
import { E1000Device } from './device.js';

export async function buildE1000(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<void> {
  let mac: Uint8Array;
  const macStr = node.get('mac');
  try {
    mac = macStr !== undefined ? parseMac(macStr) : defaultMac(fn.slot, fn.func, ctx.vmName);
  } catch (e) {
    throw slotError(fn, (e as Error).message);
  }
  if (node.get('mtu') !== undefined) throw slotError(fn, 'e1000: the mtu option is not supported (bhyve has none for e1000)');
  let backend;
  try {
    backend = await openNetBackend(node);
  } catch (e) {
    throw slotError(fn, (e as Error).message);
  }
  const be = backend;
  const dev = new E1000Device(fn, ctx.memory, be, mac, ctx.log);
  ctx.closers.push(async () => {
    dev.close();
    await be.close();
  });
}
