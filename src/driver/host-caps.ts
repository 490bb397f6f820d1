/**
 * The capabilities XML of the bhyve driver (virConnectGetCapabilities), in libvirt's
 * format (docs/formatcaps.rst; virCapabilitiesFormatXML's layout and indentation): the host
 * (uuid, arch, topology) and one `<guest>` for hvm/x86_64 whose domain types are the ones
 * tsvirt runs — `bhyve`, plus `kvm` and `qemu` (the driver maps them onto its vmm
 * backends, see issue 4) — with tsbhyve as the emulator.
 *
 * What it does not: domain capabilities (what devices a domain may use) — that belongs to
 * the translation's capability tables.
 */

import { hostArch, hostCpus, hostMemoryKiB, hostUuid } from './host-info.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

export function capabilitiesXml(emulatorPath: string): string {
  const arch = hostArch();
  const cpus = hostCpus();
  const nodes = [...new Set(cpus.map((c) => c.node))].sort((a, b) => a - b);
  const mem = hostMemoryKiB();
  const L: string[] = [];
  L.push('<capabilities>', '', '  <host>', `    <uuid>${hostUuid()}</uuid>`, '    <cpu>', `      <arch>${esc(arch)}</arch>`, '    </cpu>');
  L.push('    <power_management/>', "    <iommu support='no'/>", '    <topology>', `      <cells num='${nodes.length}'>`);
  for (const n of nodes) {
    const mine = cpus.filter((c) => c.node === n);
    L.push(`        <cell id='${n}'>`);
    if (nodes.length === 1) L.push(`          <memory unit='KiB'>${mem}</memory>`);
    L.push(`          <cpus num='${mine.length}'>`);
    for (const c of mine) L.push(`            <cpu id='${c.id}' socket_id='${c.socket}' die_id='0' core_id='${c.core}' siblings='${esc(c.siblings)}'/>`);
    L.push('          </cpus>', '        </cell>');
  }
  L.push('      </cells>', '    </topology>', '  </host>', '');
  if (arch === 'x86_64') {
    L.push('  <guest>', '    <os_type>hvm</os_type>', "    <arch name='x86_64'>", '      <wordsize>64</wordsize>', `      <emulator>${esc(emulatorPath)}</emulator>`);
    for (const t of ['bhyve', 'kvm', 'qemu']) L.push(`      <domain type='${t}'/>`);
    L.push('    </arch>', '    <features>', "      <acpi default='on' toggle='yes'/>", "      <apic default='on' toggle='no'/>", '    </features>', '  </guest>', '');
  }
  L.push('</capabilities>', '');
  return L.join('\n');
}
