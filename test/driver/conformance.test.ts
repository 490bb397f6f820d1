/**
 * Replays every libvirt bhyve test case found in the reference folder (CASES.md):
 * bhyvexml2argv (bhyve argv, loader argv, device.map, failures, with each case's
 * capability changes), bhyveargv2xml (ok / warn / failwarn), bhyvexml2xml (formatted
 * inactive XML after the driver's post-parse). Skips with a message when the folder is
 * absent. The data is read in place, never copied into the repository.
 *
 * libvirt's test mocks are reproduced through the driver's seams: every tap is
 * `faketapdev`, VNC autoport gets 5900, the firmware dir lists one image or none, the
 * argv2xml UUID is c7a5fdbd-edaf-9455-926a-d65c16db1809 and generated MACs are
 * 52:54:00:00:00:00 (the parser configuration's `generateMac` seam).
 */
import { describe, expect, it } from 'vitest';
import {
  type BhyveHostOptions,
  bhyveCommandLineToDomain,
  createBhyveParserConfig,
  domainToBhyveArgv,
  LIBVIRT_TEST_CAPS,
  type TranslateOptions,
} from '../../src/driver/index.js';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';
import { isVirError } from '../../src/xml/errors.js';
import { parseArgsText, stripProgramDir } from './helpers/args-file.js';
import { type ArgvCase, type CaseHost, findCasesDir, loadCases, readCaseFile } from './helpers/libvirt-cases.js';

const dir = findCasesDir();
const MOCK_MAC = '52:54:00:00:00:00';

function hostOptions(h: CaseHost): BhyveHostOptions {
  return {
    arch: h.arch,
    caps: h.caps,
    grubCaps: h.grubConsdev ? ['CONSDEV'] : [],
    firmwareDir: 'fakefirmwaredir',
    nvramDir: 'fakenvramdir',
    bhyveloadTimeout: h.bhyveloadTimeout,
    bhyveloadTimeoutKill: h.bhyveloadTimeoutKill,
    paths: { bhyve: 'bhyve', bhyveload: 'bhyveload', timeout: 'timeout' },
  };
}

function translateOptions(h: CaseHost): TranslateOptions {
  return {
    ...hostOptions(h),
    tapName: () => 'faketapdev',
    vncPort: () => 5900,
    listDir: () => h.firmwareFiles,
    deviceMapPath: '<device.map>',
  };
}

type Stage = 'parse' | 'build';
type Outcome =
  | { ok: true; bhyve: string[]; loader: string[] | undefined; deviceMap: string | undefined }
  | { ok: false; stage: Stage; message: string };

function runArgvCase(c: ArgvCase, xml: string): Outcome {
  let def;
  try {
    def = parseDomainXML(xml, {
      inactive: true,
      config: createBhyveParserConfig({ ...hostOptions(c.host), listDir: () => c.host.firmwareFiles, generateMac: () => MOCK_MAC }),
    });
  } catch (e) {
    if (!isVirError(e)) throw e;
    return { ok: false, stage: 'parse', message: e.message };
  }
  try {
    const r = domainToBhyveArgv(def, translateOptions(c.host));
    return { ok: true, bhyve: r.bhyve, loader: r.loader, deviceMap: r.deviceMap };
  } catch (e) {
    if (!isVirError(e)) throw e;
    return { ok: false, stage: 'build', message: e.message };
  }
}

/**
 * Why each failing case must fail (the data gives outcomes, not messages): the refusal
 * has to be for the reason the case is about, not an incidental one.
 */
