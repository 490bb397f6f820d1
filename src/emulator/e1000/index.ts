/**
 * Intel 82545EM gigabit Ethernet (e1000) as bhyve's pci_e82545.c emulates it
 * (bhyve-userland.md §6.10; 82545EM Software Developer's Manual). Table of contents:
 *
 *   regs.ts     register offsets and bits, descriptor layouts, PCI identity
 *   eeprom.ts   Microwire EEPROM behind EECD (MAC, IDs, checksum 0xBABA)
 *   phy.ts      PHY registers behind MDIC
 *   tx.ts       transmit descriptors → frames (checksum offload, TSO, VLAN insertion)
 *   rx.ts       receive filter and descriptor placement (FCS, padding, buffer sizes)
 *   stats.ts    statistics registers (clear on read)
 *   device.ts   the PCI function: registers, interrupts and ITR, BARs, backlog
 *   model.ts    `pci.B.S.F` node → device (the `-s N,e1000,BACKEND[,mac=…]` model)
 *
 * Guest-verified test (to add once the vmm runs guests): boot the Debian kernel with an
 * initramfs whose e1000 driver must bind 8086:100F, read the MAC from the EEPROM (the one
 * given with mac=), bring the link up, and exchange frames through the `udp:` backend with
 * the host test (ARP request answered, a UDP datagram echoed, a 64 KiB TCP transfer that
 * exercises TSO); a guest program may instead drive the rings directly and check ICR
 * causes (TXDW, TXQE, RXT0) and INTx delivery.
 */
export * from './regs.js';
export { E1000Device, RX_BACKLOG } from './device.js';
export { Eeprom } from './eeprom.js';
export { TxEngine, onesSum, type TxContext } from './tx.js';
export { bufferSize, crc32, filterFrame, mtaHash, placeFrame } from './rx.js';
export { buildE1000 } from './model.js';
