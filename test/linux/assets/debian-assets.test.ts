/**
 * The asset pipeline on Debian's real packages: the kernel package resolved, fetched and
 * unpacked into the cache; its config checked for what /init and the boot rely on; the
 * modules the guest loads checked against the config (modular vs built in), in a valid
 * insmod order, each a decompressed ELF module of this kernel; the initramfs listed by
 * busybox cpio. Skips, saying why, when apt cannot provide the packages.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linuxAssets, type LinuxAssets } from '../guest/prepare.js';
import { readModinfo, hasInterpreter } from './elf.js';
import { buildInitramfs } from './initramfs.js';
import { GUEST_MODULES, parseKernelConfig } from './kernel.js';

const got = await linuxAssets();
const missing = 'missing' in got ? got.missing : undefined;
if (missing) console.warn(`Linux guest assets unavailable, skipping: ${missing}`);
const assets = got as LinuxAssets;

/** Config symbol of each module the guest wants. */
const MODULE_CONFIG: Record<string, string> = {
  virtio_pci: 'VIRTIO_PCI',
  virtio_blk: 'VIRTIO_BLK',
  virtio_net: 'VIRTIO_NET',
  virtio_rng: 'HW_RANDOM_VIRTIO',
  ext4: 'EXT4_FS',
  virtio: 'VIRTIO',
  virtio_ring: 'VIRTIO',
  virtio_pci_modern_dev: 'VIRTIO_PCI_LIB',
  virtio_pci_legacy_dev: 'VIRTIO_PCI_LIB_LEGACY',
  jbd2: 'JBD2',
  mbcache: 'FS_MBCACHE',
  crc16: 'CRC16',
  crc32c_generic: 'CRYPTO_CRC32C',
  failover: 'FAILOVER',
  net_failover: 'NET_FAILOVER',
};

/** Options the boot and /init need built in: a module cannot provide them. */
const MUST_BE_BUILTIN = [
  'BLK_DEV_INITRD', // the initramfs
  'BINFMT_SCRIPT', // /init is a script
  'BINFMT_ELF',
  'DEVTMPFS',
  'PROC_FS',
  'SYSFS',
  'SERIAL_8250',
  'SERIAL_8250_CONSOLE', // console=ttyS0
  'EARLY_PRINTK', // earlyprintk=serial
  'PCI',
  'PCI_MSI',
  'ACPI', // poweroff through \_S5
  'INET', // ping
  'HW_RANDOM', // /dev/hwrng (the core; the virtio driver is a module)
  'MODULES',
  'KALLSYMS', // symbols.ts reads /proc/kallsyms
];

describe.skipIf(missing !== undefined)("Debian's kernel and busybox as guest assets", () => {
  const work = mkdtempSync(join(tmpdir(), 'tsvirt-assets-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let config: Map<string, string>;
  beforeAll(() => {
    config = parseKernelConfig(readFileSync(assets.kernel.config, 'utf8'));
  });

  it('comes from the versioned linux-image package the metapackage names', () => {
    const m = assets.kernel.manifest;
    expect(m.package).toMatch(/^linux-image-\d+\.\d+\.\d+-\d+-amd64$/);
    expect(m.package).toContain(m.release);
    const head = readFileSync(assets.kernel.vmlinuz).subarray(0x202, 0x206).toString('latin1');
    expect(head).toBe('HdrS'); // a bzImage (boot protocol header)
  });

  it('has built in what the boot and /init cannot load as modules', () => {
    const notBuiltin = MUST_BE_BUILTIN.filter((s) => config.get(s) !== 'y');
    expect(notBuiltin, `not =y in ${assets.kernel.config}`).toEqual([]);
    expect(config.get('MODULE_SIG_FORCE')).toBeUndefined(); // decompressed, re-packed modules must load
  });

  it('loads exactly the modules the config has as =m, dependencies first', () => {
    const { modules, builtin } = assets.kernel.manifest;
    const names = modules.map((m) => m.name);
    for (const w of GUEST_MODULES) expect([...names, ...builtin], w).toContain(w);
    for (const m of modules) {
      const sym = MODULE_CONFIG[m.name];
      expect(sym, `config symbol of ${m.name}`).toBeDefined();
      expect(config.get(sym!), `CONFIG_${sym}`).toBe('m');
      for (const d of m.depends) expect(names.indexOf(d), `${d} before ${m.name}`).toBeLessThan(names.indexOf(m.name));
    }
    for (const b of builtin) expect(config.get(MODULE_CONFIG[b] ?? '?')).toBe('y');
    // virtio_pci as 6.1 splits it: the modern and legacy device libraries come first.
    if (names.includes('virtio_pci_modern_dev')) expect(names.indexOf('virtio_pci_modern_dev')).toBeLessThan(names.indexOf('virtio_pci'));
  });

  it('has each module as a plain ELF file of this kernel release', () => {
    for (const m of assets.kernel.manifest.modules) {
      const ko = readFileSync(assets.kernel.modulePath(m.name));
      const mi = readModinfo(ko, m.name);
      expect(mi.get('vermagic')?.[0], m.name).toMatch(new RegExp(`^${assets.kernel.manifest.release.replace(/\./g, '\\.')} `));
      expect(mi.get('name')?.[0]?.replace(/-/g, '_')).toBe(m.name);
    }
  });

  it('uses a static busybox', () => {
    expect(hasInterpreter(readFileSync(assets.busybox.path), 'busybox')).toBe(false);
  });

  it('builds an initramfs busybox cpio lists, with the load order as computed', () => {
    const cpio = join(work, 'initrd.cpio');
    writeFileSync(cpio, buildInitramfs(assets.kernel, assets.busybox));
    const r = spawnSync(assets.busybox.path, ['cpio', '-t', '-F', cpio], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const names = r.stdout.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['init', 'bin/busybox', 'dev/console', 'lib/modules/load-order', 'etc/tsvirt-assets']));
    for (const m of assets.kernel.manifest.modules) expect(names).toContain(`lib/modules/${m.name}.ko`);
    const order = spawnSync(assets.busybox.path, ['cpio', '-i', '--to-stdout', '-F', cpio, 'lib/modules/load-order'], { encoding: 'utf8' }).stdout;
    expect(order.trim().split('\n')).toEqual(assets.kernel.manifest.modules.map((m) => m.name));
  });
});
