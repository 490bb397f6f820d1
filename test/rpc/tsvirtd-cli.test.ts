/**
 * The `tsvirtd` command itself: driver selection, clean SIGTERM, one daemon per socket,
 * stale socket files, detached mode.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/rpc/client.js';
import { RemoteProcs } from '../../src/rpc/protocol/remote-procedures.js';
import { runTsvirtd, startDaemon } from './daemon.js';

function collect(p: ReturnType<typeof runTsvirtd>): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, out, err })));
}

describe('tsvirtd command', () => {
  it('serves the bhyve driver by default, on the state directory, for the instance asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirtd-'));
    const p = runTsvirtd(['--foreground', '--instance', 'session', '--socket-dir', join(dir, 'run'), '--state-dir', join(dir, 'st')]);
    const done = collect(p);
    for (let i = 0; i < 400 && !existsSync(join(dir, 'st', 'tsvirtd.pid')); i++) await new Promise((r) => setTimeout(r, 50));
    const c = await RpcClient.connect(join(dir, 'run', 'tsvirt-sock'));
    await expect(c.open('bhyve:///system')).rejects.toThrow(/bhyve:\/\/\/system/);
    await c.close();
    const c2 = await RpcClient.connect(join(dir, 'run', 'tsvirt-sock'));
    await c2.open('bhyve:///session');
    expect((await c2.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('BHYVE');
    expect((await c2.call(RemoteProcs.CONNECT_GET_URI, undefined)).uri).toBe('bhyve:///session');
    await c2.close();
    // the driver's state tree lives in the state directory
    expect(existsSync(join(dir, 'st', 'config'))).toBe(true);
    p.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.err).toContain('"msg":"bhyve driver open"');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops cleanly on SIGTERM with a client connected: sockets and pidfile removed, status 0', async () => {
    const d = await startDaemon();
    expect(readFileSync(join(d.stateDir, 'tsvirtd.pid'), 'utf8').trim()).toMatch(/^\d+$/);
    const c = await RpcClient.connect(d.rwPath);
    await c.open('bhyve:///system');
    const closed = new Promise<void>((r) => c.onClose(() => r()));
    const socketDir = d.socketDir;
    const stateDir = d.stateDir;
    d.proc.kill('SIGTERM');
    await closed;
    const code = await new Promise<number | null>((r) => (d.proc.exitCode !== null ? r(d.proc.exitCode) : d.proc.once('exit', (x) => r(x))));
    expect(code).toBe(0);
    expect(existsSync(join(socketDir, 'tsvirt-sock'))).toBe(false);
    expect(existsSync(join(socketDir, 'tsvirt-sock-ro'))).toBe(false);
    expect(existsSync(join(stateDir, 'tsvirtd.pid'))).toBe(false);
    expect(d.stderr()).toContain('"msg":"shutting down","signal":"SIGTERM"');
    await d.stop();
  });

  it('refuses to share its socket with a running daemon', async () => {
    const d = await startDaemon();
    try {
      const r = await collect(runTsvirtd(['--foreground', '--driver', 'test', '--socket-dir', d.socketDir, '--state-dir', join(d.dir, 'st2')]));
      expect(r.code).toBe(1);
      expect(r.err).toContain('another daemon is already listening');
      const c = await RpcClient.connect(d.rwPath);
      await c.open(null);
      expect((await c.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
      await c.close();
    } finally {
      await d.stop();
    }
  });

  it('replaces a stale socket file left by a dead daemon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirtd-'));
    const run = join(dir, 'run');
    mkdirSync(run);
    // a socket file with nobody listening, as a killed daemon leaves it
    const made = spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(run, 'tsvirt-sock'))})`]);
    expect(made.status).toBe(0);
    expect(existsSync(join(run, 'tsvirt-sock'))).toBe(true);
    const p = runTsvirtd(['--foreground', '--driver', 'test', '--socket-dir', run, '--state-dir', join(dir, 'st')]);
    const done = collect(p);
    for (let i = 0; i < 200 && !existsSync(join(dir, 'st', 'tsvirtd.pid')); i++) await new Promise((r) => setTimeout(r, 50));
    const c = await RpcClient.connect(join(run, 'tsvirt-sock'));
    await c.open(null);
    await c.close();
    p.kill('SIGTERM');
    expect((await done).code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('detaches without --foreground and keeps serving after the parent exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirtd-'));
    const st = join(dir, 'st');
    const r = await collect(runTsvirtd(['--driver', 'test', '--socket-dir', join(dir, 'run'), '--state-dir', st]));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tsvirtd: started, pid \d+/);
    const pid = Number(readFileSync(join(st, 'tsvirtd.pid'), 'utf8'));
    const c = await RpcClient.connect(join(dir, 'run', 'tsvirt-sock'));
    await c.open(null);
    expect((await c.call(RemoteProcs.CONNECT_NUM_OF_DOMAINS, undefined)).num).toBe(0);
    await c.close();
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(join(st, 'tsvirtd.pid')); i++) await new Promise((res) => setTimeout(res, 50));
    expect(existsSync(join(st, 'tsvirtd.pid'))).toBe(false);
    expect(readFileSync(join(st, 'tsvirtd.log'), 'utf8')).toContain('"msg":"exit"');
    rmSync(dir, { recursive: true, force: true });
  });
});
