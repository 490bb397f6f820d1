/**
 * The fixed-format ACPI tables of a tsbhyve VM (ACPI 6.5 §5.2; bhyve acpi.c/basl.c
 * contents as bhyve-userland.md §5.5 lists them): RSDP (rev 2), RSDT, XSDT, FADT
 * (rev 5, 0x10C bytes), FACS, MADT, HPET, MCFG, SPCR. Each builder returns the table's
 * bytes with its checksum set; pointers are passed in (the layout is acpi/build.ts's job).
 * OEM ID "BHYVE ", OEM table IDs "BVxxxx  ", OEM revision 1.
 */
import { ascii, fixChecksum, writeHeader, type TableIds } from './aml.js';

export const OEM_ID = 'BHYVE ';
export const ids = (tableId: string): TableIds => ({ oemId: OEM_ID, oemTableId: tableId, oemRevision: 1 });

function table(signature: string, revision: number, tableId: string, length: number): { t: Uint8Array; dv: DataView } {
  const t = new Uint8Array(length);
  writeHeader(t, signature, revision, ids(tableId));
  return { t, dv: new DataView(t.buffer) };
}

function done(t: Uint8Array): Uint8Array {
  fixChecksum(t, 9);
  return t;
}

function setU64(dv: DataView, off: number, v: number): void {
  dv.setBigUint64(off, BigInt(v), true);
}

/** Generic Address Structure. */
function gas(dv: DataView, off: number, space: number, bitWidth: number, accessSize: number, addr: number): void {
  dv.setUint8(off, space);
  dv.setUint8(off + 1, bitWidth);
  dv.setUint8(off + 2, 0);
  dv.setUint8(off + 3, accessSize);
  setU64(dv, off + 4, addr);
}
const SYSTEM_MEMORY = 0;
const SYSTEM_IO = 1;

/** RSDP, ACPI 2.0+ layout (36 bytes): both checksums set. */
export function buildRsdp(rsdt: number, xsdt: number): Uint8Array {
  const t = new Uint8Array(36);
  const dv = new DataView(t.buffer);
  ascii(t, 0, 'RSD PTR ', 8);
  ascii(t, 9, OEM_ID, 6);
  t[15] = 2;
  dv.setUint32(16, rsdt, true);
  dv.setUint32(20, 36, true);
  setU64(dv, 24, xsdt);
  fixChecksum(t, 8, 0, 20);
  fixChecksum(t, 32, 0, 36);
  return t;
}

export function buildRsdt(entries: number[]): Uint8Array {
  const { t, dv } = table('RSDT', 1, 'BVRSDT  ', 36 + 4 * entries.length);
  entries.forEach((e, i) => dv.setUint32(36 + 4 * i, e, true));
  return done(t);
}

export function buildXsdt(entries: number[]): Uint8Array {
  const { t, dv } = table('XSDT', 1, 'BVXSDT  ', 36 + 8 * entries.length);
  entries.forEach((e, i) => setU64(dv, 36 + 8 * i, e));
  return done(t);
}

export const FADT = {
  SCI_INT: 9,
  SMI_CMD: 0xb2,
  ACPI_ENABLE: 0xa0,
  ACPI_DISABLE: 0xa1,
  PM1A_EVT_BLK: 0x400,
  PM1A_CNT_BLK: 0x404,
  PM_TMR_BLK: 0x408,
  GPE0_BLK: 0x40c,
  RESET_PORT: 0xcf9,
  RESET_VALUE: 0x06,
  RTC_CENTURY: 0x32,
} as const;

export const FADT_FLAGS = {
  WBINVD: 1 << 0,
  PWR_BUTTON: 1 << 4,
  SLP_BUTTON: 1 << 5,
  TMR_VAL_EXT: 1 << 8,
  RESET_REG_SUP: 1 << 10,
  HEADLESS: 1 << 12,
  APIC_PHYSICAL: 1 << 19,
} as const;

export const IAPC_BOOT_ARCH = { VGA_NOT_PRESENT: 1 << 2, PCIE_ASPM_CONTROLS: 1 << 4 } as const;

/**
 * FADT revision 5 (0x10C bytes). The power button is a fixed feature (PWR_BUTTON clear)
 * so that PM1 PWRBTN_STS, set on SIGTERM, reaches the guest; there is no sleep button.
 */
