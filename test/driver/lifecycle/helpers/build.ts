/**
 * Compiles `src/` and the test-only VM stand-in into a private directory under
 * node_modules/.cache, so supervision tests spawn real compiled processes (the supervisor,
 * tsvirsh, the stand-in) even when `dist/` is stale or absent.
 *
 * The directory is keyed by a hash of the sources: test files running in parallel workers
 * share one build, a changed source gets a new one, and older builds are removed.
 */
import { execFile } from 'node:child_process';
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tsc(tsconfig: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tsc failed:\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/**
 * Returns the build directory (`src/...` compiled at its root, test programs under
 * `test/`), building it first if needed. Asynchronous, so a worker waiting for the build
 * keeps answering vitest; one worker builds while the others wait on its lock.
 */
export async function buildLifecycle(): Promise<string> {
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
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, `${key}.lock`);
  for (;;) {
    if (existsSync(join(out, 'done'))) return (built = out);
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      await sleep(200);
    }
  }
  try {
    if (existsSync(join(out, 'done'))) return (built = out);
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
      await tsc(tsconfig);
    } finally {
      rmSync(tsconfig, { force: true });
    }
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(tmp, 'done'), '');
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    for (const n of readdirSync(cache)) {
      if (n !== key && n !== `${key}.lock` && !n.includes('.tmp-') && !n.startsWith('tsconfig-') && !n.endsWith('.lock')) rmSync(join(cache, n), { recursive: true, force: true });
    }
    return (built = out);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function dir(): string {
  if (!built) throw new Error('await buildLifecycle() first (in beforeAll)');
  return built;
}

export function supervisorEntry(): string {
  return join(dir(), 'src', 'driver', 'supervisor-main.js');
}

export function standInPath(): string {
  return join(dir(), 'test', 'driver', 'lifecycle', 'stand-in', 'vm-stand-in.js');
}

export function tsvirshPath(): string {
  return join(dir(), 'src', 'cli', 'tsvirsh.js');
}

/** tsvirsh wired to the test translator and the VM stand-in (test scaffolding). */
export function tsvirshStandInPath(): string {
  return join(dir(), 'test', 'cli', 'helpers', 'tsvirsh-stand-in.js');
}