const FAILURE_CAUSES: Record<string, RegExp> = {
  'aarch64/numa': /NUMA/,
  'x86_64/2-nvme-same-controller': /more than one disk per NVMe controller/,
  'x86_64/addr-no32devs-more-than-32-sata-disks': /No more available PCI slots/,
  'x86_64/bhyveload-bootorder2': /Cannot find boot device of requested type cdrom/,
  'x86_64/bhyveload-bootorder4': /Only one boot device is supported/,
  'x86_64/bhyveload-bootorder5': /boot|hda/,
  'x86_64/blkiotune-invalid-device': /Per device I\/O tuning/,
  'x86_64/blkiotune-multiple-devices': /Per device I\/O tuning/,
  'x86_64/blkiotune-weight': /'weight'/,
  'x86_64/bootorder-invalid-index': /boot order/,
  'x86_64/cputopology #2': /CPU topology/,
  'x86_64/cputopology-nvcpu-mismatch': /topology/,
  'x86_64/disk-virtio-queue-opts': /queue configuration/,
  'x86_64/disk-virtio-rotation-rate': /rotation rate/,
  'x86_64/firmware-efi #2': /no firmwares found/,
  'x86_64/fs-9p #2': /virtio-9p/,
  'x86_64/fs-9p-unsupported-accessmode': /accessmode 'mapped'/,
  'x86_64/fs-9p-unsupported-driver': /filesystem driver 'loop'/,
  'x86_64/fs-9p-unsupported-type': /filesystem type 'bind'/,
  'x86_64/input-xhci-tablet #2': /xHCI/,
  'x86_64/isa-multiple-controllers': /ISA controller/,
  'x86_64/memtune-unsupported-params': /hard_limit/,
  'x86_64/net-e1000 #2': /e1000/,
  'x86_64/numa-empty-cpuset': /empty cpusets/,
  'x86_64/numa-too-many-domains': /8 NUMA domains/,
  'x86_64/nvme #2': /NVMe/,
  'x86_64/nvme-invalid-serial': /serial/,
  'x86_64/sata-disk-invalid-serial': /serial/,
  'x86_64/serial-invalid-port': /serial ports|TCP/,
  'x86_64/slirp-ip': /IP addresses/,
  'x86_64/sound #2': /Sound/,
  'x86_64/uefi #2': /UEFI loader/,
  // Earlier steps cleared LPC_BOOTROM too, so (as in libvirt) the boot ROM is refused first.
  'x86_64/vnc #2': /UEFI loader|framebuffer/,
  'x86_64/vnc-password #2': /UEFI loader|Password/,
  'x86_64/virtio-console-invalid-name': /channel names/,
  'x86_64/virtio-console-invalid-path': /socket paths/,
  'x86_64/virtio-console-too-many-ports': /16 ports/,
  'x86_64/virtio-rnd #2': /virtio-rnd/,
  'x86_64/virtio-rnd-backend-builtin': /'random' backend/,
  'x86_64/virtio-rnd-backend-random-non-default-file': /\/dev\/random/,
  'x86_64/virtio-rnd-transitional': /'virtio' RNG/,
  'x86_64/vnc-password-comma': /','/,
  'x86_64/xhci-multiple-controllers': /single USB controller/,
  'x86_64/xhci-multiple-devs': /single input device/,
  'x86_64/xhci-no-devs': /single input device/,
};

