/**
 * Domain locks across real processes: mutual exclusion, release on kill -9 of the holder,
 * timeouts that name the holder, and 20 concurrent processes serialised without loss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockSpace } from '../../../src/driver/lock.js';
import { isVirError, VIR_ERR_OPERATION_TIMEOUT } from '../../../src/xml/errors.js';
import { buildLifecycle } from './helpers/build.js';

let root: string;
let lockJs: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvirt-lock-'));
  lockJs = pathToFileURL(join(await buildLifecycle(), 'src', 'driver', 'lock.js')).href;
}, 600_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A child process that takes `key` and holds it until killed; resolves once held. */
function holder(key: string): Promise<ChildProcess> {
  const code = `import { LockSpace } from '${lockJs}';
const l = await new LockSpace(${JSON.stringify(root)}).acquire(${JSON.stringify(key)}, { purpose: 'holding' });
process.stdout.write('held\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}

describe('LockSpace', () => {
  it('excludes a second taker in the same process until released', async () => {
    const ls = new LockSpace(root);
    const a = await ls.acquire('k1');
    expect(await ls.tryAcquire('k1')).toBeUndefined();
    let got = false;
    const waiting = ls.acquire('k1', { timeoutMs: 5000 }).then((h) => {
      got = true;
      return h;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBe(false);
    await a.release();
    const b = await waiting;
    expect(b.held).toBe(true);
    await b.release();
  });

  it('keeps namespaces of different roots apart', async () => {
    const a = await new LockSpace(root).acquire('k2');
    const b = await new LockSpace(`${root}-other`).tryAcquire('k2');
    expect(b).toBeDefined();
    await a.release();
    await b!.release();
  });

  it('is released by the kernel when the holder is killed with SIGKILL', async () => {
    const child = await holder('k3');
    const ls = new LockSpace(root);
    expect(await ls.tryAcquire('k3')).toBeUndefined();
    const t0 = Date.now();
    const waiting = ls.acquire('k3', { timeoutMs: 10_000 });
    child.kill('SIGKILL');
    const h = await waiting;
    expect(Date.now() - t0).toBeLessThan(2000);
    await h.release();
  });

  it('times out with VIR_ERR_OPERATION_TIMEOUT naming the holder', async () => {
    const child = await holder('k4');
    try {
      const err = await new LockSpace(root).acquire('k4', { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(isVirError(err)).toBe(true);
      expect((err as { code: number }).code).toBe(VIR_ERR_OPERATION_TIMEOUT);
      expect((err as Error).message).toContain(`held by pid ${child.pid} for 'holding'`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('serialises 20 processes incrementing one counter', async () => {
    const counter = join(root, 'counter');
    writeFileSync(counter, '0');
    const code = `import { LockSpace } from '${lockJs}';
import { readFileSync, writeFileSync } from 'node:fs';
const ls = new LockSpace(${JSON.stringify(root)});
for (let i = 0; i < 10; i++) {
  const l = await ls.acquire('counter', { timeoutMs: 60000 });
  const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
  await new Promise((r) => setTimeout(r, Math.random() * 2));
  writeFileSync(${JSON.stringify(counter)}, String(n + 1));
  await l.release();
}`;
    const runs = Array.from({ length: 20 }, () =>
      new Promise<number>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' });
        c.once('exit', (status) => resolve(status ?? -1));
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(20).fill(0));
    expect(readFileSync(counter, 'utf8')).toBe('200');
  }, 60_000);
});
