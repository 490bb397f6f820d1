/**
 * End to end with python3-libvirt (Debian's, through /usr/bin/python3) against a `tsvirtd`
 * process serving the TEST driver, including a lifecycle event callback delivered through
 * libvirt's default event loop.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from './daemon.js';

const PY = '/usr/bin/python3';
function hasPythonLibvirt(): boolean {
  return existsSync(PY) && spawnSync(PY, ['-c', 'import libvirt']).status === 0;
}

const available = hasPythonLibvirt();
let d: Daemon;

describe.skipIf(!available)('python3-libvirt against tsvirtd', () => {
  beforeAll(async () => {
    d = await startDaemon();
  }, 60_000);
  afterAll(async () => {
    if (d) expect(await d.stop()).toBe(0);
  });

  it('runs a whole lifecycle with an event callback', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'libvirt_lifecycle.py');
    const { out, err } = await new Promise<{ out: string; err: string }>((resolve, reject) => {
      execFile(PY, [script, d.uri, d.roUri], { timeout: 30_000 }, (e, stdout, stderr) => {
        if (e) reject(new Error(`${e.message}\n${stderr}`));
        else resolve({ out: stdout, err: stderr });
      });
    });
    const r = JSON.parse(out) as Record<string, unknown>;
    expect(r.defined).toEqual(['py1', '11111111-2222-3333-4444-555555555555', -1, 0, 1]);
    expect(r.state_defined).toEqual([5, 0]);
    expect(r.started).toEqual([1, 1, [1, 1]]);
    expect((r.info as number[]).slice(0, 4)).toEqual([1, 131072, 131072, 3]);
    expect(r.by_id).toBe('py1');
    expect(r.by_uuid).toBe('py1');
    expect(r.os_type).toBe('hvm');
    expect(r.max_memory).toBe(131072);
    expect(r.xml_has_id).toBe(true);
    expect(r.paused).toEqual([3, 1]);
    expect(r.resumed).toEqual([1, 5]);
    expect(r.autostart).toBe(1);
    expect(r.list_all).toEqual(['py1']);
    expect(r.list_ids).toEqual([1]);
    expect(r.after_shutdown).toEqual([5, 1]);
    expect(r.after_destroy).toEqual([5, 2]);
    expect(r.transient).toEqual(['py2', 0, 1]);
    expect(r.transient_gone).toBe(true);
    expect(r.destroy_inactive).toEqual([55, "Requested operation is not valid: domain 'py1' is not running"]);
    expect(r.host).toEqual(['TEST', 1000, 9000000, 'x86_64', 1, 1]);
    expect(r.caps).toBe(true);
    expect(r.ro_list).toEqual(['py1']);
    expect(r.ro_create).toEqual([29, 'operation forbidden: read only access prevents virDomainCreate']);
    expect(r.remaining).toEqual([]);
    // defined, started, suspended, resumed, stopped(shutdown), started, stopped(destroyed),
    // then the transient py2 started and stopped, then undefined.
    expect(r.events).toEqual([
      ['py1', 0, 0],
      ['py1', 2, 0],
      ['py1', 3, 0],
      ['py1', 4, 0],
      ['py1', 5, 0],
      ['py1', 2, 0],
      ['py1', 5, 1],
      ['py2', 2, 0],
      ['py2', 5, 1],
      ['py1', 1, 0],
    ]);
    expect(err).toBe('');
    expect(d.stderr().split('\n').filter((l) => l.includes('"unimplemented procedure"'))).toEqual([]);
  });
});
