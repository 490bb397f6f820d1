/**
 * The launcher of a bundled program (scripts/bundle.mjs): `dist/cli/<name>.js` calls it,
 * and it runs `dist/cli/<name>.bundle.cjs` — the whole program in one script — compiled
 * with the V8 code cache the build made for it (`<name>.bundle.cjs.cache`), so a start
 * skips most of parsing and compiling the program (issue 10: three node processes start
 * per `tsvirsh start`, each used to spend tens of milliseconds there).
 *
 * The bundle file is one function expression `(exports, require, module, __filename,
 * __dirname, __tsvirtImportMetaUrl) => {...}` in strict mode (the sources are ES modules);
 * `import.meta.url` of the sources was replaced by `__tsvirtImportMetaUrl`, which is this
 * launcher's URL: `new URL('../cli/tsbhyve.js', import.meta.url)`, the package root search
 * of the native addon and tsvirtd's re-execution of itself see the program's path.
 *
 * A cache that V8 rejects (another node binary, other V8 flags) or that is older than the
 * bundle is ignored: the program is compiled from source, exactly as without a cache.
 * This launcher is CommonJS (dist/cli/package.json says so) because a CommonJS main module
 * starts without initialising node's ES module loader.
 *
 * The launcher is `dist/cli/launcher.cjs`; each `dist/cli/<name>.js` is the two lines
 * `#!/usr/bin/env node` and `require('./launcher.cjs').launch(__filename)`.
 *
 * Not here: anything of the programs themselves (src/cli/tsvirsh.ts, tsvirtd.ts,
 * tsbhyve.ts, tsvirt-supervisor.ts).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script, constants } from 'node:vm';

type BundleMain = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
  importMetaUrl: string,
) => void;

/** The bundle of the program whose launcher is `launcherPath` (`x.js` → `x.bundle.cjs`). */
export function bundlePath(launcherPath: string): string {
  return launcherPath.replace(/\.js$/, '.bundle.cjs');
}

/** The code cache, when it is at least as new as the bundle; undefined otherwise. */
function readCache(bundle: string): Buffer | undefined {
  try {
    const cache = `${bundle}.cache`;
    if (statSync(cache).mtimeMs < statSync(bundle).mtimeMs) return undefined;
    return readFileSync(cache);
  } catch {
    return undefined;
  }
}

/** How a start used the code cache (for tests and the build's check). */
export type CacheUse = 'accepted' | 'rejected' | 'none';

function compile(bundle: string, cachedData: Buffer | undefined): Script {
  return new Script(readFileSync(bundle, 'utf8'), {
    filename: bundle,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/**
 * Writes `<bundle>.cache`: the code cache of the bundle compiled as launch() compiles it.
 * `eager` (the build's choice) compiles every function while the cache is made (V8's
 * `--no-lazy`, set back before the cache is serialised, so it is made under the flags the
 * programs run with): a start then neither parses nor compiles the functions it calls,
 * at the price of a larger cache to read. Without it the cache holds the top-level code
 * only. Run by the build with the node that will run the programs; returns the size.
 */
export function writeCodeCache(bundle: string, eager = true): number {
  const v8 = require('node:v8') as typeof import('node:v8');
  if (eager) v8.setFlagsFromString('--no-lazy');
  let script: Script;
  try {
    script = compile(bundle, undefined);
  } finally {
    if (eager) v8.setFlagsFromString('--lazy');
  }
  const data = script.createCachedData();
  writeFileSync(`${bundle}.cache`, data);
  return data.length;
}

/**
 * `node --enable-source-maps`: node maps stack frames of the files its own loaders load,
 * not of a vm.Script, so frames in the bundle are mapped here with `<bundle>.map` (to
 * `src/...:line:column`); other frames print as node prints them. Without the flag (or
 * without a readable map) stack traces name the bundle's lines.
 */
function mapBundleFrames(bundle: string): void {
  let map: SourceMap;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    return;
  }
  const sourceRoot = dirname(bundle);
  Error.prepareStackTrace = (err, frames) => {
    const lines = frames.map((f) => {
      const line = f.getLineNumber();
      const column = f.getColumnNumber();
      if (f.getFileName() === bundle && line !== null && column !== null) {
        const e = map.findEntry(line - 1, column - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
        if (e.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
          const where = `${resolve(sourceRoot, e.originalSource)}:${e.originalLine + 1}:${e.originalColumn + 1}`;
          const fn = f.getFunctionName();
          return `    at ${fn ? `${fn} (${where})` : where}`;
        }
      }
      return `    at ${String(f)}`;
    });
    return `${String(err)}${lines.length ? `\n${lines.join('\n')}` : ''}`;
  };
}

/** Compiles and runs the bundle next to `launcherPath` (the launcher's own __filename). */
export function launch(launcherPath: string): CacheUse {
  const bundle = bundlePath(launcherPath);
  const cachedData = readCache(bundle);
  const script = compile(bundle, cachedData);
  if (process.sourceMapsEnabled) mapBundleFrames(bundle);
  const main = script.runInThisContext() as BundleMain;
  const module = { exports: {} };
  main.call(undefined, module.exports, createRequire(bundle), module, bundle, dirname(bundle), pathToFileURL(launcherPath).href);
  return cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
}
