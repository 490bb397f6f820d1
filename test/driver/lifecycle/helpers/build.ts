/**
 * Compiles `src/` and the test-only VM stand-in into a private directory under
 * node_modules/.cache, so supervision tests spawn real compiled processes (the supervisor,
 * tsvirsh, the stand-in) even when `dist/` is stale or absent.
 *
 * The directory is keyed by a hash of the sources: test files running in parallel workers
 * share one build, a changed source gets a new one, and older builds are removed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');
const STAND_IN_DIR = 'test/driver/lifecycle/stand-in';
/** Test-only programs compiled with the sources (stand-in VM, tsvirsh wired to it). */
const TEST_DIRS = [STAND_IN_DIR, 'test/driver/lifecycle/helpers', 'test/cli/helpers'];

function listTs(dir: string, out: string[]): void {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) listTs(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
}

let built: string | undefined;

/** Returns the build directory: `src/...` compiled at its root, stand-in under `stand-in/`. */
export function buildLifecycle(): string {
  if (built) return built;
  const files: string[] = [];
  listTs(join(REPO_ROOT, 'src'), files);
  for (const d of TEST_DIRS) listTs(join(REPO_ROOT, d), files);
  files.sort();
  const h = createHash('sha256');
  for (const f of files) h.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  const key = h.digest('hex').slice(0, 16);
  const cache = join(REPO_ROOT, 'node_modules', '.cache', 'tsvirt-life-build');
  const out = join(cache, key);
  if (existsSync(join(out, 'done'))) return (built = out);
  mkdirSync(cache, { recursive: true });
  const tmp = join(cache, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const tsconfig = join(cache, `tsconfig-${process.pid}.json`);
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(REPO_ROOT, 'tsconfig.json'),
      compilerOptions: { rootDir: REPO_ROOT, outDir: tmp, declaration: false, sourceMap: false },
      include: [join(REPO_ROOT, 'src'), ...TEST_DIRS.map((d) => join(REPO_ROOT, d))],
    }),
  );
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { stdio: 'inherit' });
  } finally {
    rmSync(tsconfig, { force: true });
  }
  writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(tmp, 'done'), '');
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker won the race
  }
  for (const n of readdirSync(cache)) {
    if (n !== key && !n.includes('.tmp-') && !n.startsWith('tsconfig-')) rmSync(join(cache, n), { recursive: true, force: true });
  }
  return (built = out);
}

export function supervisorEntry(): string {
  return join(buildLifecycle(), 'src', 'driver', 'supervisor-main.js');
}

export function standInPath(): string {
  return join(buildLifecycle(), 'test', 'driver', 'lifecycle', 'stand-in', 'vm-stand-in.js');
}

export function tsvirshPath(): string {
  return join(buildLifecycle(), 'src', 'cli', 'tsvirsh.js');
}

/** tsvirsh wired to the test translator and the VM stand-in (test scaffolding). */
export function tsvirshStandInPath(): string {
  return join(buildLifecycle(), 'test', 'cli', 'helpers', 'tsvirsh-stand-in.js');
}
