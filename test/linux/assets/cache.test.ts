/**
 * The package cache's build-once discipline (debian-package.ts cachedDir): concurrent
 * callers build a key once, a failed build leaves nothing behind, and a lock left by a
 * dead process is taken over.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedDir, cacheKey } from './debian-package.js';

const root = mkdtempSync(join(tmpdir(), 'tsvirt-cache-'));
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.TSVIRT_LINUX_CACHE;
  process.env.TSVIRT_LINUX_CACHE = root;
});
afterAll(() => {
  if (saved === undefined) delete process.env.TSVIRT_LINUX_CACHE;
  else process.env.TSVIRT_LINUX_CACHE = saved;
  rmSync(root, { recursive: true, force: true });
});

describe('cachedDir', () => {
  it('builds a key once for concurrent callers', async () => {
    let builds = 0;
    const build = async (tmp: string) => {
      builds++;
      await sleep(200);
      writeFileSync(join(tmp, 'done'), 'x');
    };
    const [a, b] = await Promise.all([cachedDir('k1', 'done', build), cachedDir('k1', 'done', build)]);
    expect(a).toBe(join(root, 'k1'));
    expect(b).toBe(a);
    expect(builds).toBe(1);
    expect(readdirSync(root).sort()).toEqual(['k1']);
  });

  it('leaves nothing behind when the build fails, and builds again next time', async () => {
    await expect(cachedDir('k2', 'done', async () => Promise.reject(new Error('no network')))).rejects.toThrow('no network');
    await expect(cachedDir('k2', 'done', async () => {})).rejects.toThrow(/did not produce done/);
    expect(readdirSync(root).filter((f) => f.startsWith('k2'))).toEqual([]);
    const dir = await cachedDir('k2', 'done', async (tmp) => writeFileSync(join(tmp, 'done'), 'x'));
    expect(existsSync(join(dir, 'done'))).toBe(true);
  });

  it('takes over a lock whose owner died', async () => {
    const dead = spawnSync('true').pid!;
    mkdirSync(join(root, 'k3.lock'));
    writeFileSync(join(root, 'k3.lock', 'pid'), String(dead));
    const dir = await cachedDir('k3', 'done', async (tmp) => writeFileSync(join(tmp, 'done'), 'x'), 5_000);
    expect(existsSync(join(dir, 'done'))).toBe(true);
    expect(existsSync(join(root, 'k3.lock'))).toBe(false);
  });

  it('keys entries by package and version, epoch colon escaped', () => {
    expect(cacheKey({ name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b1' })).toBe('busybox-static_1%3a1.35.0-4+deb12u1+b1');
  });
});
