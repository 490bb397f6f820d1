/**
 * Debian's kernel with the test initramfs, disk, network peer and RNG on QEMU TCG — the
 * proof that the assets and /init are right independently of tsvirt, and the peer the
 * tsvirt boot (tsvirt-boot.test.ts) and bench/boot are compared with. 1 and 2 vCPUs.
 *
 * Skips, saying why, when QEMU (>= 7.2, for -netdev dgram) or the Debian packages are not
 * available. Budget per boot: TSVIRT_LINUX_TIMEOUT_MS (default 600 s; ~45 s here).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bootFailures } from './guest/checks.js';
import { linuxAssets, prepareRun, type LinuxAssets, type PreparedRun } from './guest/prepare.js';
import { bootQemu, kernelSymbolsViaQemu, qemuMissing } from './qemu/qemu-boot.js';

const TIMEOUT_MS = Number(process.env.TSVIRT_LINUX_TIMEOUT_MS ?? 600_000);

const noQemu = qemuMissing();
const got = noQemu ? { missing: noQemu } : await linuxAssets();
const missing = 'missing' in got ? got.missing : undefined;
if (missing) console.warn(`Linux guest on QEMU TCG skipped: ${missing}`);

describe.skipIf(missing !== undefined)('Debian kernel on QEMU TCG (reference boot)', () => {
  const runs: PreparedRun[] = [];
  afterAll(async () => {
    for (const r of runs) await r.dispose();
  });

  for (const vcpus of [1, 2]) {
    it(
      `boots with ${vcpus} vCPU${vcpus > 1 ? 's' : ''}: modules, disk, network, rng, then ACPI poweroff`,
      async () => {
        const assets = got as LinuxAssets;
        const run = await prepareRun(assets, { vcpus, timeoutMs: TIMEOUT_MS });
        runs.push(run);
        const o = await bootQemu(run.spec);
        const failures = bootFailures({ console: o.console, vcpus, release: assets.kernel.manifest.release, disk: run.disk, peer: run.peer });
        if (o.timedOut) failures.unshift(`timed out after ${TIMEOUT_MS} ms`);
        if (o.shutdownReason !== 'guest-shutdown') failures.push(`QMP SHUTDOWN reason ${o.shutdownReason ?? '(none)'}, expected guest-shutdown`);
        if (o.exitCode !== 0) failures.push(`qemu exited ${o.exitCode}: ${o.stderr}`);
        expect(failures, `${failures.join('\n')}\n${o.console.diagnosis()}`).toEqual([]);
        console.info(`QEMU TCG, ${vcpus} vCPU: result line after ${(o.msToResult! / 1000).toFixed(1)} s, exit after ${(o.msToExit / 1000).toFixed(1)} s`);
      },
      TIMEOUT_MS + 60_000,
    );
  }

  it(
    "gives the kernel's symbol map from its own /proc/kallsyms (Debian ships a stub System.map)",
    async () => {
      const assets = got as LinuxAssets;
      const sym = await kernelSymbolsViaQemu(assets);
      expect(sym.size).toBeGreaterThan(20_000);
      const sk = sym.address('start_kernel');
      expect(sk).toBeDefined();
      expect(sym.lookup(sk! + 4n)).toMatch(/^start_kernel\+0x4\//);
    },
    TIMEOUT_MS + 60_000,
  );
});
