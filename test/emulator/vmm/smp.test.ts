// SMP: four vCPUs on native threads, INIT/SIPI start-up and IPIs, on every backend present.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();

describe.each(present)('SMP (%s)', (backend) => {
  it('starts 4 vCPUs with INIT-SIPI-SIPI and delivers IPIs between them', async () => {
    const r = await runGuest('smp', { backend, vcpus: 4, timeoutMs: 240_000 });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.serial).toMatch(/SUMMARY: \d+ tests\n/);
    expect(r.status, r.serial).toBe(1);
    for (let i = 1; i < 4; i++) expect(r.vm.vcpu(i)!.stats().interruptsInjected).toBeGreaterThan(0);
  }, 300_000);

  it('hands exits of 4 vCPUs to TypeScript correctly with exit polling on', async () => {
    const r = await runGuest('smp', { backend, vcpus: 4, timeoutMs: 240_000, exitSpinMicros: 50 });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
  }, 300_000);
});

reportMissingBackends(missing, it.skip);
