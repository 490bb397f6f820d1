/**
 * Preparing a definition's firmware before the command is built (libvirt
 * src/bhyve/bhyve_firmware.c bhyveFirmwareFillDomain and the NVRAM defaults of the bhyve
 * driver's prepare step):
 * - `<os firmware='efi'>` picks `BHYVE_UEFI.fd` from the firmware directory, or else the
 *   first file found there (sorted by name here, for a stable choice), and makes the loader
 *   a read-only pflash image; an empty or missing directory is VIR_ERR_CONFIG_UNSUPPORTED
 *   "no firmwares found in DIR".
 * - A UEFI boot that has an `<nvram>` without a path, or that came from firmware
 *   autoselection, gets the per-domain variable store `NVRAMDIR/NAME_VARS.fd`.
 * - `firmware='bios'` is refused: bhyve has no legacy BIOS (boot with bhyveload or
 *   grub-bhyve through `<bootloader>`, or use UEFI).
 *
 * Mutates the (live) definition it is given; reads only a directory listing, through the
 * `listDir` seam so tests can supply one.
 */

import { readdirSync } from 'node:fs';
import type { DomainDef } from '../xml/types.js';
import type { BhyveHost } from './capabilities.js';
import { unsupported } from './errors.js';

export const BHYVE_DEFAULT_FIRMWARE = 'BHYVE_UEFI.fd';

/** Directory listing: names of entries, or undefined when the directory does not exist. */
export type ListDir = (dir: string) => string[] | undefined;

export const defaultListDir: ListDir = (dir) => {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
};

/** Joins a directory and a file name the way g_build_filename does for these paths. */
function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** The variable store path libvirt's bhyve driver gives a domain. */
export function defaultNvramPath(host: BhyveHost, name: string): string {
  return joinPath(host.nvramDir, `${name}_VARS.fd`);
}

/** The variables template shipped next to a firmware image: `X.fd` / `X_CODE.fd` → `X_VARS.fd`. */
export function varsTemplateFor(firmwareDir: string, image: string): string {
  const stem = image.replace(/(_CODE)?\.fd$/i, '');
  return joinPath(firmwareDir, `${stem}_VARS.fd`);
}

/**
 * `<os firmware='efi'>` autoselection: the loader (read-only raw pflash) and, when there
 * is none, an NVRAM with its template and per-domain path. Throws "no firmwares found".
 */
export function fillFirmware(def: DomainDef, host: BhyveHost, listDir: ListDir = defaultListDir): void {
  const entries = (listDir(host.firmwareDir) ?? []).filter((n) => !n.startsWith('.')).sort();
  const chosen = entries.includes(BHYVE_DEFAULT_FIRMWARE) ? BHYVE_DEFAULT_FIRMWARE : entries[0];
  if (chosen === undefined) throw unsupported(`no firmwares found in ${host.firmwareDir}`);
  const loader = (def.os.loader ??= {});
  if (loader.format !== undefined && loader.format !== 'raw') {
    throw unsupported(`Unsupported loader format '${loader.format}'`);
  }
  loader.readonly = 'yes';
  loader.type = 'pflash';
  loader.format = 'raw';
  loader.path = joinPath(host.firmwareDir, chosen);
  if (!def.os.nvram) {
    def.os.nvram = { template: varsTemplateFor(host.firmwareDir, chosen), format: 'raw', path: defaultNvramPath(host, def.name) };
  }
}

/** bhyveFirmwareFillDomain + NVRAM defaults (the prepare step before a start). */
export function prepareFirmware(def: DomainDef, host: BhyveHost, listDir: ListDir = defaultListDir): void {
  const fw = def.os.firmware;
  if (fw === 'bios') {
    throw unsupported("firmware 'bios' is not available with bhyve: use firmware='efi' or a <bootloader>");
  }
  if (fw === 'efi') fillFirmware(def, host, listDir);
  if (def.os.loader && def.os.nvram && def.os.nvram.path === undefined && def.os.nvram.source === undefined) {
    def.os.nvram.path = defaultNvramPath(host, def.name);
  }
}
