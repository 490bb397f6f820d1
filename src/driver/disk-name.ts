/**
 * Disk target names → indexes, as libvirt's virDiskNameParse / virDiskNameToIndex
 * (src/util/virutil.c) compute them: `hda`→0, `sdz`→25, `vdaa`→26, and NVMe namespaces
 * `nvme<ctrl>n<ns>[p<part>]` → controller `ctrl`, disk `ns - 1`.
 *
 * Used by the post-parse hook to give SATA and NVMe disks their drive addresses
 * (bhyve_domain.c bhyveDomainDiskDefAssignAddress) and by the loader to order disks.
 * Pure functions; an unparsable name returns undefined (the caller reports it).
 */

const DRIVE_PREFIXES = ['fd', 'hd', 'vd', 'sd', 'xvd', 'ubd'] as const;

export interface DiskName {
  /** NVMe controller number (0 for the other prefixes). */
  controller: number;
  /** Disk index (letters base-26, or NVMe namespace - 1). */
  disk: number;
  /** Trailing partition number, or -1. */
  partition: number;
}

const NVME_RE = /^nvme(\d+)n(\d+)(?:p(\d+))?$/;

export function parseDiskName(name: string): DiskName | undefined {
  const nvme = NVME_RE.exec(name);
  if (nvme) {
    const controller = Number(nvme[1]);
    const ns = Number(nvme[2]);
    if (ns < 1 || !Number.isSafeInteger(controller) || !Number.isSafeInteger(ns)) return undefined;
    return { controller, disk: ns - 1, partition: nvme[3] === undefined ? -1 : Number(nvme[3]) };
  }
  const prefix = DRIVE_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === undefined) return undefined;
  let i = prefix.length;
  let idx = 0;
  let letters = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) break;
    idx = (idx + (letters < 1 ? 0 : 1)) * 26 + (c - 0x61);
    letters++;
    i++;
    // Beyond 12 letters the index leaves the exactly representable integers.
    if (letters > 12) return undefined;
  }
  const digits = name.slice(i);
  if (!/^\d*$/.test(digits)) return undefined;
  return { controller: 0, disk: idx, partition: digits === '' ? -1 : Number(digits) };
}

/** virDiskNameToIndex: the disk index, or -1 for an unparsable name. */
export function diskNameToIndex(name: string): number {
  return parseDiskName(name)?.disk ?? -1;
}
