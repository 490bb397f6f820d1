// Port and MMIO exits through the binding, on every backend present.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();

describe.each(present)('port and MMIO exits (%s)', (backend) => {
  it('delivers port/MMIO exits with the right values and keeps in-vmm ports in the vmm', async () => {
    const r = await runGuest('ports', { backend });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.serial).toMatch(/SUMMARY: \d+ tests\n/);
    expect(r.status).toBe(1);
    for (const port of [0x40, 0x43, 0x70, 0x71, 0x408]) {
      expect(r.portCounts.get(port) ?? 0, `port 0x${port.toString(16)}`).toBe(0);
    }
    // 9 elements of REP OUTSB plus the explicit scratch writes.
    expect(r.portCounts.get(0xe0)).toBeGreaterThanOrEqual(9 + 3);
  }, 180_000);

  it('gives the same answers with exit polling on', async () => {
    const r = await runGuest('ports', { backend, exitSpinMicros: 50 });
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status).toBe(1);
  }, 180_000);
});

reportMissingBackends(missing, it.skip);
