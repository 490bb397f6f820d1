/**
 * The org.libvirt D-Bus API end to end: a private dbus-daemon started by the test, tsvirtd
 * started with `--dbus <address>` serving the TEST driver, and Debian's `busctl` and `gdbus`
 * as clients.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../rpc/daemon.js';

const DBUS_DAEMON = '/usr/bin/dbus-daemon';
const BUSCTL = '/usr/bin/busctl';
const GDBUS = '/usr/bin/gdbus';
const available = [DBUS_DAEMON, BUSCTL, GDBUS].every((p) => existsSync(p));

const UUID = '6a1f3c22-0b7e-4f3a-9d41-2f5c8e7a9b10';
const PATH = `/org/libvirt/Test/domain/_${UUID.replace(/-/g, '_')}`;
const XML = `<domain type='bhyve'><name>dbus1</name><uuid>${UUID}</uuid><memory unit='MiB'>64</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>`;

let dir: string;
let bus: ChildProcess;
let address: string;
let d: Daemon;

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}
const busctl = (...args: string[]) => run(BUSCTL, [`--address=${address}`, ...args]);
const gdbus = (...args: string[]) => run(GDBUS, [args[0] as string, '--address', address, ...args.slice(1)]);
const dom = (method: string, sig = '', ...args: string[]) => busctl('call', 'org.libvirt', PATH, 'org.libvirt.Domain', method, ...(sig ? [sig, ...args] : []));

/** A private dbus-daemon listening in `dir`; resolves with its address. */
async function startBus(where: string): Promise<{ bus: ChildProcess; address: string }> {
  const conf = join(where, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${where}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`,
  );
  // its stderr only carries an fd-limit notice
  const p = spawn(DBUS_DAEMON, ['--config-file', conf, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const addr = await new Promise<string>((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    p.once('exit', (c) => reject(new Error(`dbus-daemon exited ${c}`)));
  });
  return { bus: p, address: addr };
}

describe.skipIf(!available)('org.libvirt over a private dbus-daemon', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsvirt-dbus-'));
    ({ bus, address } = await startBus(dir));
    d = await startDaemon(['--dbus', address]);
  }, 60_000);

  afterAll(async () => {
    if (d) expect(await d.stop()).toBe(0);
    bus?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('owns org.libvirt and shows its object tree', async () => {
    const r = await busctl('tree', 'org.libvirt');
    expect(r.out).toContain('/org/libvirt/Test/domain');
    const names = await busctl('list', '--no-pager');
    expect(names.out).toMatch(/^org\.libvirt\s/m);
  });

  it('defines a domain and lists it as an object path', async () => {
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'DomainDefineXML', 's', XML)).out).toBe(`o "${PATH}"\n`);
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'ListDomains', 'u', '0')).out).toBe(`ao 1 "${PATH}"\n`);
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'DomainLookupByName', 's', 'dbus1')).out).toBe(`o "${PATH}"\n`);
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'DomainLookupByUUID', 's', UUID.toUpperCase())).out).toBe(`o "${PATH}"\n`);
    expect((await busctl('tree', 'org.libvirt')).out).toContain(PATH);
  });

  it('reads domain and connect properties', async () => {
    const r = await busctl('get-property', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Name', 'UUID', 'Active', 'Persistent', 'Id', 'OSType', 'Autostart');
    expect(r.out).toBe(`s "dbus1"\ns "${UUID}"\nb false\nb true\nu 0\ns "hvm"\nb false\n`);
    const c = await busctl('get-property', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'LibVersion', 'Version', 'Secure', 'Encrypted');
    expect(c.out).toBe('t 9000000\nt 1000\nb true\nb false\n');
  });

  it('drives the lifecycle and emits DomainEvent and Reboot signals', async () => {
    const mon = spawn(GDBUS, ['monitor', '--address', address, '--dest', 'org.libvirt'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    mon.stdout?.on('data', (b: Buffer) => (seen += b.toString()));
    // gdbus prints this once its match rules are in place
    const ready = Date.now() + 10_000;
    while (!seen.includes('The name org.libvirt is owned by') && Date.now() < ready) await new Promise((r) => setTimeout(r, 25));
    expect(seen).toContain('The name org.libvirt is owned by');

    expect((await dom('Create', 'u', '0')).code).toBe(0);
    expect((await dom('GetState', 'u', '0')).out).toBe('(ii) 1 1\n');
    expect((await busctl('get-property', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Id', 'Active')).out).toBe('u 1\nb true\n');
    expect((await dom('Suspend')).code).toBe(0);
    expect((await dom('GetState', 'u', '0')).out).toBe('(ii) 3 1\n');
    expect((await dom('Resume')).code).toBe(0);
    expect((await dom('Reboot', 'u', '0')).code).toBe(0);
    const stats = (await dom('GetStats', 'uu', '0', '0')).out;
    expect(stats).toMatch(/^a\{sv\} 7 "state.state" i 1 "state.reason" i 5 "cpu.time" t \d+ "balloon.current" t 65536 "balloon.maximum" t 65536 "vcpu.current" u 2 "vcpu.maximum" u 2\n$/);
    expect((await dom('GetXMLDesc', 'u', '0')).out).toMatch(/^s "<domain type=\\"bhyve\\" id=\\"1\\">/);
    expect((await dom('Shutdown', 'u', '0')).code).toBe(0);
    expect((await dom('GetState', 'u', '0')).out).toBe('(ii) 5 1\n');
    expect((await dom('Create', 'u', '0')).code).toBe(0);
    expect((await dom('Destroy', 'u', '0')).code).toBe(0);
    expect((await dom('GetState', 'u', '0')).out).toBe('(ii) 5 2\n');

    const deadline = Date.now() + 5000;
    while ((seen.match(/DomainEvent/g) ?? []).length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    mon.kill('SIGTERM');
    const events = [...seen.matchAll(/org\.libvirt\.Connect\.DomainEvent \(objectpath '([^']+)', (\d+), (\d+)\)/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(events).toEqual([
      [PATH, 2, 0],
      [PATH, 3, 0],
      [PATH, 4, 0],
      [PATH, 5, 0],
      [PATH, 2, 0],
      [PATH, 5, 1],
    ]);
    expect(seen).toContain(`${PATH}: org.libvirt.Domain.Reboot ()`);
  });

  it('answers node queries and domain metadata', async () => {
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'NodeGetFreeMemory')).out).toMatch(/^t \d+\n$/);
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'NodeGetSecurityModel')).out).toBe('(ss) "" ""\n');
    const none = await dom('GetMetadata', 'isu', '1', '', '0');
    expect(none.err).toContain('metadata not found: Requested metadata element is not present');
  });

  it('writes the Autostart property', async () => {
    expect((await busctl('set-property', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Autostart', 'b', 'true')).code).toBe(0);
    expect((await busctl('get-property', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Autostart')).out).toBe('b true\n');
    const ro = await busctl('set-property', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Name', 's', 'x');
    expect(ro.code).not.toBe(0);
  });

  it('reports libvirt errors as org.libvirt.Error with libvirt messages', async () => {
    const r = await gdbus('call', '--dest', 'org.libvirt', '--object-path', '/org/libvirt/Test', '--method', 'org.libvirt.Connect.DomainLookupByName', 'nope');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("GDBus.Error:org.libvirt.Error: Domain not found: no domain with matching name 'nope'");
    const again = await gdbus('call', '--dest', 'org.libvirt', '--object-path', PATH, '--method', 'org.libvirt.Domain.Suspend');
    expect(again.err).toContain("org.libvirt.Error: Requested operation is not valid: domain 'dbus1' is not running");
    const unknown = await busctl('call', 'org.libvirt', PATH, 'org.libvirt.Domain', 'BlockResize', 'stu', 'vda', '1', '0');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toMatch(/Unknown method 'BlockResize'/);
    const badArgs = await busctl('call', 'org.libvirt', PATH, 'org.libvirt.Domain', 'Create', 's', 'x');
    expect(badArgs.err).toMatch(/does not match expected type/);
  });

  it('creates a transient domain, finds it by id, and it disappears when destroyed', async () => {
    const xml = XML.replace('dbus1', 'dbus2').replace(UUID, '7a1f3c22-0b7e-4f3a-9d41-2f5c8e7a9b10');
    const created = await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'DomainCreateXML', 'su', xml, '0');
    const path = /o "([^"]+)"/.exec(created.out)?.[1] as string;
    const id = (await busctl('get-property', 'org.libvirt', path, 'org.libvirt.Domain', 'Id')).out.trim().split(' ')[1] as string;
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'DomainLookupByID', 'i', id)).out).toBe(`o "${path}"\n`);
    expect((await busctl('call', 'org.libvirt', path, 'org.libvirt.Domain', 'Destroy', 'u', '0')).code).toBe(0);
    const gone = await busctl('get-property', 'org.libvirt', path, 'org.libvirt.Domain', 'Name');
    expect(gone.err).toContain('Domain not found');
  });

  it('undefines', async () => {
    expect((await dom('Undefine', 'u', '0')).code).toBe(0);
    expect((await busctl('call', 'org.libvirt', '/org/libvirt/Test', 'org.libvirt.Connect', 'ListDomains', 'u', '0')).out).toBe('ao 0\n');
  });
});

describe.skipIf(!available)('tsvirtd when the bus goes away', () => {
  it('keeps serving libvirt RPC and still stops cleanly on SIGTERM', async () => {
    const where = mkdtempSync(join(tmpdir(), 'tsvirt-dbus-'));
    const b = await startBus(where);
    const daemon = await startDaemon(['--dbus', b.address]);
    try {
      await new Promise<void>((r) => {
        b.bus.once('exit', () => r());
        b.bus.kill('SIGKILL');
      });
      const { RpcClient } = await import('../../src/rpc/client.js');
      const { RemoteProcs } = await import('../../src/rpc/protocol/remote-procedures.js');
      const c = await RpcClient.connect(daemon.rwPath);
      await c.open(null);
      expect((await c.call(RemoteProcs.CONNECT_GET_TYPE, undefined)).type).toBe('TEST');
      await c.close();
      const t0 = Date.now();
      expect(await daemon.stop()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
      rmSync(where, { recursive: true, force: true });
    }
  });
});
