/**
 * Shared helpers for the src/xml suites: fixture discovery, running libvirt's
 * `virt-xml-validate` over many files (two at a time), and asking libvirt 9.0 itself
 * (python3-libvirt on test:///default) to define and dump a batch of XML documents in one
 * process — the oracle the fixtures' golden files came from.
 * Every helper reports absence of its tool (null) instead of failing, so suites can skip
 * with a message on machines without libvirt.
 */

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const FIXTURES = join(ROOT, 'fixtures/xml');
export const REFERENCE_OUT = '/work/shared/reference/libvirt-bhyve-tests/xml2xmlout';

/** Fixtures that use elements libvirt 9.0 (the installed schema and oracle) does not know. */
export const BEYOND_LIBVIRT9 = new Set(['beyond-libvirt9']);
/** Fixtures the libvirt test driver cannot reproduce (namespaces it does not register). */
export const NOT_FOR_ORACLE = new Set(['beyond-libvirt9', 'bhyve-commandline']);

export interface Fixture {
  name: string;
  input: string;
  expected: string;
}

export function fixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.xml') && !f.endsWith('.out.xml'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      return {
        name,
        input: readFileSync(join(FIXTURES, f), 'utf8'),
        expected: readFileSync(join(FIXTURES, `${name}.out.xml`), 'utf8'),
      };
    });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const VALIDATOR = '/usr/bin/virt-xml-validate';

/** True when libvirt's validator is installed. */
export function haveValidator(): boolean {
  return existsSync(VALIDATOR);
}

/**
 * Writes each document to a temp file and runs `virt-xml-validate FILE domain` on all of
 * them, two processes at a time. Returns the failures (name + validator output).
 */
export async function validateAll(docs: Array<{ name: string; xml: string }>): Promise<Array<{ name: string; output: string }>> {
  const dir = tempDir('tsvirt-validate-');
  const files = docs.map((d) => {
    const p = join(dir, `${d.name.replace(/[^\w.-]/g, '_')}.xml`);
    writeFileSync(p, d.xml);
    return { name: d.name, path: p };
  });
  const failures: Array<{ name: string; output: string }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++]!;
      await new Promise<void>((res) => {
        execFile(VALIDATOR, [f.path, 'domain'], { timeout: 30_000 }, (err, stdout, stderr) => {
          if (err) failures.push({ name: f.name, output: `${stdout}${stderr}` });
          res();
        });
      });
    }
  };
  await Promise.all([worker(), worker()]);
  return failures;
}

const PYTHON = '/usr/bin/python3';

/** True when /usr/bin/python3 can import libvirt. */
export function haveLibvirtPython(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import libvirt'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const ORACLE_PY = `
import json, sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open('test:///default')
out = []
for xml in json.load(sys.stdin):
    try:
        d = conn.defineXML(xml)
        text = d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        d.undefine()
        out.append({'xml': text})
    except libvirt.libvirtError as e:
        out.append({'code': e.get_error_code(), 'domain': e.get_error_domain(), 'message': str(e)})
json.dump(out, sys.stdout)
`;

export type OracleResult = { xml: string } | { code: number; domain: number; message: string };

/**
 * Defines and dumps each document with libvirt 9.0's own parser/formatter (one python
 * process for the batch). Output is normalised for the test driver's additions: generated
 * `<target dev='testnetN'/>` lines dropped, its host arch i686 shown as x86_64.
 */
export function libvirtOracle(docs: string[]): OracleResult[] {
  const raw = execFileSync(PYTHON, ['-c', ORACLE_PY], { input: JSON.stringify(docs), timeout: 60_000, maxBuffer: 64 << 20 });
  const res = JSON.parse(raw.toString('utf8')) as OracleResult[];
  return res.map((r) =>
    'xml' in r
      ? {
          xml: r.xml
            .split('\n')
            .filter((l) => !/^\s*<target dev='testnet\d+'\/>$/.test(l))
            .join('\n')
            .replace("<type arch='i686'>", "<type arch='x86_64'>"),
        }
      : r,
  );
}
