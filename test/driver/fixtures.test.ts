/**
 * tsvirt's own golden cases (fixtures/driver/xml2argv): one domain XML per device family
 * and option, translated on a host with every capability (ALL_BHYVE_CAPS: FreeBSD's bhyve
 * devices plus tsvirt's extensions), compared with NAME.args
 * (bhyve argv), NAME.ldargs (loader, `none` when bhyve boots itself), NAME.conf (the `-k`
 * file) and NAME.warnings; NAME.err cases must be refused with a VirError matching the
 * file's pattern. Every `.conf` is also checked against what bhyve's own option rules build
 * from the `.args` (helpers/bhyve-rules.ts), so argv and config tree cannot drift apart.
 *
 * UPDATE_FIXTURES=1 rewrites the golden files (review the diff before committing).
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ALL_BHYVE_CAPS,
  createBhyveParserConfig,
  domainToBhyveArgv,
  domainToBhyveConfig,
  type TranslateOptions,
} from '../../src/driver/index.js';
import { isVirError, VIR_ERR_CONFIG_UNSUPPORTED } from '../../src/xml/errors.js';
import { parseDomainXML } from '../../src/xml/index.js';
import { parseArgsText, stripProgramDir } from './helpers/args-file.js';
import { argvToConfigKeys, parseConfigText } from './helpers/bhyve-rules.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/driver/xml2argv');
const update = process.env.UPDATE_FIXTURES === '1';

const opts: TranslateOptions = {
  caps: ALL_BHYVE_CAPS,
  paths: { bhyve: '/usr/local/bin/tsbhyve', bhyveload: '/usr/sbin/bhyveload' },
  firmwareDir: '/usr/local/share/uefi-firmware',
  nvramDir: '/var/lib/tsvirt/nvram',
  listDir: () => ['BHYVE_UEFI.fd', 'BHYVE_UEFI_VARS.fd'],
  vncPort: () => 5900,
  resolveNetwork: (name) => (name === 'default' ? 'virbr0' : undefined),
  kernelProtocol: (path) => (path.endsWith('bzImage') ? 'linux' : 'multiboot'),
  deviceMapPath: '/var/run/tsvirt/grub-device.map',
};

function formatArgs(argv: string[]): string {
  const q = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`);
  const lines: string[] = [];
  for (const a of stripProgramDir(argv)) {
    if (lines.length === 0 || a.startsWith('-')) lines.push(q(a));
    else lines[lines.length - 1] += ` ${q(a)}`;
  }
  return `${lines.join(' \\\n')}\n`;
}

/** Memory sizes: bhyve reads a bare number below 1 MiB as MiB; the config writes `NM`. */
function normaliseSizes(m: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of m) out.set(k, /^(memory|domains\.\d+)\.size$/.test(k) ? v.replace(/M$/, '') : v);
  return out;
}

function golden(name: string, ext: string, actual: string): void {
  const p = join(dir, `${name}.${ext}`);
  if (update) writeFileSync(p, actual);
  expect(existsSync(p), `${name}.${ext} exists`).toBe(true);
  expect(actual).toBe(readFileSync(p, 'utf8'));
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => f.slice(0, -4))
  .sort();

describe('driver fixtures', () => {
  for (const name of names) {
    const xml = readFileSync(join(dir, `${name}.xml`), 'utf8');
    const errFile = join(dir, `${name}.err`);
    if (existsSync(errFile)) {
      it(`${name} is refused`, () => {
        const pattern = new RegExp(readFileSync(errFile, 'utf8').trim());
        let caught: unknown;
        try {
          const def = parseDomainXML(xml, { config: createBhyveParserConfig(opts) });
          domainToBhyveArgv(def, opts);
        } catch (e) {
          caught = e;
        }
        expect(isVirError(caught), `expected a VirError, got ${String(caught)}`).toBe(true);
        const e = caught as { code: number; message: string };
        expect(e.message).toMatch(pattern);
        expect(e.code).toBe(VIR_ERR_CONFIG_UNSUPPORTED);
      });
      continue;
    }
    it(`${name} translates`, () => {
      const def = parseDomainXML(xml, { config: createBhyveParserConfig(opts) });
      const before = structuredClone(def);
      const r = domainToBhyveArgv(def, opts);
      expect(def, 'the definition given is not modified').toEqual(before);
      golden(name, 'args', formatArgs(r.bhyve));
      golden(name, 'ldargs', r.loader ? formatArgs(r.loader) : 'none\n');
      if (r.deviceMap !== undefined || existsSync(join(dir, `${name}.devmap`))) golden(name, 'devmap', r.deviceMap ?? '');
      golden(name, 'warnings', r.warnings.map((w) => `${w}\n`).join(''));
      const conf = domainToBhyveConfig(def, opts);
      golden(name, 'conf', conf);
      // The golden .args reads back to the same argv.
      expect(parseArgsText(readFileSync(join(dir, `${name}.args`), 'utf8'))).toEqual(stripProgramDir(r.bhyve));
      // bhyve's own rules applied to the argv give exactly the keys of the config file.
      const fromArgv = normaliseSizes(argvToConfigKeys(r.bhyve));
      const fromConf = normaliseSizes(parseConfigText(conf));
      expect(Object.fromEntries([...fromConf].sort())).toEqual(Object.fromEntries([...fromArgv].sort()));
    });
  }
});

describe('on a tsbhyve host (TSBHYVE_CAPS)', () => {
  const tsbhyve: TranslateOptions = { ...opts, caps: undefined };
  const cases: Array<[string, RegExp]> = [
    ['uefi-vnc-full', /Sound devices emulation is not supported/],
    ['virtio-scsi-ctl', /virtio-scsi is not supported/],
    ['net-types', /user-mode \(slirp\) networking is not supported/],
    ['rng-9p-passthru', /PCI passthrough is not supported/],
    ['tpm-passthrough', /TPM devices are not supported/],
    ['cpu-tuning', /NUMA domains \(<cpu><numa>\) are not supported/],
  ];
  for (const [name, msg] of cases) {
    it(`${name} is refused, naming the device tsbhyve lacks`, () => {
      const xml = readFileSync(join(dir, `${name}.xml`), 'utf8');
      expect(() => domainToBhyveArgv(parseDomainXML(xml, { config: createBhyveParserConfig(tsbhyve) }), tsbhyve)).toThrow(msg);
    });
  }
  it('runs the devices tsbhyve has', () => {
    for (const name of ['disk-options', 'serial-backends', 'virtio-console', 'direct-boot-linux', 'type-kvm', 'net-udp', 'nvme-uefi', 'tsbhyve-devices']) {
      const xml = readFileSync(join(dir, `${name}.xml`), 'utf8');
      expect(domainToBhyveArgv(parseDomainXML(xml, { config: createBhyveParserConfig(tsbhyve) }), tsbhyve).bhyve.at(-1)).toBe(name);
    }
  });
});
