import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectingLogger } from '../../../../src/emulator/log.js';
import * as P from '../../../../src/emulator/virtio/9p/protocol.js';
import { NinePServer } from '../../../../src/emulator/virtio/9p/server.js';
import { Share } from '../../../../src/emulator/virtio/9p/share.js';
import { Client, P9Error } from './client.js';

const E = osc.errno;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;

let base: string;
let root: string;
let outside: string;
const servers: NinePServer[] = [];

afterEach(async () => {
  // Clunking every fid closes the host files the tests left open.
  await Promise.all(servers.splice(0).map((s) => s.reset()));
  rmSync(base, { recursive: true, force: true });
});

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), '9p-'));
  root = join(base, 'share');
  outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret');
  writeFileSync(join(root, 'hello.txt'), 'hello from the host\n');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'inner.txt'), 'inner');
});

async function session(opts: { ro?: boolean; maxMsize?: number } = {}) {
  const log = new CollectingLogger();
  const share = await Share.open(root, opts.ro ?? false, log);
  const server = new NinePServer(share, opts.maxMsize ?? 1 << 20, log);
  servers.push(server);
  const c = new Client(server);
  await c.version();
  const rootQid = await c.attach(0);
  return { c, server, log, rootQid };
}

async function errno(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof P9Error) return e.errno;
    throw e;
  }
  throw new Error('no error');
}

describe('9P2000.L session', () => {
  it('negotiates msize and refuses other protocol versions', async () => {
    const log = new CollectingLogger();
    const server = new NinePServer(await Share.open(root, false, log), 128 * 1024, log);
    servers.push(server);
    const c = new Client(server);
    expect(await errno(c.attach(0))).toBe(E.EINVAL); // before Tversion
    expect(await c.version(1 << 20)).toEqual({ msize: 128 * 1024, version: '9P2000.L' });
    expect(await c.version(8192, '9P2000.u')).toEqual({ msize: 8192, version: 'unknown' });
    expect(await errno(c.attach(0))).toBe(E.EINVAL);
    expect((await c.version(8192)).version).toBe('9P2000.L');
    await c.attach(0);
  });

  it('walks, reads and lists the share, with partial walks and .. held at the root', async () => {
    const { c, rootQid } = await session();
    const qids = await c.walk(0, 1, ['sub', 'inner.txt']);
    expect(qids.map((q) => q.type)).toEqual([P.QTDIR, P.QTFILE]);
    await c.lopen(1, O_RDONLY);
    expect((await c.read(1, 0, 100)).toString()).toBe('inner');
    expect((await c.read(1, 2, 2)).toString()).toBe('ne');
    // Partial walk: the second name is missing; newfid is not created.
    expect((await c.walk(0, 2, ['sub', 'nope'])).length).toBe(1);
    expect(await errno(c.clunk(2))).toBe(E.EBADF);
    expect(await errno(c.walk(0, 2, ['nope']))).toBe(E.ENOENT);
    // '..' from the root stays at the root, at any depth.
    const up = await c.walk(0, 3, ['..', '..', 'sub', '..', '..']);
    expect(up[up.length - 1]!.path).toBe(rootQid.path);
    await c.walk(3, 4, ['hello.txt']);
    await c.lopen(4, O_RDONLY);
    expect((await c.read(4, 0, 5)).toString()).toBe('hello');
    await c.lopen(3, O_RDONLY);
    expect((await c.readdirAll(3)).sort()).toEqual(['.', '..', 'hello.txt', 'sub']);
    // Small counts page through the listing.
    const first = await c.readdir(3, 0, 40);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(4);
    const rest = await c.readdir(3, first[first.length - 1]!.offset, 4096);
    expect(first.length + rest.length).toBe(4);
    expect(await errno(c.walk(0, 5, Array(17).fill('sub')))).toBe(E.EINVAL);
  });

  it('creates, writes, renames and removes files and directories', async () => {
    const { c } = await session();
    await c.walk(0, 1, []);
    await c.lcreate(1, 'new.txt', O_RDWR | P.L_O_CREAT, 0o640);
    expect(await c.write(1, 0, Buffer.from('written by the guest'))).toBe(20);
    await c.fsync(1);
    expect(readFileSync(join(root, 'new.txt'), 'utf8')).toBe('written by the guest');
    expect(statSync(join(root, 'new.txt')).mode & 0o777).toBe(0o640);
    const a = await c.getattr(1);
    expect(a.size).toBe(20);
    await c.setattr(1, { valid: P.P9_SETATTR_SIZE, size: 7 });
    expect(readFileSync(join(root, 'new.txt'), 'utf8')).toBe('written');
    await c.setattr(1, { valid: P.P9_SETATTR_MODE, mode: 0o600 });
    expect(statSync(join(root, 'new.txt')).mode & 0o777).toBe(0o600);
    await c.setattr(1, { valid: P.P9_SETATTR_MTIME | P.P9_SETATTR_MTIME_SET, mtime: 1000000000 });
    expect(Math.floor(statSync(join(root, 'new.txt')).mtimeMs / 1000)).toBe(1000000000);
    await c.walk(0, 2, []);
    await c.mkdir(2, 'dir');
    expect(statSync(join(root, 'dir')).isDirectory()).toBe(true);
    await c.walk(0, 3, ['dir']);
    // Rename moves the open fid's path with it.
    await c.rename(1, 3, 'moved.txt');
    expect(existsSync(join(root, 'dir', 'moved.txt'))).toBe(true);
    expect((await c.getattr(1)).size).toBe(7);
    await c.renameat(0, 'dir', 0, 'dir2');
    expect((await c.getattr(1)).size).toBe(7); // still found under dir2
    await c.walk(0, 4, ['dir2', 'moved.txt']);
    await c.link(0, 4, 'hardlink');
    expect(readFileSync(join(root, 'hardlink'), 'utf8')).toBe('written');
    await c.symlink(0, 'sl', 'dir2/moved.txt');
    await c.walk(0, 5, ['sl']);
    expect(await c.readlink(5)).toBe('dir2/moved.txt');
    await c.mknod(0, 'regular', 0o100644);
    expect(statSync(join(root, 'regular')).isFile()).toBe(true);
    expect(await errno(c.mknod(0, 'dev', 0o020644))).toBe(E.EPERM);
    expect(await errno(c.mknod(0, 'fifo', 0o010644))).toBe(E.EOPNOTSUPP);
    await c.unlinkat(0, 'hardlink');
    await c.remove(4);
    expect(existsSync(join(root, 'dir2', 'moved.txt'))).toBe(false);
    await c.unlinkat(0, 'dir2', P.AT_REMOVEDIR);
    expect(existsSync(join(root, 'dir2'))).toBe(false);
    expect(await errno(c.unlinkat(0, 'sub', P.AT_REMOVEDIR))).toBe(E.ENOTEMPTY);
    expect((await c.statfs(0)).namelen).toBe(255);
    expect(await c.lock(1)).toBe(0);
    await c.flush(3);
    expect(await errno(c.xattrwalk(0, 9, 'security.selinux'))).toBe(E.EOPNOTSUPP);
  });

  it('answers every modification of a read-only share with EROFS', async () => {
    const { c } = await session({ ro: true });
    await c.walk(0, 1, ['hello.txt']);
    expect(await errno(c.lopen(1, O_RDWR))).toBe(E.EROFS);
    expect(await errno(c.lopen(1, O_RDONLY | P.L_O_TRUNC))).toBe(E.EROFS);
    await c.lopen(1, O_RDONLY);
    expect((await c.read(1, 0, 5)).toString()).toBe('hello');
    expect(await errno(c.write(1, 0, Buffer.from('x')))).toBe(E.EROFS);
    expect(await errno(c.lcreate(0, 'x', O_WRONLY | P.L_O_CREAT))).toBe(E.EROFS);
    expect(await errno(c.mkdir(0, 'd'))).toBe(E.EROFS);
    expect(await errno(c.symlink(0, 's', 'hello.txt'))).toBe(E.EROFS);
    expect(await errno(c.setattr(1, { valid: P.P9_SETATTR_MODE, mode: 0o777 }))).toBe(E.EROFS);
    expect(await errno(c.unlinkat(0, 'hello.txt'))).toBe(E.EROFS);
    expect(await errno(c.renameat(0, 'hello.txt', 0, 'x'))).toBe(E.EROFS);
    await c.walk(0, 2, ['hello.txt']);
    expect(await errno(c.remove(2))).toBe(E.EROFS);
    expect(await errno(c.clunk(2))).toBe(E.EBADF); // Tremove clunked it anyway
    expect(readFileSync(join(root, 'hello.txt'), 'utf8')).toBe('hello from the host\n');
  });
});

