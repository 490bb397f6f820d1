/**
 * The supervisor's wait for the VM process (src/driver/process.ts): DirWake, which wakes
 * the wait when the control socket's folder changes, and waitReady against real child
 * processes — one that greets on its socket after a while (running or paused), one that
 * exits without a socket, one that binds a socket but never greets (timeout).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirWake, spawnVm, waitReady } from '../../src/driver/process.js';
import type { LaunchRecord } from '../../src/driver/launch.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvirt-wait-ready-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A VM stand-in: after `delayMs`, listens on `sock` and greets with `state` (or not). */
function standIn(sock: string, delayMs: number, greeting: string | null): string {
  return `setTimeout(() => { const s = require('node:net').createServer((c) => { ${greeting === null ? '' : `c.write(${JSON.stringify(`${greeting}\n`)});`} }); s.listen(${JSON.stringify(sock)}); setTimeout(() => process.exit(0), 3000); }, ${delayMs});`;
}

function launchFor(name: string, script: string, readyTimeoutMs = 10_000): LaunchRecord {
  return {
    runId: 'r1',
    name,
    uuid: '00000000-0000-0000-0000-000000000001',
    argv: [process.execPath, '-e', script],
    cwd: dir,
    env: {},
    actions: { on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy' },
    controlSocket: join(dir, `${name}.ctl`),
    logPath: join(dir, `${name}.log`),
    readyTimeoutMs,
  };
}

describe('DirWake', () => {
  it('wakes when a file is created in the folder, and remembers an event that came before the wait', async () => {
    const sub = mkdtempSync(join(dir, 'wake-'));
    const wake = new DirWake(sub);
    try {
      const woke = wake.next();
      writeFileSync(join(sub, 'a'), 'x');
      await woke;
      writeFileSync(join(sub, 'b'), 'x');
      await new Promise((r) => setTimeout(r, 50));
      await wake.next();
    } finally {
      wake.close();
    }
  });

  it('a folder that cannot be watched never wakes and does not throw', async () => {
    const wake = new DirWake(join(dir, 'does-not-exist'));
    const r = await Promise.race([wake.next().then(() => 'woke'), new Promise((ok) => setTimeout(() => ok('slept'), 100))]);
    expect(r).toBe('slept');
    wake.close();
  });
});

describe('waitReady', () => {
  it('returns ready with the greeting state once the VM process greets', async () => {
    for (const state of ['running', 'paused'] as const) {
      const l = launchFor(`greet-${state}`, '');
      l.argv[2] = standIn(l.controlSocket, 300, JSON.stringify({ 'tsvirt-control': 1, vm: 'x', pid: 1, state }));
      const vm = await spawnVm(l);
      if (typeof vm === 'string') throw new Error(vm);
      expect(await waitReady(l, vm)).toEqual({ kind: 'ready', state });
      vm.child.kill('SIGKILL');
      await vm.exited;
    }
  });

  it('returns exited when the VM process exits without a socket', async () => {
    const l = launchFor('exits', 'setTimeout(() => process.exit(3), 200)');
    const vm = await spawnVm(l);
    if (typeof vm === 'string') throw new Error(vm);
    expect(await waitReady(l, vm)).toEqual({ kind: 'exited', exit: { kind: 'exited', code: 3 } });
  });

  it('returns timeout when the socket never greets', async () => {
    const l = launchFor('silent', '', 600);
    l.argv[2] = standIn(l.controlSocket, 50, null);
    const vm = await spawnVm(l);
    if (typeof vm === 'string') throw new Error(vm);
    expect(await waitReady(l, vm)).toEqual({ kind: 'timeout' });
    vm.child.kill('SIGKILL');
    await vm.exited;
  });

  it('stops waiting when the run is abandoned', async () => {
    const l = launchFor('abandoned', 'setTimeout(() => {}, 3000)');
    const vm = await spawnVm(l);
    if (typeof vm === 'string') throw new Error(vm);
    let asked = 0;
    expect(await waitReady(l, vm, async () => ++asked >= 3)).toEqual({ kind: 'abandoned' });
    vm.child.kill('SIGKILL');
    await vm.exited;
  });
});
