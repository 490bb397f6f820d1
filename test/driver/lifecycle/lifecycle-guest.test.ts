/**
 * The lifecycle test guest (fixtures/domains/lifecycle-guest) checked on a reference
 * machine, QEMU with TCG: it boots through Multiboot, prints on COM1, obeys console
 * commands, enables ACPI and powers off on the ACPI power button. The tsbhyve end-to-end
 * tests rely on exactly this behaviour, so a failure there points at tsbhyve, not at the
 * guest.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGuest } from './helpers/guest.js';
import { waitFor } from './helpers/wait.js';

const QEMU = ['/usr/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const built = buildGuest();
const dir = mkdtempSync(join(tmpdir(), 'tsvirt-guest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function qemu(append: string) {
  const mon = join(dir, `mon-${Math.random().toString(36).slice(2)}.sock`);
  const p = spawn(QEMU!, ['-accel', 'tcg', '-kernel', (built as { elf: string }).elf, '-append', append, '-serial', 'stdio', '-display', 'none', '-no-reboot', '-monitor', `unix:${mon},server,nowait`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b) => (out += b));
  const exited = new Promise<number>((r) => p.once('exit', (c) => r(c ?? -1)));
  return {
    p,
    out: () => out,
    exited,
    /** Send an HMP command once the monitor prompt is up; the connection stays open. */
    monitor: (cmd: string) =>
      new Promise<void>((resolve, reject) => {
        const s = connect(mon);
        let seen = '';
        s.on('data', (b) => {
          seen += b.toString();
          if (seen.includes('(qemu)')) {
            s.write(`${cmd}\n`);
            resolve();
          }
        });
        s.on('error', reject);
        void exited.then(() => s.destroy());
      }),
  };
}

describe.skipIf(!QEMU || 'missing' in built)(`lifecycle guest on QEMU (TCG)${'missing' in built ? `: ${built.missing}` : ''}`, () => {

  it.each([
    ['poweroff', 'guest: powering off'],
    ['reboot', 'guest: rebooting'],
    ['crash', 'guest: triple fault'],
  ])('console command %s ends the machine', async (cmd, says) => {
    const q = qemu('');
    await waitFor('ready', () => q.out().includes('tsvirt lifecycle guest: ready'));
    expect(q.out()).toMatch(/acpi: enabled, PM1a_CNT 0x[0-9a-f]{8}, SLP_TYPa \d/);
    q.p.stdin.write('hello\r');
    await waitFor('hello', () => q.out().includes('hello from the guest'));
    q.p.stdin.write(`${cmd}\r`);
    expect(await q.exited).toBe(0);
    expect(q.out()).toContain(says);
  });

  it.each(['', 'poll'])('ACPI power button (QEMU system_powerdown) powers it off (cmdline %j)', async (append) => {
    const q = qemu(append);
    await waitFor('ready', () => q.out().includes('ready'));
    await q.monitor('system_powerdown');
    expect(await q.exited).toBe(0);
    expect(q.out()).toContain('acpi: power button pressed');
  });
});
