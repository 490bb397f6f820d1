import { it } from 'vitest';
import { runGuest } from '/work/wt/vmm/test/emulator/vmm/guest-harness.js';
it('dbg', async () => {
  for (const backend of ['kvm', 'soft'] as const) {
    const r = await runGuest('lapic-timer', { backend });
    console.log(backend, r.serial.split('\n').filter(l => /periodic|fired/.test(l)).join(' | '), JSON.stringify(r.vm.vcpu(0)!.stats()));
  }
}, 100000);
