// The GDB stub end to end: a real tsbhyve process (soft CPU) running the test guest
// (fixtures/guests/gdb) with -G, driven by the real gdb (/usr/bin/gdb, Debian's `gdb`)
// in batch mode. Breakpoints, continue, stepi, registers (general and system), memory
// reads, `set var` changing the guest's exit status, vCPUs as threads with -c 2,
// attaching to a running VM, Ctrl-C (SIGINT to gdb), detach and kill; the process status
// afterwards proves the guest went on (or ended) as gdb told it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuild, tsbhyvePath } from '../helpers/build-cli.js';
import { probeBackends } from '../../../src/emulator/vmm/vmm.js';
import { buildGdbGuest, type GdbGuest } from './guest.js';
import { BIOS_CODE_BASE } from '../../../src/emulator/firmware/legacy-bios.js';

const HAVE_GDB = spawnSync('gdb', ['--version']).status === 0;

interface Proc {
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
  pid: number;
  kill: () => void;
}

function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal })),
  );
  return { done, stdout: () => out, stderr: () => err, pid: child.pid!, kill: () => child.kill('SIGKILL') };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** True once something listens on 127.0.0.1:port (read from /proc/net/tcp, no connection). */
function listening(port: number): boolean {
  const want = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1]?.endsWith(want) === true && f[3] === '0A';
    });
}

