/**
 * `<os>` of the DomainDef model: how the guest boots (firmware, loader, nvram, boot order,
 * direct kernel boot, SMBIOS mode).
 *
 * Spec: libvirt docs/formatdomain.rst "Operating system booting" (BIOS bootloader, Host
 * bootloader, Direct kernel boot, SMBIOS System Information). Written in libvirt's order:
 * type, firmware, init*, loader, nvram, kernel, initrd, cmdline, dtb, root, acpi, boot,
 * bootmenu, bios, smbios.
 */

import type { XmlElement, YesNo } from './common.js';

/** `<os><type>`. */
export type OsType = 'hvm' | 'xen' | 'linux' | 'xenpvh' | 'exe' | 'uml';

/** `<boot dev=''/>`. */
export type BootDev = 'fd' | 'cdrom' | 'hd' | 'network';

/** `<os><loader>`. */
export interface LoaderDef {
  /** The element's text: path of the firmware image. */
  path?: string;
  readonly?: YesNo;
  type?: 'rom' | 'pflash';
  secure?: YesNo;
  stateless?: YesNo;
  format?: 'raw' | 'qcow2';
}

/** `<os><nvram>`. */
export interface NvramDef {
  /** The element's text: path of the per-domain variable store. */
  path?: string;
  template?: string;
  format?: 'raw' | 'qcow2';
  templateFormat?: 'raw' | 'qcow2';
  /** `<nvram type='file|block|network'><source .../></nvram>` form, kept verbatim. */
  type?: string;
  source?: XmlElement;
}

export interface OsDef {
  type: OsType;
  /** `<type arch=''>`; the parser fills the host default (x86_64) when absent, like libvirt. */
  arch?: string;
  machine?: string;
  /** `<os firmware='bios|efi'>`: ask for firmware autoselection. */
  firmware?: 'bios' | 'efi';
  /** `<os><firmware><feature enabled='yes|no' name=''/></firmware>`. */
  firmwareFeatures?: Array<{ enabled: YesNo; name: string }>;
  loader?: LoaderDef;
  nvram?: NvramDef;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  dtb?: string;
  root?: string;
  /** Container (exe) boot: `<init>`, `<initarg>`, `<initenv name=''>`, `<initdir>`. */
  init?: string;
  initargs?: string[];
  initenvs?: Array<{ name: string; value: string }>;
  initdir?: string;
  /** `<acpi><table type='slic|rawset|msdm'>path</table></acpi>`. */
  acpiTables?: Array<{ type: string; path: string }>;
  /** `<boot dev=''/>` in order; libvirt adds `hd` for hvm guests with no boot device. */
  boots: BootDev[];
  bootmenu?: { enable: YesNo; timeout?: number };
  bios?: { useserial?: YesNo; rebootTimeout?: number };
  smbios?: { mode: 'emulate' | 'host' | 'sysinfo' };
}
