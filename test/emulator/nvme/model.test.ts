import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NvmeController } from '../../../src/emulator/nvme/device.js';
import { buildError, buildMachine } from '../helpers/machine-rig.js';

describe('the nvme PCI model', () => {
  it('builds from -s with ram= and options, visible in PCI config space', async () => {
    const { m, cfg } = await buildMachine(['-s', '0,hostbridge', '-s', '4,nvme,ram=8,maxq=2,qsz=128,ser=ABC']);
    expect(cfg(0, 4, 0, 0)).toBe(0x0a0afb5d);
    const fn = m.pci.getFunction(0, 4, 0)!;
    const nvme = fn.ops as NvmeController;
    expect(nvme).toBeInstanceOf(NvmeController);
    expect(nvme.maxEntries).toBe(128);
    expect(fn.msixTable!.count).toBe(3);
    expect(Buffer.from(nvme.identifyController().subarray(4, 24)).toString('latin1')).toBe('ABC'.padEnd(20));
    const ns = new DataView(nvme.identifyNamespace().buffer);
    expect(Number(ns.getBigUint64(0, true))).toBe(2048); // 8 MiB of 4 KiB sectors
    expect(Buffer.from(nvme.identifyController().subarray(768, 768 + 44)).toString('latin1')).toBe('nqn.2013-12.org.freebsd:bhyve-vm0-0-4-0\0\0\0\0\0');
    await m.close();
  });

  it('opens a backing file with block options and sectsz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvme-model-'));
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(1 << 20));
    const { m } = await buildMachine(['-s', '0,hostbridge', '-s', `5,nvme,${img},sectsz=4096,ro,eui64=0x1122334455667788`]);
    const nvme = m.pci.getFunction(0, 5, 0)!.ops as NvmeController;
    const ns = new DataView(nvme.identifyNamespace().buffer);
    expect(Number(ns.getBigUint64(0, true))).toBe(256);
    expect((ns.getUint32(128, true) >> 16) & 0xff).toBe(12);
    expect(ns.getBigUint64(120, false)).toBe(0x1122334455667788n);
    await m.close();
  });

  it('refuses malformed options, naming the slot and key', async () => {
    const msg = async (conf: string) => (await buildError(['-s', `4,${conf}`])).message;
    expect(await msg('nvme,ram=8,maxq=0')).toBe('pci slot 0:4:0: nvme: Invalid maxq option 0 (1..16)');
    expect(await msg('nvme,ram=8,qsz=1')).toBe('pci slot 0:4:0: nvme: Invalid qsz option 1 (2..65536)');
    expect(await msg('nvme,ram=8,ioslots=x')).toBe('pci slot 0:4:0: nvme: Invalid ioslots option x (1..65536)');
    expect(await msg('nvme,ram=8,sectsz=1024')).toBe('pci slot 0:4:0: nvme: Invalid sectsz option 1024 (512, 4096 or 8192)');
    expect(await msg('nvme,ram=8,dsm=maybe')).toBe('pci slot 0:4:0: nvme: Invalid dsm option maybe (auto, enable or disable)');
    expect(await msg('nvme,ram=8,eui64=zz')).toBe('pci slot 0:4:0: nvme: Invalid eui64 option zz');
    expect(await msg('nvme,ram=0')).toMatch(/Invalid ram option 0/);
    expect(await msg('nvme')).toBe('pci slot 0:4:0: nvme: needs a backing path or ram=MiB');
    expect(await msg('nvme,/nonexistent/disk.img')).toMatch(/^pci slot 0:4:0: Could not open backing file: \/nonexistent\/disk.img/);
  });
});
