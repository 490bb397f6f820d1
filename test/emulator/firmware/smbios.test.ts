import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSmbios, defaultUuid, uuidToSmbios, SMBIOS_BASE } from '../../../src/emulator/firmware/smbios.js';

/** dmidecode --from-dump: entry point at 0 with the table address rewritten to 32. */
function dmidecode(image: Uint8Array, ...args: string[]): string {
  if (spawnSync('which', ['dmidecode']).status !== 0) throw new Error('dmidecode is required for this test: apt-get install dmidecode');
  const dump = new Uint8Array(image);
  const dv = new DataView(dump.buffer);
  dv.setUint32(0x18, 0x20, true);
  // recompute the intermediate and entry checksums for the moved table address
  const sum = (a: number, b: number) => {
    let x = 0;
    for (let i = a; i < b; i++) x += dump[i]!;
    return x & 0xff;
  };
  dump[0x15] = 0;
  dump[0x15] = (256 - sum(0x10, 0x1f)) & 0xff;
  dump[4] = 0;
  dump[4] = (256 - sum(0, 0x1f)) & 0xff;
  const dir = mkdtempSync(join(tmpdir(), 'smbios-'));
  const f = join(dir, 'dmi.bin');
  writeFileSync(f, dump);
  return execFileSync('dmidecode', ['--from-dump', f, ...args], { encoding: 'utf8' });
}

function checksum(b: Uint8Array, start: number, end: number) {
  let x = 0;
  for (let i = start; i < end; i++) x += b[i]!;
  return x & 0xff;
}

describe('SMBIOS', () => {
  const base = {
    strings: {},
    uuid: uuidToSmbios('8a7e2f10-3c4b-4d5e-9f60-718293a4b5c6'),
    sockets: 2,
    cores: 2,
    threads: 1,
    lowMem: 3 * 2 ** 30,
    highMem: 2 ** 30,
  };

  it('builds a valid 2.8 entry point with both checksums', () => {
    const img = buildSmbios(base);
    expect(Buffer.from(img.subarray(0, 4)).toString()).toBe('_SM_');
    expect(checksum(img, 0, 0x1f)).toBe(0);
    expect(checksum(img, 0x10, 0x1f)).toBe(0);
    expect(new DataView(img.buffer).getUint32(0x18, true)).toBe(SMBIOS_BASE + 0x20);
  });

  it('decodes with dmidecode: bhyve defaults, the domain UUID, CPUs and memory', () => {
    const out = dmidecode(buildSmbios(base));
    expect(out).toContain('SMBIOS 2.8 present.');
    expect(out).toMatch(/Vendor: BHYVE\n\s+Version: 14\.0\n\s+Release Date: 10\/17\/2021/);
    expect(out).toMatch(/System Information\n\s+Manufacturer: FreeBSD\n\s+Product Name: BHYVE\n\s+Version: 1\.0\n\s+Serial Number: None\n\s+UUID: 8a7e2f10-3c4b-4d5e-9f60-718293a4b5c6/);
    expect(out).toContain('System is a virtual machine');
    expect(out).toContain('Family: Virtual Machine');
    expect(out.match(/Socket Designation: CPU #\d/g)).toEqual(['Socket Designation: CPU #0', 'Socket Designation: CPU #1']);
    expect(out).toContain('Core Count: 2');
    expect(out).toMatch(/Maximum Capacity: 4 GB/);
    expect(out).toMatch(/Size: 4 GB/);
    expect(out).toMatch(/Starting Address: 0x00000000000\n\s+Ending Address: 0x000BFFFFFFF/);
    expect(out).toMatch(/Starting Address: 0x00100000000\n\s+Ending Address: 0x0013FFFFFFF/);
    expect(out).toContain('No errors detected');
    expect(out).not.toMatch(/invalid|wrong|out of spec/i);
  });

  it('takes strings from the configuration', () => {
    const out = dmidecode(
      buildSmbios({ ...base, strings: { 'system.manufacturer': 'Fedora', 'system.product_name': 'Virt-Manager', 'board.asset_tag': 'Asset Tag', 'chassis.sku': 'Type3Sku1' } }),
      '-t',
      '1,2,3',
    );
    expect(out).toContain('Manufacturer: Fedora');
    expect(out).toContain('Product Name: Virt-Manager');
    expect(out).toContain('Asset Tag: Asset Tag');
    expect(out).toContain('SKU Number: Type3Sku1');
  });

  it('derives the default UUID like bhyve (MD5 of name and host, version 3)', () => {
    const u = defaultUuid('vm0', 'host.example');
    expect(u[6]! >> 4).toBe(3);
    expect(u[8]! >> 6).toBe(2);
    expect(defaultUuid('vm0', 'host.example')).toEqual(u);
    expect(defaultUuid('vm1', 'host.example')).not.toEqual(u);
    expect(() => uuidToSmbios('not-a-uuid')).toThrow("Invalid UUID 'not-a-uuid'");
  });
});
