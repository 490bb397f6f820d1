/**
 * Domain XML written for QEMU/KVM runs on bhyve without editing (compat.ts): golden cases
 * in fixtures/driver/compat (virt-install output, `virsh dumpxml` of i440fx and q35 guests,
 * a Windows guest, direct kernel boot) give NAME.args, NAME.warnings (every change is
 * reported) and NAME.live.xml (the changes are visible in the live XML); the persistent
 * definition keeps what the user wrote. NAME.err cases cannot be mapped and are refused.
 *
 * A second suite runs the real virt-install (Debian `virtinst`) for several OS variants
 * with `--print-xml --dry-run` against libvirt's test driver (no hypervisor needed), turns
 * the test domain type into `kvm` (the test driver only offers i686 "test" guests) and
 * translates the result. It skips, saying why, when virt-install is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBhyveParserConfig, domainToBhyveArgv, type TranslateOptions } from '../../src/driver/index.js';
import { isVirError, VIR_ERR_CONFIG_UNSUPPORTED } from '../../src/xml/errors.js';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';
import { stripProgramDir } from './helpers/args-file.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/driver/compat');
const update = process.env.UPDATE_FIXTURES === '1';

const opts: TranslateOptions = {
  paths: { bhyve: '/usr/local/bin/tsbhyve' },
  firmwareDir: '/usr/local/share/uefi-firmware',
  nvramDir: '/var/lib/tsvirt/nvram',
  listDir: () => ['BHYVE_UEFI.fd', 'BHYVE_UEFI_VARS.fd'],
  vncPort: () => 5900,
  resolveNetwork: (name) => (name === 'default' ? 'virbr0' : undefined),
  kernelProtocol: () => 'linux',
};

function golden(name: string, ext: string, actual: string): void {
  const p = join(dir, `${name}.${ext}`);
  if (update) writeFileSync(p, actual);
  expect(existsSync(p), `${name}.${ext} exists`).toBe(true);
  expect(actual).toBe(readFileSync(p, 'utf8'));
}

/** Every PCI address of a live definition is on bus 0 of domain 0, each slot once per function. */
function expectSinglePciBus(xml: string): void {
  const seen = new Set<string>();
  for (const m of xml.matchAll(/<address type='pci' domain='(0x[0-9a-f]+)' bus='(0x[0-9a-f]+)' slot='(0x[0-9a-f]+)' function='(0x[0-9a-f]+)'/g)) {
    expect(m[1], 'PCI domain').toBe('0x0000');
    expect(m[2], 'PCI bus').toBe('0x00');
    const key = `${m[3]}.${m[4]}`;
    expect(seen.has(key), `PCI address ${key} used twice`).toBe(false);
    seen.add(key);
  }
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.xml') && !f.endsWith('.live.xml'))
  .map((f) => f.slice(0, -4))
  .sort();

describe('QEMU/KVM domains on bhyve (fixtures)', () => {
  for (const name of names) {
    const xml = readFileSync(join(dir, `${name}.xml`), 'utf8');
    const errFile = join(dir, `${name}.err`);
    if (existsSync(errFile)) {
      it(`${name} is refused`, () => {
        const def = parseDomainXML(xml, { config: createBhyveParserConfig(opts) });
        let caught: unknown;
        try {
          domainToBhyveArgv(def, opts);
        } catch (e) {
          caught = e;
        }
        expect(isVirError(caught), String(caught)).toBe(true);
        expect((caught as { code: number }).code).toBe(VIR_ERR_CONFIG_UNSUPPORTED);
        expect((caught as Error).message).toMatch(new RegExp(readFileSync(errFile, 'utf8').trim()));
      });
      continue;
    }
    it(`${name} runs, with every change reported`, () => {
      const def = parseDomainXML(xml, { config: createBhyveParserConfig(opts) });
      const persistent = formatDomainXML(def, { inactive: true });
      const r = domainToBhyveArgv(def, opts);
      // The persistent definition is untouched: it still formats exactly as before.
      expect(formatDomainXML(def, { inactive: true })).toBe(persistent);
      expect(r.warnings.length).toBeGreaterThan(0);
      golden(name, 'args', `${stripProgramDir(r.bhyve).join('\n')}\n`);
      golden(name, 'warnings', r.warnings.map((w) => `${w}\n`).join(''));
      const live = formatDomainXML(r.def, {});
      golden(name, 'live.xml', live);
      expectSinglePciBus(live);
      // The live XML is itself a valid definition that translates to the same command.
      const again = domainToBhyveArgv(parseDomainXML(live, { inactive: false, config: createBhyveParserConfig(opts) }), opts);
      expect(again.bhyve).toEqual(r.bhyve);
    });
  }
});

function virtInstallAvailable(): string | undefined {
  try {
    execFileSync('virt-install', ['--version'], { stdio: 'pipe', timeout: 30_000 });
    return undefined;
  } catch {
    return 'virt-install not installed (Debian package virtinst)';
  }
}

const skipReason = virtInstallAvailable();

describe.skipIf(skipReason !== undefined)('virt-install --print-xml output on bhyve', () => {
  const variants = ['fedora37', 'ubuntu22.04', 'debian11', 'win10', 'freebsd13.1', 'centos-stream9', 'alpinelinux3.17'];
  for (const os of variants) {
    it(`${os}`, () => {
      let xml: string;
      try {
        xml = execFileSync(
          'virt-install',
          [
            '--connect', 'test:///default', '--print-xml', '--dry-run', '--name', `vi-${os}`,
            '--memory', '2048', '--vcpus', '2', '--osinfo', os, '--import',
            '--disk', `path=/var/lib/tsvirt/images/${os}.img,size=8,format=raw`,
            '--network', 'network=default', '--graphics', 'vnc',
          ],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
        );
      } catch (e) {
        const msg = String((e as { stderr?: string }).stderr ?? e);
        if (/Unknown OS name/.test(msg)) return; // this osinfo database does not know the variant
        throw e;
      }
      // libvirt's test driver offers only i686 "test" guests; make it the KVM XML it stands for.
      const kvm = xml.replace('<domain type="test">', '<domain type="kvm">').replace('arch="i686"', 'arch="x86_64"');
      const def = parseDomainXML(kvm, { config: createBhyveParserConfig(opts) });
      const persistent = formatDomainXML(def, { inactive: true });
      const r = domainToBhyveArgv(def, opts);
      expect(formatDomainXML(def, { inactive: true })).toBe(persistent);
      expect(r.bhyve.at(-1)).toBe(`vi-${os}`);
      expect(r.warnings.length).toBeGreaterThan(0);
      const live = formatDomainXML(r.def, {});
      expectSinglePciBus(live);
      expect(live).not.toMatch(/spice|qxl|redirdev|memballoon model='virtio'/);
    });
  }
});

describe.runIf(skipReason !== undefined)('virt-install --print-xml output on bhyve', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
