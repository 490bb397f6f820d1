/** The console reader: result line, milestones, and the diagnosis of a stopped boot. */
import { describe, expect, it } from 'vitest';
import { ConsoleWatcher, parseResultLine } from './console.js';

describe('result line', () => {
  it('parses the line /init prints, with console noise before it', () => {
    expect(parseResultLine('\r[ 1.2] x TSVIRT-RESULT modules=ok disk=ok net=fail rng=ok cpus=2')).toEqual({ modules: 'ok', disk: 'ok', net: 'fail', rng: 'ok', cpus: 2 });
  });
  it('rejects incomplete or garbled lines', () => {
    expect(parseResultLine('TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok')).toBeUndefined();
    expect(parseResultLine('TSVIRT-RESULT modules=ok disk=maybe net=ok rng=ok cpus=1')).toBeUndefined();
    expect(parseResultLine('TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=x')).toBeUndefined();
    expect(parseResultLine('no result here')).toBeUndefined();
  });
});

describe('ConsoleWatcher', () => {
  it('splits chunks into lines and times milestones', async () => {
    const w = new ConsoleWatcher(performance.now());
    const seen = w.waitFor(/TSVIRT-RESULT/);
    for (const c of ['[    0.000000] Linux vers', 'ion 6.1.0-56-amd64 (debian', '...)\r\n[ 6.3] Run /init as init process\n', 'TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=1\r\n', '[ 9.1] reboot: Power down']) w.push(c);
    w.end();
    expect(await seen).toBe('TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=1');
    expect(w.lines[0]).toBe('[    0.000000] Linux version 6.1.0-56-amd64 (debian...)');
    expect(Object.keys(w.at).sort()).toEqual(['firstByte', 'kernelBanner', 'powerDown', 'result', 'runInit'].sort());
    expect(w.resultLine).toBe('TSVIRT-RESULT modules=ok disk=ok net=ok rng=ok cpus=1');
  });

  it('says where a boot stopped: fault line, RIP and the last lines', () => {
    const w = new ConsoleWatcher();
    w.push('[0.0] Linux version 6.1\n[0.5] general protection fault, probably for non-canonical address\n[0.5] RIP: 0010:native_read_msr+0x6/0x30\n[0.5] Kernel panic - not syncing: Attempted to kill the idle task!\nlast partial');
    const d = w.diagnosis();
    expect(d).toContain('milestones reached: firstByte@');
    expect(d).toContain('first fault line: [0.5] general protection fault');
    expect(d).toContain('last RIP line: [0.5] RIP: 0010:native_read_msr+0x6/0x30');
    expect(d).toMatch(/\| last partial$/);
    expect(new ConsoleWatcher().diagnosis()).toContain('none (no console output)');
  });
});
