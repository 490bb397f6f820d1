/**
 * The one loader of the native vmm addon (`build/Release/tsvirt_vmm.node`).
 *
 * Every other module imports the typed surface exported here; nothing else calls
 * `require` on a `.node` file. A missing or stale build fails with an error that lists
 * every path tried and how to rebuild.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The raw surface of the addon, as native/binding/addon.cc exports it. */
export interface NativeVmm {
  /** ABI version of the compiled binding; must equal {@link BINDING_ABI}. */
  abiVersion(): number;
}

/** The binding ABI this TypeScript tree was written against. */
export const BINDING_ABI = 1;

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(start, '..', '..', '..');
    dir = up;
  }
}

let cached: NativeVmm | undefined;

/** Loads (once) and returns the native addon; throws naming every path tried. */
export function loadNativeVmm(): NativeVmm {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  const candidates = [
    join(root, 'build', 'Release', 'tsvirt_vmm.node'),
    join(root, 'build', 'Debug', 'tsvirt_vmm.node'),
  ];
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) {
      errors.push(`${path}: not found`);
      continue;
    }
    try {
      const mod = require(path) as NativeVmm;
      const abi = mod.abiVersion();
      if (abi !== BINDING_ABI) {
        errors.push(`${path}: binding ABI ${abi}, expected ${BINDING_ABI} (stale build)`);
        continue;
      }
      cached = mod;
      return mod;
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `cannot load the tsvirt vmm addon; run 'npm run build:native'. Tried:\n  ${errors.join('\n  ')}`,
  );
}
