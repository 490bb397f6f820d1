/**
 * The `xhci` PCI model: a `pci.B.S.F` node → an XhciController with its USB devices
 * (bhyve pci_xhci.c pci_xhci_parse_devices; keys `slot.N.device` for N = 1..64, as
 * `-s N,xhci,tablet` produces). The only device model is `tablet` (usb_mouse.c), which
 * receives pointer events from the guest console (the fbuf VNC server). One xHCI per VM,
 * as bhyve; an unknown device, a slot outside 1..64 or a slot without `device` is refused.
 */
import type { ConfigNode } from '../config/tree.js';
import { GuestConsole } from '../gui/console.js';
import type { PciFunction } from '../pci/function.js';
import { slotError, type PciModelContext } from '../pci/models.js';
import { XHCI_MAX_DEVS, XHCI_MAX_SLOTS } from './regs.js';
import { UsbTablet } from './tablet.js';
import type { UsbDevice } from './usb-device.js';
import { XhciController } from './xhci.js';

export const USB_DEVICE_MODELS = ['tablet'] as const;

export async function buildXhci(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<void> {
  if (ctx.host.functions().some((f) => f !== fn && f.ops instanceof XhciController)) throw slotError(fn, 'pci_xhci controller already defined');
  const console = (ctx.console ??= new GuestConsole());
  const devices: UsbDevice[] = [];
  const slots = node.find('slot');
  for (const name of slots ? [...slots.children.keys()] : []) {
    const n = Number(name);
    if (!/^\d+$/.test(name) || n < 1 || n > XHCI_MAX_SLOTS) throw slotError(fn, `pci_xhci: invalid slot '${name}'`);
    const device = slots!.find(name)?.get('device');
    if (device === undefined) throw slotError(fn, `pci_xhci: missing "device" value for slot '${name}'`);
    if (device !== 'tablet') throw slotError(fn, `pci_xhci: unknown device model "${device}" (tsbhyve has: ${USB_DEVICE_MODELS.join(', ')})`);
    devices.push(new UsbTablet(console));
  }
  if (devices.filter((d) => d.usbVersion === 3).length > XHCI_MAX_DEVS / 2) throw slotError(fn, `pci_xhci: at most ${XHCI_MAX_DEVS / 2} USB 3 devices`);
  if (devices.length === 0) ctx.log.warn('pci_xhci no USB devices configured');
  new XhciController(fn, ctx.memory, devices, ctx.log);
}
