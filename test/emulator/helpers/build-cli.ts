/**
 * Builds runnable JavaScript for end-to-end tests: the `tsbhyve` entry point (and a few
 * modules the stdio probe imports), bundled with esbuild (already installed as vitest's
 * compiler) into a private directory under node_modules/.cache (ignored by git). Fast
 * (well under a second) and independent of a stale or absent `dist/`; `npm run build`
 * remains the production build (tsc) and the type check stays `tsc --noEmit`.
 */
import { buildSync } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

let built: string | undefined;

const ENTRIES = ['src/cli/tsbhyve.ts', 'src/emulator/backends/serial/open.ts', 'src/emulator/lpc/uart/device.ts'];

/** Returns the directory holding the built tree (`cli/tsbhyve.js` inside). */
export function buildCli(): string {
  if (built) return built;
  const cacheRoot = join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-test-build');
  mkdirSync(cacheRoot, { recursive: true });
  const out = mkdtempSync(join(cacheRoot, 'build-'));
  buildSync({
    entryPoints: ENTRIES.map((e) => join(REPO_ROOT, e)),
    outbase: join(REPO_ROOT, 'src'),
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  built = out;
  return out;
}

export function tsbhyvePath(): string {
  return join(buildCli(), 'cli', 'tsbhyve.js');
}

/** Removes this process's build (call from afterAll: builds must not pile up). */
export function removeBuild(): void {
  if (built) rmSync(built, { recursive: true, force: true });
  built = undefined;
}
