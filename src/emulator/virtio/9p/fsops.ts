/**
 * The 9P2000.L operations that open, create, change or describe files (Tlopen, Tlcreate,
 * Tgetattr, Tsetattr, Tstatfs, Tmkdir, Tsymlink, Tmknod, Tlink, Treadlink, Trename,
 * Trenameat, Tunlinkat, Tremove, Tfsync, Tlock, Tgetlock). Each reads its arguments
 * from the request, resolves host paths only through the Share (containment), and writes
 * its reply body; failures throw and become Rlerror in the server.
 *
 * Final components are never followed: attributes come from lstat, opens add O_NOFOLLOW,
 * chmod/truncate refuse symlinks, times and owners use the l-variants. A read-only share
 * answers every modification with EROFS. Special files are opened non-blocking so that a
 * FIFO in the share cannot stall the host.
 */
import { constants as fsc } from 'node:fs';
import { chmod, link as fsLink, lchown, lstat, lutimes, mkdir as fsMkdir, readlink, rename as fsRename, rmdir, statfs as fsStatfs, symlink as fsSymlink, unlink } from 'node:fs/promises';
import { constants as osc } from 'node:os';
import { isDir, isRegular, isSymlink, qidOf, writeGetattr } from './attrs.js';
import * as P from './protocol.js';
import type { Reader, Writer } from './protocol.js';
import type { NinePServer } from './server.js';
import { ShareError } from './share.js';

const E = osc.errno;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const PATH_MAX = 4096;

/** Linux open flags from the guest → host open flags (the same values on Linux). */
function hostFlags(flags: number): number {
  return flags & (P.L_O_ACCMODE | P.L_O_TRUNC | P.L_O_APPEND | P.L_O_NONBLOCK | P.L_O_SYNC | P.L_O_DSYNC);
}

function wantsWrite(flags: number): boolean {
  return (flags & P.L_O_ACCMODE) !== 0 || (flags & (P.L_O_TRUNC | P.L_O_APPEND)) !== 0;
}

export async function lopen(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  const flags = r.u32();
  if (f.file || f.dir) throw new ShareError(E.EBADF, 'fid already open');
  const path = await s.share.entry(f.comps);
  const st = await lstat(path, { bigint: true });
  if (isSymlink(st)) throw new ShareError(E.ELOOP, 'open of a symbolic link');
  if (isDir(st)) {
    if ((flags & P.L_O_ACCMODE) !== 0) throw new ShareError(E.EISDIR, 'directory opened for writing');
    f.dir = {};
    w.qid(qidOf(st)).u32(0);
    return;
  }
  if (wantsWrite(flags)) s.share.writable();
  let host = hostFlags(flags);
  if (!isRegular(st)) host |= fsc.O_NONBLOCK;
  s.reserveOpen();
  try {
    f.file = await s.share.openAt(path, host);
  } catch (e) {
    s.releaseOpen();
    throw e;
  }
  w.qid(qidOf(await f.file.stat({ bigint: true }))).u32(0);
}

export async function lcreate(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  const name = r.str();
  const flags = r.u32();
  const mode = r.u32();
  r.u32(); // gid: files belong to tsbhyve's user
  if (f.file || f.dir) throw new ShareError(E.EBADF, 'fid already open');
  s.share.writable();
  const path = await s.share.child(f.comps, name);
  s.reserveOpen();
  try {
    f.file = await s.share.openAt(path, hostFlags(flags) | fsc.O_CREAT | (flags & P.L_O_EXCL ? fsc.O_EXCL : 0), mode & 0o7777);
  } catch (e) {
    s.releaseOpen();
    throw e;
  }
  f.comps = [...f.comps, name];
  w.qid(qidOf(await f.file.stat({ bigint: true }))).u32(0);
}

export async function getattr(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  r.u64(); // request mask: every basic field is always returned
  const st = f.file ? await f.file.stat({ bigint: true }) : await lstat(await s.share.entry(f.comps), { bigint: true });
  writeGetattr(w, st);
}

export async function setattr(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  const valid = r.u32();
  const mode = r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const size = r.u64n();
  const atime = r.u64n() + r.u64n() / 1e9;
  const mtime = r.u64n() + r.u64n() / 1e9;
  s.share.writable();
  const path = await s.share.entry(f.comps);
  const st = await lstat(path, { bigint: true });
  const link = isSymlink(st);
  if (valid & P.P9_SETATTR_MODE) {
    if (link) throw new ShareError(E.EOPNOTSUPP, 'chmod of a symbolic link');
    await (f.file ? f.file.chmod(mode & 0o7777) : chmod(path, mode & 0o7777));
  }
  if (valid & (P.P9_SETATTR_UID | P.P9_SETATTR_GID)) {
    await lchown(path, valid & P.P9_SETATTR_UID ? uid : -1, valid & P.P9_SETATTR_GID ? gid : -1);
  }
  if (valid & P.P9_SETATTR_SIZE) {
    if (link || isDir(st)) throw new ShareError(link ? E.EINVAL : E.EISDIR, 'truncate of a non-file');
    if (f.file) await f.file.truncate(size);
    else {
      const fh = await s.share.openAt(path, fsc.O_WRONLY | (isRegular(st) ? 0 : fsc.O_NONBLOCK));
      try {
        await fh.truncate(size);
      } finally {
        await fh.close();
      }
    }
  }
  if (valid & (P.P9_SETATTR_ATIME | P.P9_SETATTR_MTIME)) {
    const now = Date.now() / 1000;
    const cur = (t: bigint) => Number(t) / 1e9;
    const a = valid & P.P9_SETATTR_ATIME ? (valid & P.P9_SETATTR_ATIME_SET ? atime : now) : cur(st.atimeNs);
    const m = valid & P.P9_SETATTR_MTIME ? (valid & P.P9_SETATTR_MTIME_SET ? mtime : now) : cur(st.mtimeNs);
    await lutimes(path, a, m);
  }
  // CTIME alone: the host sets it itself on any change.
}

