// RTC, PM timer and HPET through the binding, on every backend present; times are checked
// against the host clock.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();
const MEMORY = 128 * 1024 * 1024;

describe.each(present)('RTC, PM timer, HPET (%s)', (backend) => {
  it('shows host time in the RTC, fills bhyve memory cells, runs the PM timer at 3.579545 MHz', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await runGuest('rtc-pmtmr', { backend, memorySize: MEMORY });
    const after = Math.ceil(Date.now() / 1000);
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
    const [date, lowCells, highCells, pm0, pm1] = r.marks;
    // The guest read the date early in its run: between before-1 and after.
    expect(date!.value).toBeGreaterThanOrEqual(before - 1);
    expect(date!.value).toBeLessThanOrEqual(after);
    expect(lowCells!.value).toBe((MEMORY - 16 * 1024 * 1024) / 65536);
    expect(highCells!.value).toBe(0);
    const ticks = (pm1!.value - pm0!.value) >>> 0;
    const seconds = Number(pm1!.ns - pm0!.ns) / 1e9;
    // The marks are taken by exits handled in JavaScript, so host time includes their
    // latency (tens of ms on a loaded host) over a 0.5 s window: allow 15%.
    expect(ticks / seconds).toBeGreaterThan(3579545 * 0.85);
    expect(ticks / seconds).toBeLessThan(3579545 * 1.15);
    // The guest set 2031-02-03 04:05:06 UTC; the vmm's clock now says so too.
    expect(r.vm.rtc.getTime()).toBeGreaterThanOrEqual(Date.UTC(2031, 1, 3, 4, 5, 6) / 1000);
  }, 180_000);

  it('runs HPET timers: periodic, FSB, level-triggered, legacy replacement', async () => {
    const r = await runGuest('hpet', { backend });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
    expect(r.vm.hpetCapabilities()).toBe(0x8086a701);
    const [m0, m1] = r.marks;
    const seconds = Number(m1!.ns - m0!.ns) / 1e9;
    // The device's own period count is the programmed rate whatever the host's load;
    // pulses it sent never exceed it (late periods coalesce, as in bhyve).
    const periods = (m1!.devices.hpetMatches - m0!.devices.hpetMatches) / seconds;
    const pulses = (m1!.devices.hpetIrqs - m0!.devices.hpetIrqs) / seconds;
    expect(periods).toBeGreaterThan(85); // periods due after the last timer callback are not counted yet
    expect(periods).toBeLessThan(106);
    expect(pulses).toBeLessThanOrEqual(periods);
  }, 180_000);
});

reportMissingBackends(missing, it.skip);
