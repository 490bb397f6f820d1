import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAcpiTables, type AcpiInput } from '../../../src/emulator/firmware/acpi/build.js';
import { checksumOk, int, nameString, pkgLength, eisaId } from '../../../src/emulator/firmware/acpi/aml.js';

function requireTool(tool: string): void {
  const r = spawnSync('which', [tool]);
  if (r.status !== 0) throw new Error(`${tool} is required for this test: apt-get install acpica-tools`);
}

const input: AcpiInput = {
  ncpus: 2,
  hpetCapabilities: 0x8086a701,
  ecamBase: 0xe000_0000,
  spcr: true,
  dsdt: {
    buses: [
      {
        bus: 0,
        windows: { iobase: 0x2000, iolimit: 0x2080, membase32: 0xc000_0000, memlimit32: 0xc030_0000, membase64: 32 * 2 ** 30, memlimit64: 33 * 2 ** 30 },
        routes: [
          { slot: 2, pin: 1, link: 1, ioapicPin: 16 },
          { slot: 3, pin: 2, link: 2, ioapicPin: 17 },
        ],
      },
      {
        bus: 1,
        windows: { iobase: 0x2080, iolimit: 0x20c0, membase32: 0xc030_0000, memlimit32: 0xc040_0000, membase64: 33 * 2 ** 30, memlimit64: 33.5 * 2 ** 30 },
        routes: [{ slot: 0, pin: 1, link: 3, ioapicPin: 18 }],
      },
    ],
    lpc: { slot: 31, func: 0 },
    comPorts: [
      { name: 'com1', base: 0x3f8, irq: 4 },
      { name: 'com2', base: 0x2f8, irq: 3 },
      { name: 'com3', base: 0x3e8, irq: 4 },
      { name: 'com4', base: 0x2e8, irq: 3 },
    ],
    qemuFwCfg: true,
    ecam: { base: 0xe000_0000, size: 0x1000_0000 },
    pirqIrqs: [3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15],
    pciIoBase: 0x2000,
  },
};

let dir: string;
const tables = buildAcpiTables(input);
const blob = (name: string) => tables.blobs.find((b) => b.name === name)!;

beforeAll(() => {
  requireTool('iasl');
  requireTool('acpiexec');
  dir = mkdtempSync(join(tmpdir(), 'acpi-'));
  for (const b of tables.blobs) writeFileSync(join(dir, `${b.name.toLowerCase()}.dat`), b.data);
});

function acpiexec(...commands: string[]): string {
  return execFileSync('acpiexec', ['-b', commands.join('; '), join(dir, 'dsdt.dat')], { encoding: 'utf8', timeout: 20_000 });
}

