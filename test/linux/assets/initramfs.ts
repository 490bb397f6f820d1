/**
 * The guest's initramfs: a newc cpio (cpio.ts) holding
 *
 *   /init                       fixtures/linux/init (busybox sh script)
 *   /bin/busybox, /bin/sh       Debian's busybox-static (/init installs the other applets)
 *   /lib/modules/<name>.ko      the kernel package's modules, decompressed
 *   /lib/modules/load-order     their names, dependencies first (modules.ts)
 *   /etc/tsvirt-assets          package versions, printed by /init into the console log
 *   /dev/console                char 5:1, so the kernel can give /init a console before
 *                               devtmpfs is mounted
 *
 * Uncompressed on purpose: unpacking costs the guest nothing but copies, while gunzip on
 * an emulated CPU would cost seconds. Built fresh for each run (milliseconds) so that a
 * change to /init takes effect without touching the package cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusyboxAsset } from './busybox.js';
import { CpioWriter } from './cpio.js';
import { REPO_ROOT } from './debian-package.js';
import type { KernelAssets } from './kernel.js';

export const INIT_SCRIPT = join(REPO_ROOT, 'fixtures', 'linux', 'init');

export function buildInitramfs(kernel: KernelAssets, busybox: BusyboxAsset, initScript = INIT_SCRIPT): Buffer {
  const w = new CpioWriter();
  for (const d of ['bin', 'dev', 'etc', 'lib', 'lib/modules', 'mnt', 'proc', 'sys', 'tmp']) w.add({ type: 'dir', path: d });
  w.add({ type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  w.add({ type: 'file', path: 'init', data: readFileSync(initScript), mode: 0o755 });
  w.add({ type: 'file', path: 'bin/busybox', data: readFileSync(busybox.path), mode: 0o755 });
  w.add({ type: 'symlink', path: 'bin/sh', target: 'busybox' });
  for (const m of kernel.manifest.modules) w.add({ type: 'file', path: `lib/modules/${m.name}.ko`, data: readFileSync(kernel.modulePath(m.name)) });
  w.add({ type: 'file', path: 'lib/modules/load-order', data: Buffer.from(kernel.manifest.modules.map((m) => `${m.name}\n`).join('')) });
  const assets = `${kernel.manifest.package} ${kernel.manifest.version}, busybox-static ${busybox.version}`;
  w.add({ type: 'file', path: 'etc/tsvirt-assets', data: Buffer.from(`${assets}\n`) });
  return w.finish();
}

export function writeInitramfs(path: string, kernel: KernelAssets, busybox: BusyboxAsset): string {
  writeFileSync(path, buildInitramfs(kernel, busybox));
  return path;
}
