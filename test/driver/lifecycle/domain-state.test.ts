/**
 * The state, reason and event numbers must be libvirt's: checked against python3-libvirt
 * (generated from include/libvirt/libvirt-domain.h of the installed libvirt 9.0).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as S from '../../../src/driver/domain-state.js';

const PY = '/usr/bin/python3';

function libvirtConstants(): Record<string, number> | undefined {
  if (!existsSync(PY)) return undefined;
  try {
    const out = execFileSync(PY, ['-c', 'import libvirt,json;print(json.dumps({k:getattr(libvirt,k) for k in dir(libvirt) if k.startswith("VIR_DOMAIN_") and isinstance(getattr(libvirt,k),int)}))'], { encoding: 'utf8' });
    return JSON.parse(out) as Record<string, number>;
  } catch {
    return undefined;
  }
}

const lv = libvirtConstants();

describe('domain states and events', () => {
  it.skipIf(!lv)('match python3-libvirt for every constant defined here', () => {
    const ours = Object.entries(S).filter(([k, v]) => k.startsWith('VIR_DOMAIN_') && typeof v === 'number');
    expect(ours.length).toBeGreaterThan(60);
    for (const [k, v] of ours) expect({ k, v }).toEqual({ k, v: lv![k] });
  });

  it.skipIf(!lv)('knows every reason libvirt 9.0 defines for each state, and no more', () => {
    const families: Array<[number, string]> = [
      [S.VIR_DOMAIN_NOSTATE, 'VIR_DOMAIN_NOSTATE_'],
      [S.VIR_DOMAIN_RUNNING, 'VIR_DOMAIN_RUNNING_'],
      [S.VIR_DOMAIN_BLOCKED, 'VIR_DOMAIN_BLOCKED_'],
      [S.VIR_DOMAIN_PAUSED, 'VIR_DOMAIN_PAUSED_'],
      [S.VIR_DOMAIN_SHUTDOWN, 'VIR_DOMAIN_SHUTDOWN_'],
      [S.VIR_DOMAIN_SHUTOFF, 'VIR_DOMAIN_SHUTOFF_'],
      [S.VIR_DOMAIN_CRASHED, 'VIR_DOMAIN_CRASHED_'],
      [S.VIR_DOMAIN_PMSUSPENDED, 'VIR_DOMAIN_PMSUSPENDED_'],
    ];
    // The shutdown *reason* family shares its prefix with shutdown *flags*; take only
    // UNKNOWN and USER, the two reasons libvirt defines.
    const skip = new Set(['VIR_DOMAIN_SHUTDOWN_DEFAULT', 'VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN', 'VIR_DOMAIN_SHUTDOWN_GUEST_AGENT', 'VIR_DOMAIN_SHUTDOWN_INITCTL', 'VIR_DOMAIN_SHUTDOWN_SIGNAL', 'VIR_DOMAIN_SHUTDOWN_PARAVIRT', 'VIR_DOMAIN_PMSUSPENDED_DISK_UNKNOWN']);
    for (const [state, prefix] of families) {
      const reasons = Object.entries(lv!).filter(([k]) => k.startsWith(prefix) && !skip.has(k)).map(([, v]) => v);
      const max = Math.max(...reasons);
      for (let r = 0; r <= max; r++) expect(S.isValidReason(state as S.DomainState, r)).toBe(true);
      expect(S.isValidReason(state as S.DomainState, max + 1)).toBe(false);
    }
  });

  it('rejects states and reasons that are not numbers libvirt defines', () => {
    expect(S.isDomainState(8)).toBe(false);
    expect(S.isDomainState(-1)).toBe(false);
    expect(S.isDomainState('1')).toBe(false);
    expect(S.isValidReason(S.VIR_DOMAIN_SHUTOFF, 1.5)).toBe(false);
    expect(S.isValidReason(S.VIR_DOMAIN_SHUTOFF, -1)).toBe(false);
  });

  it('maps shutoff reasons to the STOPPED event detail', () => {
    expect(S.stoppedDetailFor(S.VIR_DOMAIN_SHUTOFF_SHUTDOWN)).toBe(S.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
    expect(S.stoppedDetailFor(S.VIR_DOMAIN_SHUTOFF_DESTROYED)).toBe(S.VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    expect(S.stoppedDetailFor(S.VIR_DOMAIN_SHUTOFF_CRASHED)).toBe(S.VIR_DOMAIN_EVENT_STOPPED_CRASHED);
    expect(S.stoppedDetailFor(S.VIR_DOMAIN_SHUTOFF_FAILED)).toBe(S.VIR_DOMAIN_EVENT_STOPPED_FAILED);
  });
});
