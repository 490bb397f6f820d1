/**
 * The guest's virtio disk: an ext4 image made without root by `mke2fs -d` (e2fsprogs)
 * from a directory holding `tsvirt/challenge` — a random nonce the guest must read — and
 * read back afterwards with `debugfs -R cat` (no mount needed). The guest answers in
 * `tsvirt/answer` with the challenge's SHA-256, its kernel release and CPU count; the
 * test compares the hash with its own and runs `e2fsck -fn` to check that the guest
 * unmounted the filesystem cleanly (its writes reached the disk).
 *
 * ext4 because Debian's kernel has it as a module in the same package (with jbd2,
 * mbcache, crc16 and crc32c); the filesystem features are those of the host's
 * mke2fs.conf, which the 6.1 kernel mounts (e2fsprogs 1.47 defaults).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetError, AssetMissing } from './debian-package.js';

/** e2fsprogs lives in /sbin, which is not on a user's PATH on Debian. */
export function e2fsTool(name: 'mke2fs' | 'debugfs' | 'e2fsck'): string {
  for (const p of [`/usr/sbin/${name}`, `/sbin/${name}`]) if (existsSync(p)) return p;
  const w = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (w.status === 0 && w.stdout.trim()) return w.stdout.trim();
  throw new AssetMissing(`${name} not found (apt-get install e2fsprogs)`);
}

export interface GuestDisk {
  image: string;
  challenge: string;
  /** SHA-256 of the challenge file, as the guest must report it. */
  sha256: string;
  /** First byte of the hash: the ping payload pattern the guest uses. */
  pattern: number;
}

export function makeDisk(image: string, sizeMiB = 32): GuestDisk {
  const src = mkdtempSync(join(tmpdir(), 'tsvirt-disk-'));
  try {
    const challenge = `tsvirt-challenge ${randomBytes(16).toString('hex')}\n`;
    mkdirSync(join(src, 'tsvirt'));
    writeFileSync(join(src, 'tsvirt', 'challenge'), challenge);
    const r = spawnSync(e2fsTool('mke2fs'), ['-q', '-F', '-t', 'ext4', '-L', 'tsvirt', '-E', 'root_owner=0:0', '-d', src, image, `${sizeMiB}M`], { encoding: 'utf8' });
    if (r.status !== 0) throw new AssetError(`mke2fs failed: ${r.stderr.trim()}`);
    const sha256 = createHash('sha256').update(challenge).digest('hex');
    return { image, challenge, sha256, pattern: parseInt(sha256.slice(0, 2), 16) };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** A file's bytes from the image, or undefined when it does not exist. */
export function readDiskFile(image: string, path: string): Buffer | undefined {
  const r = spawnSync(e2fsTool('debugfs'), ['-R', `cat ${path}`, image], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new AssetError(`debugfs failed on ${image}: ${r.stderr.toString().trim()}`);
  if (/File not found/.test(r.stderr.toString())) return undefined;
  return r.stdout;
}

export interface DiskAnswer {
  sha256?: string;
  release?: string;
  cpus?: number;
}

export function readAnswer(image: string): DiskAnswer | undefined {
  const b = readDiskFile(image, '/tsvirt/answer');
  if (!b) return undefined;
  const kv = new Map(b.toString('utf8').split('\n').map((l) => l.split('=', 2) as [string, string]));
  const cpus = kv.get('cpus');
  return { sha256: kv.get('sha256'), release: kv.get('release'), cpus: cpus === undefined ? undefined : Number(cpus) };
}

/** `e2fsck -fn`: exit 0 and no complaints means the guest left the filesystem clean. */
export function checkFilesystem(image: string): { clean: boolean; output: string } {
  const r = spawnSync(e2fsTool('e2fsck'), ['-fn', image], { encoding: 'utf8' });
  return { clean: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}
