import { describe, expect, it } from 'vitest';
import { bootDisk, buildLoaderCommand, resolveHost } from '../../src/driver/index.js';
import { baseDomain, sataDisk, virtioDisk } from './helpers/domain.js';

const host = resolveHost({ paths: { bhyveload: 'bhyveload', timeout: 'timeout' } });

describe('loader command', () => {
  it('runs bhyveload on the boot disk with the memory in MiB (rounded up)', () => {
    const d = baseDomain();
    d.memory = 1000; // KiB → 1 MiB
    d.devices.disks.push(virtioDisk('vda', '/a.img'));
    expect(buildLoaderCommand(d, host, '/dm')?.argv).toEqual(['bhyveload', '-m', '1', '-d', '/a.img', 'bhyve']);
  });
  it('wraps bhyveload in timeout(1) when a timeout is configured', () => {
    const d = baseDomain();
    d.devices.disks.push(virtioDisk('vda', '/a.img'));
    const h = resolveHost({ paths: { bhyveload: 'bhyveload', timeout: '/usr/bin/timeout' }, bhyveloadTimeout: 60 });
    expect(buildLoaderCommand(d, h, '/dm')?.argv.slice(0, 5)).toEqual(['/usr/bin/timeout', '--foreground', '--verbose', '60s', 'bhyveload']);
  });
  it('passes bootloader_args through, split on spaces as libvirt does', () => {
    const d = baseDomain();
    d.bootloader_args = '-m 1G -e boot_verbose=YES vm';
    expect(buildLoaderCommand(d, host, '/dm')?.argv).toEqual(['bhyveload', '-m', '1G', '-e', 'boot_verbose=YES', 'vm']);
    d.bootloader = '/usr/local/bin/my-loader';
    expect(buildLoaderCommand(d, host, '/dm')?.argv).toEqual(['/usr/local/bin/my-loader', '-m', '1G', '-e', 'boot_verbose=YES', 'vm']);
    delete d.bootloader_args;
    expect(() => buildLoaderCommand(d, host, '/dm')).toThrow(/Custom loader requires explicit bootloader_args/);
  });
  it('needs no loader for UEFI or a direct kernel', () => {
    const d = baseDomain();
    d.os.loader = { path: '/fw.fd' };
    expect(buildLoaderCommand(d, host, '/dm')).toBeUndefined();
    delete d.os.loader;
    d.os.kernel = '/k';
    expect(buildLoaderCommand(d, host, '/dm')).toBeUndefined();
  });
  it('picks boot disks the way libvirt does', () => {
    const d = baseDomain();
    d.devices.disks.push(sataDisk('sda', '/a.img'), { ...sataDisk('sdb', '/b.iso'), device: 'cdrom' });
    d.os.boots = ['cdrom'];
    expect(bootDisk(d).source?.file).toBe('/b.iso');
    d.os.boots = ['network'];
    expect(() => bootDisk(d)).toThrow(/Cannot boot from device network/);
    d.os.boots = ['hd', 'cdrom'];
    expect(() => bootDisk(d)).toThrow(/Only one boot device/);
    d.os.boots = [];
    d.devices.disks[1]!.boot = { order: 1 };
    expect(bootDisk(d).source?.file).toBe('/b.iso');
    d.devices.disks = [];
    expect(() => bootDisk(d)).toThrow(/at least one disk/);
  });
  it('builds grub-bhyve with the lowest boot order in its device map', () => {
    const d = baseDomain();
    d.bootloader = '/usr/local/sbin/grub-bhyve';
    d.devices.disks.push(sataDisk('sda', '/a.img', { boot: { order: 2 } }), { ...sataDisk('sdb', '/b.iso'), device: 'cdrom', boot: { order: 1 } });
    const r = buildLoaderCommand(d, host, '/run/dm')!;
    expect(r.argv).toEqual(['/usr/local/sbin/grub-bhyve', '--root', 'cd', '--device-map', '/run/dm', '--memory', '214', 'bhyve']);
    expect(r.deviceMap).toBe('(cd) /b.iso\n');
  });
});
