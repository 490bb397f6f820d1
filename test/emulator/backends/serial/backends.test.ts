import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSerialBackend, parseHostPort } from '../../../../src/emulator/backends/serial/open.js';
import { SocketServerBackend } from '../../../../src/emulator/backends/serial/socket-server.js';
import { Uart16550 } from '../../../../src/emulator/lpc/uart/device.js';
import * as R from '../../../../src/emulator/lpc/uart/regs.js';
import { buildCli, removeBuild } from '../../helpers/build-cli.js';

afterAll(() => removeBuild());

const tick = () => new Promise((r) => setTimeout(r, 20));

async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

function guestRead(u: Uart16550): string {
  let s = '';
  while (u.read(R.REG_LSR) & R.LSR_RXRDY) s += String.fromCharCode(u.read(R.REG_DATA));
  return s;
}

function guestWrite(u: Uart16550, s: string): void {
  for (const c of s) u.write(R.REG_DATA, c.charCodeAt(0));
}

function client(port: number | string): Promise<{ sock: Socket; data: () => string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const sock = typeof port === 'number' ? connect(port, '127.0.0.1') : connect(port);
    sock.on('data', (d) => (buf += d.toString('latin1')));
    sock.once('connect', () => resolve({ sock, data: () => buf }));
    sock.once('error', reject);
  });
}

describe('serial backends', () => {
  it('parses TCP addresses', () => {
    expect(parseHostPort('127.0.0.1:4444')).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(parseHostPort('[::1]:22')).toEqual({ host: '::1', port: 22 });
    expect(parseHostPort('localhost')).toBeUndefined();
    expect(parseHostPort('1.2.3.4:99999')).toBeUndefined();
  });

  it('bridges a TCP client and the guest, one client at a time', async () => {
    const be = (await openSerialBackend('tcp=127.0.0.1:0', { stdioTaken: false })) as SocketServerBackend;
    const u = new Uart16550({ assert: () => {}, deassert: () => {} });
    u.setBackend(be);
    u.write(R.REG_FCR, R.FCR_ENABLE);
    guestWrite(u, 'lost'); // no client yet: dropped
    u.flushTx();
    const c = await client(be.port!);
    c.sock.write('from host');
    let got = '';
    await until(() => (got += guestRead(u)).length >= 9, 'host bytes in the guest');
    expect(got).toBe('from host');
    guestWrite(u, 'to host');
    await until(() => c.data() === 'to host', 'guest bytes at the client');
    const second = await client(be.port!);
    await new Promise((r) => second.sock.once('close', r));
    c.sock.destroy();
    await be.close();
  });

  it('applies back-pressure: input beyond the FIFO waits for the guest', async () => {
    const be = (await openSerialBackend('tcp=127.0.0.1:0', { stdioTaken: false })) as SocketServerBackend;
    const u = new Uart16550({ assert: () => {}, deassert: () => {} });
    u.setBackend(be);
    u.write(R.REG_FCR, R.FCR_ENABLE);
    const c = await client(be.port!);
    const payload = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
    c.sock.write(payload);
    let got = '';
    await until(() => {
      got += guestRead(u);
      return got.length === payload.length;
    }, 'all bytes');
    expect(got).toBe(payload);
    c.sock.destroy();
    await be.close();
  });

  it('serves a UNIX socket console and removes it on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbhyve-uart-'));
    const path = join(dir, 'console.sock');
    const be = await openSerialBackend(`unix=${path}`, { stdioTaken: false });
    const u = new Uart16550({ assert: () => {}, deassert: () => {} });
    u.setBackend(be);
    const c = await client(path);
    guestWrite(u, 'login: ');
    await until(() => c.data() === 'login: ', 'prompt');
    c.sock.write('r');
    await until(() => guestRead(u) === 'r', 'input');
    c.sock.destroy();
    await be.close();
    expect(existsSync(path)).toBe(false);
  });

  it('appends output to a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbhyve-uart-'));
    const path = join(dir, 'serial.log');
    writeFileSync(path, 'old\n');
    const be = await openSerialBackend(`file=${path}`, { stdioTaken: false });
    const u = new Uart16550({ assert: () => {}, deassert: () => {} });
    u.setBackend(be);
    guestWrite(u, 'boot ok\n');
    u.flushTx();
    await be.close();
    expect(readFileSync(path, 'utf8')).toBe('old\nboot ok\n');
  });

  it('refuses bad specs clearly', async () => {
    const ctx = { stdioTaken: true };
    await expect(openSerialBackend('stdio', ctx)).rejects.toThrow('stdio is already used by another device');
    await expect(openSerialBackend('tcp=nowhere', ctx)).rejects.toThrow(/invalid TCP address/);
    await expect(openSerialBackend('/dev/null', ctx)).rejects.toThrow('/dev/null is not a terminal device');
    await expect(openSerialBackend('/nonexistent/tty', ctx)).rejects.toThrow(/ENOENT/);
    await expect(openSerialBackend('autopty', ctx)).rejects.toThrow(/openpty/);
    await expect(openSerialBackend('carrier-pigeon', ctx)).rejects.toThrow("unknown serial backend 'carrier-pigeon'");
    await expect(openSerialBackend('file=/nonexistent/dir/x', ctx)).rejects.toThrow(/cannot open/);
  });

  it('uses stdin/stdout of the process for stdio', async () => {
    const out = buildCli();
    const script = join(out, 'stdio-probe.mjs');
    writeFileSync(
      script,
      `import { openSerialBackend } from './emulator/backends/serial/open.js';
import { Uart16550 } from './emulator/lpc/uart/device.js';
const be = await openSerialBackend('stdio', { stdioTaken: false });
const u = new Uart16550({ assert() {}, deassert() {} });
u.setBackend(be);
u.write(2, 1);
let line = '';
const t = setInterval(async () => {
  while (u.read(5) & 1) line += String.fromCharCode(u.read(0));
  if (line.includes('\\n')) {
    clearInterval(t);
    for (const c of 'echo:' + line) u.write(0, c.charCodeAt(0));
    u.flushTx();
    await be.close();
  }
}, 5);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.write('ping\n');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(stdout).toBe('echo:ping\n');
  }, 60_000);
});
