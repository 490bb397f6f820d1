/**
 * What Debian's kernel asks of the platform and the CPU, observed on QEMU TCG — the data
 * behind docs/linux-guest.md. Boots the test guest once (1 vCPU unless --vcpus N,
 * `-cpu qemu64` unless --cpu MODEL) with:
 *
 *   - gdb on QEMU's gdbstub with breakpoints on the kernel's out-of-line MSR and CPUID
 *     helpers (native_read_msr[_safe], native_write_msr[_safe], native_cpuid: with
 *     CONFIG_PARAVIRT_XXL every rdmsr/wrmsr/cpuid of the kernel proper goes through them),
 *     logging the MSR index / CPUID leaf and the caller;
 *   - QEMU's `memory_region_ops_read/write` and `pci_cfg_read/write` trace events (every
 *     port and MMIO access, by device region) and `-d int,guest_errors,unimp` (every
 *     exception and interrupt with its vector; #GP with RCX names a refused MSR);
 *   - the kernel's console with `ignore_loglevel` (timer calibration, ACPI, PCI messages).
 *
 * Accesses are attributed to boot phases by what the guest has printed on COM1 so far
 * (firmware, decompressor, kernel, /init), because the 64-bit boot protocol tsbhyve uses
 * skips the firmware and the real-mode setup QEMU runs first. Callers are named with the
 * kernel's kallsyms (symbols.ts).
 *
 * Run: npx vite-node test/linux/tools/trace-boot.ts [-- --vcpus 2 --cpu qemu64 --keep DIR]
 * Prints a markdown report on stdout. Takes a few minutes (the breakpoints stop the VM).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Symbolizer } from '../assets/symbols.js';
import { linuxAssets, prepareRun } from '../guest/prepare.js';
import { bootQemu, kernelSymbolsViaQemu } from '../qemu/qemu-boot.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const PHASES = ['firmware', 'decompressor', 'kernel', 'userspace'] as const;
type Phase = (typeof PHASES)[number];
/** COM1 text that starts each phase (the decompressor prints "KASLR disabled" with nokaslr). */
const PHASE_MARKS: Array<[Phase, string]> = [
  ['decompressor', 'KASLR disabled'],
  ['kernel', 'Linux version'],
  ['userspace', 'Run /init as init process'],
];

interface Counter {
  reads: number;
  writes: number;
  offsets: Map<string, number>;
}

