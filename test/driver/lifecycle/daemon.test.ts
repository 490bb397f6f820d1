/**
 * The bhyve driver behind the daemon's RPC server: `BhyveDriver` is a `DriverApi` (checked
 * by the compiler below), and Debian's real virsh drives its whole lifecycle through
 * libvirt's remote protocol — define, start, list, dominfo, domstate --reason, suspend,
 * resume, destroy, undefine, event — with the VM stand-in (test scaffolding) as VM program.
 * tsvirsh's own remote mode (RemoteDriver) is checked against the same server.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BhyveDriver } from '../../../src/driver/driver.js';
import { bhyveTranslator } from '../../../src/driver/translator.js';
import type { DriverApi } from '../../../src/rpc/driver-api.js';
import { RpcServer } from '../../../src/rpc/server/server.js';
import { buildLifecycle, standInPath, supervisorEntry, tsvirshStandInPath } from './helpers/build.js';
import { standInDomain } from './helpers/stand-in-domain.js';
import { removeRoot } from './helpers/cleanup.js';
import { run, start } from '../../cli/helpers/run.js';
import { sleep, waitFor } from './helpers/wait.js';

const VIRSH = existsSync('/usr/bin/virsh') ? '/usr/bin/virsh' : undefined;
let dir: string;
let drv: BhyveDriver;
let server: RpcServer;
let uri: string;

beforeAll(async () => {
  await buildLifecycle();
  dir = mkdtempSync(join(tmpdir(), 'tsvirt-daemon-'));
  const root = join(dir, 'state');
  drv = await BhyveDriver.open({
    root,
    uri: 'bhyve:///system',
    emulator: [process.execPath, standInPath()],
    supervisorEntry: supervisorEntry(),
    translator: bhyveTranslator({ root }),
    autostart: false,
  });
  // The compiler checks here that the driver satisfies the daemon's interface.
  const api: DriverApi = drv;
  server = await RpcServer.start({ driver: api, socketDir: join(dir, 'sock'), peerCred: null });
  uri = `bhyve+unix:///system?socket=${join(dir, 'sock', 'tsvirt-sock')}`;
  writeFileSync(join(dir, 'vm.xml'), standInDomain('viavirsh', '44444444-4444-4444-8444-444444444444'));
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await drv?.close();
  await removeRoot(dir);
});

function virsh(cmds: string) {
  return run(VIRSH!, ['-c', uri, cmds], { env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
}

describe.skipIf(!VIRSH)('the bhyve driver under the RPC server, driven by Debian virsh', { timeout: 120_000 }, () => {
  it('full lifecycle through libvirt remote protocol', async () => {
    const ev = start(VIRSH!, ['-c', uri, 'event', '--loop', '--all', '--timeout', '60']);
    await sleep(1500);
    const r = await virsh(`define ${join(dir, 'vm.xml')}; start viavirsh; list; domstate --reason viavirsh; suspend viavirsh; domstate --reason viavirsh; resume viavirsh; domstate --reason viavirsh; dominfo viavirsh; destroy viavirsh; domstate --reason viavirsh; undefine viavirsh; list --all --name`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Domain 'viavirsh' defined from ${join(dir, 'vm.xml')}\n`);
    expect(r.stdout).toContain("Domain 'viavirsh' started\n");
    expect(r.stdout).toMatch(/^ \d+ +viavirsh +running$/m);
    expect(r.stdout).toContain('running (booted)\n');
    expect(r.stdout).toContain('paused (user)\n');
    expect(r.stdout).toContain('running (unpaused)\n');
    expect(r.stdout).toMatch(/^State: +running$/m);
    expect(r.stdout).toMatch(/^CPU time: +\d+\.\ds$/m);
    expect(r.stdout).toContain('shut off (destroyed)\n');
    expect(r.stdout).toContain("Domain 'viavirsh' has been undefined\n");
    await waitFor('events', () => (ev.out.stdout.includes('Undefined Removed') ? true : undefined), 20_000);
    ev.child.kill('SIGINT');
    await ev.exited;
    expect(ev.out.stdout.split('\n').filter((l) => l.startsWith('event ') && l.includes("'viavirsh'"))).toEqual([
      "event 'lifecycle' for domain 'viavirsh': Defined Added",
      "event 'lifecycle' for domain 'viavirsh': Started Booted",
      "event 'lifecycle' for domain 'viavirsh': Suspended Paused",
      "event 'lifecycle' for domain 'viavirsh': Resumed Unpaused",
      "event 'lifecycle' for domain 'viavirsh': Stopped Destroyed",
      "event 'lifecycle' for domain 'viavirsh': Undefined Removed",
    ]);
  });

  it('capabilities, nodeinfo, version, hostname and domcapabilities answer', async () => {
    const r = await virsh('capabilities; nodeinfo; hostname; domcapabilities');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("<domain type='bhyve'/>");
    expect(r.stdout).toMatch(/^CPU\(s\): +\d+$/m);
    expect(r.stdout).toContain('<domainCapabilities>');
  });

  it('tsvirsh reaches the same daemon through its remote mode', async () => {
    const r = await run(process.execPath, [tsvirshStandInPath(), '-c', uri, `define ${join(dir, 'vm.xml')}; domstate --reason viavirsh; uri; undefine viavirsh`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Domain 'viavirsh' defined from ${join(dir, 'vm.xml')}\n\nshut off (unknown)\n\nbhyve:///system\n\nDomain 'viavirsh' has been undefined\n\n`);
  });
});