describe('9P path containment (hostile guest)', () => {
  it('refuses names that are paths', async () => {
    const { c } = await session();
    for (const name of ['../outside', '/etc/passwd', 'a/b', '', '.', 'x\0y']) {
      expect(await errno(c.walk(0, 1, [name]))).toBe(E.EINVAL);
      expect(await errno(c.lcreate(0, name, O_WRONLY | P.L_O_CREAT))).toBe(E.EINVAL);
      expect(await errno(c.mkdir(0, name))).toBe(E.EINVAL);
    }
    expect(await errno(c.renameat(0, 'hello.txt', 0, '../escaped'))).toBe(E.EINVAL);
    expect(await errno(c.symlink(0, '..', '/etc'))).toBe(E.EINVAL);
    expect(existsSync(join(base, 'escaped'))).toBe(false);
  });

  it('never follows symlinks out of the share, whoever planted them', async () => {
    symlinkSync(outside, join(root, 'hostlink'));
    symlinkSync(join(outside, 'secret'), join(root, 'filelink'));
    symlinkSync('..', join(root, 'up'));
    const { c, log } = await session();
    // Walking to a symlink is fine (the client resolves links itself) …
    expect((await c.walk(0, 1, ['hostlink']))[0]!.type).toBe(P.QTSYMLINK);
    expect(await c.readlink(1)).toBe(outside);
    // … walking through one to the outside is not: the walk stops at the link.
    expect((await c.walk(0, 2, ['hostlink', 'secret'])).length).toBe(1);
    expect(await errno(c.clunk(2))).toBe(E.EBADF); // no fid for a partial walk
    expect((await c.walk(0, 2, ['up', 'outside'])).length).toBe(1);
    expect(await errno(c.walk(1, 2, ['secret']))).toBe(E.EACCES);
    expect(await errno(c.lcreate(1, 'planted', O_WRONLY | P.L_O_CREAT))).toBe(E.EACCES);
    expect(existsSync(join(outside, 'planted'))).toBe(false);
    // Opening or changing a link to an outside file does not touch the file.
    await c.walk(0, 3, ['filelink']);
    expect(await errno(c.lopen(3, O_RDWR))).toBe(E.ELOOP);
    expect(await errno(c.setattr(3, { valid: P.P9_SETATTR_SIZE, size: 0 }))).toBe(E.EINVAL);
    expect(await errno(c.setattr(3, { valid: P.P9_SETATTR_MODE, mode: 0o777 }))).toBe(E.EOPNOTSUPP);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret');
    // A guest-made symlink is stored as text and refused the same way.
    await c.symlink(0, 'mine', '/etc');
    await c.walk(0, 4, ['mine']);
    expect(await errno(c.walk(4, 6, ['passwd']))).toBe(E.EACCES);
    expect(await errno(c.mkdir(0, 'x').then(() => c.walk(0, 5, ['x'])).then(() => c.renameat(5, '..', 0, 'y')))).toBe(E.EINVAL);
    expect(log.messages.some((m) => /outside the share/.test(m))).toBe(true);
  });

  it('re-checks a fid whose directory the host swapped for a symlink after the walk', async () => {
    const { c } = await session();
    await c.walk(0, 1, ['sub']);
    renameSync(join(root, 'sub'), join(root, 'sub.old'));
    symlinkSync(outside, join(root, 'sub'));
    expect(await errno(c.lcreate(1, 'evil', O_WRONLY | P.L_O_CREAT))).toBe(E.EACCES);
    expect(await errno(c.walk(1, 2, ['secret']))).toBe(E.EACCES);
    expect(await errno(c.mkdir(1, 'd'))).toBe(E.EACCES);
    expect((await c.getattr(1)).qid.type).toBe(P.QTSYMLINK); // the link itself, not its target
    expect(existsSync(join(outside, 'evil'))).toBe(false);
    expect(existsSync(join(outside, 'd'))).toBe(false);
    rmSync(join(root, 'sub'));
    expect(lstatSync(outside).isDirectory()).toBe(true);
  });

  it('refuses malformed and oversized messages without crashing', async () => {
    const { c, server } = await session({ maxMsize: 16384 });
    const hdr = (size: number, type: number, tag: number, extra: number[] = []) => {
      const b = Buffer.alloc(7 + extra.length);
      b.writeUInt32LE(size, 0);
      b[4] = type;
      b.writeUInt16LE(tag, 5);
      Buffer.from(extra).copy(b, 7);
      return new Uint8Array(b);
    };
    const rlerror = (reply: Uint8Array) => {
      expect(reply[4]).toBe(P.P9_RLERROR);
      return Buffer.from(reply).readUInt32LE(7);
    };
    expect(rlerror(await c.raw(hdr(3, P.P9_TCLUNK, 1)))).toBe(E.EINVAL); // size lies
    expect(rlerror(await c.raw(hdr(9, P.P9_TCLUNK, 1, [1, 0])))).toBe(E.EINVAL); // truncated fid
    expect(rlerror(await c.raw(new Uint8Array(3)))).toBe(E.EINVAL);
    // Twrite announcing more data than it carries.
    const tw = Buffer.alloc(23 + 4);
    tw.writeUInt32LE(27, 0);
    tw[4] = P.P9_TWRITE;
    tw.writeUInt32LE(0, 7);
    tw.writeUInt32LE(1 << 30, 19);
    expect(rlerror(await c.raw(new Uint8Array(tw)))).toBe(E.EINVAL);
    // A message beyond msize.
    expect(rlerror(await c.raw(hdr(20000, P.P9_TCLUNK, 1, Array(20000 - 7).fill(0))))).toBe(E.EINVAL);
    // A read reply never exceeds the room the transport offers.
    await c.walk(0, 1, ['hello.txt']);
    await c.lopen(1, O_RDONLY);
    const tr = new P.Writer().reset(P.P9_TREAD, 9).u32(1).u64(0).u32(4096);
    const reply = await c.raw(Uint8Array.from(tr.finish()), 16);
    expect(reply.length).toBeLessThanOrEqual(16);
    expect(Buffer.from(reply).readUInt32LE(7)).toBe(5);
    // Unknown fids and 9P2000 (non-.L) messages.
    expect(await errno(c.getattr(77))).toBe(E.EBADF);
    expect(rlerror(await c.raw(hdr(7 + 5, 112, 3, [0, 0, 0, 0, 0])))).toBe(E.EOPNOTSUPP); // Topen
    expect(server.fids.size).toBeGreaterThan(0);
  });
});