describe.skipIf(!dir)('libvirt bhyve conformance', () => {
  if (!dir) return;
  const cases = loadCases(dir);

  describe('bhyvexml2argv', () => {
    // Several rows share a case name (replayed again after a capability is cleared).
    const seen = new Map<string, number>();
    for (const c of cases.xml2argv) {
      const key = `${c.arch}/${c.name}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      const id = `${key}${n > 1 ? ` #${n}` : ''}`;
      const label = `${id} (${c.expect}${c.implied ? ', implied' : ''})`;
      it(label, () => {
        const xml = readCaseFile(dir, 'xml2argv', c.arch, `bhyvexml2argv-${c.name}.xml`);
        expect(xml, 'input XML').toBeDefined();
        const out = runArgvCase(c, xml!);
        if (c.expect !== 'ok') {
          if (!out.ok && process.env.SHOW_FAILURES) console.log(`${label}: ${out.stage}: ${out.message}`);
          expect(out.ok, out.ok ? `unexpected success: ${out.bhyve.join(' ')}` : '').toBe(false);
          if (!out.ok && c.expect === 'parse') expect(out.stage, out.message).toBe('parse');
          if (!out.ok && c.expect === 'prep') expect(out.stage, out.message).toBe('build');
          const cause = FAILURE_CAUSES[id];
          expect(cause, `no expected cause recorded for ${id}`).toBeDefined();
          if (!out.ok) expect(out.message).toMatch(cause!);
          return;
        }
        if (!out.ok) throw new Error(`${out.stage} failed: ${out.message}`);
        const args = readCaseFile(dir, 'xml2argv', c.arch, `bhyvexml2argv-${c.name}.args`)!;
        expect(stripProgramDir(out.bhyve)).toEqual(parseArgsText(args));
        const ldargs = readCaseFile(dir, 'xml2argv', c.arch, `bhyvexml2argv-${c.name}.ldargs`);
        if (ldargs !== undefined) {
          expect(out.loader ? stripProgramDir(out.loader) : ['dummy']).toEqual(parseArgsText(ldargs));
        }
        const devmap = readCaseFile(dir, 'xml2argv', c.arch, `bhyvexml2argv-${c.name}.devmap`);
        if (devmap !== undefined || out.deviceMap !== undefined) expect(out.deviceMap).toBe(devmap);
      });
    }
  });

  describe('bhyveargv2xml', () => {
    for (const c of cases.argv2xml) {
      it(`${c.name} (${c.expect})`, () => {
        const args = readCaseFile(dir, 'argv2xml', `bhyveargv2xml-${c.name}.args`)!;
        const warnings: string[] = [];
        let def;
        try {
          def = bhyveCommandLineToDomain(args, {
            mode: 'libvirt',
            warnings,
            generateUuid: () => 'c7a5fdbd-edaf-9455-926a-d65c16db1809',
            generateMac: () => MOCK_MAC,
          });
        } catch (e) {
          if (!isVirError(e)) throw e;
          expect(c.expect, `unexpected failure: ${e.message}`).toBe('failwarn');
          return;
        }
        expect(c.expect, 'expected the parse to fail').not.toBe('failwarn');
        if (c.expect === 'warn') expect(warnings.length, 'expected a warning').toBeGreaterThan(0);
        else expect(warnings).toEqual([]);
        const want = readCaseFile(dir, 'argv2xml', `bhyveargv2xml-${c.name}.xml`);
        if (want !== undefined) expect(formatDomainXML(def, { secure: true })).toBe(want);
      });
    }
  });

  describe('bhyvexml2xml', () => {
    for (const c of cases.xml2xml) {
      const noAhci32 = c.name.startsWith('addr-no32devs-');
      const id = `${c.arch}/${c.name}`;
      it(id, () => {
        const xml = readCaseFile(dir, 'xml2argv', c.arch, `bhyvexml2argv-${c.name}.xml`)!;
        const caps = LIBVIRT_TEST_CAPS.filter((x) => !(noAhci32 && x === 'AHCI32SLOT') && !(c.arch === 'aarch64' && x === 'RTC_UTC'));
        const want = readCaseFile(dir, 'xml2xmlout', c.arch, `bhyvexml2xmlout-${c.name}.xml`);
        const parse = () =>
          parseDomainXML(xml, {
            inactive: true,
            config: createBhyveParserConfig({
              arch: c.arch,
              caps,
              firmwareDir: 'fakefirmwaredir',
              nvramDir: 'fakenvramdir',
              listDir: () => ['BHYVE_UEFI.fd'],
              generateMac: () => MOCK_MAC,
            }),
          });
        if (want === undefined) {
          expect(parse, 'expected the parse to fail').toThrow();
          return;
        }
        expect(formatDomainXML(parse(), { inactive: true, secure: true })).toBe(want);
      });
    }
  });
});

describe.runIf(!dir)('libvirt bhyve conformance', () => {
  it.skip('skipped: libvirt-bhyve-tests reference folder not found (set TSVIRT_LIBVIRT_BHYVE_TESTS)', () => {});
});
