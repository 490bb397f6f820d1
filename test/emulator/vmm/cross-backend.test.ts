// One guest, two CPUs, same answers: every guest program runs on each backend present
// through the binding, and where both KVM and the soft CPU exist their results must agree
// (KVM is the oracle for the soft CPU's system behaviour). The CPU's own guests
// (fixtures/guests/<name>, reporting on COM1) are compared byte for byte; the vmm's guests
// (fixtures/guests/vmm/<name>) print measured times, so their PASS/FAIL lines are compared;
// the timing guests (lapic-timer, pit, rtc-pmtmr, hpet) are judged per backend only, since
// a loaded host can fail a timing check on one run and not the other.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../native/soft/build-tools.js';
import { availableBackends, reportMissingBackends, runElf, runGuest } from './guest-harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { present, missing } = availableBackends();

function guestDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => !['lib', 'vmm', 'common'].includes(d) && statSync(join(dir, d)).isDirectory())
    .sort();
}

const CPU_GUESTS = guestDirs(join(ROOT, 'fixtures/guests'));
const VMM_GUESTS = ['ports', 'ioapic-msi', 'pic', 'x2apic'];
const verdicts = (serial: string) => serial.split('\n').filter((l) => /^(PASS|FAIL):/.test(l));

describe.runIf(present.length === 2)('KVM and the soft CPU agree', () => {
  it.each(CPU_GUESTS)('CPU guest %s: same serial output and exit status', async (name) => {
    const elf = await buildGuest(name);
    const kvm = await runElf(elf, { backend: 'kvm', timeoutMs: 240_000 });
    const soft = await runElf(elf, { backend: 'soft', timeoutMs: 240_000 });
    expect(kvm.timedOut || soft.timedOut).toBe(false);
    expect(soft.serial).toBe(kvm.serial);
    expect(soft.status).toBe(kvm.status);
  }, 600_000);

  it.each(VMM_GUESTS)('vmm guest %s: same checks, same verdicts', async (name) => {
    const x2apic = name === 'x2apic';
    const kvm = await runGuest(name, { backend: 'kvm', x2apic });
    const soft = await runGuest(name, { backend: 'soft', x2apic });
    expect(verdicts(soft.serial)).toEqual(verdicts(kvm.serial));
    expect(verdicts(kvm.serial).length).toBeGreaterThan(0);
    expect(soft.status).toBe(kvm.status);
  }, 600_000);
});

if (present.length < 2) {
  reportMissingBackends(missing, it.skip);
}
