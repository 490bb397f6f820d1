/**
 * The loader step that runs before bhyve (libvirt bhyve_command.c
 * virBhyveProcessBuildLoadCmd): bhyveload (`-m MiB -d DISK NAME`, or the user's
 * `<bootloader_args>`), grub-bhyve (`--root`, `--device-map FILE`, `--memory`,
 * `--cons-dev`) with the contents of its device.map, or a custom `<bootloader>` with its
 * arguments. No loader runs when the domain boots UEFI (`<os><loader>`) or a kernel
 * directly (`<os><kernel>`, tsbhyve loads it itself).
 *
 * Boot disk choice is libvirt's: `<os><boot dev>` picks the first disk or cdrom; else the
 * one disk with a `<boot order>`; else the last usable disk (libvirt's loop). More than
 * one boot device, or none of the requested kind, is VIR_ERR_CONFIG_UNSUPPORTED.
 */

import type { DiskDef, DomainDef } from '../xml/types.js';
import type { BhyveHost } from './capabilities.js';
import { unsupported } from './errors.js';

export interface LoaderCommand {
  /** Whole argv, program first. */
  argv: string[];
  /** grub-bhyve's device.map contents (the caller writes it where `deviceMapPath` says). */
  deviceMap?: string;
}

/** Memory in MiB as bhyve and its loaders take it (rounded up). */
export function memoryMiB(def: DomainDef): number {
  return Math.ceil(def.memory / 1024);
}

/** virBhyveUsableDisk: disks and cdroms backed by a file, a block device or a CAM target. */
function usableDisk(disk: DiskDef): boolean {
  return (
    (disk.device === 'disk' || disk.device === 'cdrom') &&
    (disk.type === 'file' || disk.type === 'block' || disk.type === 'volume' || disk.type === 'ctl')
  );
}

function diskPath(disk: DiskDef): string {
  const p = disk.type === 'block' || disk.type === 'ctl' ? disk.source?.dev : disk.source?.file;
  if (p === undefined) throw unsupported(`boot disk '${disk.target.dev}' has no source`);
  return p;
}

/** g_strsplit(args, " ", 0): libvirt splits bootloader_args on single spaces. */
function splitBootloaderArgs(args: string): string[] {
  return args.split(' ');
}

/** virBhyveGetBootDisk. */
export function bootDisk(def: DomainDef): DiskDef {
  const disks = def.devices.disks;
  if (disks.length < 1) throw unsupported('Domain should have at least one disk defined');
  const boots = def.os.boots;
  if (boots.length > 1) throw unsupported('Only one boot device is supported');
  if (boots.length === 1) {
    const dev = boots[0];
    let want: 'disk' | 'cdrom';
    if (dev === 'cdrom') want = 'cdrom';
    else if (dev === 'hd') want = 'disk';
    else throw unsupported(`Cannot boot from device ${dev}`);
    const match = disks.find((d) => usableDisk(d) && d.device === want);
    if (!match) throw unsupported(`Cannot find boot device of requested type ${dev}`);
    return match;
  }
  let match: DiskDef | undefined;
  let lastUsable: DiskDef | undefined;
  for (const d of disks) {
    if (!usableDisk(d)) continue;
    lastUsable = d;
    if ((d.boot?.order ?? 0) > 0) {
      if (match) throw unsupported('Only one boot device is supported');
      match = d;
    }
  }
  const chosen = match ?? lastUsable;
  if (!chosen) throw unsupported('Domain should have at least one usable disk');
  return chosen;
}

function withTimeout(host: BhyveHost, argv: string[]): string[] {
  if (host.bhyveloadTimeout <= 0) return argv;
  const t = [host.paths.timeout, '--foreground', '--verbose'];
  if (host.bhyveloadTimeoutKill > 0) t.push('-k', `${host.bhyveloadTimeoutKill}s`);
  t.push(`${host.bhyveloadTimeout}s`);
  return [...t, ...argv];
}

/** virBhyveProcessBuildBhyveloadCmd. */
function bhyveloadCommand(def: DomainDef, host: BhyveHost): LoaderCommand {
  const argv = [host.paths.bhyveload];
  if (def.bootloader_args === undefined) {
    const disk = bootDisk(def);
    argv.push('-m', String(memoryMiB(def)), '-d', diskPath(disk), def.name);
  } else {
    argv.push(...splitBootloaderArgs(def.bootloader_args));
  }
  return { argv: withTimeout(host, argv) };
}

/** virBhyveProcessBuildCustomLoaderCmd. */
function customLoaderCommand(def: DomainDef, program: string): LoaderCommand {
  if (def.bootloader_args === undefined) throw unsupported('Custom loader requires explicit bootloader_args configuration');
  return { argv: [program, ...splitBootloaderArgs(def.bootloader_args)] };
}

function grubDevice(disk: DiskDef): string {
  return disk.device === 'cdrom' ? `(cd) ${diskPath(disk)}\n` : `(hd0) ${diskPath(disk)}\n`;
}

/** virBhyveProcessBuildGrubbhyveCmd. */
function grubCommand(def: DomainDef, program: string, host: BhyveHost, deviceMapPath: string): LoaderCommand {
  if (def.bootloader_args !== undefined) return customLoaderCommand(def, program);
  // Respect <boot order> (lowest wins); otherwise the first CD, or failing that the
  // first hard disk.
  let cd: DiskDef | undefined;
  let hdd: DiskDef | undefined;
  let userdef: DiskDef | undefined;
  let best = Infinity;
  for (const d of def.devices.disks) {
    if (!usableDisk(d)) continue;
    const order = d.boot?.order ?? 0;
    if (order > 0 && order < best) {
      userdef = d;
      best = order;
      continue;
    }
    if (!cd && d.device === 'cdrom') cd = d;
    if (!hdd && d.device === 'disk') hdd = d;
  }
  let deviceMap = '';
  if (userdef) deviceMap += grubDevice(userdef);
  else {
    if (hdd) deviceMap += grubDevice(hdd);
    if (cd) deviceMap += grubDevice(cd);
  }
  const root = userdef ? (userdef.device === 'cdrom' ? 'cd' : 'hd0,msdos1') : cd ? 'cd' : 'hd0,msdos1';
  const argv = [program, '--root', root, '--device-map', deviceMapPath, '--memory', String(memoryMiB(def))];
  const serial = def.devices.serials[0];
  if (host.grubCaps.has('CONSDEV') && serial) {
    if (serial.type !== 'nmdm') throw unsupported('only nmdm console types are supported');
    const master = serial.sources[0]?.master;
    if (master === undefined) throw unsupported('nmdm serial port without a master device');
    argv.push('--cons-dev', master);
  }
  argv.push(def.name);
  return { argv, deviceMap };
}

/**
 * The loader command for `def`, or undefined when bhyve boots by itself (UEFI ROM or
 * tsbhyve's direct kernel boot). `deviceMapPath` is the file grub-bhyve is told to read.
 */
export function buildLoaderCommand(def: DomainDef, host: BhyveHost, deviceMapPath: string): LoaderCommand | undefined {
  if (def.os.loader) return undefined;
  const bl = def.bootloader;
  if (bl === undefined) {
    if (def.os.kernel !== undefined) return undefined;
    return bhyveloadCommand(def, host);
  }
  if (bl.includes('grub-bhyve')) return grubCommand(def, bl, host, deviceMapPath);
  return customLoaderCommand(def, bl);
}
