/**
 * Peer credentials (pid, uid, gid) of clients on tsvirtd's unix sockets, found without a
 * native addon.
 *
 * Node has no getsockopt(SO_PEERCRED). The kernel's sock_diag interface does expose, for
 * each unix socket, its peer's socket inode (UNIX_DIAG_PEER); `ss -xpn` (iproute2) reads it
 * and maps socket inodes to the processes holding them. So: our accepted socket's inode
 * (from /proc/self/fd/<fd>) → its peer inode (ss) → the process holding the peer (ss -p)
 * → that process's effective uid/gid (/proc/<pid>/status). Lookups that arrive together
 * share one `ss` run (a few milliseconds), so 200 clients connecting at once cost a handful
 * of runs, not 200.
 *
 * Limits, reported as a null result with a reason rather than guessed: a client that exited
 * right after connecting (its socket passed to another process still resolves), a client in
 * another network namespace, `ss` missing, or (for a non-root daemon) a client process of
 * another user. The uid is the client's *current* effective uid, where SO_PEERCRED would
 * give the one at connect(); for the access check made at accept time they coincide.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export type PeerCredResult = { ok: true; creds: PeerCredentials } | { ok: false; reason: string };

interface SsEntry {
  peer: number;
  pid: number | null;
}

const LINE = /^(\S+)\s+(\S+)\s+\d+\s+\d+\s+(.*?)\s+(\d+)\s+(.*?)\s+(\d+)(?:\s+(users:.*))?$/;
const PID = /pid=(\d+)/;

/** Parses `ss -x -p -n -H` output into inode → {peer inode, first holder pid}. */
export function parseSsUnix(text: string): Map<number, SsEntry> {
  const out = new Map<number, SsEntry>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const pidMatch = m[7] ? PID.exec(m[7]) : null;
    out.set(Number(m[4]), { peer: Number(m[6]), pid: pidMatch ? Number(pidMatch[1]) : null });
  }
  return out;
}

/** Effective uid and gid from /proc/<pid>/status. */
async function procCreds(pid: number): Promise<PeerCredentials | null> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status);
  if (!uid || !gid) return null;
  return { pid, uid: Number(uid[1]), gid: Number(gid[1]) };
}

/** The inode of a connected socket's file descriptor, or null. */
async function socketInode(socket: Socket): Promise<number | null> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    const link = await readlink(`/proc/self/fd/${fd}`);
    const m = /^socket:\[(\d+)\]$/.exec(link);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface Pending {
  inode: number;
  resolve: (r: PeerCredResult) => void;
}

export class PeerCredResolver {
  private pending: Pending[] = [];
  private running = false;

  constructor(private readonly ssPath = 'ss') {}

  async lookup(socket: Socket): Promise<PeerCredResult> {
    const inode = await socketInode(socket);
    if (inode === null) return { ok: false, reason: 'socket inode unavailable' };
    return new Promise((resolve) => {
      this.pending.push({ inode, resolve });
      if (!this.running) setImmediate(() => void this.batch());
    });
  }

  private async batch(): Promise<void> {
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const work = this.pending;
    this.pending = [];
    let table: Map<number, SsEntry> | null = null;
    let failure = '';
    try {
      table = parseSsUnix(await this.runSs());
    } catch (e) {
      failure = `ss failed: ${(e as Error).message}`;
    }
    for (const p of work) {
      if (!table) {
        p.resolve({ ok: false, reason: failure });
        continue;
      }
      const mine = table.get(p.inode);
      if (!mine) {
        p.resolve({ ok: false, reason: `socket ${p.inode} not listed by sock_diag` });
        continue;
      }
      const peer = table.get(mine.peer);
      if (!peer || peer.pid === null) {
        p.resolve({ ok: false, reason: `no process holds peer socket ${mine.peer}` });
        continue;
      }
      const creds = await procCreds(peer.pid);
      p.resolve(creds ? { ok: true, creds } : { ok: false, reason: `process ${peer.pid} vanished` });
    }
    this.running = false;
    if (this.pending.length > 0) void this.batch();
  }

  private runSs(): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.ssPath, ['-x', '-p', '-n', '-H'], { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 }, (err, stdout) => {
        if (err) reject(err);
        else resolve(stdout);
      });
    });
  }
}
