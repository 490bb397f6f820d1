#!/usr/bin/env node
/**
 * bench/xml/define-dump: throughput of tsvirt's domain XML layer against libvirt's own C
 * parser/formatter, side by side in one run.
 *
 * Peer: libvirt through /usr/bin/python3 + python3-libvirt on test:///default (an
 * in-process driver, so no daemon or RPC is measured): defineXML + XMLDesc + undefine.
 * tsvirt: parseDomainXML (with post-parse and validation, what defineXML does) +
 * formatDomainXML. Also each half alone: parse (libvirt: defineXML + undefine) and
 * format (libvirt: XMLDesc of a defined domain).
 *
 * Method: the python peer is one long-lived child timing its own loop; rounds alternate
 * tsvirt / libvirt for each operation (so drift on a shared machine hits both), each side
 * running ~ROUND_MS per round after a warm-up; the table shows medians over ROUNDS and the
 * ratio tsvirt/libvirt (> 1 means tsvirt is faster).
 * Usage: node bench/xml/define-dump.mjs [domain.xml] [--rounds N] [--ms M]
 * Needs `npm run build` (imports dist/) and python3-libvirt; exits 2 without them.
 */

import { spawn } from 'node:child_process';
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
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? join(root, 'fixtures/xml/bench-domain.xml');
const xml = readFileSync(file, 'utf8');

const distIndex = join(root, 'dist/xml/index.js');
if (!existsSync(distIndex)) {
  console.error('bench/xml: dist/xml/index.js missing: run `npm run build` first');
  process.exit(2);
}
const { parseDomainXML, formatDomainXML } = await import(distIndex);

const PEER = String.raw`
import sys, time, json, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open('test:///default')
xml = sys.stdin.readline()
xml = json.loads(xml)
FLAGS = libvirt.VIR_DOMAIN_XML_INACTIVE
def dd():
    d = conn.defineXML(xml); d.XMLDesc(FLAGS); d.undefine()
def parse():
    d = conn.defineXML(xml); d.undefine()
import re
# the format-only domain is a copy under another name/uuid, so define+undefine of the
# measured XML never removes it
defined = conn.defineXML(re.sub(r'<uuid>[^<]*</uuid>', '', re.sub(r'<name>([^<]*)</name>', r'<name>\1-format</name>', xml, count=1), count=1))
def fmt():
    defined.XMLDesc(FLAGS)
ops = {'dd': dd, 'parse': parse, 'format': fmt}
print(json.dumps({'ready': True, 'version': libvirt.getVersion()}), flush=True)
for line in sys.stdin:
    op, ms = line.split()
    f = ops[op]; budget = float(ms) / 1000.0
    n = 0; t0 = time.perf_counter(); t = t0
    while t - t0 < budget:
        for _ in range(20):
            f()
        n += 20; t = time.perf_counter()
    print(json.dumps({'n': n, 's': t - t0}), flush=True)
defined.undefine()
`;

const python = '/usr/bin/python3';
if (!existsSync(python)) {
  console.error('bench/xml: /usr/bin/python3 not found (python3-libvirt is the peer)');
  process.exit(2);
}
const peer = spawn(python, ['-c', PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
let buf = '';
const waiting = [];
peer.on('exit', (code) => {
  for (const w of waiting.splice(0)) w({ error: `python3-libvirt peer exited (${code}): is python3-libvirt installed?` });
});
peer.stdout.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    waiting.shift()?.(JSON.parse(line));
  }
});
const ask = (line) =>
  new Promise((res, rej) => {
    waiting.push((m) => (m.error ? rej(new Error(m.error)) : res(m)));
    if (line !== null) peer.stdin.write(line + '\n');
  });

let hello;
try {
  const p = ask(null);
  peer.stdin.write(JSON.stringify(xml) + '\n');
  hello = await p;
} catch (e) {
  console.error(`bench/xml: ${e.message}`);
  process.exit(2);
}

const def0 = parseDomainXML(xml);
const ours = {
  dd: () => formatDomainXML(parseDomainXML(xml), { inactive: true }),
  parse: () => parseDomainXML(xml),
  format: () => formatDomainXML(def0, { inactive: true }),
};
function runOurs(op, ms) {
  const f = ours[op];
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 20; i++) f();
    n += 20;
    t = performance.now();
  }
  return { n, s: (t - t0) / 1000 };
}

const OPS = [
  ['dd', 'define+dump (+undefine)'],
  ['parse', 'parse (define+undefine)'],
  ['format', 'format (XMLDesc)'],
];
// warm-up both sides
for (const [op] of OPS) {
  runOurs(op, 300);
  await ask(`${op} 300`);
}
const samples = Object.fromEntries(OPS.map(([op]) => [op, { ours: [], lv: [], ratio: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [op] of OPS) {
    const a = runOurs(op, ROUND_MS);
    const b = await ask(`${op} ${ROUND_MS}`);
    const oa = a.n / a.s;
    const ob = b.n / b.s;
    samples[op].ours.push(oa);
    samples[op].lv.push(ob);
    samples[op].ratio.push(oa / ob);
  }
}
peer.stdin.end();

const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const v = hello.version;
const lines = xml.split('\n').filter((l) => l.trim() !== '').length;
console.log(`tsvirt/xml vs libvirt ${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000} (python3-libvirt, test:///default): ${lines}-line domain ${file.slice(root.length + 1)}`);
console.log(`${ROUNDS} alternating rounds of ${ROUND_MS} ms per side; medians (min-max of the per-round ratio)`);
console.log('');
console.log('| operation | tsvirt ops/s | libvirt ops/s | ratio tsvirt/libvirt |');
console.log('|---|---:|---:|---:|');
for (const [op, label] of OPS) {
  const s = samples[op];
  const rs = [...s.ratio].sort((x, y) => x - y);
  console.log(`| ${label} | ${median(s.ours).toFixed(0)} | ${median(s.lv).toFixed(0)} | ${median(s.ratio).toFixed(2)}x (${rs[0].toFixed(2)}-${rs[rs.length - 1].toFixed(2)}) |`);
}
