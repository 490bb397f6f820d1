// LAPIC timer modes at the programmed rate, through the binding, on every backend present.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();

describe.each(present)('LAPIC timer (%s)', (backend) => {
  it('runs periodic, one-shot and TSC-deadline modes at the programmed times', async () => {
    const r = await runGuest('lapic-timer', { backend });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
    // Against host time: marks bracket the 1 kHz periodic run.
    const [m0, m1] = r.marks;
    const hostMs = Number(m1!.ns - m0!.ns) / 1e6;
    const hz = (m1!.value / hostMs) * 1000;
    expect(hz).toBeGreaterThan(700);
    expect(hz).toBeLessThan(1100);
    const stats = r.vm.vcpu(0)!.stats();
    expect(stats.interruptsInjected).toBeGreaterThanOrEqual(52);
  }, 180_000);
});

reportMissingBackends(missing, it.skip);
