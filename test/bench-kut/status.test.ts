/** bench/kut status.ts: exit statuses mapped as kvm-unit-tests' harness maps QEMU's. */
import { describe, expect, it } from 'vitest';
import { extractSummary, mapStatus, TSBHYVE_DIAGNOSTIC, type RunResult } from '../../bench/kut/status.js';

const r = (p: Partial<RunResult>): RunResult => ({ status: 1, timedOut: false, timeoutS: 90, stdout: '', stderr: '', ...p });

describe('mapStatus', () => {
  it('1 PASS, 3 FAIL, 77 SKIP, 124/timeout FAIL, 0 FAIL, signals FAIL', () => {
    const out = 'PASS: a\r\nSUMMARY: 3 tests\r\n';
    expect(mapStatus(r({ stdout: out }))).toEqual({ verdict: 'PASS', detail: '3 tests' });
    expect(mapStatus(r({ status: 3, stdout: 'SUMMARY: 3 tests, 1 unexpected failures\n' }))).toEqual({ verdict: 'FAIL', detail: '3 tests, 1 unexpected failures' });
    expect(mapStatus(r({ status: 77, stdout: 'SUMMARY: 1 tests, 1 skipped\n' }))).toEqual({ verdict: 'SKIP', detail: '1 tests, 1 skipped' });
    expect(mapStatus(r({ status: null, signal: 'SIGTERM', timedOut: true, timeoutS: 30 }))).toEqual({ verdict: 'FAIL', detail: 'timeout; duration=30s' });
    expect(mapStatus(r({ status: 0 })).verdict).toBe('FAIL');
    expect(mapStatus(r({ status: 127 }))).toEqual({ verdict: 'FAIL', detail: 'status 127 (abort)' });
    expect(mapStatus(r({ status: null, signal: 'SIGSEGV' }))).toEqual({ verdict: 'FAIL', detail: 'terminated on SIGSEGV' });
    expect(mapStatus(r({ status: 2 })).verdict).toBe('FAIL');
  });

  it('status 1 with a non-warning stderr line is a VMM failure, a warning is not', () => {
    expect(mapStatus(r({ stderr: 'qemu-system-x86_64: warning: TCG does not support x\n' })).verdict).toBe('PASS');
    expect(mapStatus(r({ stderr: 'tsbhyve: cannot open x\n' }))).toEqual({ verdict: 'FAIL', detail: 'VMM error: tsbhyve: cannot open x' });
    const unclaimed = 'tsbhyve: unhandled write of 4 byte(s) to I/O port 0x200b\n';
    expect(mapStatus(r({ stderr: unclaimed }), TSBHYVE_DIAGNOSTIC).verdict).toBe('PASS');
    expect(mapStatus(r({ stderr: unclaimed })).verdict).toBe('FAIL');
  });

  it('takes SUMMARY only from the last five lines', () => {
    expect(extractSummary('SUMMARY: old\n1\n2\n3\n4\n5\n')).toBe('');
    expect(extractSummary('x\nSUMMARY: 5 tests\n\n--- DONE ---\n')).toBe('5 tests');
  });
});
