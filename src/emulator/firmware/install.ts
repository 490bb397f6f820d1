/**
 * Writes the firmware tables into guest memory and fw_cfg once the device graph is
 * complete (bhyve bhyve_init_platform_late: mptable_build, smbios_build, acpi_build;
 * qemu_fwcfg files; bhyve-userland.md §5.5-5.8):
 *
 * - MP table at 0xF0000 unless `x86.mptable=false`;
 * - SMBIOS at 0xF1000 (strings from `bios.*`, `system.*`, `board.*`, `chassis.*`; UUID
 *   from `uuid` or bhyve's MD5 default);
 * - ACPI at 0xF2400 when `acpi_tables` and `acpi_tables_in_memory` are true;
 * - fw_cfg (with `lpc.fwcfg=qemu`): the ACPI tables again as `etc/acpi/rsdp`,
 *   `etc/acpi/tables` and `etc/table-loader` (for OVMF), `opt/bhyve/hw.ncpu`, `etc/e820`,
 *   `bootorder` and the user files of `-f name,string=|file=`.
 */
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { FwCfgUserFile } from '../config/options.js';
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigTree } from '../config/tree.js';
import type { QemuFwCfg } from '../lpc/fwcfg.js';
import { encodeE820 } from '../lpc/fwcfg.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { PciHost } from '../pci/host.js';
import { PCI_EMUL_ECFG_BASE, PCI_EMUL_ECFG_SIZE, PCI_EMUL_IOBASE } from '../pci/host.js';
import { PirqRouter } from '../pci/pirq.js';
import { COM_PORTS } from '../lpc/uart/regs.js';
import { buildAcpiTables, type AcpiInput } from './acpi/build.js';
import { buildAcpiFwCfg, FILE_LOADER, FILE_RSDP, FILE_TABLES } from './acpi/fwcfg-loader.js';
import type { E820Entry } from './e820.js';
import { buildMpTable, MPTABLE_BASE } from './mptable.js';
import { buildSmbios, defaultUuid, SMBIOS_BASE, SMBIOS_STRING_DEFAULTS, uuidToSmbios, type SmbiosStringKey } from './smbios.js';

export interface FirmwareInput {
  tree: ConfigTree;
  memory: GuestMemory;
  host: PciHost;
  lpc?: { slot: number; func: number };
  ncpus: number;
  sockets: number;
  cores: number;
  threads: number;
  hpetCapabilities: number;
  e820: E820Entry[];
  fwcfg?: QemuFwCfg;
  userFiles: FwCfgUserFile[];
  bootDevices: Array<{ index: number; slot: number; func: number }>;
}

export interface FirmwareResult {
  rsdpAddress?: number;
}

export async function installFirmware(f: FirmwareInput): Promise<FirmwareResult> {
  const { tree, memory } = f;
  const routes = f.host.intxRoutes();
  if (tree.getBool('x86.mptable', true)) {
    memory.writeBytes(MPTABLE_BASE, buildMpTable({ ncpus: f.ncpus, pciBuses: f.host.buses(), routes }));
  }
  const strings: Partial<Record<SmbiosStringKey, string>> = {};
  for (const k of Object.keys(SMBIOS_STRING_DEFAULTS) as SmbiosStringKey[]) {
    const v = tree.get(k);
    if (v !== undefined) strings[k] = v;
  }
  const uuidStr = tree.get('uuid');
  let uuid: Uint8Array;
  try {
    uuid = uuidStr !== undefined ? uuidToSmbios(uuidStr) : defaultUuid(tree.get('name') ?? '', hostname());
  } catch (e) {
    throw new ConfigError((e as Error).message, EXIT_ERROR);
  }
  memory.writeBytes(
    SMBIOS_BASE,
    buildSmbios({ strings, uuid, sockets: f.sockets, cores: f.cores, threads: f.threads, lowMem: memory.lowMem, highMem: memory.highMem }),
  );
  let rsdpAddress: number | undefined;
  if (tree.getBool('acpi_tables', true)) {
    const acpiInput: AcpiInput = {
      ncpus: f.ncpus,
      hpetCapabilities: f.hpetCapabilities,
      ecamBase: PCI_EMUL_ECFG_BASE,
      spcr: f.lpc !== undefined,
      dsdt: {
        buses: f.host.buses().map((bus) => ({ bus, windows: f.host.windows.get(bus), routes: f.host.intxRoutes(bus) })),
        lpc: f.lpc,
        comPorts: f.lpc ? COM_PORTS : [],
        qemuFwCfg: f.fwcfg !== undefined,
        ecam: { base: PCI_EMUL_ECFG_BASE, size: PCI_EMUL_ECFG_SIZE },
        pirqIrqs: PirqRouter.permittedIrqs(),
        pciIoBase: PCI_EMUL_IOBASE,
      },
    };
    const acpi = buildAcpiTables(acpiInput);
    if (f.fwcfg) {
      const files = buildAcpiFwCfg(acpiInput);
      f.fwcfg.addFile(FILE_RSDP, files.rsdp);
      f.fwcfg.addFile(FILE_TABLES, files.tables);
      f.fwcfg.addFile(FILE_LOADER, files.loader);
    }
    if (tree.getBool('acpi_tables_in_memory', true)) {
      for (const b of acpi.blobs) memory.writeBytes(b.address, b.data);
      rsdpAddress = acpi.rsdpAddress;
    }
  }
  if (f.fwcfg) {
    const n = new Uint8Array(4);
    new DataView(n.buffer).setInt32(0, f.ncpus, true);
    f.fwcfg.addFile('opt/bhyve/hw.ncpu', n);
    f.fwcfg.addFile('etc/e820', encodeE820(f.e820));
    if (f.bootDevices.length > 0) {
      const order = [...f.bootDevices].sort((a, b) => a.index - b.index).map((d) => `/pci@i0cf8/pci@${d.slot},${d.func}\n`).join('');
      f.fwcfg.addFile('bootorder', new TextEncoder().encode(order));
    }
    for (const u of f.userFiles) {
      let data: Uint8Array;
      if (u.source.kind === 'string') data = new TextEncoder().encode(`${u.source.value}\0`);
      else {
        try {
          data = new Uint8Array(await readFile(u.source.path));
        } catch (e) {
          throw new ConfigError(`Can't open fw_cfg_user_file file "${u.source.path}": ${(e as Error).message}`, EXIT_ERROR);
        }
      }
      try {
        f.fwcfg.addFile(u.name, data);
      } catch (e) {
        throw new ConfigError((e as Error).message, EXIT_ERROR);
      }
    }
  }
  return { rsdpAddress };
}
