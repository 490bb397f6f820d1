/**
 * The shared host directory of a virtio-9p device, and the one place that turns guest
 * path components into host paths (bhyve's lib9p fs backend runs under Capsicum; Node has
 * no openat/RESOLVE_BENEATH, so containment is enforced here by resolution and checks).
 *
 * Invariant: no host path leaves this module unless it lies inside the share's real root.
 * - Names are validated (non-empty, ≤ 255 bytes, no '/', no NUL, not '.' or '..'); the
 *   server handles '..' itself by dropping a component, never above the root.
 * - A directory path is resolved with realpath(3) — so symlinks anywhere in it, planted
 *   by the guest or not, are followed on the host's side — and refused (EACCES, logged
 *   once) unless the result is the root or below it.
 * - An entry path is its resolved, contained parent plus the validated last name; callers
 *   use lstat-style operations on it (the last component is never followed), and opens
 *   add O_NOFOLLOW, then confirm through /proc/self/fd that the descriptor they got is
 *   inside the root.
 * The server processes one request at a time, so a guest cannot swap a component for a
 * symlink between a check and its use; only host-side processes could, and they already
 * have the host's access.
 */
import { constants as fsc } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { constants as osc } from 'node:os';
import type { Logger } from '../../log.js';
import { OnceLogger } from '../../log.js';

const E = osc.errno;

/** An error for the guest: a Linux errno value and a message for the host log. */
export class ShareError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'ShareError';
  }
}

/** The errno a failed host call maps to (Node puts −errno in `errno` on Linux). */
export function errnoOf(e: unknown): number {
  if (e instanceof ShareError) return e.errno;
  const n = (e as { errno?: unknown }).errno;
  if (typeof n === 'number' && n !== 0) return Math.abs(n);
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code in E) return E[code as keyof typeof E];
  return E.EIO;
}

export const NAME_MAX = 255;

/** Validates one directory-entry name from the guest. */
export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new ShareError(E.EINVAL, `invalid name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX) throw new ShareError(E.ENAMETOOLONG, 'name too long');
}

export class Share {
  private readonly once: OnceLogger;

  private constructor(
    /** Real (symlink-free) path of the shared directory. */
    readonly root: string,
    readonly readOnly: boolean,
    log: Logger,
  ) {
    this.once = new OnceLogger(log);
  }

  static async open(path: string, readOnly: boolean, log: Logger): Promise<Share> {
    const root = await realpath(path);
    if (!(await stat(root)).isDirectory()) throw new ShareError(E.ENOTDIR, `${path} is not a directory`);
    return new Share(root, readOnly, log);
  }

  private within(real: string): boolean {
    return real === this.root || real.startsWith(this.root === '/' ? '/' : `${this.root}/`);
  }

  private escape(what: string): never {
    this.once.warn(`escape:${what}`, `virtio-9p: refused access outside the share (${what})`);
    throw new ShareError(E.EACCES, `outside the share: ${what}`);
  }

  /** Host path of the directory named by `comps`, resolved and inside the root. */
  async dir(comps: readonly string[]): Promise<string> {
    if (comps.length === 0) return this.root;
    for (const c of comps) checkName(c);
    const real = await realpath(`${this.root}/${comps.join('/')}`);
    if (!this.within(real)) this.escape(`/${comps.join('/')}`);
    return real;
  }

  /** Host path of the entry named by `comps`: contained parent + last name (not followed). */
  async entry(comps: readonly string[]): Promise<string> {
    if (comps.length === 0) return this.root;
    const last = comps[comps.length - 1]!;
    checkName(last);
    const parent = await this.dir(comps.slice(0, -1));
    return parent === '/' ? `/${last}` : `${parent}/${last}`;
  }

  /** Host path for `name` inside the directory `dirComps`. */
  async child(dirComps: readonly string[], name: string): Promise<string> {
    checkName(name);
    const d = await this.dir(dirComps);
    return d === '/' ? `/${name}` : `${d}/${name}`;
  }

  /** Opens an entry without following a final symlink and checks where the fd really is. */
  async openAt(hostPath: string, flags: number, mode?: number): Promise<FileHandle> {
    // libuv opens every descriptor close-on-exec.
    const fh = await open(hostPath, flags | fsc.O_NOFOLLOW, mode);
    try {
      let real: string | undefined;
      try {
        real = await readlink(`/proc/self/fd/${fh.fd}`);
      } catch {
        real = undefined; // no /proc: the resolution above already holds
      }
      if (real !== undefined && !real.endsWith(' (deleted)') && !this.within(real)) this.escape(hostPath);
      return fh;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Throws EROFS for a modification of a read-only share. */
  writable(): void {
    if (this.readOnly) throw new ShareError(E.EROFS, 'the share is read-only');
  }
}
