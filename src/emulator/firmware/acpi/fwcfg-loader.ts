/**
 * ACPI tables for firmware that installs them itself from QEMU fw_cfg (OVMF), as bhyve
 * 14+ publishes them (bhyve-userland.md §5.5; QEMU's BIOSLinker format, consumed by
 * OVMF's QemuFwCfgAcpiPlatformDxe): `etc/acpi/rsdp`, `etc/acpi/tables` and the
 * `etc/table-loader` command script.
 *
 * The tables are the same as the in-memory ones, laid out from offset 0 of the tables
 * blob; every pointer holds an offset into its target file and every checksum is zero.
 * The script (128-byte commands) asks the firmware to ALLOCATE both files (RSDP in the
 * F-segment, tables anywhere, 64-byte aligned), ADD_POINTER the blob base to each
 * pointer, then ADD_CHECKSUM each table (RSDP: both checksums).
 */
import { buildAcpiTables, type AcpiInput } from './build.js';

export const FILE_RSDP = 'etc/acpi/rsdp';
export const FILE_TABLES = 'etc/acpi/tables';
export const FILE_LOADER = 'etc/table-loader';

export const LOADER_ALLOCATE = 1;
export const LOADER_ADD_POINTER = 2;
export const LOADER_ADD_CHECKSUM = 3;
export const ZONE_HIGH = 1;
export const ZONE_FSEG = 2;
const CMD_SIZE = 128;
const NAME = 56;

export interface AcpiFwCfgFiles {
  rsdp: Uint8Array;
  tables: Uint8Array;
  loader: Uint8Array;
}

class Script {
  readonly cmds: Uint8Array[] = [];
  private cmd(type: number): { b: Uint8Array; dv: DataView } {
    const b = new Uint8Array(CMD_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    this.cmds.push(b);
    return { b, dv };
  }
  private name(b: Uint8Array, at: number, s: string): void {
    b.set(Buffer.from(s, 'latin1').subarray(0, NAME - 1), at);
  }
  allocate(file: string, align: number, zone: number): void {
    const { b, dv } = this.cmd(LOADER_ALLOCATE);
    this.name(b, 4, file);
    dv.setUint32(4 + NAME, align, true);
    b[4 + NAME + 4] = zone;
  }
  pointer(dest: string, src: string, offset: number, size: number): void {
    const { b, dv } = this.cmd(LOADER_ADD_POINTER);
    this.name(b, 4, dest);
    this.name(b, 4 + NAME, src);
    dv.setUint32(4 + 2 * NAME, offset, true);
    b[4 + 2 * NAME + 4] = size;
  }
  checksum(file: string, result: number, start: number, length: number): void {
    const { b, dv } = this.cmd(LOADER_ADD_CHECKSUM);
    this.name(b, 4, file);
    dv.setUint32(4 + NAME, result, true);
    dv.setUint32(4 + NAME + 4, start, true);
    dv.setUint32(4 + NAME + 8, length, true);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.cmds.length * CMD_SIZE);
    this.cmds.forEach((c, i) => out.set(c, i * CMD_SIZE));
    return out;
  }
}

export function buildAcpiFwCfg(input: AcpiInput): AcpiFwCfgFiles {
  // Lay the tables out so that the first one after the RSDP lands at offset 0.
  const rsdpSlot = 48;
  const t = buildAcpiTables(input, -rsdpSlot);
  const rsdpBlob = t.blobs.find((b) => b.name === 'RSDP')!;
  const rest = t.blobs.filter((b) => b.name !== 'RSDP');
  const end = Math.max(...rest.map((b) => b.address + b.data.length));
  const tables = new Uint8Array(end);
  for (const b of rest) tables.set(b.data, b.address);
  const rsdp = rsdpBlob.data.slice();
  const s = new Script();
  s.allocate(FILE_RSDP, 16, ZONE_FSEG);
  s.allocate(FILE_TABLES, 64, ZONE_HIGH);
  // RSDP -> RSDT / XSDT
  s.pointer(FILE_RSDP, FILE_TABLES, 16, 4);
  s.pointer(FILE_RSDP, FILE_TABLES, 24, 8);
  const at = (name: string) => rest.find((b) => b.name === name)!;
  const rsdt = at('RSDT');
  const xsdt = at('XSDT');
  for (let o = 36; o < rsdt.data.length; o += 4) s.pointer(FILE_TABLES, FILE_TABLES, rsdt.address + o, 4);
  for (let o = 36; o < xsdt.data.length; o += 8) s.pointer(FILE_TABLES, FILE_TABLES, xsdt.address + o, 8);
  const fadt = at('FACP');
  for (const [off, size] of [
    [36, 4],
    [40, 4],
    [132, 8],
    [140, 8],
  ] as const) {
    s.pointer(FILE_TABLES, FILE_TABLES, fadt.address + off, size);
  }
  // Checksums are computed by the firmware after patching: ship them as zero.
  for (const b of rest) {
    if (b.name === 'FACS') continue;
    tables[b.address + 9] = 0;
    s.checksum(FILE_TABLES, b.address + 9, b.address, b.data.length);
  }
  rsdp[8] = 0;
  rsdp[32] = 0;
  s.checksum(FILE_RSDP, 8, 0, 20);
  s.checksum(FILE_RSDP, 32, 0, 36);
  return { rsdp, tables, loader: s.bytes() };
}