export function buildFadt(facs: number, dsdt: number): Uint8Array {
  const { t, dv } = table('FACP', 5, 'BVFACP  ', 0x10c);
  dv.setUint32(36, facs, true);
  dv.setUint32(40, dsdt, true);
  t[45] = 0; // preferred PM profile: unspecified
  dv.setUint16(46, FADT.SCI_INT, true);
  dv.setUint32(48, FADT.SMI_CMD, true);
  t[52] = FADT.ACPI_ENABLE;
  t[53] = FADT.ACPI_DISABLE;
  dv.setUint32(56, FADT.PM1A_EVT_BLK, true);
  dv.setUint32(64, FADT.PM1A_CNT_BLK, true);
  dv.setUint32(76, FADT.PM_TMR_BLK, true);
  dv.setUint32(80, FADT.GPE0_BLK, true);
  t[88] = 4; // PM1_EVT_LEN
  t[89] = 2; // PM1_CNT_LEN
  t[91] = 4; // PM_TMR_LEN
  t[92] = 2; // GPE0_BLK_LEN
  dv.setUint16(96, 101, true); // C2 not supported (> 100 us)
  dv.setUint16(98, 1001, true); // C3 not supported (> 1000 us)
  t[108] = FADT.RTC_CENTURY;
  dv.setUint16(109, IAPC_BOOT_ARCH.VGA_NOT_PRESENT | IAPC_BOOT_ARCH.PCIE_ASPM_CONTROLS, true);
  dv.setUint32(
    112,
    FADT_FLAGS.WBINVD | FADT_FLAGS.SLP_BUTTON | FADT_FLAGS.TMR_VAL_EXT | FADT_FLAGS.RESET_REG_SUP | FADT_FLAGS.HEADLESS | FADT_FLAGS.APIC_PHYSICAL,
    true,
  );
  gas(dv, 116, SYSTEM_IO, 8, 1, FADT.RESET_PORT);
  t[128] = FADT.RESET_VALUE;
  t[131] = 0; // FADT minor version
  setU64(dv, 132, facs);
  setU64(dv, 140, dsdt);
  gas(dv, 148, SYSTEM_IO, 32, 2, FADT.PM1A_EVT_BLK);
  gas(dv, 172, SYSTEM_IO, 16, 2, FADT.PM1A_CNT_BLK);
  gas(dv, 208, SYSTEM_IO, 32, 3, FADT.PM_TMR_BLK);
  gas(dv, 220, SYSTEM_IO, 16, 1, FADT.GPE0_BLK);
  return done(t);
}

/** FACS: 64 bytes, version 2, no waking vector, no global lock. */
export function buildFacs(): Uint8Array {
  const t = new Uint8Array(64);
  const dv = new DataView(t.buffer);
  ascii(t, 0, 'FACS', 4);
  dv.setUint32(4, 64, true);
  t[32] = 2;
  return t;
}

export const LAPIC_BASE = 0xfee0_0000;
export const IOAPIC_BASE = 0xfec0_0000;
export const HPET_BASE = 0xfed0_0000;

/** MADT rev 1: LAPIC per vCPU, one I/O APIC (ID 0), ISOs 0→2 and SCI 9→9, LAPIC NMI on LINT1. */
export function buildMadt(ncpus: number): Uint8Array {
  const len = 44 + 8 * ncpus + 12 + 10 + 10 + 6;
  const { t, dv } = table('APIC', 1, 'BVMADT  ', len);
  dv.setUint32(36, LAPIC_BASE, true);
  dv.setUint32(40, 1, true); // PCAT_COMPAT
  let o = 44;
  for (let i = 0; i < ncpus; i++) {
    t[o] = 0;
    t[o + 1] = 8;
    t[o + 2] = i & 0xff; // ACPI processor UID
    t[o + 3] = i & 0xff; // APIC ID
    dv.setUint32(o + 4, 1, true); // enabled
    o += 8;
  }
  t[o] = 1;
  t[o + 1] = 12;
  t[o + 2] = 0; // I/O APIC ID
  dv.setUint32(o + 4, IOAPIC_BASE, true);
  dv.setUint32(o + 8, 0, true); // GSI base
  o += 12;
  const iso = (src: number, gsi: number, flags: number) => {
    t[o] = 2;
    t[o + 1] = 10;
    t[o + 2] = 0; // ISA bus
    t[o + 3] = src;
    dv.setUint32(o + 4, gsi, true);
    dv.setUint16(o + 8, flags, true);
    o += 10;
  };
  iso(0, 2, 0x0005); // active high, edge
  iso(9, 9, 0x000f); // SCI: active low, level
  t[o] = 4; // Local APIC NMI
  t[o + 1] = 6;
  t[o + 2] = 0xff; // all processors
  dv.setUint16(o + 3, 0x0005, true);
  t[o + 5] = 1; // LINT1
  return done(t);
}

/** HPET description: event timer block ID = the HPET's capabilities (low 32 bits). */
export function buildHpet(capabilities: number): Uint8Array {
  const { t, dv } = table('HPET', 1, 'BVHPET  ', 56);
  dv.setUint32(36, capabilities >>> 0, true);
  gas(dv, 40, SYSTEM_MEMORY, 0, 0, HPET_BASE);
  t[52] = 0; // HPET number
  dv.setUint16(53, 0, true); // minimum tick
  t[55] = 1; // 4 KiB page protection
  return done(t);
}

/** MCFG: one ECAM allocation, segment 0, buses 0-255. */
export function buildMcfg(base: number): Uint8Array {
  const { t, dv } = table('MCFG', 1, 'BVMCFG  ', 60);
  setU64(dv, 44, base);
  dv.setUint16(52, 0, true);
  t[54] = 0;
  t[55] = 255;
  return done(t);
}

/** SPCR rev 2: COM1 16550 at 0x3F8, IRQ 4 (8259 and I/O APIC), 115200 8N1, no flow control. */
export function buildSpcr(port = 0x3f8, irq = 4): Uint8Array {
  const { t, dv } = table('SPCR', 2, 'BVSPCR  ', 80);
  t[36] = 0; // full 16550
  gas(dv, 40, SYSTEM_IO, 8, 1, port);
  t[52] = 0x03; // PC-AT 8259 + I/O APIC
  t[53] = irq;
  dv.setUint32(54, irq, true);
  t[58] = 7; // 115200
  t[59] = 0; // no parity
  t[60] = 1; // 1 stop bit
  t[61] = 0; // no flow control
  t[62] = 0; // VT100
  dv.setUint16(64, 0xffff, true); // not a PCI device
  dv.setUint16(66, 0xffff, true);
  return done(t);
}
