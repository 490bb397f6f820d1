/**
 * The tsbhyve process running a real guest on the soft CPU (src/emulator/run/,
 * src/emulator/control/): bhyve's exit statuses caused by the guest, SIGTERM before and
 * after the guest enabled ACPI, and the control socket of docs/control-socket.md driven
 * from outside (start paused, resume, pause, power button, socket removed at exit).
 * The guest is the lifecycle test guest (fixtures/domains/lifecycle-guest): it obeys
 * poweroff / reboot / halt / crash typed on COM1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src/driver/control-client.js';
import { buildGuest } from '../../driver/lifecycle/helpers/guest.js';
import { removeBuild, tsbhyvePath } from '../helpers/build-cli.js';

const guest = buildGuest();
const work = mkdtempSync(join(tmpdir(), 'tsbhyve-run-'));
afterAll(() => {
  removeBuild();
  rmSync(work, { recursive: true, force: true });
});

interface Vm {
  child: ChildProcess;
  out: () => string;
  waitFor: (text: string, ms?: number) => Promise<void>;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

function start(extra: string[] = []): Vm {
  const elf = (guest as { elf: string }).elf;
  const child = spawn(process.execPath, [tsbhyvePath(), '-m', '32M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', ...extra, '-f', `multiboot,${elf}`, 'vm0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (status, signal) => r({ status, signal })));
  const waitFor = (text: string, ms = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${text}' within ${ms} ms; output so far:\n${out}`)), ms);
      const check = () => {
        if (out.includes(text)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { child, out: () => out, waitFor, done };
}

describe.skipIf('missing' in guest)(`tsbhyve runs the lifecycle guest${'missing' in guest ? ` — skipped: ${guest.missing}` : ''}`, { timeout: 120_000 }, () => {
  for (const [command, status, text] of [
    ['poweroff', 1, 'guest: powering off'],
    ['reboot', 0, 'reboot'],
    ['halt', 2, 'halt'],
    ['crash', 3, 'crash'],
  ] as const) {
    it(`guest ${command} → exit status ${status}`, async () => {
      const vm = start();
      await vm.waitFor('tsvirt lifecycle guest: ready');
      vm.child.stdin!.write(`${command}\r`);
      const r = await vm.done;
      expect(r.status, vm.out()).toBe(status);
      expect(vm.out()).toContain(text);
    });
  }

  it('SIGTERM once the guest enabled ACPI → power button → guest powers off, exit 1', async () => {
    const vm = start();
    await vm.waitFor('tsvirt lifecycle guest: ready');
    vm.child.kill('SIGTERM');
    const r = await vm.done;
    expect(r.status, vm.out()).toBe(1);
    expect(vm.out()).toContain('acpi: power button pressed');
  });

  it('control socket: start paused, resume, pause, power button; socket removed at exit', async () => {
    const sock = join(work, 'a.ctl');
    const vm = start(['-o', `tsvirt.control.path=${sock}`, '-o', 'tsvirt.control.start_paused=true']);
    const c = await waitConnect(sock);
    expect(c.greeting).toMatchObject({ vm: 'vm0', pid: vm.child.pid, state: 'paused' });
    expect(await c.request('query-status')).toMatchObject({ ok: true, state: 'paused', vcpus: 1, acpi: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(vm.out()).toBe('');
    expect(await c.request('resume')).toMatchObject({ ok: true, state: 'running' });
    await vm.waitFor('tsvirt lifecycle guest: ready');
    expect(await c.request('pause')).toMatchObject({ ok: true, state: 'paused' });
    expect(await c.request('query-status')).toMatchObject({ state: 'paused', acpi: true });
    vm.child.stdin!.write('hello\r');
    await new Promise((r) => setTimeout(r, 300));
    expect(vm.out()).not.toContain('hello from the guest');
    expect(await c.request('resume')).toMatchObject({ ok: true, state: 'running' });
    await vm.waitFor('hello from the guest');
    expect(await c.request('shutdown')).toMatchObject({ ok: true, acpi: true });
    const r = await vm.done;
    expect(r.status, vm.out()).toBe(1);
    expect(existsSync(sock)).toBe(false);
    c.close();
  });

  it('SIGTERM before ACPI (start paused) → clean stop, the process dies by SIGTERM, socket removed', async () => {
    const sock = join(work, 'b.ctl');
    const vm = start(['-o', `tsvirt.control.path=${sock}`, '-o', 'tsvirt.control.start_paused=true']);
    const c = await waitConnect(sock);
    c.close();
    vm.child.kill('SIGTERM');
    const r = await vm.done;
    expect(r.signal, vm.out()).toBe('SIGTERM');
    expect(existsSync(sock)).toBe(false);
  });

  it('console over the control socket (lpc.com1.path=tsvirt-console): output replayed, input reaches the guest', async () => {
    const sock = join(work, 'c.ctl');
    const elf = (guest as { elf: string }).elf;
    const child = spawn(process.execPath, [tsbhyvePath(), '-m', '32M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,tsvirt-console', '-o', `tsvirt.control.path=${sock}`, '-f', `multiboot,${elf}`, 'vm0'], { stdio: 'ignore' });
    const done = new Promise<number | null>((r) => child.on('close', (s) => r(s)));
    const c = await waitConnect(sock);
    await new Promise((r) => setTimeout(r, 1500));
    const stream = await c.console('com1', { replay: true });
    let seen = '';
    stream.on('data', (d: Buffer) => (seen += d.toString('latin1')));
    await until(() => seen.includes('tsvirt lifecycle guest: ready'));
    expect(seen).toContain('tsvirt lifecycle guest: booted');
    stream.write('poweroff\r');
    expect(await done).toBe(1);
    await until(() => seen.includes('guest: powering off'));
  });
});

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitConnect(path: string): Promise<ControlClient> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      return await ControlClient.connect(path, 2000);
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
