/**
 * Runtime device aliases of the live XML (`<alias name='serial0'/>`), assigned at start
 * the way libvirt's QEMU driver names them (qemuAssignDeviceAliases), so tools that look
 * devices up by alias (virsh console --devname serial0, domblklist, ...) find them:
 *
 *   disks        virtio-disk<N> (N from the target letter), sata<C>-0-<U>, ide<C>-<B>-<U>,
 *                nvme<N>, usb-disk<N>, scsi<C>-<B>-<U> (drive address) — else <bus>-disk<N>
 *   controllers  pci.<index> for pci, else <type><index> (sata0, usb0, virtio-serial0)
 *   interfaces   net<N>    serials serial<N>    consoles console<N>    channels channel<N>
 *   inputs       input<N>  videos video<N>       sounds sound<N>        rngs rng<N>
 *   hostdevs     hostdev<N>  filesystems fs<N>  watchdogs watchdog<N>   memballoon balloon0
 * User aliases (`ua-…`) are kept. Works on a copy the caller owns (the live definition).
 */

import type { DiskDef, DomainDef } from '../xml/types.js';

function diskIndex(dev: string): number {
  // vda → 0, vdz → 25, vdaa → 26 (libvirt's virDiskNameToIndex)
  const m = /^[a-z]+?d([a-z]+)$/.exec(dev) ?? /^(?:nvme)?([a-z]+)$/.exec(dev);
  if (!m) return 0;
  let idx = 0;
  for (const ch of m[1]!) idx = idx * 26 + (ch.charCodeAt(0) - 96);
  return idx - 1;
}

function diskAlias(d: DiskDef, n: number): string {
  const bus = d.target.bus ?? 'virtio';
  const a = d.address as { type?: string; controller?: number; bus?: number; unit?: number } | undefined;
  const drive = a?.type === 'drive' ? a : undefined;
  switch (bus) {
    case 'virtio':
      return `virtio-disk${diskIndex(d.target.dev)}`;
    case 'sata':
      return drive ? `sata${drive.controller ?? 0}-0-${drive.unit ?? 0}` : `sata0-0-${n}`;
    case 'ide':
      return drive ? `ide${drive.controller ?? 0}-${drive.bus ?? 0}-${drive.unit ?? 0}` : `ide0-0-${n}`;
    case 'scsi':
      return drive ? `scsi${drive.controller ?? 0}-${drive.bus ?? 0}-${drive.unit ?? 0}` : `scsi0-0-${n}`;
    case 'nvme':
      return `nvme${n}`;
    case 'usb':
      return `usb-disk${diskIndex(d.target.dev)}`;
    default:
      return `${bus}-disk${n}`;
  }
}

const keep = (alias: string | undefined): boolean => alias !== undefined && alias.startsWith('ua-');

export function assignLiveAliases(def: DomainDef): void {
  const dv = def.devices;
  const used = new Set<string>();
  const set = <T extends { alias?: string }>(dev: T, name: string) => {
    if (keep(dev.alias)) return;
    let n = name;
    for (let i = 1; used.has(n); i++) n = `${name}.${i}`;
    dev.alias = n;
    used.add(n);
  };
  for (const list of [dv.disks, dv.controllers, dv.interfaces, dv.serials, dv.consoles, dv.channels, dv.inputs, dv.videos, dv.sounds, dv.rngs, dv.hostdevs, dv.filesystems, dv.watchdogs]) {
    for (const d of list as Array<{ alias?: string }>) if (keep(d.alias)) used.add(d.alias!);
  }
  const perBus = new Map<string, number>();
  for (const d of dv.disks) {
    const bus = d.target.bus ?? 'virtio';
    const n = perBus.get(bus) ?? 0;
    perBus.set(bus, n + 1);
    set(d, diskAlias(d, n));
  }
  for (const c of dv.controllers) set(c, c.type === 'pci' ? `pci.${c.index}` : `${c.type}${c.index}`);
  dv.interfaces.forEach((d, i) => set(d, `net${i}`));
  dv.serials.forEach((d, i) => set(d, `serial${i}`));
  dv.consoles.forEach((d, i) => set(d, `console${i}`));
  dv.channels.forEach((d, i) => set(d, `channel${i}`));
  dv.inputs.forEach((d, i) => set(d, `input${i}`));
  dv.videos.forEach((d, i) => set(d, `video${i}`));
  dv.sounds.forEach((d, i) => set(d, `sound${i}`));
  dv.rngs.forEach((d, i) => set(d, `rng${i}`));
  dv.hostdevs.forEach((d, i) => set(d, `hostdev${i}`));
  dv.filesystems.forEach((d, i) => set(d, `fs${i}`));
  dv.watchdogs.forEach((d, i) => set(d, `watchdog${i}`));
  if (dv.memballoon && dv.memballoon.model !== 'none') set(dv.memballoon, 'balloon0');
}
