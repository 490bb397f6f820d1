/**
 * A 9P2000.L file server over one Share (bhyve pci_virtio_9p.c with lib9p; the 9P2000.L
 * protocol as Linux's v9fs client speaks it). Transport-free: handle() takes one
 * T-message and answers with the R-message bytes, so the virtio device and the tests feed
 * it the same way.
 *
 * Session: Tversion negotiates msize (≤ maxMsize) and only "9P2000.L" (anything else is
 * answered "unknown"); Tattach binds a fid to the share's root (no authentication: Tauth
 * → ENOENT, diod's "not required"); fids name paths as component lists below the root, updated when a rename
 * moves them. Walks never climb above the root ('..' at the root stays there) and the
 * share (share.ts) refuses every host path that resolves outside it.
 *
 * Limits (a hostile guest must not exhaust the host): at most MAX_FIDS fids and
 * MAX_OPEN open files per session, directory listings capped at MAX_DIR_ENTRIES, reads
 * capped by msize and by the reply room the guest supplied.
 *
 * Not supported, answered with Rlerror: extended attributes (EOPNOTSUPP), device nodes,
 * FIFOs and sockets from Tmknod (EPERM / EOPNOTSUPP: Node has no mknod), ownership given
 * at creation (files belong to tsbhyve's user). Locks are granted without being taken
 * (as QEMU without locking).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { constants as osc } from 'node:os';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import { OnceLogger } from '../../log.js';
import { direntType, isDir, qidOf } from './attrs.js';
import * as ops from './fsops.js';
import * as P from './protocol.js';
import { ProtocolError, Reader, Writer } from './protocol.js';
import { checkName, errnoOf, ShareError, type Share } from './share.js';

const E = osc.errno;

export const MAX_FIDS = 1 << 16;
export const MAX_OPEN = 1024;
export const MAX_DIR_ENTRIES = 1 << 18;
export const DEFAULT_MAX_MSIZE = 1 << 20;
/** msize before Tversion: enough for Tversion itself. */
const PRE_VERSION_MSIZE = 8192;

export interface DirEntry {
  name: string;
  st: BigIntStats;
}

export interface Fid {
  comps: string[];
  file?: FileHandle;
  /** An opened directory; the listing is taken when Treaddir starts at offset 0. */
  dir?: { entries?: DirEntry[] };
}

export class NinePServer {
  readonly fids = new Map<number, Fid>();
  msize = PRE_VERSION_MSIZE;
  private versioned = false;
  private openCount = 0;
  private readonly w = new Writer();
  readonly once: OnceLogger;

  constructor(
    readonly share: Share,
    private readonly maxMsize = DEFAULT_MAX_MSIZE,
    log: Logger,
  ) {
    this.once = new OnceLogger(log);
  }

  /**
   * Answers one T-message. `maxReply` is the room the transport has for the reply; the
   * returned view is valid until the next call.
   */
  async handle(msg: Uint8Array, maxReply: number): Promise<Uint8Array> {
    const r = new Reader(msg);
    let type: number;
    let tag: number;
    try {
      const size = r.u32();
      type = r.u8();
      tag = r.u16();
      if (size !== msg.length) throw new ProtocolError(`size field ${size} does not match the message length ${msg.length}`);
      if (size > this.msize && type !== P.P9_TVERSION) throw new ProtocolError(`message of ${size} bytes exceeds msize ${this.msize}`);
    } catch (e) {
      this.once.warn('header', `virtio-9p: malformed message: ${(e as Error).message}`);
      return this.error(P.P9_NOTAG, E.EINVAL);
    }
    const room = Math.min(maxReply, this.msize);
    try {
      if (type !== P.P9_TVERSION && !this.versioned) throw new ShareError(E.EINVAL, 'no Tversion yet');
      await this.dispatch(type, tag, r, room);
      const out = this.w.finish();
      if (out.length > room) return this.error(tag, E.EMSGSIZE);
      return out;
    } catch (e) {
      if (e instanceof ProtocolError) this.once.warn(`proto:${type}`, `virtio-9p: message type ${type}: ${e.message}`);
      return this.error(tag, e instanceof ProtocolError ? E.EINVAL : errnoOf(e));
    }
  }

  private error(tag: number, errno: number): Uint8Array {
    return this.w.reset(P.P9_RLERROR, tag).u32(errno).finish();
  }

  private reply(type: number, tag: number): Writer {
    return this.w.reset(type + 1, tag);
  }

  fid(n: number): Fid {
    const f = this.fids.get(n);
    if (!f) throw new ShareError(E.EBADF, `unknown fid ${n}`);
    return f;
  }

  private newFid(n: number, comps: string[]): Fid {
    if (n === P.P9_NOFID || this.fids.has(n)) throw new ShareError(E.EBADF, `fid ${n} is in use`);
    if (this.fids.size >= MAX_FIDS) throw new ShareError(E.EMFILE, 'too many fids');
    const f: Fid = { comps };
    this.fids.set(n, f);
    return f;
  }

