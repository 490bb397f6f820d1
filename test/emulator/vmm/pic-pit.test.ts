// 8259 legacy mode and 8254 PIT through the binding, on every backend present.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();

describe.each(present)('8259 and 8254 (%s)', (backend) => {
  it('delivers 8259 interrupts in legacy mode (ExtINT, cascade, ELCR, priorities)', async () => {
    const r = await runGuest('pic', { backend });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
  }, 180_000);

  it('runs PIT counter 0 at the programmed rate and counter 2 for calibration', async () => {
    const r = await runGuest('pit', { backend });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
    // The rate counter 0 fired at, in host time, from the device's own count.
    const [m0, m1] = r.marks;
    const seconds = Number(m1!.ns - m0!.ns) / 1e9;
    // The device's own period count is the programmed rate whatever the host's load;
    // pulses it sent never exceed it (late periods coalesce, as in bhyve).
    const periods = (m1!.devices.pitPeriods - m0!.devices.pitPeriods) / seconds;
    const pulses = (m1!.devices.pitIrqs - m0!.devices.pitIrqs) / seconds;
    expect(periods).toBeGreaterThan(85); // periods due after the last timer callback are not counted yet
    expect(periods).toBeLessThan(106);
    expect(pulses).toBeLessThanOrEqual(periods);
    // And what the guest took: never more than fired.
    expect(m1!.value / seconds).toBeLessThan(115);
  }, 180_000);
});

reportMissingBackends(missing, it.skip);
