/**
 * Host file attributes → 9P2000.L values: qids, Rgetattr records, directory-entry types
 * (9P2000.L Tgetattr/Rgetattr; Linux struct p9_stat_dotl). Pure conversions.
 *
 * A qid's path combines the inode and device numbers so that files on different host
 * file systems under the share stay distinct; its version is the low 32 bits of the
 * modification time in microseconds for regular files (caches notice rewrites), 0 for
 * everything else.
 */
import type { BigIntStats } from 'node:fs';
import { P9_GETATTR_BASIC, QTDIR, QTFILE, QTSYMLINK, type Qid, type Writer } from './protocol.js';

const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;
const S_IFLNK = 0o120000n;
const S_IFREG = 0o100000n;
const S_IFIFO = 0o010000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;
const S_IFSOCK = 0o140000n;

export function qidOf(st: BigIntStats): Qid {
  const fmt = st.mode & S_IFMT;
  const type = fmt === S_IFDIR ? QTDIR : fmt === S_IFLNK ? QTSYMLINK : QTFILE;
  const path = BigInt.asUintN(64, st.ino ^ (st.dev << 48n));
  const version = fmt === S_IFREG ? Number((st.mtimeNs / 1000n) & 0xffffffffn) : 0;
  return { type, version, path };
}

/** Linux dirent d_type of a mode. */
export function direntType(st: BigIntStats): number {
  switch (st.mode & S_IFMT) {
    case S_IFDIR:
      return 4;
    case S_IFREG:
      return 8;
    case S_IFLNK:
      return 10;
    case S_IFIFO:
      return 1;
    case S_IFCHR:
      return 2;
    case S_IFBLK:
      return 6;
    case S_IFSOCK:
      return 12;
    default:
      return 0;
  }
}

export function isDir(st: BigIntStats): boolean {
  return (st.mode & S_IFMT) === S_IFDIR;
}

export function isSymlink(st: BigIntStats): boolean {
  return (st.mode & S_IFMT) === S_IFLNK;
}

export function isRegular(st: BigIntStats): boolean {
  return (st.mode & S_IFMT) === S_IFREG;
}

/** Writes the body of Rgetattr for `st`. */
export function writeGetattr(w: Writer, st: BigIntStats): void {
  const ns = (t: bigint) => [t / 1_000_000_000n, t % 1_000_000_000n] as const;
  w.u64(P9_GETATTR_BASIC);
  w.qid(qidOf(st));
  w.u32(Number(st.mode & 0xffffffffn));
  w.u32(Number(st.uid));
  w.u32(Number(st.gid));
  w.u64(st.nlink);
  w.u64(st.rdev);
  w.u64(st.size);
  w.u64(st.blksize);
  w.u64(st.blocks);
  for (const t of [st.atimeNs, st.mtimeNs, st.ctimeNs, st.birthtimeNs]) {
    const [s, n] = ns(t);
    w.u64(s).u64(n);
  }
  w.u64(0); // gen
  w.u64(0); // data_version
}
