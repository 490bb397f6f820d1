// How a guest ends its VM (poweroff, reset, triple fault, halt) through the binding, and a
// hostile guest that must not take the process down; on every backend present.
import { describe, expect, it } from 'vitest';
import { availableBackends, failures, reportMissingBackends, runGuest } from './guest-harness.js';

const { present, missing } = availableBackends();

describe.each(present)('suspend exits (%s)', (backend) => {
  it.each([
    ['poweroff', 'poweroff'],
    ['reset', 'reset'],
    ['triplefault', 'triplefault'],
    ['halt', 'halt'],
  ] as const)('%s ends the run suspended with how=%s', async (scenario, how) => {
    const seen: string[] = [];
    const r = await runGuest('suspend', {
      backend,
      cmdline: scenario,
      onExit: (exit) => {
        if (exit.kind === 'suspended') seen.push(exit.how);
        return false;
      },
    });
    expect(r.timedOut).toBe(false);
    expect(r.serial).toContain(`scenario ${scenario}`);
    expect(r.result).toEqual({ reason: 'suspended', how });
    expect(seen).toEqual([how]);
    await expect(r.vm.run(() => {})).rejects.toMatchObject({ kind: 'state' });
    r.vm.destroy();
  }, 120_000);

  it('a run that returns normally ends stopped, not suspended', async () => {
    const r = await runGuest('suspend', { backend, cmdline: 'exit' });
    expect(r.result).toEqual({ reason: 'stopped' });
    expect(r.status).toBe(1);
  }, 120_000);

  it('survives a hostile guest poking device registers, MSRs, ports and MMIO', async () => {
    const r = await runGuest('hostile', { backend, timeoutMs: 240_000 });
    expect(r.timedOut).toBe(false);
    expect(failures(r.serial), r.serial).toEqual([]);
    expect(r.status, r.serial).toBe(1);
  }, 300_000);
});

reportMissingBackends(missing, it.skip);
