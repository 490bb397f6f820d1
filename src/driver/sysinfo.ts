/**
 * `<sysinfo type='smbios'>` → bhyve's SMBIOS string settings (`-o bios.vendor=...`,
 * bhyve_config(5) `bios.*`, `system.*`, `board.*`, `chassis.*`), in the order libvirt's
 * bhyve driver writes them (bhyvexml2argv-sysinfo-smbios).
 *
 * Entries bhyve has no key for (`bios/release`, `oemStrings`, `fwcfg` sysinfo) and a
 * `system/uuid` that differs from the domain's are refused with
 * VIR_ERR_CONFIG_UNSUPPORTED naming them. Values may not contain line breaks (the `-k`
 * file is line-based).
 */

import type { DomainDef } from '../xml/types.js';
import { unsupported } from './errors.js';

type Block = 'bios' | 'system' | 'baseBoard' | 'chassis';

/** For each block: entry name → bhyve key, in output order. */
const KEYS: Record<Block, Array<[entry: string, key: string]>> = {
  bios: [
    ['vendor', 'bios.vendor'],
    ['version', 'bios.version'],
    ['date', 'bios.release_date'],
  ],
  system: [
    ['manufacturer', 'system.manufacturer'],
    ['product', 'system.product_name'],
    ['serial', 'system.serial_number'],
    ['sku', 'system.sku'],
    ['version', 'system.version'],
    ['family', 'system.family_name'],
  ],
  baseBoard: [
    ['manufacturer', 'board.manufacturer'],
    ['product', 'board.product_name'],
    ['version', 'board.version'],
    ['serial', 'board.serial_number'],
    ['asset', 'board.asset_tag'],
    ['location', 'board.location'],
  ],
  chassis: [
    ['manufacturer', 'chassis.manufacturer'],
    ['version', 'chassis.version'],
    ['serial', 'chassis.serial_number'],
    ['asset', 'chassis.asset_tag'],
    ['sku', 'chassis.sku'],
  ],
};

function blockOptions(block: Block, entries: Array<{ name: string; value: string }> | undefined, uuid: string): Array<[string, string]> {
  if (!entries) return [];
  const known = KEYS[block];
  for (const e of entries) {
    if (block === 'system' && e.name === 'uuid') {
      if (e.value.toLowerCase() !== uuid.toLowerCase()) {
        throw unsupported(`sysinfo system uuid '${e.value}' differs from the domain uuid '${uuid}'`);
      }
      continue;
    }
    if (!known.some(([n]) => n === e.name)) throw unsupported(`sysinfo ${block} entry '${e.name}' is not supported by bhyve`);
    if (/[\r\n]/.test(e.value)) throw unsupported(`sysinfo ${block} entry '${e.name}' may not contain a line break`);
  }
  const out: Array<[string, string]> = [];
  for (const [name, key] of known) {
    const e = entries.find((x) => x.name === name);
    if (e) out.push([key, e.value]);
  }
  return out;
}

/** The `-o` settings of the domain's SMBIOS sysinfo. */
export function sysinfoOptions(def: DomainDef): Array<[string, string]> {
  const list = def.sysinfo ?? [];
  if (list.length === 0) return [];
  if (list.length > 1 || list[0]!.type !== 'smbios') throw unsupported("only one <sysinfo type='smbios'> is supported");
  const s = list[0]!;
  if ((s.oemStrings?.length ?? 0) > 0) throw unsupported('sysinfo oemStrings are not supported by bhyve');
  if ((s.baseBoards?.length ?? 0) > 1) throw unsupported('only one sysinfo baseBoard is supported by bhyve');
  return [
    ...blockOptions('bios', s.bios, def.uuid),
    ...blockOptions('system', s.system, def.uuid),
    ...blockOptions('baseBoard', s.baseBoards?.[0], def.uuid),
    ...blockOptions('chassis', s.chassis, def.uuid),
  ];
}
