/**
 * Test cleanup: kill every process that belongs to a state root (VM supervisors, VM
 * stand-ins, tsvirsh processes — found by the root path in their command line), wait
 * until they are gone, then remove the root.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { sleep } from './wait.js';

export function processesOf(root: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(root))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((p) => p !== process.pid && Number.isInteger(p) && p > 0);
}

export async function removeRoot(root: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pids = processesOf(root);
    if (pids.length === 0) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(20);
  }
  rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
}
