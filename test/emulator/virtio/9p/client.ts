/**
 * A minimal 9P2000.L client for tests: encodes T-messages, hands them to a NinePServer
 * and decodes the replies. Rlerror becomes a thrown P9Error carrying the errno.
 */
import * as P from '../../../../src/emulator/virtio/9p/protocol.js';
import { Reader, Writer } from '../../../../src/emulator/virtio/9p/protocol.js';
import type { NinePServer } from '../../../../src/emulator/virtio/9p/server.js';

export class P9Error extends Error {
  constructor(readonly errno: number) {
    super(`Rlerror ${errno}`);
  }
}

export interface Attr {
  qid: P.Qid;
  mode: number;
  uid: number;
  size: number;
  mtimeSec: number;
  nlink: number;
}

export class Client {
  private tag = 1;
  constructor(
    readonly server: NinePServer,
    readonly room = 1 << 20,
  ) {}

  /** Sends raw bytes and returns the raw reply. */
  async raw(msg: Uint8Array, room = this.room): Promise<Uint8Array> {
    return Uint8Array.from(await this.server.handle(msg, room));
  }

  private async rpc(type: number, body: (w: Writer) => void): Promise<Reader> {
    const w = new Writer().reset(type, this.tag++ & 0xfffe);
    body(w);
    const reply = await this.raw(Uint8Array.from(w.finish()));
    const r = new Reader(reply);
    r.u32();
    const rtype = r.u8();
    r.u16();
    if (rtype === P.P9_RLERROR) throw new P9Error(r.u32());
    if (rtype !== type + 1) throw new Error(`reply type ${rtype} to ${type}`);
    return r;
  }

