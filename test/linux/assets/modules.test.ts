/**
 * Module dependency resolution (modules.ts) on synthetic indexes: insmod order,
 * softdeps by name and by alias, explicit provider choice, built-in modules, and the
 * errors a package that does not fit produces.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { aliasMatches, decompressModule, loadOrder, moduleNameOf, moduleSourceOf, parseBuiltin, softdepPre, type ModuleInfo } from './modules.js';

const mod = (name: string, depends: string[] = [], softPre: string[] = [], aliases: string[] = []): ModuleInfo => ({ name, path: `kernel/${name}.ko`, depends, softPre, aliases });
const none = { names: new Set<string>(), aliases: [] };

describe('module load order', () => {
  const idx = moduleSourceOf([
    mod('virtio_ring'),
    mod('virtio', ['virtio_ring']),
    mod('virtio_pci_modern_dev'),
    mod('virtio_pci_legacy_dev'),
    mod('virtio_pci', ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio']),
    mod('failover'),
    mod('net_failover', ['failover']),
    mod('virtio_net', ['virtio_ring', 'virtio', 'net_failover']),
    mod('crc32c_generic', [], [], ['crypto-crc32c', 'crypto-crc32c-generic']),
    mod('crc32c_intel', [], [], ['crypto-crc32c', 'crypto-crc32c-intel']),
    mod('jbd2', [], ['crypto-crc32c']),
    mod('ext4', ['jbd2', 'mbcache', 'crc16'], ['crypto-crc32c']),
    mod('mbcache'),
    mod('crc16'),
  ]);
  const prefer = { 'crypto-crc32c': 'crc32c_generic' };

  it('puts every dependency before its user, each module once', () => {
    const plan = loadOrder(idx, none, ['virtio_pci', 'virtio_net', 'ext4'], prefer);
    const names = plan.order.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of plan.order) {
      for (const d of [...m.depends]) expect(names.indexOf(d), `${d} before ${m.name}`).toBeLessThan(names.indexOf(m.name));
    }
    expect(names.indexOf('crc32c_generic')).toBeLessThan(names.indexOf('jbd2'));
    expect(names).not.toContain('crc32c_intel');
    expect(plan.softdeps).toEqual(['ext4: crypto-crc32c -> crc32c_generic', 'jbd2: crypto-crc32c -> crc32c_generic']);
  });

  it('refuses an alias with several providers unless one is named, and a wrong choice', () => {
    expect(() => loadOrder(idx, none, ['ext4'])).toThrow(/several providers \(crc32c_generic, crc32c_intel\)/);
    expect(() => loadOrder(idx, none, ['ext4'], { 'crypto-crc32c': 'crc16' })).toThrow(/does not provide it/);
  });

  it('treats built-in modules and built-in aliases as satisfied', () => {
    const builtin = parseBuiltin('kernel/lib/crc16.ko\nkernel/fs/mbcache.ko\n', Buffer.from('crc32c_generic.alias=crypto-crc32c\0crc32c_generic.license=GPL\0'));
    const src = moduleSourceOf([mod('jbd2', [], ['crypto-crc32c']), mod('ext4', ['jbd2', 'mbcache', 'crc16'], ['crypto-crc32c'])]);
    const plan = loadOrder(src, builtin, ['ext4']);
    expect(plan.order.map((m) => m.name)).toEqual(['jbd2', 'ext4']);
    expect(plan.builtin).toEqual(['crc16', 'mbcache']);
    expect(plan.softdeps).toContain('ext4: crypto-crc32c -> built in');
  });

  it('names what is missing, and finds cycles', () => {
    expect(() => loadOrder(moduleSourceOf([mod('a', ['b'])]), none, ['a'])).toThrow('module b (needed by a) is neither in the package nor built into the kernel');
    expect(() => loadOrder(moduleSourceOf([mod('a', ['b']), mod('b', ['a'])]), none, ['a'])).toThrow(/cycle/);
    expect(() => loadOrder(moduleSourceOf([mod('a', [], ['nothing-provides-this'])]), none, ['a'])).toThrow(/provided by no module/);
  });

  it('normalises names and parses softdeps and aliases as modprobe does', () => {
    expect(moduleNameOf('lib/modules/6.1.0/kernel/drivers/char/hw_random/virtio-rng.ko.xz')).toBe('virtio_rng');
    expect(moduleNameOf('x/virtio_blk.ko')).toBe('virtio_blk');
    expect(softdepPre(['pre: a b post: c', 'post: d pre: e'])).toEqual(['a', 'b', 'e']);
    expect(aliasMatches('virtio:d00000004v*', 'virtio:d00000004v00001AF4')).toBe(true);
    expect(aliasMatches('crypto-crc32c', 'crypto-crc32c-generic')).toBe(false);
    expect(aliasMatches('pci:v*d?', 'pci:vXd1')).toBe(true);
    expect(aliasMatches('a.b', 'axb')).toBe(false);
  });
});

describe('module decompression', () => {
  const ko = Buffer.from('\x7fELF pretend module bytes '.repeat(100));
  const have = (t: string) => spawnSync(t, ['--version']).status === 0;
  it('passes .ko through and inflates .ko.gz', () => {
    expect(decompressModule('a/b.ko', ko)).toBe(ko);
    expect(decompressModule('a/b.ko.gz', gzipSync(ko)).equals(ko)).toBe(true);
  });
  it.skipIf(!have('xz'))('inflates .ko.xz (Debian kernels after bookworm compress modules with xz)', () => {
    expect(decompressModule('a/b.ko.xz', execFileSync('xz', ['-c'], { input: ko })).equals(ko)).toBe(true);
    expect(() => decompressModule('a/b.ko.xz', Buffer.from('not xz'))).toThrow(/cannot decompress a\/b.ko.xz/);
  });
  it.skipIf(!have('zstd'))('inflates .ko.zst', () => {
    expect(decompressModule('a/b.ko.zst', execFileSync('zstd', ['-c', '-q'], { input: ko })).equals(ko)).toBe(true);
  });
  it('refuses a name that is not a module', () => {
    expect(() => decompressModule('a/b.txt', ko)).toThrow(/not a kernel module file name/);
  });
});
