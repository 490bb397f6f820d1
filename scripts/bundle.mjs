#!/usr/bin/env node
/**
 * scripts/bundle: builds tsvirt's programs into `dist/cli/`, after `tsc -p
 * tsconfig.build.json` has type-checked the sources and emitted the library (`npm run
 * build`, `prepare`). Programs: tsvirsh, tsvirtd, tsbhyve (package.json `bin`) and
 * tsvirt-supervisor (spawned by the driver).
 *
 * Why (issue 10): node loads an ES module graph file by file (resolve, read, compile,
 * link, plus an ES-module facade per node built-in), and the start path of a guest crosses
 * three node processes. Per program, `dist/cli/` gets:
 *   <name>.bundle.cjs        the program and its npm dependencies in one script (esbuild),
 *                            one strict-mode function expression (src/cli/launcher.cts)
 *   <name>.bundle.cjs.map    its source map (sources point at src/)
 *   <name>.bundle.cjs.cache  V8's code cache of it, made here by the node that builds
 *   <name>.js                `#!/usr/bin/env node` + require('./launcher.cjs').launch(...)
 * and, shared, `launcher.cjs` (src/cli/launcher.cts) and a package.json marking the folder
 * CommonJS (a CommonJS main module starts without node's ES module loader).
 *
 * Paths stay what they were: `dist/cli/<name>.js` (bin, tests, benches), the driver's
 * `../cli/tsbhyve.js` and `../cli/tsvirt-supervisor.js` resolve the same from
 * `dist/driver/` and from a bundle (src/driver/driver.ts); `import.meta.url` in the
 * sources becomes the launcher's URL. The native addon stays a file found at run time
 * (src/emulator/vmm/native.ts walks up to the package root). `dbus-next` stays an npm
 * package resolved at run time (it requires optional packages itself). Dynamic
 * `import()`s of bundled modules stay lazy: esbuild evaluates such a module when the
 * import runs. The library `exports` (./xml, ./driver, ./rpc, ./vmm) are tsc's unbundled
 * output, untouched; tsconfig.build.json leaves src/cli out of it.
 *
 * Not done here: type checking (tsc), minification (stack traces stay readable).
 */
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'cli');

/** Program name → its source entry. */
const PROGRAMS = {
  tsvirsh: 'src/cli/tsvirsh.ts',
  tsvirtd: 'src/cli/tsvirtd.ts',
  tsbhyve: 'src/cli/tsbhyve.ts',
  'tsvirt-supervisor': 'src/cli/tsvirt-supervisor.ts',
};

/** Must match BundleMain in src/cli/launcher.cts. */
const WRAP_OPEN = '(function (exports, require, module, __filename, __dirname, __tsvirtImportMetaUrl) { "use strict";';
const WRAP_CLOSE = '})';

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
};

async function main() {
  if (!existsSync(join(ROOT, 'dist'))) {
    process.stderr.write('scripts/bundle: dist/ missing; run tsc -p tsconfig.build.json first\n');
    process.exit(1);
  }
  // dist/cli holds the programs only (older builds emitted tsc's modules here).
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'package.json'), '{ "type": "commonjs" }\n');
  await build({ ...common, entryPoints: ['src/cli/launcher.cts'], outfile: join(OUT, 'launcher.cjs') });
  await Promise.all(
    Object.entries(PROGRAMS).map(([name, src]) =>
      build({
        ...common,
        entryPoints: [src],
        outfile: join(OUT, `${name}.bundle.cjs`),
        sourcemap: 'linked',
        define: { 'import.meta.url': '__tsvirtImportMetaUrl' },
        banner: { js: WRAP_OPEN },
        footer: { js: WRAP_CLOSE },
        external: ['*.node', 'dbus-next'],
      }),
    ),
  );
  const { writeCodeCache } = createRequire(import.meta.url)(join(OUT, 'launcher.cjs'));
  for (const name of Object.keys(PROGRAMS)) {
    writeCodeCache(join(OUT, `${name}.bundle.cjs`));
    const launcher = join(OUT, `${name}.js`);
    writeFileSync(launcher, "#!/usr/bin/env node\nrequire('./launcher.cjs').launch(__filename);\n");
    chmodSync(launcher, 0o755);
  }
}

await main();
