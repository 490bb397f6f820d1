/**
 * Starts Debian's real `libvirtd` on a private config and socket directory with only its
 * built-in test driver (hypervisor driver modules hidden through LIBVIRT_DRIVER_DIR), so
 * tsvirt's RPC client can be checked against the reference server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LIBVIRTD = '/usr/sbin/libvirtd';
export const haveLibvirtd = existsSync(LIBVIRTD) && process.geteuid?.() === 0;

export interface Libvirtd {
  rwPath: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startLibvirtd(): Promise<Libvirtd> {
  const dir = mkdtempSync(join(tmpdir(), 'libvirtd-'));
  mkdirSync(join(dir, 'sock'));
  mkdirSync(join(dir, 'no-drivers'));
  const conf = join(dir, 'libvirtd.conf');
  writeFileSync(conf, `unix_sock_dir = "${join(dir, 'sock')}"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\nlog_outputs = "3:file:${join(dir, 'log')}"\n`);
  const proc = spawn(LIBVIRTD, ['--config', conf, '--pid-file', join(dir, 'pid')], {
    stdio: 'ignore',
    env: { ...process.env, LIBVIRT_DRIVER_DIR: join(dir, 'no-drivers') },
  });
  const rwPath = join(dir, 'sock', 'libvirt-sock');
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = createConnection(rwPath);
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('libvirtd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rwPath,
    proc,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