// A probe connection would attach (and on closing detach, which starts a `-G w` VM), so
// the test waits for the listening socket without connecting.
async function waitForPort(port: number, vm: Proc): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (listening(port)) return;
    if (vm.stderr().includes('tsbhyve:')) throw new Error(`tsbhyve failed: ${vm.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

async function bootVm(guest: GdbGuest, gdbOpt: (port: number) => string, extra: string[] = [], cmdline = ''): Promise<{ vm: Proc; port: number }> {
  const port = await freePort();
  const kernel = cmdline ? `multiboot,${guest.elf32},,${cmdline}` : `multiboot,${guest.elf32}`;
  const vm = start(process.execPath, [
    tsbhyvePath(), '-m', '64M', ...extra, '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio',
    '-l', 'pc-testdev', '-o', 'vmm.backend=soft', '-G', gdbOpt(port), '-f', kernel, 'vm0',
  ]);
  await waitForPort(port, vm);
  return { vm, port };
}

function gdb(guest: GdbGuest, port: number, commands: string[]): Proc {
  const args = ['-batch', '-nx', '-ex', 'set confirm off', '-ex', 'set pagination off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  args.push(guest.elf64);
  return start('gdb', args);
}

async function finish(p: Proc, ms = 45000): Promise<{ status: number | null }> {
  const timer = setTimeout(() => p.kill(), ms);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!HAVE_GDB)('GDB stub with the real gdb', () => {
  let guest: GdbGuest;
  beforeAll(async () => {
    guest = await buildGdbGuest();
    tsbhyvePath();
  }, 120000);
  afterAll(() => removeBuild());

  it('-G w: breaks, continues, steps, reads registers and memory, and sets a variable', async () => {
    const { vm, port } = await bootVm(guest, (p) => `w127.0.0.1:${p}`);
    const g = gdb(guest, port, [
      'info registers rip',
      'info threads',
      'break target_func',
      'continue',
      'print counter',
      'info registers rip',
      'x/2i $pc',
      'stepi',
      'info registers rip',
      'continue',
      'print counter',
      'x/4xb &pattern',
      'p/x $cr0',
      'info registers eflags',
      'set var poke = 9',
      'print poke',
      'delete',
      'continue',
    ]);
    await finish(g);
    const out = g.stdout() + g.stderr();
    const r = await finish(vm);
    // Stopped before the first instruction: the BIOS-like init routine that sets up the
    // 8259s and the PIT before it jumps to the Multiboot entry (firmware/legacy-bios.ts).
    const first = /^rip\s+(0x[0-9a-f]+)/m.exec(out);
    expect(first).not.toBeNull();
    expect(Number(first![1]) >= BIOS_CODE_BASE && Number(first![1]) < BIOS_CODE_BASE + 0x1000).toBe(true);
    expect(out).toMatch(/\* 1\s+Thread 1 \(vCPU 0\) 0x0+fe[0-9a-f]{3} in \?\? \(\)/);
    const bp = /Breakpoint 1 at (0x[0-9a-f]+): file .*main\.c/.exec(out);
    expect(bp).not.toBeNull();
    expect(out).toContain('Breakpoint 1, target_func ()');
    expect(out).toMatch(/\$1 = 0\n/);
    // info registers rip at the breakpoint, then the next instruction after stepi.
    const rips = [...out.matchAll(/^rip\s+(0x[0-9a-f]+)/gm)].map((m) => m[1]);
    expect(rips[1]).toBe(bp![1]);
    const insns = [...out.matchAll(/^ {3}(0x[0-9a-f]+) <target_func\+\d+>:/gm)].map((m) => m[1]);
    expect(rips[2]).toBe(insns[0]);
    // The second call stops at the breakpoint again (gdb stepped over it) with counter 1.
    expect(out).toMatch(/\$2 = 1\n/);
    expect(out).toMatch(/<pattern>:\s+0xde\s+0xad\s+0xbe\s+0xef/);
    const cr0 = /\$3 = (0x[0-9a-f]+)/.exec(out);
    expect(cr0).not.toBeNull();
    expect(BigInt(cr0![1]!) & 0x80000001n).toBe(0x80000001n); // CR0.PG and PE: a long-mode guest
    expect(out).toMatch(/eflags\s+0x[0-9a-f]+\s+\[ .*\]/);
    expect(out).toMatch(/\$4 = 9\n/);
    expect(out).toContain('exited with code 023');
    expect(vm.stdout()).toContain('counter=3 poke=9');
    expect(r.status).toBe((9 << 1) | 1);
  }, 60000);

  it('-c 2: vCPUs are threads; attaches to a running VM, stops it on Ctrl-C and detaches', async () => {
    const { vm, port } = await bootVm(guest, (p) => `127.0.0.1:${p}`, ['-c', '2'], 'spin');
    const g = gdb(guest, port, [
      'info threads',
      'thread 2',
      'info registers rip',
      'thread 1',
      'continue',
      'info registers rip',
      'set var spin_release = 1',
      'detach',
    ]);
    // Ctrl-C: gdb turns SIGINT into the protocol's interrupt while `continue` waits.
    for (let i = 0; i < 400 && !g.stdout().includes('Switching to thread 1'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(g.pid, 'SIGINT');
    await finish(g);
    const out = g.stdout() + g.stderr();
    const r = await finish(vm);
    expect(out).toMatch(/\* 1\s+Thread 1 \(vCPU 0\) .* in spin \(\)/);
    // The AP still waits for its SIPI at the reset vector.
    expect(out).toMatch(/ 2\s+Thread 2 \(vCPU 1\) 0x0*fff0 in \?\? \(\)/);
    expect(out).toMatch(/rip\s+0xfff0\s/);
    expect(out).toContain('Thread 1 received signal SIGINT, Interrupt.');
    expect(out).toMatch(/rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <spin\+\d+>/);
    expect(out).toContain('detached');
    expect(vm.stdout()).toContain('counter=3 poke=5');
    expect(r.status).toBe((5 << 1) | 1);
  }, 60000);

  it('kill ends the VM with status 4', async () => {
    const { vm, port } = await bootVm(guest, (p) => `w127.0.0.1:${p}`);
    const g = gdb(guest, port, ['break add_one', 'continue', 'kill']);
    await finish(g);
    const r = await finish(vm);
    expect(g.stdout()).toContain('Breakpoint 1, add_one');
    expect(r.status).toBe(4);
    expect(vm.stderr()).toContain('killed by the debugger');
    expect(vm.stdout()).not.toContain('counter=');
  }, 60000);

  // kvm_pvm accepts KVM_GUESTDBG_USE_SW_BP but delivers INT3 to the guest anyway.
  const probe = probeBackends();
  it.runIf(probe.kvmOpens && probe.kvmDetail.includes('kvm_pvm'))('refuses -G on a KVM that cannot trap INT3', async () => {
    const port = await freePort();
    const vm = start(process.execPath, [
      tsbhyvePath(), '-m', '64M', '-s', '0,hostbridge', '-s', '31,lpc', '-o', 'vmm.backend=kvm',
      '-G', `w127.0.0.1:${port}`, '-f', `multiboot,${guest.elf32}`, 'vm0',
    ]);
    const r = await finish(vm);
    expect(r.status).toBe(4);
    expect(vm.stderr()).toContain('the GDB stub (-G) cannot debug on the kvm backend: bpt_exit is not available');
  }, 30000);

  it('refuses a bad port with status 4', async () => {
    const vm = start(process.execPath, [tsbhyvePath(), '-m', '64M', '-G', '70000', '-f', `multiboot,${guest.elf32}`, 'vm0']);
    const r = await finish(vm);
    expect(r.status).toBe(4);
    expect(vm.stderr()).toContain("Invalid gdb port '70000'");
  }, 30000);
});

if (!HAVE_GDB) {
  describe('GDB stub with the real gdb', () => {
    it.skip('gdb is not installed (Debian package gdb): end-to-end tests skipped', () => {});
  });
}