describe('AML encoder', () => {
  it('encodes package lengths, integers, names and EISA IDs', () => {
    expect([...pkgLength(10)]).toEqual([11]);
    expect([...pkgLength(62)]).toEqual([63]);
    expect([...pkgLength(63)]).toEqual([0x41, 0x04]); // 65 in two bytes
    expect([...pkgLength(4094)]).toEqual([0x81, 0x00, 0x01]); // 4097 in three bytes
    expect([...int(0)]).toEqual([0]);
    expect([...int(1)]).toEqual([1]);
    expect([...int(0x1234)]).toEqual([0x0b, 0x34, 0x12]);
    expect([...int(2 ** 32)]).toEqual([0x0e, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(String.fromCharCode(...nameString('\\_SB.PC00'))).toBe('\\.\u0000_SB_PC00'.replace('\u0000', ''));
    expect([...eisaId('PNP0A03')]).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(() => nameString('TOOLONG')).toThrow(/invalid AML name/);
  });
});

describe('ACPI tables', () => {
  it('places RSDP at 0xF2400 with valid checksums everywhere, all below 1 MiB', () => {
    expect(tables.rsdpAddress).toBe(0xf2400);
    const rsdp = blob('RSDP').data;
    expect(checksumOk(rsdp, 0, 20)).toBe(true);
    expect(checksumOk(rsdp, 0, 36)).toBe(true);
    for (const b of tables.blobs) {
      if (b.name !== 'RSDP' && b.name !== 'FACS') expect(checksumOk(b.data), b.name).toBe(true);
      expect(b.address + b.data.length).toBeLessThanOrEqual(0x100000);
      expect(b.address % 16).toBe(0);
    }
    expect(blob('FACS').address % 64).toBe(0);
  });

  it('points RSDT and XSDT at FADT, MADT, HPET, MCFG and SPCR', () => {
    const byAddr = new Map(tables.blobs.map((b) => [b.address, b.name]));
    const x = blob('XSDT').data;
    const xdv = new DataView(x.buffer, x.byteOffset);
    const xs = [];
    for (let o = 36; o < x.length; o += 8) xs.push(byAddr.get(Number(xdv.getBigUint64(o, true))));
    expect(xs).toEqual(['FACP', 'APIC', 'HPET', 'MCFG', 'SPCR']);
    const r = blob('RSDT').data;
    const rdv = new DataView(r.buffer, r.byteOffset);
    const rs = [];
    for (let o = 36; o < r.length; o += 4) rs.push(byAddr.get(rdv.getUint32(o, true)));
    expect(rs).toEqual(xs);
    const f = new DataView(blob('FACP').data.buffer);
    expect(byAddr.get(f.getUint32(36, true))).toBe('FACS');
    expect(byAddr.get(Number(f.getBigUint64(140, true)))).toBe('DSDT');
  });

  it('disassembles every table with iasl without errors', () => {
    for (const b of tables.blobs) {
      if (b.name === 'RSDP') continue;
      const f = join(dir, `${b.name.toLowerCase()}.dat`);
      const r = spawnSync('iasl', ['-d', f], { encoding: 'utf8' });
      expect(r.status, `${b.name}: ${r.stdout}${r.stderr}`).toBe(0);
      const dsl = readFileSync(f.replace(/\.dat$/, '.dsl'), 'utf8');
      expect(dsl, b.name).not.toMatch(/Incorrect checksum|\*\*\*\* Unknown|Invalid/);
    }
    const madt = readFileSync(join(dir, 'apic.dsl'), 'utf8');
    expect(madt.match(/Processor Enabled : 1/g)?.length).toBe(2);
    expect(madt).toMatch(/Address : FEC00000/);
    expect(madt).toMatch(/Source : 09\n.*Interrupt : 00000009\n.*Flags \(decoded below\) : 000F/);
    expect(madt).toMatch(/Source : 00\n.*Interrupt : 00000002\n.*Flags \(decoded below\) : 0005/);
    const facp = readFileSync(join(dir, 'facp.dsl'), 'utf8');
    expect(facp).toMatch(/Reset Register Supported \(V2\) : 1/);
    expect(facp).toMatch(/Address : 0000000000000CF9/);
    expect(facp).toMatch(/Control Method Power Button \(V1\) : 0/);
    const mcfg = readFileSync(join(dir, 'mcfg.dsl'), 'utf8');
    expect(mcfg).toMatch(/Base Address : 00000000E0000000/);
    expect(mcfg).toMatch(/End Bus Number : FF/);
    const spcr = readFileSync(join(dir, 'spcr.dsl'), 'utf8');
    expect(spcr).toMatch(/Address : 00000000000003F8/);
    expect(spcr).toMatch(/Baud Rate : 07/);
    const dsdt = readFileSync(join(dir, 'dsdt.dsl'), 'utf8');
    for (const d of ['PC00', 'PC01', 'ISA', 'SIO', 'COM1', 'COM4', 'LNKA', 'LNKH', 'PIC', 'TIMR', 'RTC', 'HPET', 'FWCF']) {
      expect(dsdt).toContain(`Device (${d})`);
    }
  });

  it('executes the DSDT in acpiexec: _S5, both _PRT forms, link devices, bus numbers', () => {
    const out = acpiexec(
      'evaluate \\_S5',
      'evaluate \\_SB.PC00._PRT',
      'evaluate \\_PIC 1',
      'evaluate \\_SB.PC00._PRT',
      'evaluate \\_SB.PC01._PRT',
      'evaluate \\_SB.PC01._BBN',
      'evaluate \\_SB.PC00.ISA.PIRV 0x0B',
      'evaluate \\_SB.PC00.ISA.PIRV 0x08',
      'evaluate \\_SB.PC00.ISA.LNKC._DIS',
      'evaluate \\_SB.PC00.ISA.LNKC._STA',
      'evaluate \\_SB.PC00.ISA.LNKC._CRS',
    );
    expect(out).not.toMatch(/Exception|AE_NOT_FOUND|AE_AML/);
    const results = out.split('Evaluating ').slice(1);
    expect(results[0]).toMatch(/Package\] Contains 4 Elements:\n\s+\[Integer\] = 0000000000000005/);
    // PIC mode: link references
    expect(results[1]).toMatch(/000000000002FFFF\n\s+\[Integer\] = 0000000000000000\n\s+\[Object Reference\].*Name LNKA Device/);
    expect(results[1]).toMatch(/000000000003FFFF\n\s+\[Integer\] = 0000000000000001\n\s+\[Object Reference\].*Name LNKB Device/);
    // APIC mode: GSIs 16 and 17
    expect(results[3]).toMatch(/\[Integer\] = 000000000002FFFF\n\s+\[Integer\] = 0000000000000000\n\s+\[Integer\] = 0000000000000000\n\s+\[Integer\] = 0000000000000010/);
    expect(results[3]).toMatch(/\[Integer\] = 000000000003FFFF\n\s+\[Integer\] = 0000000000000001\n\s+\[Integer\] = 0000000000000000\n\s+\[Integer\] = 0000000000000011/);
    expect(results[4]).toMatch(/\[Integer\] = 000000000000FFFF\n\s+\[Integer\] = 0000000000000000\n\s+\[Integer\] = 0000000000000000\n\s+\[Integer\] = 0000000000000012/);
    expect(results[5]).toMatch(/\[Integer\] = 0000000000000001/);
    expect(results[6]).toMatch(/\[Integer\] = 0000000000000001/);
    expect(results[7]).toMatch(/\[Integer\] = 0000000000000000/);
    expect(results[9]).toMatch(/\[Integer\] = 0000000000000009/); // disabled link: present, not enabled
    expect(results[10]).toMatch(/\[Buffer\] Length 06/);
  });
});
