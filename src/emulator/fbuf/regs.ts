/**
 * Constants of the bhyve framebuffer (pci_fbuf.c), the VGA I/O port range it decodes with
 * `vga=io`, and the RFB protocol (RFC 6143). Constants only.
 */
export const FBUF_PCI_VENDOR = 0xfb5d;
export const FBUF_PCI_DEVICE = 0x40fb;
export const PCIC_DISPLAY = 0x03;
export const PCIS_DISPLAY_VGA = 0x00;
export const FBUF_BAR_REGS = 0;
export const FBUF_BAR_FB = 1;
/** Size of the mode block in BAR0. */
export const DMEMSZ = 128;
/** Framebuffer size (32 MiB: 3840×2160×4 fits). */
export const FB_SIZE = 32 * 1024 * 1024;
export const PCI_FBUF_MSI_MSGS = 4;
export const COLS_MAX = 3840;
export const ROWS_MAX = 2160;
export const COLS_DEFAULT = 1024;
export const ROWS_DEFAULT = 768;
export const COLS_MIN = 640;
export const ROWS_MIN = 480;

/** Legacy VGA registers decoded with vga=io. */
export const VGA_IO_BASE = 0x3c0;
export const VGA_IO_SIZE = 0x20;

// RFB (RFC 6143)
export const RFB_VERSION_3_8 = 'RFB 003.008\n';
export const RFB_SECURITY_NONE = 1;
export const RFB_SECURITY_VNC_AUTH = 2;
export const RFB_SET_PIXEL_FORMAT = 0;
export const RFB_SET_ENCODINGS = 2;
export const RFB_FB_UPDATE_REQUEST = 3;
export const RFB_KEY_EVENT = 4;
export const RFB_POINTER_EVENT = 5;
export const RFB_CLIENT_CUT_TEXT = 6;
export const RFB_FB_UPDATE = 0;
export const RFB_ENCODING_RAW = 0;
export const RFB_ENCODING_DESKTOP_SIZE = -223;
