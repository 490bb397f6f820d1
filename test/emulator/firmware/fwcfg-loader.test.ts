import { describe, expect, it } from 'vitest';
import { buildAcpiTables, type AcpiInput } from '../../../src/emulator/firmware/acpi/build.js';
import { buildAcpiFwCfg, FILE_RSDP, FILE_TABLES } from '../../../src/emulator/firmware/acpi/fwcfg-loader.js';
import { checksumOk } from '../../../src/emulator/firmware/acpi/aml.js';

const input: AcpiInput = {
  ncpus: 4,
  hpetCapabilities: 0x8086a701,
  ecamBase: 0xe000_0000,
  spcr: true,
  dsdt: {
    buses: [{ bus: 0, windows: { iobase: 0x2000, iolimit: 0x2040, membase32: 0xc000_0000, memlimit32: 0xc010_0000, membase64: 2 ** 35, memlimit64: 2 ** 35 + 2 ** 29 }, routes: [{ slot: 3, pin: 1, link: 1, ioapicPin: 16 }] }],
    lpc: { slot: 31, func: 0 },
    comPorts: [{ name: 'com1', base: 0x3f8, irq: 4 }],
    qemuFwCfg: true,
    ecam: { base: 0xe000_0000, size: 0x1000_0000 },
    pirqIrqs: [3, 4, 5],
    pciIoBase: 0x2000,
  },
};

/** What OVMF's QemuFwCfgAcpiPlatformDxe does with the script, in miniature. */
function runLoader(files: Record<string, Uint8Array>, script: Uint8Array, bases: Record<string, number>): Record<string, Uint8Array> {
  const blobs: Record<string, Uint8Array> = {};
  const dv = new DataView(script.buffer);
  const name = (o: number) => Buffer.from(script.subarray(o, o + 56)).toString('latin1').replace(/\0.*$/s, '');
  for (let o = 0; o < script.length; o += 128) {
    const cmd = dv.getUint32(o, true);
    if (cmd === 1) blobs[name(o + 4)] = files[name(o + 4)]!.slice();
    else if (cmd === 2) {
      const dest = blobs[name(o + 4)]!;
      const src = name(o + 60);
      const off = dv.getUint32(o + 116, true);
      const size = script[o + 120]!;
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dest[off + i]!);
      v += BigInt(bases[src]!);
      for (let i = 0; i < size; i++) dest[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
    } else if (cmd === 3) {
      const f = blobs[name(o + 4)]!;
      const result = dv.getUint32(o + 60, true);
      const start = dv.getUint32(o + 64, true);
      const len = dv.getUint32(o + 68, true);
      let sum = 0;
      for (let i = start; i < start + len; i++) sum += f[i]!;
      f[result] = (256 - (sum & 0xff)) & 0xff;
    } else throw new Error(`unknown loader command ${cmd}`);
  }
  return blobs;
}

describe('ACPI tables through fw_cfg (table-loader)', () => {
  const files = buildAcpiFwCfg(input);

  it('yields exactly the in-memory tables once the loader places them', () => {
    // The tables blob is allocated 64-byte aligned (FACS needs it), so compare with a
    // direct build whose tables start on a 64-byte boundary too.
    const R = 0xf2410;
    const out = runLoader({ [FILE_RSDP]: files.rsdp, [FILE_TABLES]: files.tables }, files.loader, { [FILE_RSDP]: R, [FILE_TABLES]: R + 48 });
    const direct = buildAcpiTables(input, R);
    const rsdp = direct.blobs.find((b) => b.name === 'RSDP')!;
    expect(out[FILE_RSDP]).toEqual(rsdp.data);
    for (const b of direct.blobs) {
      if (b.name === 'RSDP') continue;
      const off = b.address - (R + 48);
      expect(out[FILE_TABLES]!.subarray(off, off + b.data.length), b.name).toEqual(b.data);
    }
  });

  it('keeps pointers and checksums right wherever the firmware allocates the blobs', () => {
    const T = 0x7ff0_0000;
    const out = runLoader({ [FILE_RSDP]: files.rsdp, [FILE_TABLES]: files.tables }, files.loader, { [FILE_RSDP]: 0xf5000, [FILE_TABLES]: T });
    const rsdp = out[FILE_RSDP]!;
    const tables = out[FILE_TABLES]!;
    expect(checksumOk(rsdp, 0, 20) && checksumOk(rsdp, 0, 36)).toBe(true);
    const xsdt = Number(new DataView(rsdp.buffer).getBigUint64(24, true)) - T;
    const sig = (off: number) => Buffer.from(tables.subarray(off, off + 4)).toString();
    expect(sig(xsdt)).toBe('XSDT');
    const xdv = new DataView(tables.buffer);
    const n = (xdv.getUint32(xsdt + 4, true) - 36) / 8;
    const sigs = Array.from({ length: n }, (_, i) => sig(Number(xdv.getBigUint64(xsdt + 36 + 8 * i, true)) - T));
    expect(sigs).toEqual(['FACP', 'APIC', 'HPET', 'MCFG', 'SPCR']);
    const fadt = Number(xdv.getBigUint64(xsdt + 36, true)) - T;
    expect(sig(Number(xdv.getBigUint64(fadt + 140, true)) - T)).toBe('DSDT');
    for (const off of [xsdt, fadt]) expect(checksumOk(tables, off, off + xdv.getUint32(off + 4, true))).toBe(true);
    expect(files.loader.length % 128).toBe(0);
  });
});
