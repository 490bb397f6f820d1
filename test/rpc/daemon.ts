/**
 * Spawns the real `tsvirtd` entry point (src/cli/tsvirtd.ts, run through vite-node so that no
 * build step is needed) on temporary socket and state directories, and stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
const VITE_NODE = join(REPO, 'node_modules', '.bin', 'vite-node');

export interface Daemon {
  dir: string;
  socketDir: string;
  stateDir: string;
  rwPath: string;
  roPath: string;
  uri: string;
  roUri: string;
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function runTsvirtd(args: string[], dir?: string): ChildProcess {
  return spawn(VITE_NODE, [join(REPO, 'src', 'cli', 'tsvirtd.ts'), '--', ...args], {
    cwd: dir ?? REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function startDaemon(extra: string[] = []): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirtd-'));
  chmodSync(dir, 0o755);
  const socketDir = join(dir, 'run');
  const stateDir = join(dir, 'state');
  const proc = runTsvirtd(['--foreground', '--driver', 'test', '--socket-dir', socketDir, '--state-dir', stateDir, '--log-level', 'debug', ...extra]);
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  proc.stdout?.resume();
  await new Promise<void>((resolveReady, reject) => {
    const t = setTimeout(() => reject(new Error(`tsvirtd did not become ready:\n${err}`)), 20_000);
    const check = () => {
      if (err.includes('"msg":"ready"')) {
        clearTimeout(t);
        resolveReady();
      }
    };
    proc.stderr?.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`tsvirtd exited with ${code}:\n${err}`));
    });
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const rwPath = join(socketDir, 'tsvirt-sock');
  const roPath = join(socketDir, 'tsvirt-sock-ro');
  return {
    dir,
    socketDir,
    stateDir,
    rwPath,
    roPath,
    uri: `bhyve+unix:///system?socket=${rwPath}`,
    roUri: `bhyve+unix:///system?socket=${roPath}`,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
