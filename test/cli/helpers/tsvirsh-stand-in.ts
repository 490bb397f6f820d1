/**
 * TEST SCAFFOLDING — the tsvirsh program (src/cli/tsvirsh/main.ts, unchanged) wired for
 * tests that need running domains before the real translation and a guest-running
 * tsbhyve exist: embedded connections get the test translator and the VM stand-in as VM
 * program. Everything else — URIs, state root, commands, output, exit status, locking,
 * supervision — is the real code. Never shipped.
 */
import { fileURLToPath } from 'node:url';
import { runTsvirsh } from '../../../src/cli/tsvirsh/main.js';
import { testTranslator } from '../../driver/lifecycle/helpers/test-translator.js';

const standIn = fileURLToPath(new URL('../../driver/lifecycle/stand-in/vm-stand-in.js', import.meta.url));

runTsvirsh(process.argv.slice(2), { translator: testTranslator, emulator: [process.execPath, standIn], readyTimeoutMs: 20_000 }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
