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
    const [m0, m1] = r.marks;
    const hz = m1!.value / (Number(m1!.ns - m0!.ns) / 1e9);
    // Host time: never faster than programmed; late ticks on a loaded host coalesce.
    expect(hz).toBeGreaterThan(70);
    expect(hz).toBeLessThan(110);
  }, 180_000);
});

reportMissingBackends(missing, it.skip);