export async function statfs(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  s.fid(r.u32());
  const st = await fsStatfs(s.share.root, { bigint: true });
  w.u32(Number(st.type & 0xffffffffn)).u32(Number(st.bsize)).u64(st.blocks).u64(st.bfree).u64(st.bavail).u64(st.files).u64(st.ffree).u64(0).u32(255);
}

export async function mkdir(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const d = s.fid(r.u32());
  const name = r.str();
  const mode = r.u32();
  r.u32(); // gid
  s.share.writable();
  const path = await s.share.child(d.comps, name);
  await fsMkdir(path, mode & 0o7777);
  w.qid(qidOf(await lstat(path, { bigint: true })));
}

export async function symlink(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const d = s.fid(r.u32());
  const name = r.str();
  const target = r.str();
  r.u32(); // gid
  s.share.writable();
  if (target === '' || target.includes('\0') || Buffer.byteLength(target) >= PATH_MAX) throw new ShareError(E.EINVAL, 'invalid symlink target');
  const path = await s.share.child(d.comps, name);
  // The target is stored as text; the server never follows links out of the share.
  await fsSymlink(target, path);
  w.qid(qidOf(await lstat(path, { bigint: true })));
}

export async function mknod(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const d = s.fid(r.u32());
  const name = r.str();
  const mode = r.u32();
  r.u32(); // major
  r.u32(); // minor
  r.u32(); // gid
  s.share.writable();
  const fmt = mode & S_IFMT;
  if (fmt === S_IFCHR || fmt === S_IFBLK) throw new ShareError(E.EPERM, 'device nodes are not created in a share');
  if (fmt !== S_IFREG && fmt !== 0) throw new ShareError(E.EOPNOTSUPP, 'FIFOs and sockets cannot be created');
  const path = await s.share.child(d.comps, name);
  const fh = await s.share.openAt(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, mode & 0o7777);
  await fh.close();
  w.qid(qidOf(await lstat(path, { bigint: true })));
}

export async function link(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const d = s.fid(r.u32());
  const f = s.fid(r.u32());
  const name = r.str();
  s.share.writable();
  const src = await s.share.entry(f.comps);
  const dst = await s.share.child(d.comps, name);
  await fsLink(src, dst);
}

export async function readlinkOp(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  w.str(await readlink(await s.share.entry(f.comps)));
}

export async function rename(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  const d = s.fid(r.u32());
  const name = r.str();
  s.share.writable();
  if (f.comps.length === 0) throw new ShareError(E.EBUSY, 'rename of the share root');
  const src = await s.share.entry(f.comps);
  const dst = await s.share.child(d.comps, name);
  await fsRename(src, dst);
  s.moved(f.comps, [...d.comps, name]);
}

export async function renameat(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const od = s.fid(r.u32());
  const oldname = r.str();
  const nd = s.fid(r.u32());
  const newname = r.str();
  s.share.writable();
  const src = await s.share.child(od.comps, oldname);
  const dst = await s.share.child(nd.comps, newname);
  await fsRename(src, dst);
  s.moved([...od.comps, oldname], [...nd.comps, newname]);
}

export async function unlinkat(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const d = s.fid(r.u32());
  const name = r.str();
  const flags = r.u32();
  s.share.writable();
  const path = await s.share.child(d.comps, name);
  await (flags & P.AT_REMOVEDIR ? rmdir(path) : unlink(path));
}

export async function remove(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const n = r.u32();
  const f = s.fid(n);
  try {
    s.share.writable();
    if (f.comps.length === 0) throw new ShareError(E.EBUSY, 'remove of the share root');
    const path = await s.share.entry(f.comps);
    const st = await lstat(path, { bigint: true });
    await (isDir(st) ? rmdir(path) : unlink(path));
  } finally {
    // Tremove clunks the fid whether or not the removal succeeded.
    await s.clunk(n);
  }
}

export async function fsync(s: NinePServer, _w: Writer, r: Reader): Promise<void> {
  const f = s.fid(r.u32());
  const datasync = r.u32();
  if (f.file) await (datasync ? f.file.datasync() : f.file.sync());
}

/** Tlock: granted without a host lock (Node has no fcntl locks), as QEMU without locking. */
export async function lock(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  s.fid(r.u32());
  r.u8(); // type
  r.u32(); // flags
  r.u64(); // start
  r.u64(); // length
  r.u32(); // proc_id
  r.str(); // client_id
  w.u8(0); // P9_LOCK_SUCCESS
}

export async function getlock(s: NinePServer, w: Writer, r: Reader): Promise<void> {
  s.fid(r.u32());
  r.u8();
  const start = r.u64();
  const length = r.u64();
  const procId = r.u32();
  const client = r.str();
  w.u8(2).u64(start).u64(length).u32(procId).str(client); // F_UNLCK: no conflicting lock
}
