/**
 * The capabilities documents of the bhyve driver, filled with this host's facts and
 * written by the XML layer's formatters (src/xml/capabilities.ts, libvirt's layout):
 *
 * - capabilities (virConnectGetCapabilities): host uuid, arch, NUMA cells with their CPUs
 *   and memory, and one `<guest>` hvm/x86_64 whose domain types are the ones tsvirt runs —
 *   `bhyve`, plus `kvm` and `qemu` (mapped onto the vmm backends by the translation) —
 *   with tsbhyve as emulator;
 * - domain capabilities (virConnectGetDomainCapabilities): the bhyve shape, with UEFI
 *   loader values from the firmware directory and VNC/gop when the host's tsbhyve has
 *   the framebuffer.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bhyveDomainCapabilities, bhyveGuestCaps, formatCapabilitiesXML, formatDomainCapabilitiesXML } from '../xml/index.js';
import { VirError, VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE } from '../xml/errors.js';
import { hasCap, resolveHost, SUPPORTED_DOMAIN_TYPES } from './capabilities.js';
import { hostArch, hostCpus, hostMemoryKiB, hostUuid } from './host-info.js';

export function capabilitiesXml(emulatorPath: string): string {
  const arch = hostArch();
  const cpus = hostCpus();
  const nodes = [...new Set(cpus.map((c) => c.node))].sort((a, b) => a - b);
  const mem = Number(hostMemoryKiB());
  const guests = [];
  if (arch === 'x86_64') {
    const g = bhyveGuestCaps(emulatorPath, arch);
    g.domains = SUPPORTED_DOMAIN_TYPES.map((type) => ({ type }));
    g.features = [
      { name: 'acpi', default: 'on', toggle: 'yes' },
      { name: 'apic', default: 'on', toggle: 'no' },
    ];
    guests.push(g);
  }
  return formatCapabilitiesXML({
    host: {
      uuid: hostUuid(),
      cpu: { arch },
      power_management: [],
      iommu: false,
      cells: nodes.map((id) => ({
        id,
        // Per-node memory is only known for a single node; otherwise split evenly.
        memory: Math.floor(mem / nodes.length),
        cpus: cpus.filter((c) => c.node === id).map((c) => ({ id: c.id, socket_id: c.socket, die_id: 0, core_id: c.core, siblings: c.siblings })),
      })),
      secmodels: [],
    },
    guests,
  });
}

export interface DomainCapsQuery {
  emulatorbin: string | null;
  arch: string | null;
  machine: string | null;
  virttype: string | null;
}

export function domainCapabilitiesXml(emulatorPath: string, q: DomainCapsQuery): string {
  const host = resolveHost();
  const arch = q.arch ?? hostArch();
  if (arch !== hostArch()) throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unsupported arch: ${arch}`);
  const type = q.virttype ?? 'bhyve';
  if (!(SUPPORTED_DOMAIN_TYPES as readonly string[]).includes(type)) {
    throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unknown virttype: ${type}`);
  }
  if (q.emulatorbin !== null && q.emulatorbin !== emulatorPath) {
    throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unknown emulator binary: ${q.emulatorbin}`);
  }
  if (q.machine !== null) throw new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: unknown machine type: ${q.machine}`);
  let firmwares: string[] = [];
  try {
    firmwares = readdirSync(host.firmwareDir)
      .sort()
      .map((f) => join(host.firmwareDir, f));
  } catch {
    /* no firmware directory: no UEFI loader values */
  }
  const caps = bhyveDomainCapabilities({ emulator: emulatorPath, arch, firmwares, lpcBootrom: hasCap(host, 'LPC_BOOTROM'), fbuf: hasCap(host, 'FBUF') });
  caps.domain = type;
  return formatDomainCapabilitiesXML(caps);
}