  async version(msize = 65536, version = '9P2000.L'): Promise<{ msize: number; version: string }> {
    const r = await this.rpc(P.P9_TVERSION, (w) => w.u32(msize).str(version));
    return { msize: r.u32(), version: r.str() };
  }
  async attach(fid: number): Promise<P.Qid> {
    const r = await this.rpc(P.P9_TATTACH, (w) => w.u32(fid).u32(P.P9_NOFID).str('root').str('').u32(0));
    return qid(r);
  }
  async walk(fid: number, newfid: number, names: string[]): Promise<P.Qid[]> {
    const r = await this.rpc(P.P9_TWALK, (w) => {
      w.u32(fid).u32(newfid).u16(names.length);
      for (const n of names) w.str(n);
    });
    const n = r.u16();
    return Array.from({ length: n }, () => qid(r));
  }
  async lopen(fid: number, flags: number): Promise<P.Qid> {
    const r = await this.rpc(P.P9_TLOPEN, (w) => w.u32(fid).u32(flags));
    return qid(r);
  }
  async lcreate(fid: number, name: string, flags: number, mode = 0o644): Promise<P.Qid> {
    const r = await this.rpc(P.P9_TLCREATE, (w) => w.u32(fid).str(name).u32(flags).u32(mode).u32(0));
    return qid(r);
  }
  async read(fid: number, offset: number, count: number): Promise<Buffer> {
    const r = await this.rpc(P.P9_TREAD, (w) => w.u32(fid).u64(offset).u32(count));
    return Buffer.from(r.bytes(r.u32()));
  }
  async write(fid: number, offset: number, data: Uint8Array): Promise<number> {
    const r = await this.rpc(P.P9_TWRITE, (w) => w.u32(fid).u64(offset).u32(data.length).bytes(data));
    return r.u32();
  }
  async clunk(fid: number): Promise<void> {
    await this.rpc(P.P9_TCLUNK, (w) => w.u32(fid));
  }
  async remove(fid: number): Promise<void> {
    await this.rpc(P.P9_TREMOVE, (w) => w.u32(fid));
  }
  async readdir(fid: number, offset: number, count: number): Promise<Array<{ name: string; offset: number; type: number; qid: P.Qid }>> {
    const r = await this.rpc(P.P9_TREADDIR, (w) => w.u32(fid).u64(offset).u32(count));
    const end = r.u32() + r.offset;
    const out = [];
    while (r.offset < end) {
      const q = qid(r);
      const off = Number(r.u64());
      const type = r.u8();
      out.push({ qid: q, offset: off, type, name: r.str() });
    }
    return out;
  }
  async readdirAll(fid: number, count = 4096): Promise<string[]> {
    const names: string[] = [];
    let off = 0;
    for (;;) {
      const e = await this.readdir(fid, off, count);
      if (e.length === 0) return names;
      names.push(...e.map((x) => x.name));
      off = e[e.length - 1]!.offset;
    }
  }
  async getattr(fid: number): Promise<Attr> {
    const r = await this.rpc(P.P9_TGETATTR, (w) => w.u32(fid).u64(P.P9_GETATTR_BASIC));
    r.u64();
    const q = qid(r);
    const mode = r.u32();
    const uid = r.u32();
    r.u32();
    const nlink = Number(r.u64());
    r.u64();
    const size = Number(r.u64());
    r.u64();
    r.u64();
    r.u64();
    r.u64();
    const mtimeSec = Number(r.u64());
    return { qid: q, mode, uid, size, mtimeSec, nlink };
  }
  async setattr(fid: number, a: { valid: number; mode?: number; uid?: number; gid?: number; size?: number; atime?: number; mtime?: number }): Promise<void> {
    await this.rpc(P.P9_TSETATTR, (w) =>
      w
        .u32(fid)
        .u32(a.valid)
        .u32(a.mode ?? 0)
        .u32(a.uid ?? 0)
        .u32(a.gid ?? 0)
        .u64(a.size ?? 0)
        .u64(a.atime ?? 0)
        .u64(0)
        .u64(a.mtime ?? 0)
        .u64(0),
    );
  }
  async mkdir(dfid: number, name: string, mode = 0o755): Promise<P.Qid> {
    return qid(await this.rpc(P.P9_TMKDIR, (w) => w.u32(dfid).str(name).u32(mode).u32(0)));
  }
  async symlink(dfid: number, name: string, target: string): Promise<P.Qid> {
    return qid(await this.rpc(P.P9_TSYMLINK, (w) => w.u32(dfid).str(name).str(target).u32(0)));
  }
  async mknod(dfid: number, name: string, mode: number): Promise<P.Qid> {
    return qid(await this.rpc(P.P9_TMKNOD, (w) => w.u32(dfid).str(name).u32(mode).u32(1).u32(3).u32(0)));
  }
  async link(dfid: number, fid: number, name: string): Promise<void> {
    await this.rpc(P.P9_TLINK, (w) => w.u32(dfid).u32(fid).str(name));
  }
  async readlink(fid: number): Promise<string> {
    return (await this.rpc(P.P9_TREADLINK, (w) => w.u32(fid))).str();
  }
  async rename(fid: number, dfid: number, name: string): Promise<void> {
    await this.rpc(P.P9_TRENAME, (w) => w.u32(fid).u32(dfid).str(name));
  }
  async renameat(od: number, oldname: string, nd: number, newname: string): Promise<void> {
    await this.rpc(P.P9_TRENAMEAT, (w) => w.u32(od).str(oldname).u32(nd).str(newname));
  }
  async unlinkat(dfid: number, name: string, flags = 0): Promise<void> {
    await this.rpc(P.P9_TUNLINKAT, (w) => w.u32(dfid).str(name).u32(flags));
  }
  async fsync(fid: number): Promise<void> {
    await this.rpc(P.P9_TFSYNC, (w) => w.u32(fid).u32(0));
  }
  async statfs(fid: number): Promise<{ bsize: number; blocks: bigint; namelen: number }> {
    const r = await this.rpc(P.P9_TSTATFS, (w) => w.u32(fid));
    r.u32();
    const bsize = r.u32();
    const blocks = r.u64();
    r.u64();
    r.u64();
    r.u64();
    r.u64();
    r.u64();
    return { bsize, blocks, namelen: r.u32() };
  }
  async lock(fid: number): Promise<number> {
    return (await this.rpc(P.P9_TLOCK, (w) => w.u32(fid).u8(1).u32(0).u64(0).u64(0).u32(42).str('guest'))).u8();
  }
  async flush(oldtag: number): Promise<void> {
    await this.rpc(P.P9_TFLUSH, (w) => w.u16(oldtag));
  }
  async xattrwalk(fid: number, newfid: number, name: string): Promise<void> {
    await this.rpc(P.P9_TXATTRWALK, (w) => w.u32(fid).u32(newfid).str(name));
  }
}

function qid(r: Reader): P.Qid {
  return { type: r.u8(), version: r.u32(), path: r.u64() };
}
