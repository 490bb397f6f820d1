/**
 * The bhyve framebuffer and its VNC server (bhyve pci_fbuf.c, rfb.c, vga.c in I/O-only
 * mode, console.c; bhyve-userland.md §6.10; RFC 6143). Table of contents:
 *
 *   regs.ts               PCI identity, mode-block and framebuffer sizes, RFB constants
 *   device.ts             the PCI function: mode block (BAR0), framebuffer (BAR1)
 *   vga-io.ts             legacy VGA registers at 0x3C0–0x3DF (`vga=io`)
 *   rfb/auth.ts           VNC authentication (DES challenge/response)
 *   rfb/pixel-format.ts   RFB pixel formats and conversion from the framebuffer
 *   rfb/server.ts         the RFB server: handshake, updates, input to the console
 *   model.ts              `pci.B.S.F` node → device + server (the `-s N,fbuf,...` model)
 *
 * The framebuffer is the vmm's framebuffer segment mapped at BAR1 (as bhyve maps
 * VM_FRAMEBUFFER; device.ts), so guest stores do not exit.
 *
 * Guest-verified: fixtures/guests/fbuf (test/emulator/guests/fbuf.test.ts) reads the mode
 * block and paints every pixel; the test reads them back as an RFB client (None and VNC
 * authentication). fixtures/guests/xhci with fbuf proves the RFB PointerEvent → tablet path.
 */
export * from './regs.js';
export { FbufDevice, type Display } from './device.js';
export { VgaIo } from './vga-io.js';
export { RfbServer, MAX_CLIENTS } from './rfb/server.js';
export { checkResponse, desEncrypt, vncKey } from './rfb/auth.js';
export { convertRect, NATIVE_FORMAT, type PixelFormat } from './rfb/pixel-format.js';
export { buildFbuf, parseRfbAddress } from './model.js';
