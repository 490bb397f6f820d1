/**
 * virtio-console (bhyve pci_virtio_console.c; bhyve-userland.md §6.5; Virtio 1.2 §5.3):
 * constants and the multiport device. Table of contents only.
 */
export const VTCON_MAXPORTS = 16;
export const VTCON_MAXQ = VTCON_MAXPORTS * 2 + 2;
export const VTCON_RINGSZ = 64;
export const VIRTIO_CONSOLE_F_SIZE = 0n;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1n;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2n;

export const VTCON_DEVICE_READY = 0;
export const VTCON_DEVICE_ADD = 1;
export const VTCON_DEVICE_REMOVE = 2;
export const VTCON_PORT_READY = 3;
export const VTCON_CONSOLE_PORT = 4;
export const VTCON_CONSOLE_RESIZE = 5;
export const VTCON_PORT_OPEN = 6;
export const VTCON_PORT_NAME = 7;

/** RX and TX queue indices of port `n` (port 0: 0/1; control: 2/3; port n: 2n+2 / 2n+3). */
export function portQueues(n: number): { rx: number; tx: number } {
  return n === 0 ? { rx: 0, tx: 1 } : { rx: 2 * n + 2, tx: 2 * n + 3 };
}
export const CONTROL_RXQ = 2;
export const CONTROL_TXQ = 3;

export { VirtioConsole, type ConsolePort } from './device.js';
