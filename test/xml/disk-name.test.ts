/**
 * Disk target names as libvirt's virDiskNameParse / virDiskNameToIndex read them: the
 * numbers behind disk order and drive addresses (common and bhyve post-parse).
 */
import { describe, expect, it } from 'vitest';
import { busFromTargetName, diskNameToIndex, parseDiskName } from '../../src/xml/domain/disk.js';

describe('disk names', () => {
  it('maps letters base 26 like virDiskNameToIndex', () => {
    expect(diskNameToIndex('hda')).toBe(0);
    expect(diskNameToIndex('sdz')).toBe(25);
    expect(diskNameToIndex('vdaa')).toBe(26);
    expect(diskNameToIndex('hdaf')).toBe(31);
    expect(diskNameToIndex('xvdb')).toBe(1);
    expect(parseDiskName('sda3')).toEqual({ controller: 0, disk: 0, partition: 3 });
  });
  it('reads NVMe namespaces as controller and disk', () => {
    expect(parseDiskName('nvme0n1')).toEqual({ controller: 0, disk: 0, partition: -1 });
    expect(parseDiskName('nvme3n2p1')).toEqual({ controller: 3, disk: 1, partition: 1 });
  });
  it('rejects names it cannot read', () => {
    for (const n of ['', 'disk0', 'vda-1', 'nvme0n0', 'hdA', 'hd', 'sd1', 'sda01', 'nvme01n1', `hd${'a'.repeat(20)}`]) expect(parseDiskName(n), n).toBeUndefined();
  });
});

describe('bus from the target name', () => {
  it('follows libvirt: floppy → fdc, then the prefix, else ide', () => {
    expect(busFromTargetName('vda')).toBe('virtio');
    expect(busFromTargetName('sdb')).toBe('scsi');
    expect(busFromTargetName('xvda')).toBe('xen');
    expect(busFromTargetName('nvme0n1')).toBe('nvme');
    expect(busFromTargetName('hda', 'floppy')).toBe('fdc');
    expect(busFromTargetName('whatever')).toBe('ide');
  });
});