function gdbScript(sym: Symbolizer, port: number): string {
  const bp = (fn: string, fmt: string, args: string) => {
    const a = sym.address(fn);
    if (a === undefined) throw new Error(`no symbol ${fn}`);
    return `break *0x${a.toString(16)}\ncommands\nsilent\nprintf "${fmt}\\n", ${args}\ncontinue\nend\n`;
  };
  return [
    'set pagination off',
    'set confirm off',
    'set architecture i386:x86-64',
    `target remote 127.0.0.1:${port}`,
    bp('native_read_msr', 'MSR R %x %lx', '$rdi, *(unsigned long *)$rsp'),
    bp('native_read_msr_safe', 'MSR r %x %lx', '$rdi, *(unsigned long *)$rsp'),
    bp('native_write_msr', 'MSR W %x %lx %x %x', '$rdi, *(unsigned long *)$rsp, $rsi, $rdx'),
    bp('native_write_msr_safe', 'MSR w %x %lx %x %x', '$rdi, *(unsigned long *)$rsp, $rsi, $rdx'),
    bp('native_cpuid', 'CPUID %x %x %lx', '*(unsigned int *)$rdi, *(unsigned int *)$rdx, *(unsigned long *)$rsp'),
    'continue',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const vcpus = Number(opt('vcpus', '1'));
  const cpu = opt('cpu', 'qemu64');
  const keep = opt('keep', '');
  const got = await linuxAssets();
  if ('missing' in got) throw new Error(got.missing);
  const sym = await kernelSymbolsViaQemu(got);
  const dir = keep || mkdtempSync(join(tmpdir(), 'tsvirt-trace-'));
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'qemu.log');
  const port = await freePort();
  writeFileSync(join(dir, 'gdb.cmd'), gdbScript(sym, port));
  const run = await prepareRun(got, { vcpus, timeoutMs: 1_800_000, cmdlineExtra: ['ignore_loglevel'] });
  let gdbOut = '';
  const booting = bootQemu(run.spec, {
    cpu,
    extraArgs: [
      '-S', '-gdb', `tcp:127.0.0.1:${port}`,
      '-d', 'int,guest_errors,unimp', '-D', log,
      '-trace', 'memory_region_ops_read', '-trace', 'memory_region_ops_write',
      '-trace', 'pci_cfg_read', '-trace', 'pci_cfg_write',
    ],
  });
  // gdb connects once QEMU's gdbstub listens (after QMP was accepted); retry until then.
  for (let i = 0; i < 100; i++) {
    const g = spawn('gdb', ['-q', '-nx', '-batch', '-x', join(dir, 'gdb.cmd')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    g.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    g.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((ok) => g.on('close', ok));
    gdbOut = out;
    if (!/Connection refused/.test(out)) break;
    await sleep(200);
  }
  const o = await booting;
  writeFileSync(join(dir, 'gdb.out'), gdbOut);
  writeFileSync(join(dir, 'console.txt'), o.console.output);

  const name = (a: string) => sym.lookup(BigInt(`0x${a}`)) ?? `0x${a}`;
  const fn = (a: string) => name(a).replace(/\+.*$/, '');
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  const m = got.kernel.manifest;
  p(`# Boot trace: ${m.package} ${m.version} on QEMU TCG -cpu ${cpu}, ${vcpus} vCPU`);
  p();
  p(`Result: ${o.console.resultLine ?? '(none)'}; QMP shutdown reason ${o.shutdownReason}; ${(o.msToResult ?? 0) / 1000} s to the result line under tracing.`);

  // CPUID and MSRs from gdb.
  const cpuid = new Map<string, { n: number; callers: Set<string> }>();
  const msrs = new Map<number, { r: number; w: number; safe: number; callers: Set<string>; values: Set<string> }>();
  for (const line of gdbOut.split('\n')) {
    let mm = /^CPUID ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)$/.exec(line);
    if (mm) {
      const leaf = Number.parseInt(mm[1]!, 16);
      const usesSub = [4, 7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1f, 0x8000001d, 0x80000020].includes(leaf);
      const key = `0x${leaf.toString(16)}${usesSub ? `.${Number.parseInt(mm[2]!, 16)}` : ''}`;
      const e = cpuid.get(key) ?? { n: 0, callers: new Set() };
      e.n++;
      e.callers.add(fn(mm[3]!));
      cpuid.set(key, e);
      continue;
    }
    mm = /^MSR ([RrWw]) ([0-9a-f]+) ([0-9a-f]+)(?: ([0-9a-f]+) ([0-9a-f]+))?$/.exec(line);
    if (mm) {
      const idx = Number.parseInt(mm[2]!, 16);
      const e = msrs.get(idx) ?? { r: 0, w: 0, safe: 0, callers: new Set(), values: new Set() };
      if (mm[1] === 'R' || mm[1] === 'r') e.r++;
      else e.w++;
      if (mm[1] === 'r' || mm[1] === 'w') e.safe++;
      e.callers.add(fn(mm[3]!));
      if (mm[4] !== undefined && e.values.size < 4) e.values.add(`0x${((BigInt(`0x${mm[5]}`) << 32n) | BigInt(`0x${mm[4]}`)).toString(16)}`);
      msrs.set(idx, e);
    }
  }

  // QEMU log: exceptions and device accesses by phase.
  const text = readFileSync(log, 'utf8');
  let phase: Phase = 'firmware';
  let serialText = '';
  const regions = new Map<string, Counter>(); // `${phase}\t${region}`
  const pci = new Map<string, Counter>();
  const vectors = new Map<string, number>(); // `${phase}\t${vector}`
  const gps: Array<{ phase: Phase; ip: string; rcx: string; ecode: string }> = [];
  const uds: Array<{ phase: Phase; ip: string }> = [];
  const guestErrors = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let mm = /^memory_region_ops_(read|write) cpu \d+ mr 0x[0-9a-f]+ addr (0x[0-9a-f]+) value (0x[0-9a-f]+) size (\d) name '([^']*)'/.exec(l);
    if (mm) {
      const [, dirn, addr, value, , region] = mm;
      if (region === 'serial' && dirn === 'write' && addr === '0x3f8') {
        serialText = (serialText + String.fromCharCode(Number(value) & 0xff)).slice(-64);
        for (const [ph, mark] of PHASE_MARKS) if (PHASES.indexOf(ph) > PHASES.indexOf(phase) && serialText.includes(mark)) phase = ph;
      }
      const key = `${phase}\t${region}`;
      const c = regions.get(key) ?? { reads: 0, writes: 0, offsets: new Map() };
      if (dirn === 'read') c.reads++;
      else c.writes++;
      c.offsets.set(addr!, (c.offsets.get(addr!) ?? 0) + 1);
      regions.set(key, c);
      continue;
    }
    mm = /^pci_cfg_(read|write) (\S+) (\S+) @(0x[0-9a-f]+)/.exec(l);
    if (mm) {
      const key = `${phase}\t${mm[3]} ${mm[2]}`;
      const c = pci.get(key) ?? { reads: 0, writes: 0, offsets: new Map() };
      if (mm[1] === 'read') c.reads++;
      else c.writes++;
      c.offsets.set(mm[4]!, (c.offsets.get(mm[4]!) ?? 0) + 1);
      pci.set(key, c);
      continue;
    }
    mm = /^\s*\d+: v=([0-9a-f]+) e=([0-9a-f]+) i=(\d) cpl=\d IP=[0-9a-f]+:([0-9a-f]+)/.exec(l);
    if (mm) {
      const v = mm[1]!;
      const isInt = mm[3] === '1';
      const key = `${phase}\t0x${v}${isInt ? ' (INT n)' : ''}`;
      vectors.set(key, (vectors.get(key) ?? 0) + 1);
      if (v === '0d') {
        const rcx = lines.slice(i + 1, i + 4).join(' ').match(/RCX=([0-9a-f]+)/)?.[1] ?? '?';
        gps.push({ phase, ip: mm[4]!, rcx, ecode: mm[2]! });
      }
      if (v === '06') uds.push({ phase, ip: mm[4]! });
      continue;
    }
    if (/^(Invalid|invalid|Bad|bad|unimplemented|Unimplemented)|guest_errors|: invalid|not implemented/i.test(l) && !/^\s*(RAX|RSI|R8|R12|RIP|ES|CS|SS|DS|FS|GS|LDT|TR|GDT|IDT|CR0|DR|CCS|EFER|FCW|FPR|XMM|YMM)/.test(l)) {
      const k = l.replace(/0x[0-9a-f]+/g, 'N').slice(0, 120);
      guestErrors.set(k, (guestErrors.get(k) ?? 0) + 1);
    }
  }

  p();
  p('## CPUID leaves the kernel proper queries (via native_cpuid)');
  p();
  p('| leaf[.subleaf] | calls | callers |');
  p('|---|---|---|');
  // The hypervisor signature scan (0x40000000 + n*0x100) is summarised in one row.
  const scan = [...cpuid.keys()].filter((k) => /^0x4000[0-9a-f]{2}00$/.test(k) && k !== '0x40000000');
  const leafNum = (k: string) => Number.parseInt(k.split('.')[0]!, 16) + Number(k.split('.')[1] ?? 0) / 1000;
  for (const [k, e] of [...cpuid].sort((a, b) => leafNum(a[0]) - leafNum(b[0]))) {
    if (scan.includes(k)) continue;
    p(`| ${k} | ${e.n} | ${[...e.callers].slice(0, 6).join(', ')} |`);
  }
  if (scan.length) {
    const callers = new Set(scan.flatMap((k) => [...cpuid.get(k)!.callers]));
    p(`| 0x40000100…${scan[scan.length - 1]} (every 0x100) | ${scan.reduce((n, k) => n + cpuid.get(k)!.n, 0)} | hypervisor signature scan: ${[...callers].join(', ')} |`);
  }
  p();
  p('## MSRs (via native_{read,write}_msr[_safe]; `safe` = the kernel expects a possible #GP)');
  p();
  p('| MSR | reads | writes | safe | callers | written values (first) |');
  p('|---|---|---|---|---|---|');
  for (const [k, e] of [...msrs].sort((a, b) => a[0] - b[0])) {
    p(`| 0x${k.toString(16)} | ${e.r} | ${e.w} | ${e.safe} | ${[...e.callers].slice(0, 5).join(', ')} | ${[...e.values].join(' ')} |`);
  }
  p();
  p('## #GP faults (MSR index in RCX when the faulting instruction is rdmsr/wrmsr)');
  p();
  const gpAgg = new Map<string, number>();
  for (const g of gps) {
    const k = `${g.phase}\t${name(g.ip)}\tRCX=0x${g.rcx.replace(/^0+/, '') || '0'}`;
    gpAgg.set(k, (gpAgg.get(k) ?? 0) + 1);
  }
  for (const [k, n] of gpAgg) p(`- ${k.replace(/\t/g, ' | ')} | ×${n}`);
  for (const u of uds) p(`- #UD | ${u.phase} | ${name(u.ip)}`);
  p();
  p('## Exceptions and interrupts by vector and phase (-d int)');
  p();
  p('| phase | vector | count |');
  p('|---|---|---|');
  for (const [k, n] of [...vectors].sort()) p(`| ${k.replace('\t', ' | ')} | ${n} |`);
  p();
  p('## Port and MMIO regions by phase (memory_region_ops trace)');
  for (const ph of PHASES) {
    p();
    p(`### ${ph}`);
    p();
    p('| region | reads | writes | offsets (count) |');
    p('|---|---|---|---|');
    for (const [k, c] of [...regions].filter(([k]) => k.startsWith(`${ph}\t`)).sort()) {
      const offs = [...c.offsets].sort((a, b) => Number(a[0]) - Number(b[0])).slice(0, 24).map(([o, n]) => `${o}(${n})`).join(' ');
      p(`| ${k.split('\t')[1]} | ${c.reads} | ${c.writes} | ${offs}${c.offsets.size > 24 ? ' …' : ''} |`);
    }
  }
  p();
  p('## PCI configuration accesses by phase and device');
  p();
  p('| phase | device | reads | writes | registers |');
  p('|---|---|---|---|---|');
  for (const [k, c] of [...pci].sort()) {
    const [ph, dev] = k.split('\t');
    p(`| ${ph} | ${dev} | ${c.reads} | ${c.writes} | ${[...c.offsets.keys()].sort((a, b) => Number(a) - Number(b)).join(' ')} |`);
  }
  if (guestErrors.size) {
    p();
    p('## QEMU guest_errors / unimp');
    p();
    for (const [k, n] of guestErrors) p(`- ${k} ×${n}`);
  }
  p();
  p('## Console lines about CPU, timers, interrupts, ACPI and PCI');
  p();
  p('```');
  const re = /tsc|TSC|clocksource|clockevent|hpet|HPET|APIC|IOAPIC|IO-APIC|\.\.TIMER|calibrat|BogoMIPS|lpj|ACPI|PM-Timer|x86\/|CPU0|smpboot|MTRR|PAT|microcode|Spectre|Speculative|Retbleed|MDS|mitigation|e820|pci 0000|PCI:|virtio|MSI|PIC|i8042|rtc|Power down/;
  for (const l of o.console.lines) if (re.test(l)) p(l.replace(/^\[\s*[\d.]+\]\s*/, ''));
  p('```');
  process.stdout.write(`${out.join('\n')}\n`);
  await run.dispose();
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`raw files kept in ${dir}\n`);
}

await main();