  /** Counts an open file against MAX_OPEN. */
  reserveOpen(): void {
    if (this.openCount >= MAX_OPEN) throw new ShareError(E.EMFILE, 'too many open files');
    this.openCount++;
  }
  releaseOpen(): void {
    this.openCount--;
  }

  async clunk(n: number): Promise<void> {
    const f = this.fids.get(n);
    if (!f) return;
    this.fids.delete(n);
    if (f.file) {
      const fh = f.file;
      f.file = undefined;
      this.releaseOpen();
      await fh.close().catch(() => {});
    }
  }

  /** Drops every fid (Tversion, device reset). */
  async reset(): Promise<void> {
    await Promise.all([...this.fids.keys()].map((n) => this.clunk(n)));
    this.versioned = false;
    this.msize = PRE_VERSION_MSIZE;
  }

  /** Rewrites fids under `from` to live under `to` after a rename. */
  moved(from: readonly string[], to: readonly string[]): void {
    for (const f of this.fids.values()) {
      if (f.comps.length >= from.length && from.every((c, i) => f.comps[i] === c)) {
        f.comps = [...to, ...f.comps.slice(from.length)];
      }
    }
  }

  private async dispatch(type: number, tag: number, r: Reader, room: number): Promise<void> {
    switch (type) {
      case P.P9_TVERSION:
        return this.version(tag, r);
      case P.P9_TAUTH:
        // ENOENT is how 9P2000.L servers (diod) say "no authentication required".
        throw new ShareError(E.ENOENT, 'authentication is not required');
      case P.P9_TATTACH:
        return this.attach(tag, r);
      case P.P9_TFLUSH:
        // Requests are answered in order, so the one being flushed is already done.
        r.u16();
        this.reply(type, tag);
        return;
      case P.P9_TWALK:
        return this.walk(tag, r);
      case P.P9_TCLUNK: {
        const n = r.u32();
        this.fid(n);
        await this.clunk(n);
        this.reply(type, tag);
        return;
      }
      case P.P9_TREAD:
        return this.read(tag, r, room);
      case P.P9_TWRITE:
        return this.write(tag, r);
      case P.P9_TREADDIR:
        return this.readdir(tag, r, room);
      case P.P9_TLOPEN:
        return ops.lopen(this, this.reply(type, tag), r);
      case P.P9_TLCREATE:
        return ops.lcreate(this, this.reply(type, tag), r);
      case P.P9_TGETATTR:
        return ops.getattr(this, this.reply(type, tag), r);
      case P.P9_TSETATTR:
        return ops.setattr(this, this.reply(type, tag), r);
      case P.P9_TSTATFS:
        return ops.statfs(this, this.reply(type, tag), r);
      case P.P9_TMKDIR:
        return ops.mkdir(this, this.reply(type, tag), r);
      case P.P9_TSYMLINK:
        return ops.symlink(this, this.reply(type, tag), r);
      case P.P9_TMKNOD:
        return ops.mknod(this, this.reply(type, tag), r);
      case P.P9_TLINK:
        return ops.link(this, this.reply(type, tag), r);
      case P.P9_TREADLINK:
        return ops.readlinkOp(this, this.reply(type, tag), r);
      case P.P9_TRENAME:
        return ops.rename(this, this.reply(type, tag), r);
      case P.P9_TRENAMEAT:
        return ops.renameat(this, this.reply(type, tag), r);
      case P.P9_TUNLINKAT:
        return ops.unlinkat(this, this.reply(type, tag), r);
      case P.P9_TREMOVE:
        return ops.remove(this, this.reply(type, tag), r);
      case P.P9_TFSYNC:
        return ops.fsync(this, this.reply(type, tag), r);
      case P.P9_TLOCK:
        return ops.lock(this, this.reply(type, tag), r);
      case P.P9_TGETLOCK:
        return ops.getlock(this, this.reply(type, tag), r);
      case P.P9_TXATTRWALK:
      case P.P9_TXATTRCREATE:
        throw new ShareError(E.EOPNOTSUPP, 'extended attributes are not supported');
      default:
        throw new ShareError(E.EOPNOTSUPP, `message type ${type} is not part of 9P2000.L`);
    }
  }

  private async version(tag: number, r: Reader): Promise<void> {
    const msize = r.u32();
    const version = r.str();
    await this.reset();
    if (msize < 4096) throw new ShareError(E.EINVAL, `msize ${msize} is too small`);
    this.msize = Math.min(msize, this.maxMsize);
    const ok = version.startsWith('9P2000.L');
    this.versioned = ok;
    this.reply(P.P9_TVERSION, tag).u32(this.msize).str(ok ? '9P2000.L' : 'unknown');
  }

  private async attach(tag: number, r: Reader): Promise<void> {
    const fid = r.u32();
    r.u32(); // afid
    r.str(); // uname
    r.str(); // aname: one share per device, the name is not checked (as QEMU)
    r.u32(); // n_uname
    const st = await lstat(this.share.root, { bigint: true });
    this.newFid(fid, []);
    this.reply(P.P9_TATTACH, tag).qid(qidOf(st));
  }

