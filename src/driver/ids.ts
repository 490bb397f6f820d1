/**
 * Domain id allocation: ids are assigned at start, increase monotonically per state root
 * (libvirt: per driver lifetime; here the counter survives restarts, so an id is never
 * reused while its domain could still be remembered), and wrap at 2^31-1.
 *
 * Called with the domain lock held; takes the `ids` leaf lock for the counter file.
 */

import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import type { LockSpace } from './lock.js';

const MAX_ID = 0x7fffffff;

export async function allocateId(path: string, locks: LockSpace, inUse: (id: number) => boolean): Promise<number> {
  const lock = await locks.acquire('ids', { purpose: 'allocate id', timeoutMs: 10_000 });
  try {
    let next = 1;
    try {
      const n = Number((await fsp.readFile(path, 'utf8')).trim());
      if (Number.isInteger(n) && n >= 1 && n <= MAX_ID) next = n;
    } catch {
      /* first start under this root, or a corrupt counter: start at 1 */
    }
    let id = next;
    for (let i = 0; inUse(id); i++) {
      if (i > 1_000_000) throw new Error('no free domain id');
      id = id >= MAX_ID ? 1 : id + 1;
    }
    await writeFileAtomic(path, `${id >= MAX_ID ? 1 : id + 1}\n`);
    return id;
  } finally {
    await lock.release();
  }
}
