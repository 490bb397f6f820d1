/**
 * SMBIOS 2.8 tables with bhyve's defaults (smbiostbl.c; bhyve-userland.md §2.4, §5.7):
 * a 2.x "_SM_" entry point at 0xF1000 followed by structures of types 0 (BIOS), 1
 * (system, with the VM's UUID), 2 (baseboard), 3 (chassis), 4 (one per socket), 16
 * (physical memory array), 17 (memory device), 19 (mapped addresses for low and high
 * memory), 32 (boot information) and 127 (end).
 *
 * Strings come from the `bios.*`, `system.*`, `board.*`, `chassis.*` keys with bhyve's
 * defaults. The UUID is `uuid` (stored little-endian in its first three fields, as
 * uuid_enc_le does) or, by default, the MD5 of the VM name followed by the host name in
 * a 256-byte buffer, made a version-3 DCE UUID — exactly bhyve's derivation.
 */
import { createHash } from 'node:crypto';

export const SMBIOS_BASE = 0xf1000;
export const SMBIOS_MAX_LENGTH = 0xf2400 - SMBIOS_BASE;

export const SMBIOS_STRING_DEFAULTS = {
  'bios.vendor': 'BHYVE',
  'bios.version': '14.0',
  'bios.release_date': '10/17/2021',
  'system.manufacturer': 'FreeBSD',
  'system.product_name': 'BHYVE',
  'system.version': '1.0',
  'system.serial_number': 'None',
  'system.sku': 'None',
  'system.family_name': 'Virtual Machine',
  'board.manufacturer': 'FreeBSD',
  'board.product_name': 'BHYVE',
  'board.version': '1.0',
  'board.serial_number': 'None',
  'board.asset_tag': 'None',
  'board.location': 'None',
  'chassis.manufacturer': 'FreeBSD',
  'chassis.version': '1.0',
  'chassis.serial_number': 'None',
  'chassis.asset_tag': 'None',
  'chassis.sku': 'None',
} as const;

export type SmbiosStringKey = keyof typeof SMBIOS_STRING_DEFAULTS;

export interface SmbiosInput {
  strings: Partial<Record<SmbiosStringKey, string>>;
  /** 16 bytes as they go into the type-1 structure. */
  uuid: Uint8Array;
  sockets: number;
  cores: number;
  threads: number;
  lowMem: number;
  highMem: number;
}

export class SmbiosError extends Error {}

/** `uuid` config value → SMBIOS byte order (time_low, time_mid, time_hi little-endian). */
export function uuidToSmbios(uuid: string): Uint8Array {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(uuid);
  if (!m) throw new SmbiosError(`Invalid UUID '${uuid}'`);
  const hex = (s: string) => Buffer.from(s, 'hex');
  return new Uint8Array(Buffer.concat([hex(m[1]!).reverse(), hex(m[2]!).reverse(), hex(m[3]!).reverse(), hex(m[4]!), hex(m[5]!)]));
}

/** bhyve's default UUID: MD5(vmname || hostname padded to 256 bytes), version 3, DCE variant. */
export function defaultUuid(vmName: string, hostName: string): Uint8Array {
  const host = Buffer.alloc(256);
  host.write(hostName.slice(0, 255), 'utf8');
  const d = createHash('md5').update(vmName, 'utf8').update(host).digest();
  d[6] = (d[6]! & 0x0f) | 0x30;
  d[8] = (d[8]! & 0x3f) | 0x80;
  return new Uint8Array(d);
}

class StructureWriter {
  readonly parts: Uint8Array[] = [];
  count = 0;
  maxSize = 0;

  add(type: number, formatted: number[], strings: string[]): number {
    const handle = this.count++;
    const len = 4 + formatted.length;
    const head = [type, len, handle & 0xff, handle >> 8, ...formatted];
    const enc = strings.map((s) => Buffer.from(s.length ? s : ' ', 'latin1'));
    const strBytes = enc.length === 0 ? [0, 0] : [...enc.flatMap((b) => [...b, 0]), 0];
    const s = Uint8Array.from([...head, ...strBytes]);
    this.parts.push(s);
    this.maxSize = Math.max(this.maxSize, s.length);
    return handle;
  }
}

const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
function u64(v: number): number[] {
  return [...u32(v % 0x1_0000_0000), ...u32(Math.floor(v / 0x1_0000_0000))];
}

