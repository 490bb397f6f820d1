/**
 * A streaming reader of tar archives (POSIX ustar, GNU long names, pax extended headers),
 * enough to read the data.tar that `dpkg-deb --fsys-tarfile` writes for a Debian package
 * without unpacking it to disk: a kernel package holds ~400 MB of modules, of which the
 * Linux guest needs a dozen files.
 *
 * For each member the caller's `select(entry)` decides whether its bytes are collected
 * (handed to `onData` in one Buffer) or skipped without being buffered. Members are
 * regular files, directories, symlinks and hard links; other types are reported with
 * their type flag and never collected. Header checksums are verified; a damaged or
 * truncated archive rejects with a TarError naming the offset.
 *
 * Not supported (rejected): sparse members ('S'), multi-volume archives ('M').
 */
import type { Readable } from 'node:stream';

export class TarError extends Error {}

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Member path as stored, with a leading `./` removed (`boot/vmlinuz-...`). */
  path: string;
  type: TarEntryType;
  /** Raw type flag character. */
  flag: string;
  size: number;
  /** Archive offset of the member's first data byte (for random access to a tar file). */
  dataOffset: number;
  mode: number;
  linkname: string;
}

const BLOCK = 512;

/** Bytes arriving in chunks; taken off the front exactly, skipped without copying. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }

  /** Discards up to n bytes, returns how many were discarded. */
  skip(n: number): number {
    let done = 0;
    while (done < n && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - done);
      done += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= done;
    return done;
  }
}

function cstr(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(b: Buffer, start: number, len: number, what: string, at: number): number {
  const field = b.subarray(start, start + len);
  if ((field[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement in the remaining bytes.
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + field[i]!;
    if (!Number.isSafeInteger(v)) throw new TarError(`${what} at offset ${at} is too large`);
    return v;
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`bad ${what} field '${s}' in the header at offset ${at}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const stored = h.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  return /^[0-7]+$/.test(stored) && parseInt(stored, 8) === sum;
}

/** Parses pax records `LEN key=value\n`. */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(data.subarray(off, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= sp - off || off + len > data.length) throw new TarError('malformed pax extended header');
    const rec = data.subarray(sp + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

function normalise(p: string): string {
  return p.replace(/^\.\//, '').replace(/^\/+/, '');
}

/**
 * Reads a tar stream to its end. `select` sees every member; members it returns true for
 * are collected and passed to `onData`. Resolves after the end-of-archive blocks (or the
 * end of the stream after a complete member).
 */
export async function readTar(
  stream: Readable,
  select: (e: TarEntry) => boolean,
  onData: (e: TarEntry, data: Buffer) => void,
): Promise<void> {
  const q = new ByteQueue();
  let offset = 0; // archive offset of the next byte q will hand out
  type State =
    | { kind: 'header' }
    | { kind: 'data'; entry: TarEntry | undefined; meta: 'L' | 'K' | 'x' | 'g' | undefined; remaining: number; pad: number; keep: boolean }
    | { kind: 'end' };
  let state: State = { kind: 'header' };
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  let zeroBlocks = 0;

  const step = (): boolean => {
    if (state.kind === 'end') {
      offset += q.skip(q.length);
      return false;
    }
    if (state.kind === 'header') {
      if (q.length < BLOCK) return false;
      const at = offset;
      const h = q.take(BLOCK);
      offset += BLOCK;
      if (h.every((x) => x === 0)) {
        zeroBlocks++;
        if (zeroBlocks === 2) state = { kind: 'end' };
        return true;
      }
      zeroBlocks = 0;
      if (!checksumOk(h)) throw new TarError(`bad header checksum at offset ${at}`);
      const flag = String.fromCharCode(h[156]!);
      let size = octal(h, 124, 12, 'size', at);
      // POSIX ustar ("ustar\0") has a path prefix at 345; old GNU ("ustar  ") keeps times there.
      const posix = h.subarray(257, 263).toString('latin1') === 'ustar\0';
      let name = cstr(h, 0, 100);
      if (posix) {
        const prefix = cstr(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = cstr(h, 157, 100);
      if (flag === 'S' || flag === 'M') throw new TarError(`unsupported tar member type '${flag}' at offset ${at}`);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
        if (size > 1 << 20) throw new TarError(`oversized tar metadata member at offset ${at}`);
        state = { kind: 'data', entry: undefined, meta: flag, remaining: size, pad, keep: true };
        return true;
      }
      if (longName !== undefined) name = longName;
      if (longLink !== undefined) linkname = longLink;
      if (pax?.has('path')) name = pax.get('path')!;
      if (pax?.has('linkpath')) linkname = pax.get('linkpath')!;
      if (pax?.has('size')) {
        size = Number(pax.get('size'));
        if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`bad pax size at offset ${at}`);
      }
      longName = longLink = pax = undefined;
      const type = typeOf(flag);
      const entry: TarEntry = { path: normalise(name), type, flag, size: type === 'file' ? size : 0, dataOffset: offset, mode: octal(h, 100, 8, 'mode', at), linkname };
      // Only regular files carry data in the archive (hard links and others have size 0 or are ignored).
      const dataSize = type === 'file' || type === 'other' ? size : 0;
      const keep = select(entry) && type === 'file';
      state = { kind: 'data', entry, meta: undefined, remaining: dataSize, pad: (BLOCK - (dataSize % BLOCK)) % BLOCK, keep };
      return true;
    }
    // data
    const s = state;
    if (s.keep) {
      if (q.length < s.remaining) return false;
      const data = q.take(s.remaining);
      offset += s.remaining;
      s.remaining = 0;
      if (s.meta === 'L') longName = cstr(data, 0, data.length);
      else if (s.meta === 'K') longLink = cstr(data, 0, data.length);
      else if (s.meta === 'x') pax = parsePax(data);
      else if (s.meta === 'g') {
        /* global pax headers carry nothing we use */
      } else onData(s.entry!, data);
      s.keep = false;
    }
    if (s.remaining > 0) {
      const n = q.skip(s.remaining);
      offset += n;
      s.remaining -= n;
      if (s.remaining > 0) return false;
    }
    if (s.pad > 0) {
      const n = q.skip(s.pad);
      offset += n;
      s.pad -= n;
      if (s.pad > 0) return false;
    }
    state = { kind: 'header' };
    return true;
  };

  for await (const chunk of stream) {
    q.push(chunk as Buffer);
    while (step()) {
      /* consume */
    }
  }
  const last = state as State; // mutated by step(): TypeScript cannot see that
  if (last.kind === 'data' && (last.remaining > 0 || last.pad > 0)) {
    throw new TarError(`archive truncated inside a member at offset ${offset}`);
  }
  if (last.kind === 'header' && q.length > 0) throw new TarError(`archive truncated inside a header at offset ${offset}`);
}
