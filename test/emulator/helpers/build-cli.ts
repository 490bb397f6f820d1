/**
 * Builds the TypeScript sources (tsconfig.build.json) into a private directory once per
 * test file, so end-to-end tests spawn the real compiled `tsbhyve` even when `dist/` is
 * stale or absent. The directory lives under node_modules/.cache (ignored by git).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

let built: string | undefined;

/** Returns the directory holding the compiled tree (`cli/tsbhyve.js` inside). */
export function buildCli(): string {
  if (built) return built;
  const cacheRoot = join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-test-build');
  mkdirSync(cacheRoot, { recursive: true });
  const out = mkdtempSync(join(cacheRoot, 'build-'));
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'],
    { stdio: 'inherit' },
  );
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
