/**
 * Debian's kernel on tsbhyve directly (issue 10, the platform layer): the bzImage loaded
 * with `-f kexec`, ACPI tables found by the kernel (default boot, no acpi=off/noapic), the
 * soft CPU, virtio-blk/-net/-rnd, COM1 console — 1 vCPU, then 2 (both online). Judged
 * like the QEMU reference boot (guest/checks.ts) plus tsbhyve's exit status: 1, bhyve's
 * "powered off" (an ACPI S5 request from the guest).
 *
 * Skips, saying why, when the Debian packages cannot be had. Budget per boot:
 * TSVIRT_LINUX_TIMEOUT_MS (default 600 s).
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedSymbols, annotateAddresses } from './assets/symbols.js';
import { bootFailures } from './guest/checks.js';
import { linuxAssets, prepareRun, type LinuxAssets, type PreparedRun } from './guest/prepare.js';
import { bootTsbhyve, TSBHYVE_JS } from './tsbhyve/tsbhyve-boot.js';

const TIMEOUT_MS = Number(process.env.TSVIRT_LINUX_TIMEOUT_MS ?? 600_000);

const got = existsSync(TSBHYVE_JS) ? await linuxAssets() : { missing: `${TSBHYVE_JS} not built (npm run build)` };
const missing = 'missing' in got ? got.missing : undefined;
if (missing) console.warn(`Linux guest on tsbhyve skipped: ${missing}`);

describe.skipIf(missing !== undefined)('Debian kernel on tsbhyve (soft CPU, -f kexec)', () => {
  const runs: PreparedRun[] = [];
  afterAll(async () => {
    for (const r of runs) await r.dispose();
  });

  for (const vcpus of [1, 2]) {
    it(
      `boots with ${vcpus} vCPU${vcpus > 1 ? 's' : ''}: modules, disk, network, rng, then ACPI poweroff (exit 1)`,
      async () => {
        const assets = got as LinuxAssets;
        const run = await prepareRun(assets, { vcpus, timeoutMs: TIMEOUT_MS });
        runs.push(run);
        const o = await bootTsbhyve(run.spec);
        const failures = bootFailures({ console: o.console, vcpus, release: assets.kernel.manifest.release, disk: run.disk, peer: run.peer });
        if (o.timedOut) failures.unshift(`timed out after ${TIMEOUT_MS} ms`);
        if (o.exitCode !== 1) failures.push(`tsbhyve exited ${o.exitCode}, expected 1 (powered off)`);
        const sym = failures.length ? cachedSymbols(assets.kernel.dir) : undefined;
        const detail = `${o.console.diagnosis()}\ntsbhyve stderr (last lines):\n${o.stderr.split('\n').slice(-10).join('\n')}`;
        expect(failures, `${failures.join('\n')}\n${sym ? annotateAddresses(detail, sym) : detail}`).toEqual([]);
        console.info(`tsbhyve, ${vcpus} vCPU: result line after ${(o.msToResult! / 1000).toFixed(1)} s, exit after ${(o.msToExit / 1000).toFixed(1)} s`);
      },
      TIMEOUT_MS + 60_000,
    );
  }
});
