/**
 * The launcher of bundled programs (src/cli/launcher.cts), built with esbuild as
 * scripts/bundle.mjs builds it, run in real node processes against a small hand-written
 * bundle: what the program sees (strict mode, `import.meta.url` = the launcher's URL, a
 * require that resolves from the bundle's folder, its arguments and exit status) and how
 * the code cache is used — accepted when made by writeCodeCache, ignored when older than
 * the bundle, rejected by V8 when corrupt, and the program runs the same in every case.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
let launcherCjs: string;

const PROGRAM = `#!/usr/bin/env node
(function (exports, require, module, __filename, __dirname, __tsvirtImportMetaUrl) { "use strict";
const strict = (function () { return this === undefined; })();
let undeclaredThrows = false;
try { eval('undeclaredName = 1'); } catch { undeclaredThrows = true; }
process.stdout.write(JSON.stringify({ strict, undeclaredThrows, meta: __tsvirtImportMetaUrl, filename: __filename, dirname: __dirname, join: require('node:path').join('a', 'b'), args: process.argv.slice(2) }) + '\\n');
process.exitCode = 7;
})
`;

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the launcher's launch() on prog.js in a fresh node; returns the cache use and the program's output. */
function launchProbe(): { use: string; out: Record<string, unknown> } {
  const r = node(['-e', `const u = require(${JSON.stringify(launcherCjs)}).launch(${JSON.stringify(join(dir, 'prog.js'))}); process.stderr.write('USE=' + u + '\\n');`]);
  expect(r.stderr).toMatch(/USE=/);
  return { use: /USE=(\w+)/.exec(r.stderr)![1]!, out: JSON.parse(r.stdout) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsvirt-launcher-'));
  launcherCjs = join(dir, 'launcher.cjs');
  await build({ entryPoints: ['src/cli/launcher.cts'], outfile: launcherCjs, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error' });
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(join(dir, 'prog.bundle.cjs'), PROGRAM);
  writeFileSync(join(dir, 'prog.js'), "#!/usr/bin/env node\nrequire('./launcher.cjs').launch(__filename);\n");
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('launcher', () => {
  it('runs the bundle as the program: strict, launcher URL as import.meta.url, arguments, exit status', () => {
    const r = node([join(dir, 'prog.js'), 'x', '--y']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(7);
    expect(JSON.parse(r.stdout)).toEqual({
      strict: true,
      undeclaredThrows: true,
      meta: pathToFileURL(join(dir, 'prog.js')).href,
      filename: join(dir, 'prog.bundle.cjs'),
      dirname: dir,
      join: join('a', 'b'),
      args: ['x', '--y'],
    });
  });

  it('compiles without a cache, then uses the cache writeCodeCache made', () => {
    rmSync(join(dir, 'prog.bundle.cjs.cache'), { force: true });
    expect(launchProbe().use).toBe('none');
    const w = node(['-e', `process.stdout.write(String(require(${JSON.stringify(launcherCjs)}).writeCodeCache(${JSON.stringify(join(dir, 'prog.bundle.cjs'))})))`]);
    expect(Number(w.stdout)).toBeGreaterThan(0);
    const p = launchProbe();
    expect(p.use).toBe('accepted');
    expect(p.out.strict).toBe(true);
  });

  it('ignores a cache older than the bundle', () => {
    const cache = join(dir, 'prog.bundle.cjs.cache');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(cache, old, old);
    const p = launchProbe();
    expect(p.use).toBe('none');
    expect(p.out.meta).toBe(pathToFileURL(join(dir, 'prog.js')).href);
  });

  it('runs from source when V8 rejects a corrupt cache', () => {
    const cache = join(dir, 'prog.bundle.cjs.cache');
    const bytes = readFileSync(cache);
    for (let i = 8; i < bytes.length; i += 7) bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(cache, bytes);
    const p = launchProbe();
    expect(p.use).toBe('rejected');
    expect(p.out.args).toEqual([]);
  });

  it('with --enable-source-maps, frames in the bundle name the source file and line', async () => {
    const src = join(dir, 'boom.ts');
    writeFileSync(src, 'function boom(x: number): never {\n  throw new Error(`boom ${x}`);\n}\nboom(1);\n');
    await build({
      entryPoints: [src], outfile: join(dir, 'boom.bundle.cjs'), bundle: true, platform: 'node', format: 'cjs', sourcemap: 'linked', logLevel: 'error',
      banner: { js: '(function (exports, require, module, __filename, __dirname, __tsvirtImportMetaUrl) { "use strict";' }, footer: { js: '})' },
    });
    writeFileSync(join(dir, 'boom.js'), "require('./launcher.cjs').launch(__filename);\n");
    const mapped = node(['--enable-source-maps', join(dir, 'boom.js')]);
    expect(mapped.status).not.toBe(0);
    expect(mapped.stderr).toContain('Error: boom 1');
    expect(mapped.stderr).toContain(`at boom (${src}:2:9)`);
    const plain = node([join(dir, 'boom.js')]);
    expect(plain.stderr).toContain(`${join(dir, 'boom.bundle.cjs')}:`);
    expect(plain.stderr).not.toContain(`${src}:2`);
  });

  it('a missing bundle is an error naming the file, not a silent exit', () => {
    writeFileSync(join(dir, 'nobundle.js'), "require('./launcher.cjs').launch(__filename);\n");
    const r = node([join(dir, 'nobundle.js')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(join(dir, 'nobundle.bundle.cjs'));
  });
});
