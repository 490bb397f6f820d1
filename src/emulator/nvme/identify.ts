/**
 * Identify data structures of the bhyve NVMe controller (NVM Express 1.4 §5.15.2.1
 * Identify Namespace, §5.15.2.2 Identify Controller, §5.15.2.4 namespace identification
 * descriptors; bhyve pci_nvme.c pci_nvme_init_ctrldata / pci_nvme_init_nsdata;
 * bhyve-userland.md §6.8) and bhyve's default serial number and EUI-64.
 *
 * Pure builders: each returns a fresh 4096-byte buffer the admin command copies into the
 * guest's PRPs. Fields are the ones bhyve fills; everything else stays zero.
 */
import {
  NVME_CNTRLTYPE_IO,
  NVME_IDENTIFY_SIZE,
  NVME_MDTS,
  NVME_PCI_VENDOR,
  NVME_VS_1_4,
  OUI_FREEBSD_NVME_LOW,
} from './regs.js';

export interface ControllerIdentity {
  /** Serial number (≤ 20 characters; space padded). */
  serial: string;
  /** Whether ONCS advertises Dataset Management. */
  dsm: boolean;
  /** NVMe qualified name (SUBNQN). */
  subnqn: string;
}

export interface NamespaceIdentity {
  /** Capacity in logical blocks. */
  blocks: number;
  /** log2 of the logical block size. */
  lbads: number;
  eui64: bigint;
  /** Deallocation supported: NSFEAT and DLFEAT report it. */
  deallocate: boolean;
}

function putString(b: Uint8Array, off: number, len: number, s: string): void {
  b.fill(0x20, off, off + len);
  b.set(Buffer.from(s, 'latin1').subarray(0, len), off);
}

/** Identify Controller (CNS 01h). */
export function identifyController(c: ControllerIdentity): Uint8Array {
  const b = new Uint8Array(NVME_IDENTIFY_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, NVME_PCI_VENDOR, true); // VID
  dv.setUint16(2, 0, true); // SSVID
  putString(b, 4, 20, c.serial); // SN
  putString(b, 24, 40, 'bhyve-NVMe'); // MN
  putString(b, 64, 8, '1.0'); // FR
  b[72] = 4; // RAB
  b.set([0x58, 0x9c, 0xfc], 73); // IEEE OUI (FreeBSD), least significant byte first
  b[76] = 0; // CMIC
  b[77] = NVME_MDTS;
  dv.setUint32(80, NVME_VS_1_4, true); // VER
  dv.setUint32(92, 1 << 8, true); // OAES: namespace attribute notices
  b[111] = NVME_CNTRLTYPE_IO;
  dv.setUint16(256, 1 << 1, true); // OACS: Format NVM
  b[258] = 2; // ACL
  b[259] = 4; // AERL: five outstanding AERs
  b[260] = 1 | (1 << 1); // FRMW: slot 1 read-only, one slot
  b[263] = 0; // NPSS: one power state, not reported
  dv.setUint16(266, 0x0157, true); // WCTEMP
  dv.setUint16(268, 0x0157, true); // CCTEMP
  dv.setUint32(328, 1 << 30, true); // SANICAP: NODMMAS = no (required non-zero for 1.4)
  b[512] = (6 << 4) | 6; // SQES: 64 bytes
  b[513] = (4 << 4) | 4; // CQES: 16 bytes
  dv.setUint32(516, 1, true); // NN
  dv.setUint16(520, c.dsm ? 1 << 2 : 0, true); // ONCS
  b[524] = 1 << 0; // FNA: format applies to all namespaces
  b[525] = 0; // VWC: no volatile write cache
  putNqn(b, 768, c.subnqn);
  return b;
}

function putNqn(b: Uint8Array, off: number, s: string): void {
  b.set(Buffer.from(s, 'latin1').subarray(0, 255), off);
}

/** Identify Namespace (CNS 00h) for NSID 1. */
export function identifyNamespace(n: NamespaceIdentity): Uint8Array {
  const b = new Uint8Array(NVME_IDENTIFY_SIZE);
  const dv = new DataView(b.buffer);
  const blocks = BigInt(n.blocks);
  dv.setBigUint64(0, blocks, true); // NSZE
  dv.setBigUint64(8, blocks, true); // NCAP
  dv.setBigUint64(16, blocks, true); // NUSE
  b[24] = n.deallocate ? 1 << 2 : 0; // NSFEAT: DAE (deallocated or unwritten logical block error)
  b[25] = 0; // NLBAF: one format
  b[26] = 0; // FLBAS
  b[33] = n.deallocate ? 1 : 0; // DLFEAT: deallocated blocks read as zeroes
  dv.setBigUint64(120, n.eui64, false); // EUI64, big endian
  dv.setUint32(128, n.lbads << 16, true); // LBAF0: LBADS
  return b;
}

/** Namespace Identification Descriptor list (CNS 03h): one EUI-64 descriptor. */
export function namespaceDescriptors(eui64: bigint): Uint8Array {
  const b = new Uint8Array(NVME_IDENTIFY_SIZE);
  b[0] = 1; // NIDT: IEEE EUI-64
  b[1] = 8; // NIDL
  new DataView(b.buffer).setBigUint64(4, eui64, false);
  return b;
}

/** Active namespace ID list (CNS 02h): NSID 1 when the starting NSID is below it. */
export function activeNamespaceList(startNsid: number): Uint8Array {
  const b = new Uint8Array(NVME_IDENTIFY_SIZE);
  if (startNsid < 1) new DataView(b.buffer).setUint32(0, 1, true);
  return b;
}

const CRC16_TABLE = (() => {
  // CRC-16 with polynomial 0x8005, reflected (0xA001): bhyve's crc16() table.
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(crc: number, data: Uint8Array): number {
  let c = crc & 0xffff;
  for (const byte of data) c = ((c >>> 8) ^ CRC16_TABLE[(c ^ byte) & 0xff]!) & 0xffff;
  return c;
}

/** bhyve's default EUI-64: ((FreeBSD NVMe OUI | crc16("<vm><bus><slot><func>")) << 16) | nsid. */
export function defaultEui64(vmName: string, bus: number, slot: number, func: number, nsid = 1): bigint {
  const crc = crc16(0, Buffer.from(`${vmName}${bus}${slot}${func}`, 'latin1'));
  return BigInt.asUintN(64, ((OUI_FREEBSD_NVME_LOW | BigInt(crc)) << 16n) | BigInt(nsid & 0xffff));
}

/** bhyve's default serial number. */
export function defaultSerial(slot: number, func: number): string {
  return `NVME-${slot}-${func}`;
}

/** bhyve's SUBNQN. */
export function subsystemNqn(vmName: string, bus: number, slot: number, func: number): string {
  return `nqn.2013-12.org.freebsd:bhyve-${vmName}-${bus}-${slot}-${func}`;
}
