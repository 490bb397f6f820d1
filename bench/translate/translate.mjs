#!/usr/bin/env node
/**
 * bench/translate: domains translated per second — libvirt domain XML text → bhyve argv
 * (parse with the bhyve driver's hooks, then domainToBhyveArgv) — on a 20-device domain,
 * side by side in one run with a baseline.
 *
 * Peer: libvirt's own `virsh domxml-to-native bhyve-argv` cannot run here: it needs
 * libvirt's bhyve driver, which Debian's libvirt does not build (virsh -c bhyve:///system
 * fails), and the driver probes a real bhyve binary on FreeBSD. So the yardstick is a plain
 * XML parse of the same text (parseDomainXML with no driver hooks), measured in the same
 * run; the ratio parse-rate / translate-rate says what the driver adds on top of parsing.
 * Also shown: the translation alone on a parsed definition (argv, and the -k config).
 *
 * Method: rounds alternate the measured operations (drift on a shared machine hits all of
 * them), each ~ROUND_MS after a warm-up; medians over ROUNDS.
 * Usage: node bench/translate/translate.mjs [domain.xml] [--rounds N] [--ms M]
 * Needs `npm run build` (imports dist/); exits 2 without it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = opt('--rounds', 7);
const ROUND_MS = opt('--ms', 400);
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? join(here, 'domain-20.xml');
const xml = readFileSync(file, 'utf8');

for (const f of ['dist/xml/index.js', 'dist/driver/index.js']) {
  if (!existsSync(join(root, f))) {
    console.error(`bench/translate: ${f} missing: run \`npm run build\` first`);
    process.exit(2);
  }
}
const { parseDomainXML } = await import(join(root, 'dist/xml/index.js'));
const { createBhyveParserConfig, domainToBhyveArgv, domainToBhyveConfig } = await import(join(root, 'dist/driver/index.js'));

const config = createBhyveParserConfig();
const topts = { tapName: (_i, n) => `tap${n}`, vncPort: () => 5900, listDir: () => ['BHYVE_UEFI.fd'] };
const parsed = parseDomainXML(xml, { config });
const devices = Object.values(parsed.devices).reduce((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);

const ops = {
  'XML text → bhyve argv': () => domainToBhyveArgv(parseDomainXML(xml, { config }), topts),
  'baseline: plain XML parse': () => parseDomainXML(xml),
  'DomainDef → bhyve argv': () => domainToBhyveArgv(parsed, topts),
  'DomainDef → -k config': () => domainToBhyveConfig(parsed, topts),
};

let sink = 0;
function round(f, ms) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 10; i++) sink += f() ? 1 : 0;
    n += 10;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

for (const f of Object.values(ops)) round(f, ROUND_MS); // warm-up
const rates = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) for (const [k, f] of Object.entries(ops)) rates[k].push(round(f, ROUND_MS));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// Is libvirt's bhyve driver here at all? Debian builds libvirt without it.
const driverDirs = ['/usr/lib/x86_64-linux-gnu/libvirt/connection-driver', '/usr/lib64/libvirt/connection-driver', '/usr/lib/libvirt/connection-driver'];
const hasBhyveDriver = driverDirs.some((d) => existsSync(join(d, 'libvirt_driver_bhyve.so')));
let peer = hasBhyveDriver
  ? 'libvirt bhyve driver installed, but it needs a FreeBSD bhyve host: virsh domxml-to-native bhyve-argv not measured'
  : "libvirt's bhyve driver is not in this libvirt build (no libvirt_driver_bhyve.so): virsh domxml-to-native bhyve-argv cannot run; baseline is a plain XML parse";
try {
  execFileSync('virsh', ['-c', 'bhyve:///system', 'version'], { stdio: 'pipe', timeout: 10_000 });
  peer += ' (bhyve:///system answers)';
} catch {
  /* expected without the driver */
}

console.log(`bench/translate: ${file.replace(`${root}/`, '')} (${devices} devices), ${ROUNDS} rounds x ${ROUND_MS} ms, node ${process.version}`);
console.log(peer);
console.log('');
console.log('| operation                     | per second (median) |');
console.log('|-------------------------------|--------------------:|');
for (const k of Object.keys(ops)) console.log(`| ${k.padEnd(29)} | ${median(rates[k]).toFixed(0).padStart(19)} |`);
const ratio = median(rates['XML text → bhyve argv']) / median(rates['baseline: plain XML parse']);
console.log('');
console.log(`ratio translate / plain parse: ${ratio.toFixed(2)} (1.0 = translation costs nothing beyond parsing)`);
if (sink < 0) console.log(sink);
