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
 * The vmm binding should map FbufDevice.memory at BAR1 (FbufDevice.mappedAt, updated by
 * barMapped) the way bhyve maps VM_FRAMEBUFFER; until then guest accesses to the
 * framebuffer are MMIO exits served by the device.
 *
 * Guest-verified test (to add once the vmm runs guests): boot with `-s N,fbuf,tcp=…,w=800,
 * h=600 -s M,xhci,tablet` and a guest program that reads the mode block (800×600, depth
 * 32), paints known colours into BAR1; the host test takes a picture with vncsnapshot and
 * checks the colours, then sends pointer events and the guest reads tablet reports.
 */
export * from './regs.js';
export { FbufDevice, type Display } from './device.js';
export { VgaIo } from './vga-io.js';
export { RfbServer, MAX_CLIENTS } from './rfb/server.js';
export { checkResponse, desEncrypt, vncKey } from './rfb/auth.js';
export { convertRect, NATIVE_FORMAT, type PixelFormat } from './rfb/pixel-format.js';
export { buildFbuf, parseRfbAddress } from './model.js';