/** The entry point + structure table, ready to copy at `base` (entry at base, table at base + 0x20). */
export function buildSmbios(input: SmbiosInput, base = SMBIOS_BASE): Uint8Array {
  if (input.uuid.length !== 16) throw new SmbiosError('the SMBIOS UUID must be 16 bytes');
  const s = (k: SmbiosStringKey) => input.strings[k] ?? SMBIOS_STRING_DEFAULTS[k];
  const w = new StructureWriter();
  // Type 0: BIOS. Characteristics: ISA, PCI, shadowing, CD boot, EDD.
  const biosChars = (1 << 4) | (1 << 7) | (1 << 12) | (1 << 15) | (1 << 19);
  // Extension byte 1: ACPI; byte 2: BIOS boot specification, virtual machine.
  w.add(0, [1, 2, ...u16(0xf000), 3, 0, ...u64(biosChars), 0x01, 0x11, 0, 0, 0xff, 0xff], [
    s('bios.vendor'),
    s('bios.version'),
    s('bios.release_date'),
  ]);
  // Type 1: system. Wake-up type 6 = power switch.
  w.add(1, [1, 2, 3, 4, ...input.uuid, 6, 5, 6], [
    s('system.manufacturer'),
    s('system.product_name'),
    s('system.version'),
    s('system.serial_number'),
    s('system.sku'),
    s('system.family_name'),
  ]);
  // Type 3 first (type 2 refers to it). Chassis type 1 = other; states 3 = safe; security 2 = unknown... 3 = none.
  const chassis = 2; // handle it will get: types 0,1 took 0,1
  w.add(2, [1, 2, 3, 4, 5, 0x01, 6, ...u16(chassis + 1), 0x0a, 0], [
    s('board.manufacturer'),
    s('board.product_name'),
    s('board.version'),
    s('board.serial_number'),
    s('board.asset_tag'),
    s('board.location'),
  ]);
  w.add(3, [1, 0x01, 2, 3, 4, 0x03, 0x03, 0x03, 0x03, ...u32(0), 0, 0, 0, 0, 5], [
    s('chassis.manufacturer'),
    s('chassis.version'),
    s('chassis.serial_number'),
    s('chassis.asset_tag'),
    s('chassis.sku'),
  ]);
  for (let i = 0; i < input.sockets; i++) {
    const cores = Math.min(input.cores, 255);
    const threads = Math.min(input.cores * input.threads, 255);
    // Processor type 3 (central), family 0xFE (see family 2), status 0x41 (enabled, populated), upgrade 1 (other).
    w.add(4, [1, 3, 0xfe, 2, ...u64(0), 3, 0, ...u16(0), ...u16(0), ...u16(0), 0x41, 1, ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), 0, 0, 0, cores, cores, threads, ...u16(0x0004), ...u16(0x0001)], [
      `CPU #${i}`,
      ' ',
      ' ',
    ]);
  }
  const memKb = Math.floor((input.lowMem + input.highMem) / 1024);
  // Type 16: system board (3), system memory (3), no ECC (3 = none).
  const array = w.add(16, [3, 3, 3, ...u32(memKb < 0x80000000 ? memKb : 0x80000000), ...u16(0xfffe), ...u16(1), ...u64(memKb < 0x80000000 ? 0 : memKb * 1024)], []);
  const memMb = Math.floor((input.lowMem + input.highMem) / (1024 * 1024));
  w.add(17, [...u16(array), ...u16(0xfffe), ...u16(64), ...u16(64), ...u16(memMb < 0x7fff ? memMb : 0x7fff), 0x09, 0, 1, 2, 0x1a /* DDR4 */, ...u16(0x0080 /* synchronous */), ...u16(0), 3, 4, 5, 6, 0, ...u32(memMb < 0x7fff ? 0 : memMb), ...u16(0)], [
    'DIMM 0',
    'Bank 0',
    ' ',
    'None',
    'None',
    'None',
  ]);
  const mapped = (start: number, end: number) => {
    const sk = Math.floor(start / 1024);
    const ek = Math.floor(end / 1024) - 1;
    const ext = ek >= 0xffffffff;
    w.add(19, [...u32(ext ? 0xffffffff : sk), ...u32(ext ? 0xffffffff : ek), ...u16(array), 1, ...u64(ext ? start : 0), ...u64(ext ? end - 1 : 0)], []);
  };
  if (input.lowMem > 0) mapped(0, input.lowMem);
  if (input.highMem > 0) mapped(0x1_0000_0000, 0x1_0000_0000 + input.highMem);
  w.add(32, [0, 0, 0, 0, 0, 0, 0], []);
  w.add(127, [], []);

  const tableLen = w.parts.reduce((n, p) => n + p.length, 0);
  const tableAt = 0x20;
  const total = tableAt + tableLen;
  if (total > SMBIOS_MAX_LENGTH) throw new SmbiosError(`SMBIOS tables too large (${total} bytes)`);
  const out = new Uint8Array(total);
  let o = tableAt;
  for (const p of w.parts) {
    out.set(p, o);
    o += p.length;
  }
  const dv = new DataView(out.buffer);
  out.set([0x5f, 0x53, 0x4d, 0x5f], 0); // "_SM_"
  out[5] = 0x1f;
  out[6] = 2;
  out[7] = 8;
  dv.setUint16(8, w.maxSize, true);
  out.set([0x5f, 0x44, 0x4d, 0x49, 0x5f], 0x10); // "_DMI_"
  dv.setUint16(0x16, tableLen, true);
  dv.setUint32(0x18, base + tableAt, true);
  dv.setUint16(0x1c, w.count, true);
  out[0x1e] = 0x28;
  const sum = (a: number, b: number) => {
    let x = 0;
    for (let i = a; i < b; i++) x += out[i]!;
    return (256 - (x & 0xff)) & 0xff;
  };
  out[0x15] = sum(0x10, 0x1f);
  out[4] = sum(0, 0x1f);
  return out;
}
