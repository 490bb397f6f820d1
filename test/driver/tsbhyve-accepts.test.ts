/**
 * What the driver translates for a tsbhyve host (TSBHYVE_CAPS), tsbhyve accepts: every
 * compat fixture (fixtures/driver/compat, QEMU/KVM XML) and every driver fixture
 * (fixtures/driver/xml2argv) that translates for tsbhyve is fed to the real `tsbhyve`
 * program twice — its bhyve argv and its `-k` config file, each with `-o config.dump=1`,
 * which parses everything and prints the tree without needing a vmm — and then:
 *
 * - both runs succeed (bhyve's `config.dump` exit status 1, nothing on stderr) and print
 *   the same tree: argv and config file mean the same to tsbhyve's own parser;
 * - every PCI device model is one `tsbhyve -s help` lists, and every key of its node is one
 *   that model's source reads (a key literal in its files under src/emulator);
 * - every other key is one src/emulator reads (literally, or through a template such as
 *   `lpc.${com}.path`);
 * - tsbhyve's platform checks (topology, memory size, cpusets; readPlatformConfig) pass;
 * - the `-k` file the lifecycle itself writes at start (bhyveTranslator) parses too, with
 *   the same keys (only values such as host-unique tap names and NVRAM paths differ).
 *
 * A device or option the driver emits that tsbhyve would ignore or refuse fails here,
 * naming the fixture, the key and the value.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBhyveParserConfig, domainToBhyveArgv, domainToBhyveConfig, type TranslateOptions } from '../../src/driver/index.js';
import { parseDomainXML } from '../../src/xml/index.js';
import { parseCommandLine } from '../../src/emulator/config/index.js';
import { readPlatformConfig } from '../../src/emulator/config/platform.js';
import { isImplementedPciModel } from '../../src/emulator/pci/registry.js';
import { buildLifecycle } from './lifecycle/helpers/build.js';
import { bhyveTranslator } from '../../src/driver/translator.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EMU = join(REPO, 'src', 'emulator');

const opts: TranslateOptions = {
  paths: { bhyve: '/usr/local/bin/tsbhyve' },
  firmwareDir: '/usr/local/share/uefi-firmware',
  nvramDir: '/var/lib/tsvirt/nvram',
  listDir: () => ['BHYVE_UEFI.fd', 'BHYVE_UEFI_VARS.fd'],
  vncPort: () => 5900,
  resolveNetwork: (name) => (name === 'default' ? 'virbr0' : undefined),
  kernelProtocol: (path) => (path.endsWith('bzImage') ? 'linux' : 'multiboot'),
};

interface Case {
  name: string;
  argv: string[];
  conf: string;
  /** The -k file the lifecycle writes when it starts the domain (bhyveTranslator), if it starts. */
  live?: string;
}

const translator = bhyveTranslator({ root: '/var/lib/tsvirt' });

/** The fixtures that translate for tsbhyve (refusals are the fixture tests' business). */
function cases(): Case[] {
  const out: Case[] = [];
  for (const sub of ['compat', 'xml2argv']) {
    const dir = join(REPO, 'fixtures', 'driver', sub);
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.xml') || f.endsWith('.live.xml') || existsSync(join(dir, f.replace(/\.xml$/, '.err')))) continue;
      const xml = readFileSync(join(dir, f), 'utf8');
      try {
        const def = parseDomainXML(xml, { config: createBhyveParserConfig(opts) });
        const r = domainToBhyveArgv(def, opts);
        let live: string | undefined;
        try {
          live = translator.toConfig(parseDomainXML(xml, { config: translator.parserConfig })).config;
        } catch {
          /* a host boot loader domain: tsvirt does not start those */
        }
        out.push({ name: `${sub}/${f.slice(0, -4)}`, argv: r.bhyve.slice(1), conf: domainToBhyveConfig(def, opts), live });
      } catch {
        /* needs a device tsbhyve lacks: refused by the driver, not given to tsbhyve */
      }
    }
  }
  return out;
}

/** Source text of a folder or file under src/emulator, recursively. */
function source(...rel: string[]): string {
  let text = '';
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    else if (p.endsWith('.ts')) text += readFileSync(p, 'utf8');
  };
  for (const r of rel) walk(join(EMU, r));
  return text;
}

/** Where each PCI model's code lives (pci/models.ts holds the shared keys: bootindex, transport). */
const MODEL_SOURCES: Record<string, string[]> = {
  hostbridge: ['pci/hostbridge.ts'],
  lpc: ['lpc', 'config/lpc-device.ts'],
  ahci: ['ahci', 'backends/block'],
  'virtio-blk': ['virtio/block', 'backends/block'],
  'virtio-net': ['virtio/net', 'backends/net'],
  'virtio-rnd': ['virtio/rng'],
  'virtio-console': ['virtio/console'],
  'virtio-9p': ['virtio/9p'],
  e1000: ['e1000', 'backends/net'],
  xhci: ['usb'],
  fbuf: ['fbuf'],
  nvme: ['nvme', 'backends/block'],
};

function quotedLiteral(text: string, word: string): boolean {
  return new RegExp(`['"\`]${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`).test(text);
}

