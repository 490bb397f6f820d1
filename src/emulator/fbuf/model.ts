/**
 * The `fbuf` PCI model: a `pci.B.S.F` node → the framebuffer device, its VGA registers and
 * its VNC server (bhyve pci_fbuf.c pci_fbuf_parse_config; keys as bhyve_config(5): `rfb`
 * or `tcp` (`[IP:]PORT` or `[IPv6]:PORT`, default 127.0.0.1:5900), `w`, `h` (640×480 to
 * 3840×2160, default 1024×768), `vga` (`io` default, `off`; `on` is refused as bhyve
 * itself refuses it: "VGA rendering not enabled"), `wait` (assembly waits for the first
 * VNC client, so the guest starts with a viewer attached), `password` (VNC
 * authentication; only the first 8 characters count, as in every VNC implementation).
 * One fbuf per VM. Messages and errors name the slot and key.
 */
import type { ConfigNode } from '../config/tree.js';
import { parseInteger } from '../config/values.js';
import { GuestConsole } from '../gui/console.js';
import type { PciFunction } from '../pci/function.js';
import { slotError, type PciModelContext } from '../pci/models.js';
import { FbufDevice } from './device.js';
import { COLS_DEFAULT, FB_SIZE, COLS_MAX, COLS_MIN, ROWS_DEFAULT, ROWS_MAX, ROWS_MIN, VGA_IO_BASE, VGA_IO_SIZE } from './regs.js';
import { RfbServer } from './rfb/server.js';
import { VgaIo } from './vga-io.js';

/** `rfb=`/`tcp=` → host and port (bhyve's parser: IPv4 needs "host:port" or just "port"). */
export function parseRfbAddress(v: string): { host: string; port: number } | undefined {
  let host = '127.0.0.1';
  let portStr: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end <= 1) return undefined;
    host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (!rest.startsWith(':') || rest.length === 1) return undefined;
    portStr = rest.slice(1);
  } else {
    const c = v.indexOf(':');
    if (c < 0) portStr = v;
    else {
      host = v.slice(0, c) || host;
      portStr = v.slice(c + 1);
    }
  }
  const port = parseInteger(portStr, 0, 65535);
  return port === undefined || !/^\d+$/.test(portStr) ? undefined : { host, port };
}

export async function buildFbuf(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<void> {
  if (ctx.host.functions().some((f) => f !== fn && f.ops instanceof FbufDevice)) throw slotError(fn, 'Only one frame buffer device is allowed.');
  const addrStr = node.get('rfb') ?? node.get('tcp') ?? '127.0.0.1:5900';
  const addr = parseRfbAddress(addrStr);
  if (!addr) throw slotError(fn, `fbuf: Invalid address "${addrStr}"`);
  const vga = node.get('vga') ?? 'io';
  if (vga !== 'io' && vga !== 'off' && vga !== 'on') throw slotError(fn, `fbuf: Invalid vga setting: "${vga}"`);
  if (vga === 'on') throw slotError(fn, 'fbuf: VGA rendering (vga=on) is not supported; use vga=io or vga=off');
  const dim = (key: string, def: number, min: number, max: number) => {
    const v = node.get(key);
    if (v === undefined) return def;
    const n = parseInteger(v, 0, 65535);
    if (n === undefined) throw slotError(fn, `fbuf: Invalid ${key} "${v}"`);
    if (n > max) throw slotError(fn, `fbuf: max resolution is ${COLS_MAX}x${ROWS_MAX}`);
    if (n < min) throw slotError(fn, `fbuf: minimum resolution is ${COLS_MIN}x${ROWS_MIN}`);
    return n;
  };
  const width = dim('w', COLS_DEFAULT, COLS_MIN, COLS_MAX);
  const height = dim('h', ROWS_DEFAULT, ROWS_MIN, ROWS_MAX);
  const console = (ctx.console ??= new GuestConsole());
  let segment;
  try {
    segment = ctx.deviceMemory?.framebuffer(FB_SIZE);
  } catch (e) {
    throw slotError(fn, `fbuf: cannot allocate the framebuffer: ${(e as Error).message}`);
  }
  const dev = new FbufDevice(fn, width, height, console, segment, ctx.log);
  if (vga === 'io') {
    if (!ctx.ports) throw slotError(fn, 'fbuf: no I/O port bus for the VGA registers');
    try {
      ctx.ports.register(VGA_IO_BASE, VGA_IO_SIZE, new VgaIo());
    } catch (e) {
      throw slotError(fn, `fbuf: VGA ports: ${(e as Error).message}`);
    }
  }
  let rfb: RfbServer;
  try {
    rfb = await RfbServer.listen(dev, console, { host: addr.host, port: addr.port, password: node.get('password'), name: ctx.vmName, log: ctx.log });
  } catch (e) {
    throw slotError(fn, `fbuf: cannot listen on ${addr.host}:${addr.port}: ${(e as Error).message}`);
  }
  ctx.closers.push(() => rfb.close());
  dev.viewer = rfb;
  if (node.getBool('wait', false)) {
    const a = rfb.address;
    ctx.log.warn(`fbuf: waiting for a VNC client on ${a.host}:${a.port}`);
    await rfb.firstClient();
  }
}
