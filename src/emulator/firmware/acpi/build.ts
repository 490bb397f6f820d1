/**
 * Lays the ACPI tables out in guest memory and wires their pointers (bhyve basl.c with
 * `acpi_tables_in_memory`; bhyve-userland.md §5.5): RSDP at BHYVE_ACPI_BASE (0xF2400),
 * then RSDT, XSDT, FADT, FACS (64-byte aligned), DSDT, MADT, HPET, MCFG and SPCR, each
 * 16-byte aligned, all below 1 MiB. Returns the images and addresses; writing them into
 * guest memory (and publishing them through fw_cfg) is the caller's choice.
 */
import { buildDsdt, type DsdtInput } from './dsdt.js';
import { buildFacs, buildFadt, buildHpet, buildMadt, buildMcfg, buildRsdp, buildRsdt, buildSpcr, buildXsdt, ids } from './tables.js';

export const BHYVE_ACPI_BASE = 0xf2400;
export const ACPI_AREA_END = 0x100000;

export interface AcpiInput {
  ncpus: number;
  hpetCapabilities: number;
  ecamBase: number;
  /** Add an SPCR for COM1 (bhyve does when COM1 exists: always with an LPC bridge). */
  spcr: boolean;
  dsdt: Omit<DsdtInput, 'ids'>;
}

export interface AcpiTables {
  rsdpAddress: number;
  /** [address, bytes] of every table, RSDP first, in address order. */
  blobs: Array<{ name: string; address: number; data: Uint8Array }>;
}

export class AcpiLayoutError extends Error {}

export function buildAcpiTables(input: AcpiInput, base = BHYVE_ACPI_BASE): AcpiTables {
  const dsdt = buildDsdt({ ...input.dsdt, ids: ids('BVDSDT  ') });
  const madt = buildMadt(input.ncpus);
  const hpet = buildHpet(input.hpetCapabilities);
  const mcfg = buildMcfg(input.ecamBase);
  const spcr = input.spcr ? buildSpcr() : undefined;
  const facs = buildFacs();
  const others = [madt, hpet, mcfg, ...(spcr ? [spcr] : [])];
  const nEntries = 1 + others.length; // FADT + others

  let cur = base;
  const place = (len: number, align: number): number => {
    cur = Math.ceil(cur / align) * align;
    const at = cur;
    cur += len;
    return at;
  };
  const rsdpAt = place(36, 16);
  const rsdtAt = place(36 + 4 * nEntries, 16);
  const xsdtAt = place(36 + 8 * nEntries, 16);
  const fadtAt = place(0x10c, 16);
  const facsAt = place(64, 64);
  const dsdtAt = place(dsdt.length, 16);
  const otherAt = others.map((t) => place(t.length, 16));
  if (cur > ACPI_AREA_END) throw new AcpiLayoutError(`ACPI tables do not fit below 1 MiB (${cur - base} bytes)`);
  const entries = [fadtAt, ...otherAt];
  const blobs = [
    { name: 'RSDP', address: rsdpAt, data: buildRsdp(rsdtAt, xsdtAt) },
    { name: 'RSDT', address: rsdtAt, data: buildRsdt(entries) },
    { name: 'XSDT', address: xsdtAt, data: buildXsdt(entries) },
    { name: 'FACP', address: fadtAt, data: buildFadt(facsAt, dsdtAt) },
    { name: 'FACS', address: facsAt, data: facs },
    { name: 'DSDT', address: dsdtAt, data: dsdt },
    ...others.map((t, i) => ({ name: String.fromCharCode(...t.subarray(0, 4)), address: otherAt[i]!, data: t })),
  ];
  return { rsdpAddress: rsdpAt, blobs };
}
