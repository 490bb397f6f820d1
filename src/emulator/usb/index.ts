/**
 * USB: the xHCI host controller and the USB HID tablet (bhyve pci_xhci.c, usb_mouse.c,
 * usb_emul.h; bhyve-userland.md §6.10; xHCI 1.1). Table of contents:
 *
 *   regs.ts        xHCI registers, TRB types, completion codes, contexts, USB ch. 9
 *   usb-device.ts  what an emulated USB device implements (control, interrupt IN)
 *   tablet.ts      the HID tablet: descriptors, requests, absolute pointer reports
 *   rings.ts       TRB ring consumer (link TRBs, cycle state) and event ring producer
 *   slots.ts       device slots, endpoints, output device contexts
 *   commands.ts    the command ring's commands
 *   transfers.ts   control and interrupt-IN transfer descriptors
 *   xhci.ts        the PCI function: registers, ports, interrupter, doorbells
 *   model.ts       `pci.B.S.F` node → controller (the `-s N,xhci,tablet` model)
 *
 * Guest-verified: fixtures/guests/xhci (test/emulator/guests/xhci.test.ts) resets the
 * controller, sets up its rings, enumerates the tablet (FB5D:0001), configures its interrupt
 * endpoint and reads reports for RFB PointerEvents sent through fbuf's VNC server, with
 * QEMU's qemu-xhci + usb-tablet as reference. Still to add: the Debian kernel with xhci_hcd
 * and usbhid must enumerate "BHYVE HID Tablet" (FB5D:0001) on a SuperSpeed root port and
 * create an input device with ABS_X/ABS_Y 0..32767; a pointer event injected through the
 * console (or an RFB client of fbuf) must arrive as an input event the guest reads from
 * /dev/input/eventN. Hostile: a command ring of only Link TRBs, a transfer buffer outside
 * guest RAM and an event ring that is never consumed must leave the VM running.
 */
export * from './regs.js';
export { XhciController } from './xhci.js';
export { UsbTablet, REPORT_DESCRIPTOR, DEVICE_DESCRIPTOR, CONFIG_DESCRIPTOR } from './tablet.js';
export { parseSetup, type UsbDevice, type SetupPacket, type ControlResult } from './usb-device.js';
export { buildXhci, USB_DEVICE_MODELS } from './model.js';
