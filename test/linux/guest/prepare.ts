/**
 * Everything one Linux test boot needs on disk, from the cached package assets: the
 * initramfs (rebuilt per run from fixtures/linux/init), a fresh ext4 disk with a new
 * challenge, and a FramePeer listening for the guest's frames. `linuxAssets()` answers
 * with the assets or with the reason they cannot be had (no apt, no network), which the
 * tests print when they skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianBusybox, type BusyboxAsset } from '../assets/busybox.js';
import { AssetMissing, aptShow } from '../assets/debian-package.js';
import { makeDisk, type GuestDisk } from '../assets/disk.js';
import { writeInitramfs } from '../assets/initramfs.js';
import { debianKernel, type KernelAssets } from '../assets/kernel.js';
import { FramePeer } from '../net/frame-peer.js';
import { guestCmdline, MEMORY_MIB, PEER_IP, PEER_MAC, type BootSpec } from './boot-config.js';

export interface LinuxAssets {
  kernel: KernelAssets;
  busybox: BusyboxAsset;
}

export async function linuxAssets(): Promise<LinuxAssets | { missing: string }> {
  try {
    // One apt-cache call for both packages (each call costs seconds).
    const names = [process.env.TSVIRT_LINUX_DEB ? [] : ['linux-image-amd64'], process.env.TSVIRT_BUSYBOX ? [] : ['busybox-static']].flat();
    if (names.length) aptShow(names);
    return { kernel: await debianKernel(), busybox: await debianBusybox() };
  } catch (e) {
    if (e instanceof AssetMissing) return { missing: e.message };
    throw e;
  }
}

export interface PreparedRun {
  dir: string;
  spec: BootSpec;
  disk: GuestDisk;
  peer: FramePeer;
  dispose(): Promise<void>;
}

export async function prepareRun(
  assets: LinuxAssets,
  opts: { vcpus: number; timeoutMs: number; memoryMiB?: number; cmdlineExtra?: string[]; diskMiB?: number },
): Promise<PreparedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-linux-'));
  const initrd = writeInitramfs(join(dir, 'initrd.cpio'), assets.kernel, assets.busybox);
  const disk = makeDisk(join(dir, 'disk.img'), opts.diskMiB);
  const peer = await FramePeer.start({ ip: PEER_IP, mac: PEER_MAC });
  const spec: BootSpec = {
    kernel: assets.kernel.vmlinuz,
    initrd,
    disk: disk.image,
    vcpus: opts.vcpus,
    memoryMiB: opts.memoryMiB ?? MEMORY_MIB,
    cmdline: guestCmdline(opts.cmdlineExtra),
    peerPort: peer.port,
    timeoutMs: opts.timeoutMs,
  };
  return {
    dir,
    spec,
    disk,
    peer,
    async dispose() {
      await peer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