  private async walk(tag: number, r: Reader): Promise<void> {
    const fidNo = r.u32();
    const fid = this.fid(fidNo);
    const newfid = r.u32();
    const n = r.u16();
    if (n > P.P9_MAXWELEM) throw new ShareError(E.EINVAL, `walk of ${n} names`);
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(r.str());
    if (newfid !== fidNo && this.fids.has(newfid)) throw new ShareError(E.EBADF, `fid ${newfid} is in use`);
    if (newfid === fidNo && n > 0 && (fid.file || fid.dir)) throw new ShareError(E.EBADF, 'walk of an open fid');
    let comps = [...fid.comps];
    const qids: P.Qid[] = [];
    for (const name of names) {
      try {
        let next: string[];
        if (name === '..') next = comps.slice(0, -1);
        else {
          checkName(name);
          const cur = await lstat(await this.share.dir(comps), { bigint: true });
          if (!isDir(cur)) throw new ShareError(E.ENOTDIR, 'walk through a non-directory');
          next = [...comps, name];
        }
        const st = await lstat(await this.share.entry(next), { bigint: true });
        qids.push(qidOf(st));
        comps = next;
      } catch (e) {
        // The first element failing is an error; a later one ends a partial walk.
        if (qids.length === 0) throw e;
        break;
      }
    }
    if (qids.length === names.length) {
      if (newfid === fidNo) fid.comps = comps;
      else this.newFid(newfid, comps);
    }
    const w = this.reply(P.P9_TWALK, tag).u16(qids.length);
    for (const q of qids) w.qid(q);
  }

  private async read(tag: number, r: Reader, room: number): Promise<void> {
    const fid = this.fid(r.u32());
    const offset = r.u64n();
    const count = Math.min(r.u32(), Math.max(0, room - P.P9_IOHDRSZ));
    if (fid.dir) throw new ShareError(E.EISDIR, 'read of a directory');
    if (!fid.file) throw new ShareError(E.EBADF, 'read of a fid that is not open');
    const w = this.reply(P.P9_TREAD, tag);
    const at = w.skip(4);
    const buf = Buffer.alloc(count);
    const { bytesRead } = count > 0 ? await fid.file.read(buf, 0, count, offset) : { bytesRead: 0 };
    w.patch32(at, bytesRead);
    w.bytes(buf.subarray(0, bytesRead));
  }

  private async write(tag: number, r: Reader): Promise<void> {
    const fid = this.fid(r.u32());
    const offset = r.u64n();
    const count = r.u32();
    const data = r.bytes(count);
    if (!fid.file) throw new ShareError(E.EBADF, 'write to a fid that is not open');
    this.share.writable();
    const { bytesWritten } = await fid.file.write(data, 0, count, offset);
    this.reply(P.P9_TWRITE, tag).u32(bytesWritten);
  }

  private async readdir(tag: number, r: Reader, room: number): Promise<void> {
    const fid = this.fid(r.u32());
    const offset = r.u64n();
    const count = Math.min(r.u32(), Math.max(0, room - P.P9_IOHDRSZ));
    if (!fid.dir) throw new ShareError(E.ENOTDIR, 'readdir of a fid that is not an open directory');
    if (offset === 0 || !fid.dir.entries) fid.dir.entries = await this.list(fid.comps);
    const entries = fid.dir.entries;
    const w = this.reply(P.P9_TREADDIR, tag);
    const at = w.skip(4);
    const start = w.length;
    for (let i = offset; i < entries.length; i++) {
      const e = entries[i]!;
      const size = P.QID_SIZE + 8 + 1 + 2 + Buffer.byteLength(e.name, 'utf8');
      if (w.length - start + size > count) break;
      w.qid(qidOf(e.st)).u64(i + 1).u8(direntType(e.st)).str(e.name);
    }
    w.patch32(at, w.length - start);
  }

  /** The listing of a directory: '.', '..' and its entries with their attributes. */
  private async list(comps: readonly string[]): Promise<DirEntry[]> {
    const dir = await this.share.dir(comps);
    const names = await readdir(dir);
    if (names.length > MAX_DIR_ENTRIES) this.once.warn('bigdir', `virtio-9p: listing only ${MAX_DIR_ENTRIES} entries of a larger directory`);
    const out: DirEntry[] = [{ name: '.', st: await lstat(dir, { bigint: true }) }];
    out.push({ name: '..', st: await lstat(await this.share.dir(comps.slice(0, -1)), { bigint: true }) });
    for (const name of names.slice(0, MAX_DIR_ENTRIES)) {
      try {
        out.push({ name, st: await lstat(`${dir === '/' ? '' : dir}/${name}`, { bigint: true }) });
      } catch {
        // Vanished meanwhile: skip it.
      }
    }
    return out;
  }
}
