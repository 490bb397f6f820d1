/**
 * The 9P2000.L server against real 9P clients from Debian's diod package (diodcat,
 * diodls: libnpclient). The server is transport-free; here it is carried over TCP with
 * 9P's own framing (size[4] first), the way diod's clients speak to diod.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import { NinePServer } from '../../../../src/emulator/virtio/9p/server.js';
import { Share } from '../../../../src/emulator/virtio/9p/share.js';

const have = existsSync('/usr/sbin/diodcat') && existsSync('/usr/sbin/diodls');
const open: Array<{ tcp: Server; nine: NinePServer }> = [];

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.nine.reset();
    await new Promise((r) => o.tcp.close(r));
  }
});

/** Serves one share over TCP; one session per connection, requests answered in order. */
async function serve(dir: string, ro = false) {
  const log = new CollectingLogger();
  const nine = new NinePServer(await Share.open(dir, ro, log), 1 << 20, log);
  const tcp = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let busy = Promise.resolve();
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32LE(0)) {
        const size = buf.readUInt32LE(0);
        if (size < 7) {
          sock.destroy();
          return;
        }
        const msg = Uint8Array.from(buf.subarray(0, size));
        buf = buf.subarray(size);
        busy = busy.then(async () => {
          const reply = await nine.handle(msg, 1 << 20);
          sock.write(Buffer.from(reply));
        });
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  open.push({ tcp, nine });
  const addr = tcp.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, log };
}

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill(), 20000);
    p.on('exit', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

describe.skipIf(!have)('virtio-9p server with diod clients', () => {
  it('lists and reads the share, and keeps the client inside it', async () => {
    const base = mkdtempSync(join(tmpdir(), '9p-diod-'));
    const share = join(base, 'share');
    mkdirSync(share);
    mkdirSync(join(share, 'docs'));
    writeFileSync(join(share, 'docs', 'readme.txt'), 'shared over 9P\n');
    writeFileSync(join(base, 'secret'), 'host only\n');
    symlinkSync(base, join(share, 'escape'));
    const { port, log } = await serve(share);
    const server = `127.0.0.1:${port}`;
    const cat = await run('diodcat', ['-s', server, '-a', '/', 'docs/readme.txt']);
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('shared over 9P\n');
    const ls = await run('diodls', ['-s', server, '-a', '/', 'docs']);
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/readme\.txt/);
    // Through a symlink to the parent directory, and up with '..': both refused.
    const esc = await run('diodcat', ['-s', server, '-a', '/', 'escape/secret']);
    expect(esc.status).not.toBe(0);
    expect(esc.stdout).toBe('');
    const up = await run('diodcat', ['-s', server, '-a', '/', '../secret']);
    expect(up.status).not.toBe(0);
    expect(up.stdout).toBe('');
    expect(log.messages.join('\n')).toMatch(/outside the share/);
  }, 60000);
});
