/**
 * NVMe controller (bhyve pci_nvme.c; bhyve-userland.md §6.8; NVM Express Base 1.4).
 * Table of contents only:
 *
 *   regs.ts         register offsets, opcodes, status codes, bhyve defaults
 *   queues.ts       submission/completion queues, command decoding, phase tags
 *   prp.ts          PRP lists → validated guest-memory segments
 *   request.ts      I/O command → typed, validated request (read, write, flush,
 *                   write zeroes, dataset management)
 *   admin.ts        admin command set
 *   features.ts     Set/Get Features
 *   logs.ts         log pages and SMART accounting
 *   identify.ts     Identify Controller/Namespace data, default serial and EUI-64
 *   device.ts       the PCI function: registers, doorbells, interrupts, dispatch
 *   ram-backend.ts  the `ram=MiB` store
 *   model.ts        `pci.B.S.F` node → controller (the `-s N,nvme,...` model)
 *
 * Guest-verified test (to add once the vmm runs guests; fixtures/guests/): a freestanding
 * driver that enumerates FB5D:0A0A class 01/08/02 and maps BAR0, then must check
 * - CAP.MQES = qsz − 1, CAP.CQR = 1, VS = 0x10400; CC.EN → CSTS.RDY with admin queues;
 * - Identify Controller (MN "bhyve-NVMe", SN, MDTS 9, NN 1) and Namespace (NSZE = image
 *   bytes / sectsz, LBADS) through PRP1 and a PRP2 in the next page;
 * - Set Features Number of Queues grants min(requested, maxq); Create I/O CQ (with
 *   MSI-X vector 1) and SQ; a write spanning a PRP list then a read back; Flush; the
 *   host test checks the image file's bytes after the VM exits;
 * - completions arrive by MSI-X (per-CQ vector) and, with MSI-X disabled, by INTx;
 * - Dataset Management with `ram=` and dsm=enable reads back zeroes;
 * - hostile: a CQ doorbell beyond the queue, an SQ at an address outside RAM, a PRP
 *   entry outside RAM → error status, the VM keeps running.
 */
export * from './regs.js';
export { NvmeController, type DsmMode, type NvmeOptions } from './device.js';
export { RamBackend, MAX_RAM_MIB } from './ram-backend.js';
export { resolvePrps, type PrpResult, type Segment } from './prp.js';
export { parseIoCommand, status, type IoRequest, type NamespaceFacts } from './request.js';
export { buildNvme } from './model.js';
