#!/usr/bin/env node
/**
 * bench/lifecycle: domain lifecycle speed of tsvirt's embedded mode, side by side in one
 * run with libvirt's own embedded QEMU driver.
 *
 *   1. define + start + destroy + undefine cycles per second, in-process through the
 *      driver API (BhyveDriver on bhyve:///embed?root=…), against python3-libvirt on
 *      qemu:///embed?root=… doing the same four calls on a QEMU (TCG) domain booting the
 *      same guest. Both spawn a real VM process per cycle.
 *   2. time from `tsvirsh start` (a fresh process) to the first byte of guest output read
 *      through the console, against QEMU from spawn to the first byte on its serial stdio.
 *
 * The guest is the lifecycle test guest (fixtures/domains/lifecycle-guest, built here with
 * gcc -m32). tsvirt's VM program is tsbhyve when it can run that guest; until then the
 * test stand-in (test/driver/lifecycle/stand-in, compiled here) takes its place and the
 * table says so — the figures then measure the management path, not guest boot.
 *
 * Method: A and B alternate per round (drift on a shared machine hits both); each side
 * gets a warm-up cycle; medians over ROUNDS. As root, the libvirt side runs as `nobody`
 * (libvirt's privileged QEMU driver wants its `libvirt-qemu` user).
 * Usage: node bench/lifecycle/lifecycle.mjs [--rounds N] [--cycles C]
 * Needs `npm run build` (imports dist/); exits 2 without it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = opt('--rounds', 3);
const CYCLES = opt('--cycles', 5);

for (const f of ['dist/driver/driver.js', 'dist/cli/tsvirsh.js']) {
  if (!existsSync(join(root, f))) {
    console.error(`bench/lifecycle: ${f} missing: run \`npm run build\` first`);
    process.exit(2);
  }
}
const { BhyveDriver } = await import(join(root, 'dist/driver/driver.js'));
const { bhyveTranslator } = await import(join(root, 'dist/driver/translator.js'));

const work = mkdtempSync(join(tmpdir(), 'tsvirt-bench-life-'));
chmodSync(work, 0o755);
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// ---- the guest ---------------------------------------------------------------------
const src = join(root, 'fixtures/domains/lifecycle-guest');
const guest = join(work, 'lifecycle-guest.elf');
const cflags = ['-m32', '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-mno-sse', '-mno-mmx', '-mno-80387', '-O2', '--param=min-pagesize=0'];
execFileSync('gcc', [...cflags, '-c', join(src, 'guest.c'), '-o', join(work, 'guest.o')]);
execFileSync('gcc', ['-m32', '-c', join(src, 'entry.S'), '-o', join(work, 'entry.o')]);
execFileSync('ld', ['-m', 'elf_i386', '-T', join(src, 'link.ld'), '--build-id=none', '-o', guest, join(work, 'entry.o'), join(work, 'guest.o')]);
chmodSync(guest, 0o644);

// ---- tsvirt's VM program: tsbhyve if it runs the guest, else the test stand-in -------
function tsbhyveRunsGuests() {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/tsbhyve.js'), '-m', '32M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', '-f', `multiboot,${guest}`, 'probe'], {
    input: 'crash\r',
    timeout: 20_000,
    encoding: 'utf8',
  });
  const out = `${r.stdout}${r.stderr}`;
  return out.includes('tsvirt lifecycle guest: booted') ? undefined : out.trim().split('\n').pop();
}
const why = tsbhyveRunsGuests();
let emulator;
let vmLabel;
if (why === undefined) {
  emulator = [process.execPath, join(root, 'dist/cli/tsbhyve.js')];
  vmLabel = 'tsbhyve';
} else {
  const out = join(work, 'stand-in');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--outDir', out, '--module', 'nodenext', '--target', 'es2022', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', join(root, 'test/driver/lifecycle/stand-in/vm-stand-in.ts')]);
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  emulator = [process.execPath, join(out, 'vm-stand-in.js')];
  vmLabel = `test stand-in (tsbhyve cannot run guests yet: ${why})`;
}

const domainXml = (name, type) =>
  readFileSync(join(root, 'fixtures/domains/lifecycle-guest.xml.in'), 'utf8')
    .replace('<name>lifecycle-guest</name>', `<name>${name}</name>`)
    .replace("<domain type='bhyve'>", `<domain type='${type}'>`)
    .replaceAll('@KERNEL@', guest)
    .replaceAll('@CMDLINE@', 'poll');

// ---- A: tsvirt embedded ------------------------------------------------------------
const stateRoot = join(work, 'tsvirt');
const drv = await BhyveDriver.open({ root: stateRoot, emulator, translator: bhyveTranslator({ root: stateRoot }), autostart: false });
const xmlA = domainXml('bench', 'bhyve');
async function cyclesA(n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const d = await drv.defineDomain(xmlA, 0);
    await drv.startDomain(d, 0);
    await drv.destroyDomain(d, 0);
    await drv.undefineDomain(d, 0);
  }
  return (n * 1000) / (performance.now() - t0);
}

// ---- B: libvirt's embedded QEMU driver (python3-libvirt) ----------------------------
const qemuRoot = join(work, 'qemu');
mkdirSync(qemuRoot);
chmodSync(qemuRoot, 0o777);
const peerScript = join(work, 'peer.py');
writeFileSync(
  peerScript,
  `import libvirt, sys, threading, time
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open('qemu:///embed?root=${qemuRoot}')
xml = open('${join(work, 'peer.xml')}').read()
def cycle():
    d = c.defineXML(xml); d.create(); d.destroy(); d.undefine()
cycle()
for line in sys.stdin:
    n = int(line)
    t = time.monotonic()
    for _ in range(n): cycle()
    print(n / (time.monotonic() - t), flush=True)
`,
);
chmodSync(peerScript, 0o644);
writeFileSync(
  join(work, 'peer.xml'),
  `<domain type='qemu'><name>bench</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${guest}</kernel><cmdline>poll</cmdline></os>
<features><acpi/></features>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/><video><model type='none'/></video><memballoon model='none'/></devices></domain>
`,
);
chmodSync(join(work, 'peer.xml'), 0o644);

let peer;
let peerWhy;
if (!existsSync('/usr/bin/python3') || !existsSync('/usr/bin/qemu-system-x86_64')) peerWhy = 'python3-libvirt or qemu-system-x86 missing';
else {
  const asRoot = process.getuid?.() === 0;
  const home = join(work, 'peer-home');
  mkdirSync(home);
  chmodSync(home, 0o777);
  const cmd = asRoot ? ['runuser', '-u', 'nobody', '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${home}`, '/usr/bin/python3', peerScript] : ['/usr/bin/python3', peerScript];
  peer = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  peer.stderr.on('data', (b) => (err += b));
  peer.once('exit', () => {
    if (!peerWhy) peerWhy = `libvirt qemu:///embed failed: ${err.trim().split('\n').pop()}`;
    peer = undefined;
  });
}
const lines = [];
peer?.stdout.on('data', (b) => lines.push(...b.toString().trim().split('\n')));
async function cyclesB(n) {
  if (!peer) return NaN;
  const before = lines.length;
  peer.stdin.write(`${n}\n`);
  while (lines.length === before) {
    if (!peer) return NaN;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Number(lines[lines.length - 1]);
}

// ---- first console byte ------------------------------------------------------------
async function firstByteA() {
  const name = 'fcb';
  await drv.defineDomain(domainXml(name, 'bhyve'), 0);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/tsvirsh.js'), '-c', `bhyve:///embed?root=${stateRoot}`, 'start', name], { env: { ...process.env, TSVIRT_TSBHYVE: emulator[emulator.length - 1] } });
  if (r.status !== 0) throw new Error(`tsvirsh start failed: ${r.stderr}`);
  const ref = await drv.lookupDomainByName(name);
  const con = await drv.openConsole(ref, null, 0);
  await new Promise((resolve) => con.once('data', resolve));
  const ms = performance.now() - t0;
  con.destroy();
  await drv.destroyDomain(ref, 0);
  await drv.undefineDomain(ref, 0);
  return ms;
}
function firstByteB() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const q = spawn('/usr/bin/qemu-system-x86_64', ['-accel', 'tcg', '-kernel', guest, '-append', 'poll', '-serial', 'stdio', '-display', 'none', '-no-reboot', '-monitor', 'none'], { stdio: ['ignore', 'pipe', 'ignore'] });
    q.stdout.once('data', () => {
      resolve(performance.now() - t0);
      q.kill('SIGKILL');
    });
  });
}

await cyclesA(1); // warm-up
const a = [];
const b = [];
const fa = [];
const fb = [];
for (let r = 0; r < ROUNDS; r++) {
  a.push(await cyclesA(CYCLES));
  b.push(await cyclesB(CYCLES));
  fa.push(await firstByteA());
  fb.push(await firstByteB());
}
peer?.stdin.end();
await drv.close();
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const ma = median(a);
const mb = median(b);
console.log(`bench/lifecycle — ${ROUNDS} rounds × ${CYCLES} cycles; tsvirt VM program: ${vmLabel}`);
console.log('| measure | tsvirt (bhyve:///embed) | libvirt qemu:///embed (QEMU TCG) | ratio tsvirt/libvirt |');
console.log('|---|---|---|---|');
console.log(`| define+start+destroy+undefine cycles/s (median) | ${fmt(ma)} | ${peer || Number.isFinite(mb) ? fmt(mb) : `n/a (${peerWhy})`} | ${fmt(ma / mb)} |`);
console.log(`| start → first console byte, ms (median; lower is better) | ${fmt(median(fa), 0)} | ${fmt(median(fb), 0)} (qemu spawn → first serial byte) | ${fmt(median(fa) / median(fb))} |`);
process.exit(0);
