/**
 * TEST SCAFFOLDING — the tsvirsh program (src/cli/tsvirsh/main.ts, unchanged, real
 * translation) with one override: embedded connections run the VM stand-in
 * (test/driver/lifecycle/stand-in) as VM program, for tests that need running domains
 * before tsbhyve runs guests. Never shipped.
 */
import { fileURLToPath } from 'node:url';
import { runTsvirsh } from '../../../src/cli/tsvirsh/main.js';

const standIn = fileURLToPath(new URL('../../driver/lifecycle/stand-in/vm-stand-in.js', import.meta.url));

runTsvirsh(process.argv.slice(2), { emulator: [process.execPath, standIn], readyTimeoutMs: 20_000 }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
