/**
 * tsbhyve's control socket server (src/emulator/control/server.ts) against
 * docs/control-socket.md, over a real unix socket, with the driver's own client
 * (src/driver/control-client.ts) and raw sockets for the malformed cases. The VM behind it
 * is a recording target; the console is the real ConsoleSocketBackend.
 */
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src/driver/control-client.js';
import { ConsoleSocketBackend } from '../../../src/emulator/backends/serial/console-socket.js';
import { ControlServer, type ControlTarget } from '../../../src/emulator/control/server.js';

let dir: string;
let path: string;
let server: ControlServer;
let paused: boolean;
let acpi: boolean;
let presses: number;
let com1: ConsoleSocketBackend;
let received: number[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctl-'));
  path = join(dir, 'vm.ctl');
  writeFileSync(path, 'stale');
  rmSync(path);
  paused = false;
  acpi = false;
  presses = 0;
  received = [];
  com1 = new ConsoleSocketBackend('com1');
  com1.setInputSink((chunk) => {
    received.push(...chunk);
    return chunk.length;
  });
  const target: ControlTarget = {
    name: 'vm0',
    vcpus: 2,
    paused: () => paused,
    acpiEnabled: () => acpi,
    powerButton: () => {
      if (!acpi) return false;
      presses++;
      return true;
    },
    pause: async () => {
      await new Promise((r) => setTimeout(r, 20));
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    consoles: new Map([['com1', com1]]),
  };
  server = await ControlServer.listen(path, target);
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function rawLines(sock: Socket, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n').filter((l) => l !== '');
      if (lines.length >= n) {
        sock.off('data', onData);
        resolve(lines.slice(0, n));
      }
    };
    sock.on('data', onData);
  });
}

function rawConnect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.on('error', reject);
  });
}

describe('control socket server', () => {
  it('greets, is mode 0600, answers status, pause/resume and shutdown in order', async () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const c = await ControlClient.connect(path);
    expect(c.greeting).toMatchObject({ version: 1, vm: 'vm0', pid: process.pid, state: 'running' });
    expect(await c.request('query-status')).toMatchObject({ ok: true, state: 'running', vcpus: 2, acpi: false });
    expect(await c.request('shutdown')).toMatchObject({ ok: true, acpi: false });
    acpi = true;
    expect(await c.request('shutdown')).toMatchObject({ ok: true, acpi: true });
    expect(presses).toBe(1);
    const [p, s] = await Promise.all([c.request('pause'), c.request('query-status')]);
    expect(p).toMatchObject({ ok: true, state: 'paused' });
    expect(s).toMatchObject({ state: 'paused', acpi: true });
    expect(await c.request('pause')).toMatchObject({ ok: true, state: 'paused' });
    expect(await c.request('resume')).toMatchObject({ ok: true, state: 'running' });
    expect(await c.request('resume')).toMatchObject({ ok: true, state: 'running' });
    c.close();
  });

  it('answers errors with codes and keeps the connection (bad JSON, no cmd, unknown and x- commands)', async () => {
    const s = await rawConnect();
    const lines = rawLines(s, 6);
    s.write('not json\n{"id":2}\n{"id":3,"cmd":"frobnicate"}\n{"id":"x","cmd":"x-crash"}\n{"id":5,"cmd":"query-status"}\n');
    const [greet, ...replies] = (await lines).map((l) => JSON.parse(l));
    expect(greet['tsvirt-control']).toBe(1);
    expect(replies.map((r) => [r.id, r.ok, r.error?.code])).toEqual([
      [null, false, 'bad-request'],
      [2, false, 'bad-request'],
      [3, false, 'unknown-command'],
      ['x', false, 'unknown-command'],
      [5, true, undefined],
    ]);
    s.destroy();
  });

  it('an over-long line gets bad-request with id null and the connection closes; others go on', async () => {
    const s = await rawConnect();
    const got = rawLines(s, 2);
    const closed = new Promise((r) => s.on('close', r));
    s.write('x'.repeat(70_000));
    const [, reply] = (await got).map((l) => JSON.parse(l));
    expect(reply).toMatchObject({ id: null, ok: false, error: { code: 'bad-request' } });
    await closed;
    const c = await ControlClient.connect(path);
    expect(await c.request('query-status')).toMatchObject({ ok: true });
    c.close();
  });

  it('console: replays output kept while detached, carries bytes both ways, busy unless force', async () => {
    com1.write(new TextEncoder().encode('boot messages\r\n'));
    const c = await ControlClient.connect(path);
    const stream = await c.console('com1', { replay: true });
    const seen: Buffer[] = [];
    stream.on('data', (d: Buffer) => seen.push(d));
    com1.write(new TextEncoder().encode('live'));
    stream.write('typed');
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(seen).toString()).toBe('boot messages\r\nlive');
    expect(Buffer.from(received).toString()).toBe('typed');

    const other = await ControlClient.connect(path);
    await expect(other.console('com1')).rejects.toMatchObject({ remoteCode: 'busy' });
    const third = await ControlClient.connect(path);
    const ended = new Promise((r) => stream.on('end', r));
    const s3 = await third.console('com1', { force: true });
    await ended;
    const seen3: Buffer[] = [];
    s3.on('data', (d: Buffer) => seen3.push(d));
    com1.write(new TextEncoder().encode('to the new client'));
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(seen3).toString()).toBe('to the new client');
    other.close();
    third.close();
  });

  it('console on a port that is not tsvirt-console: invalid-state; bad dev: bad-request', async () => {
    const c = await ControlClient.connect(path);
    await expect(c.console('com2')).rejects.toMatchObject({ remoteCode: 'invalid-state' });
    const d = await ControlClient.connect(path);
    await expect(d.console('lpt1')).rejects.toMatchObject({ remoteCode: 'bad-request' });
    c.close();
    d.close();
  });

  it('close() removes the socket file', async () => {
    await server.close();
    expect(existsSync(path)).toBe(false);
    server = await ControlServer.listen(path, { name: 'x', vcpus: 1, paused: () => false, acpiEnabled: () => false, powerButton: () => false, pause: async () => {}, resume: () => {}, consoles: new Map() });
  });
});
