/**
 * Defaults written into the tree before option parsing (bhyve_init_config of FreeBSD
 * 14.2+/15, bhyve-userland.md §2.3), and the defaults of keys read later, gathered in one
 * place so that `config.dump` and the assembly agree.
 *
 * Only the six keys below are written up front (their order is visible in `config.dump`);
 * every other key keeps its default in the code that reads it, listed in KEY_DEFAULTS.
 */
import type { ConfigTree } from './tree.js';

/** bhyve_init_config(): order matters (dump order). */
export function setDefaults(tree: ConfigTree): void {
  tree.setBool('acpi_tables', true);
  tree.setBool('acpi_tables_in_memory', true);
  tree.set('memory.size', '256M');
  tree.setBool('x86.strictmsr', true);
  tree.setBool('x86.verbosemsr', false);
  tree.set('lpc.fwcfg', 'bhyve');
}

/** Defaults applied where keys are read (bhyve_config(5) and tsbhyve's own keys). */
export const KEY_DEFAULTS = {
  'x86.mptable': true,
  'x86.x2apic': false,
  'x86.strictio': false,
  'x86.vmexit_on_hlt': false,
  'x86.vmexit_on_pause': false,
  'memory.wired': false,
  'memory.guest_in_core': false,
  'destroy_on_poweroff': false,
  'rtc.use_localtime': true,
  'virtio_msix': true,
  'lpc.pc-testdev': false,
  'gdb.address': 'localhost',
  'gdb.port': 0,
  'gdb.wait': false,
  'config.dump': false,
  /** tsbhyve: which vmm backend runs the vCPUs. */
  'vmm.backend': 'auto',
  /** tsbhyve: which virtio PCI interface devices present by default. */
  'virtio.transport': 'transitional',
} as const;

export const VMM_BACKENDS = ['soft', 'kvm', 'auto'] as const;
export type VmmBackendName = (typeof VMM_BACKENDS)[number];