/** A non-PCI key as src/emulator reads it: literally, or with its variable parts templated. */
function readsKey(all: string, key: string): boolean {
  if (quotedLiteral(all, key)) return true;
  const pattern = key
    .split('.')
    .map((seg) => (/^\d+$/.test(seg) || /^com\d$/.test(seg) ? '\\$\\{[^}]+\\}' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('\\.');
  return new RegExp(`\`${pattern}\``).test(all);
}

function parseDump(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const eq = line.indexOf('=');
    m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  m.delete('config.dump');
  // bhyve reads a bare `-m` (and NUMA domain) size as MiB; the config file spells it `NM`.
  for (const [k, v] of m) if (/^(memory|domains\.\d+)\.size$/.test(k)) m.set(k, v.replace(/M$/, ''));
  // `-l bootrom,…` sets lpc.bootrom and its copy `bootrom` (bhyve 14.2+); the file sets `bootrom`.
  for (const k of ['bootrom', 'bootvars']) if (m.get(`lpc.${k}`) === m.get(k)) m.delete(`lpc.${k}`);
  return m;
}

function runTsbhyve(entry: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [entry, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let tsbhyve: string;
let dir: string;
let pciModels: string[];
const all = source('.');
const list = cases();

beforeAll(async () => {
  tsbhyve = join(await buildLifecycle(), 'src', 'cli', 'tsbhyve.js');
  dir = mkdtempSync(join(tmpdir(), 'tsbhyve-accepts-'));
  const help = await runTsbhyve(tsbhyve, ['-s', 'help']);
  pciModels = help.stdout.split('\n').filter(Boolean);
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tsbhyve accepts what the driver translates for it', () => {
  it('covers the devices tsbhyve gained (the fixtures are not all refused)', () => {
    const devices = new Set(list.flatMap((c) => [...c.conf.matchAll(/^pci\.\d+\.\d+\.\d+\.device=(.*)$/gm)].map((m) => m[1])));
    for (const d of ['fbuf', 'xhci', 'e1000', 'nvme', 'virtio-9p', 'virtio-net', 'ahci', 'virtio-blk']) expect(devices, d).toContain(d);
    expect(list.some((c) => /\.password=/.test(c.conf)), 'a VNC password').toBe(true);
  });

  for (const c of list) {
    it(c.name, async () => {
      const file = join(dir, `${c.name.replace('/', '-')}.conf`);
      writeFileSync(file, c.conf);
      const fromConf = await runTsbhyve(tsbhyve, ['-k', file, '-o', 'config.dump=1']);
      expect(fromConf.stderr, 'tsbhyve -k').toBe('');
      expect(fromConf.code, 'config.dump exits 1').toBe(1);
      const name = c.argv.at(-1)!;
      const fromArgv = await runTsbhyve(tsbhyve, [...c.argv.slice(0, -1), '-o', 'config.dump=1', name]);
      // `-l bootrom,…` is libvirt's spelling (its bhyvexml2argv cases); tsbhyve, like bhyve
      // 14.2+, notes that `lpc.bootrom` became `bootrom` and copies it.
      const notes = fromArgv.stderr.split('\n').filter((l) => l && !/^tsbhyve: lpc\.boot(rom|vars) is deprecated, use /.test(l));
      expect(notes, 'tsbhyve argv').toEqual([]);
      expect(fromArgv.code).toBe(1);
      const tree = parseDump(fromConf.stdout);
      const sorted = (m: Map<string, string>) => Object.fromEntries([...m].sort());
      expect(sorted(parseDump(fromArgv.stdout)), 'argv and -k file give the same tree').toEqual(sorted(tree));

      for (const [key, value] of tree) {
        const pci = /^pci\.(\d+)\.(\d+)\.(\d+)\.(.+)$/.exec(key);
        if (!pci) {
          expect(readsKey(all, key), `${c.name}: tsbhyve never reads '${key}=${value}'`).toBe(true);
          continue;
        }
        const model = tree.get(`pci.${pci[1]}.${pci[2]}.${pci[3]}.device`)!;
        if (pci[4] === 'device') {
          expect(pciModels, `${c.name}: '${key}=${value}' is not a tsbhyve PCI model`).toContain(value);
          expect(isImplementedPciModel(value), `${c.name}: '${value}' is only an alias`).toBe(true);
          continue;
        }
        const text = source('pci/models.ts', ...(MODEL_SOURCES[model] ?? []));
        for (const seg of pci[4].split('.').filter((s) => !/^\d+$/.test(s))) {
          expect(quotedLiteral(text, seg), `${c.name}: the ${model} model never reads '${pci[4]}' ('${key}=${value}')`).toBe(true);
        }
      }

      if (c.live !== undefined) {
        // what `start` hands tsbhyve (host-unique tap names, NVRAM under the state root)
        const liveFile = join(dir, `${c.name.replace('/', '-')}.live.conf`);
        writeFileSync(liveFile, c.live);
        const fromLive = await runTsbhyve(tsbhyve, ['-k', liveFile, '-o', 'config.dump=1']);
        expect(fromLive.stderr, 'tsbhyve -k (lifecycle config)').toBe('');
        expect(fromLive.code).toBe(1);
        const liveTree = parseDump(fromLive.stdout);
        expect([...liveTree.keys()].sort(), 'the lifecycle config has the same keys').toEqual([...tree.keys()].sort());
      }

      const parsed = parseCommandLine(['-k', file]);
      expect(parsed.kind).toBe('config');
      if (parsed.kind === 'config') expect(() => readPlatformConfig(parsed.tree)).not.toThrow();
    });
  }
});
