/**
 * `tsvirtd` serving the bhyve driver (its default), as users meet it: the compiled daemon
 * started on a temporary socket and state directory, Debian's real `virsh -c
 * bhyve+unix:///system?socket=…` and `/usr/bin/python3` libvirt as clients, the VM stand-in
 * (test scaffolding, given as TSVIRT_TSBHYVE) as the VM program. Checked: define, list
 * --all, dumpxml (the same text embedded tsvirsh prints from the same state root),
 * autostart flags, lifecycle events of define/start/destroy/undefine, start/destroy, a
 * daemon restart that finds its guest still running, and the org.libvirt D-Bus API on a
 * private bus configured like a system bus with data/org.libvirt.tsvirt.conf as its policy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLifecycle, standInPath, tsvirshPath } from '../driver/lifecycle/helpers/build.js';
import { removeRoot } from '../driver/lifecycle/helpers/cleanup.js';
import { standInDomain } from '../driver/lifecycle/helpers/stand-in-domain.js';
import { sleep, waitFor } from '../driver/lifecycle/helpers/wait.js';
import { run, start } from './helpers/run.js';

const VIRSH = existsSync('/usr/bin/virsh') ? '/usr/bin/virsh' : undefined;
const PYTHON = '/usr/bin/python3';
const havePythonLibvirt = existsSync(PYTHON) && run(PYTHON, ['-c', 'import libvirt']).then((r) => r.status === 0);
const DBUS_DAEMON = '/usr/bin/dbus-daemon';
const BUSCTL = '/usr/bin/busctl';
const SETPRIV = '/usr/bin/setpriv';
const IS_ROOT = (process.geteuid?.() ?? 0) === 0;
const REPO = resolve(import.meta.dirname, '..', '..');
const C_ENV = { ...process.env, LANG: 'C', LC_ALL: 'C' };

interface Daemon {
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

let dir: string;
let root: string;
let socketDir: string;
let uri: string;
let daemon: Daemon | undefined;

/** The compiled tsvirtd with the default (bhyve) driver; resolves once it logs "ready". */
async function startTsvirtd(extra: string[] = []): Promise<Daemon> {
  const build = await buildLifecycle();
  const proc = spawn(
    process.execPath,
    [join(build, 'src', 'cli', 'tsvirtd.js'), '--foreground', '--instance', 'system', '--socket-dir', socketDir, '--state-dir', root, '--log-level', 'debug', ...extra],
    { env: { ...process.env, TSVIRT_TSBHYVE: standInPath() }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  await Promise.race([
    waitFor('tsvirtd ready', () => (err.includes('"msg":"ready"') ? true : undefined), 30_000),
    exited.then((c) => {
      throw new Error(`tsvirtd exited with ${c}:\n${err}`);
    }),
  ]);
  return {
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

function virsh(cmds: string) {
  return run(VIRSH!, ['-c', uri, cmds], { env: C_ENV });
}

const UUID = '55555555-5555-4555-8555-555555555555';

beforeAll(async () => {
  await buildLifecycle();
  dir = mkdtempSync(join(tmpdir(), 'tsvirtd-bhyve-'));
  root = join(dir, 'state');
  socketDir = join(dir, 'run');
  uri = `bhyve+unix:///system?socket=${join(socketDir, 'tsvirt-sock')}`;
  writeFileSync(join(dir, 'vm.xml'), standInDomain('served', UUID));
  daemon = await startTsvirtd();
}, 600_000);

afterAll(async () => {
  if (daemon) await daemon.stop();
  if (dir) await removeRoot(dir);
});

describe.skipIf(!VIRSH)('tsvirtd with the bhyve driver, driven by Debian virsh', { timeout: 120_000 }, () => {
  it('serves bhyve:///system from the bhyve driver', async () => {
    const r = await virsh('uri; version; list --all --name');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^bhyve\+unix:\/\/\/system\?socket=/m);
    expect(r.stdout).toMatch(/^Running hypervisor: BHYVE /m);
    expect(daemon!.stderr()).toContain('"msg":"bhyve driver open"');
  });

  it('define, list --all, dumpxml (as embedded tsvirsh prints it), autostart, undefine, with events', async () => {
    const ev = start(VIRSH!, ['-c', uri, 'event', '--loop', '--all', '--timeout', '60'], C_ENV);
    await sleep(1500);
    const r = await virsh(`define ${join(dir, 'vm.xml')}; list --all; autostart served; dominfo served; list --all --autostart --name; autostart --disable served; dominfo served`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Domain 'served' defined from ${join(dir, 'vm.xml')}\n`);
    expect(r.stdout).toMatch(/^ -\s+served\s+shut off$/m);
    expect(r.stdout).toContain('Domain \'served\' marked as autostarted\n');
    expect(r.stdout).toContain('Domain \'served\' unmarked as autostarted\n');
    const autostartLines = r.stdout.split('\n').filter((l) => l.startsWith('Autostart:'));
    expect(autostartLines.map((l) => l.split(/\s+/)[1])).toEqual(['enable', 'disable']);
    expect(r.stdout).toMatch(/^served$/m);

    // The daemon's dumpxml is what embedded tsvirsh reads from the same state root.
    const viaDaemon = await virsh('dumpxml served');
    const embedded = await run(process.execPath, [tsvirshPath(), '-c', `bhyve:///embed?root=${root}`, 'dumpxml', 'served']);
    expect(embedded.stderr).toBe('');
    expect(viaDaemon.stdout).toContain(`<uuid>${UUID}</uuid>`);
    expect(viaDaemon.stdout).toBe(embedded.stdout);
    const inactive = await virsh('dumpxml --inactive served');
    expect(inactive.stdout).toBe(viaDaemon.stdout);

    const u = await virsh('undefine served; list --all --name');
    expect(u.stdout).toContain("Domain 'served' has been undefined\n");
    expect(u.stdout).not.toMatch(/^served$/m);
    expect(existsSync(join(root, 'config', 'served.xml'))).toBe(false);
    await waitFor('events', () => (ev.out.stdout.includes('Undefined Removed') ? true : undefined), 20_000);
    ev.child.kill('SIGINT');
    await ev.exited;
    expect(ev.out.stdout.split('\n').filter((l) => l.startsWith('event ') && l.includes("'served'"))).toEqual([
      "event 'lifecycle' for domain 'served': Defined Added",
      "event 'lifecycle' for domain 'served': Undefined Removed",
    ]);
  });

  it('start and destroy a guest (VM stand-in), with events; refused calls come back as libvirt errors', async () => {
    const ev = start(VIRSH!, ['-c', uri, 'event', '--loop', '--all', '--timeout', '60'], C_ENV);
    await sleep(1500);
    const r = await virsh(`define ${join(dir, 'vm.xml')}; start served; list; domstate --reason served; destroy served; domstate --reason served`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("Domain 'served' started\n");
    expect(r.stdout).toMatch(/^ \d+\s+served\s+running$/m);
    expect(r.stdout).toContain('running (booted)\n');
    expect(r.stdout).toContain('shut off (destroyed)\n');
    const again = await virsh('destroy served');
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('error: Requested operation is not valid: domain is not running');
    await virsh('undefine served');
    await waitFor('events', () => (ev.out.stdout.includes('Undefined Removed') ? true : undefined), 20_000);
    ev.child.kill('SIGINT');
    await ev.exited;
    expect(ev.out.stdout.split('\n').filter((l) => l.startsWith('event ') && l.includes("'served'"))).toEqual([
      "event 'lifecycle' for domain 'served': Defined Added",
      "event 'lifecycle' for domain 'served': Started Booted",
      "event 'lifecycle' for domain 'served': Stopped Destroyed",
      "event 'lifecycle' for domain 'served': Undefined Removed",
    ]);
  });

  it('the read-only socket lists but refuses define', async () => {
    const ro = `bhyve+unix:///system?socket=${join(socketDir, 'tsvirt-sock-ro')}`;
    const r = await run(VIRSH!, ['-r', '-c', ro, `list --all; define ${join(dir, 'vm.xml')}`], { env: C_ENV });
    expect(r.stderr).toContain('operation forbidden: read only access prevents virDomainDefineXML');
  });

  it('a guest keeps running across a daemon restart, and the new daemon finds it running', async () => {
    const r = await virsh(`define ${join(dir, 'vm.xml')}; start served`);
    expect(r.stderr).toBe('');
    expect(await daemon!.stop()).toBe(0);
    daemon = await startTsvirtd();
    const s = await virsh('domstate --reason served; destroy served; undefine served');
    expect(s.stderr).toBe('');
    expect(s.stdout).toContain('running (booted)\n');
    expect(s.stdout).toContain("Domain 'served' destroyed\n");
  });
});

const PY_SCRIPT = `
import json, sys, threading, time, libvirt
uri, xml = sys.argv[1], open(sys.argv[2]).read()
libvirt.virEventRegisterDefaultImpl()
libvirt.registerErrorHandler(lambda ctx, err: None, None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
events = []
def cb(conn, dom, event, detail, opaque):
    events.append([dom.name(), event, detail])
conn = libvirt.open(uri)
out = {'type': conn.getType(), 'uri': conn.getURI()}
cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
dom = conn.defineXML(xml)
out['listed'] = sorted(d.name() for d in conn.listAllDomains(0))
out['persistent'] = dom.isPersistent()
dom.setAutostart(1)
out['autostart'] = dom.autostart()
dom.setAutostart(0)
out['autostart_after'] = dom.autostart()
out['xml_has_uuid'] = dom.UUIDString() in dom.XMLDesc(0)
dom.create()
out['state_running'] = dom.state()
out['id_positive'] = dom.ID() > 0
dom.destroy()
out['state_after'] = dom.state()
try:
    dom.destroy()
except libvirt.libvirtError as e:
    out['error'] = [e.get_error_code(), e.get_error_message()]
dom.undefine()
deadline = time.time() + 20
while time.time() < deadline and len(events) < 4:
    time.sleep(0.05)
conn.domainEventDeregisterAny(cid)
out['events'] = events
conn.close()
print(json.dumps(out))
`;

describe('tsvirtd with the bhyve driver, driven by python3-libvirt', { timeout: 120_000 }, () => {
  it('define, list, autostart, XML, start/destroy, undefine and a lifecycle callback', async (ctx) => {
    if (!(await havePythonLibvirt)) ctx.skip();
    writeFileSync(join(dir, 'py.xml'), standInDomain('pyserved', '66666666-6666-4666-8666-666666666666'));
    writeFileSync(join(dir, 'client.py'), PY_SCRIPT);
    const r = await run(PYTHON, [join(dir, 'client.py'), uri, join(dir, 'py.xml')]);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toEqual({
      type: 'BHYVE',
      uri,
      listed: ['pyserved'],
      persistent: 1,
      autostart: 1,
      autostart_after: 0,
      xml_has_uuid: true,
      state_running: [1, 1],
      id_positive: true,
      state_after: [5, 2],
      error: [55, 'Requested operation is not valid: domain is not running'],
      // defined/added, started/booted, stopped/destroyed, undefined/removed
      events: [['pyserved', 0, 0], ['pyserved', 2, 0], ['pyserved', 5, 1], ['pyserved', 1, 0]],
    });
  });
});

/**
 * A private bus configured like Debian's system bus (deny by default, only the bus
 * itself reachable) plus, when `policy` is given, our policy file with its `root` user
 * replaced by the user running the test (who plays the daemon's owner here).
 */
async function startSystemLikeBus(where: string, policy: boolean): Promise<{ bus: ChildProcess; address: string }> {
  mkdirSync(where, { recursive: true });
  const confd = join(where, 'system.d');
  mkdirSync(confd, { recursive: true });
  if (policy) {
    // As root the file is used as shipped; otherwise the test's user plays root's part.
    const me = userInfo().username;
    const text = readFileSync(join(REPO, 'data', 'org.libvirt.tsvirt.conf'), 'utf8').replace('<policy user="root">', `<policy user="${me}">`);
    writeFileSync(join(confd, 'org.libvirt.tsvirt.conf'), text);
  }
  // other users must reach the socket (the policy, not the file mode, decides what they may do)
  chmodSync(dir, 0o755);
  chmodSync(where, 0o755);
  const conf = join(where, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir=${where}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <includedir>${confd}</includedir>
</busconfig>
`,
  );
  const p = spawn(DBUS_DAEMON, ['--config-file', conf, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolveAddr, reject) => {
    let out = '';
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolveAddr(out.split('\n')[0] as string);
    });
    p.once('exit', (c) => reject(new Error(`dbus-daemon exited ${c}`)));
  });
  return { bus: p, address };
}

describe.skipIf(![DBUS_DAEMON, BUSCTL].every((p) => existsSync(p)))('tsvirtd --dbus on a system-like bus with data/org.libvirt.tsvirt.conf', { timeout: 120_000 }, () => {
  it('without the policy file the bus refuses tsvirtd the name org.libvirt', async () => {
    const { bus, address } = await startSystemLikeBus(join(dir, 'bus-nopolicy'), false);
    try {
      const build = await buildLifecycle();
      const t0 = Date.now();
      const r = await run(process.execPath, [
        join(build, 'src', 'cli', 'tsvirtd.js'), '--foreground', '--instance', 'system', '--socket-dir', join(dir, 'run2'), '--state-dir', join(dir, 'state2'), '--dbus', address,
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('cannot serve D-Bus');
      expect(Date.now() - t0, 'the daemon gives up promptly').toBeLessThan(30_000);
    } finally {
      bus.kill('SIGTERM');
    }
  });

  it('with it, the daemon owns org.libvirt and serves the bhyve driver\'s domains', async () => {
    const { bus, address } = await startSystemLikeBus(join(dir, 'bus'), true);
    await daemon!.stop();
    try {
      daemon = await startTsvirtd(['--dbus', address]);
      const d = await virsh(`define ${join(dir, 'vm.xml')}`);
      expect(d.stderr).toBe('');
      const busctl = (...args: string[]) => run(BUSCTL, [`--address=${address}`, ...args]);
      const list = await busctl('call', 'org.libvirt', '/org/libvirt/BHyve', 'org.libvirt.Connect', 'ListDomains', 'u', '0');
      expect(list.stderr).toBe('');
      const path = `/org/libvirt/BHyve/domain/_${UUID.replace(/-/g, '_')}`;
      expect(list.stdout.trim()).toBe(`ao 1 "${path}"`);
      const name = await busctl('get-property', 'org.libvirt', path, 'org.libvirt.Domain', 'Name');
      expect(name.stdout.trim()).toBe('s "served"');
      if (IS_ROOT && existsSync(SETPRIV)) {
        // Another user (nobody) may read but not change: the bus refuses before tsvirtd sees it.
        const asNobody = (...args: string[]) => run(SETPRIV, ['--reuid=65534', '--regid=65534', '--clear-groups', BUSCTL, `--address=${address}`, ...args]);
        const ro = await asNobody('call', 'org.libvirt', path, 'org.libvirt.Domain', 'GetXMLDesc', 'u', '0');
        expect(ro.stderr).toBe('');
        expect(ro.stdout).toContain('<name>served</name>');
        expect((await asNobody('call', 'org.libvirt', '/org/libvirt/BHyve', 'org.libvirt.Connect', 'ListDomains', 'u', '0')).stdout.trim()).toBe(`ao 1 "${path}"`);
        for (const call of [
          ['call', 'org.libvirt', path, 'org.libvirt.Domain', 'Undefine', 'u', '0'],
          ['call', 'org.libvirt', path, 'org.libvirt.Domain', 'Create', 'u', '0'],
          ['call', 'org.libvirt', '/org/libvirt/BHyve', 'org.libvirt.Connect', 'DomainDefineXML', 's', '<domain/>'],
          ['set-property', 'org.libvirt', path, 'org.libvirt.Domain', 'Autostart', 'b', 'true'],
        ]) {
          const denied = await asNobody(...call);
          expect(denied.status, call.join(' ')).not.toBe(0);
          expect(denied.stderr, call.join(' ')).toMatch(/Access denied|AccessDenied/);
        }
        expect((await virsh('list --all --name')).stdout).toMatch(/^served$/m);
        expect((await virsh('dominfo served')).stdout).toMatch(/^Autostart:\s+disable$/m);
      }
      const undef = await busctl('call', 'org.libvirt', path, 'org.libvirt.Domain', 'Undefine', 'u', '0');
      expect(undef.stderr).toBe('');
      const after = await virsh('list --all --name');
      expect(after.stdout).not.toMatch(/^served$/m);
    } finally {
      await daemon?.stop();
      daemon = undefined;
      bus.kill('SIGTERM');
    }
  });
});

describe('the session instance is where tsvirsh looks for it', { timeout: 120_000 }, () => {
  it('tsvirsh -c bhyve:///session finds a session tsvirtd at its default socket and talks to the bhyve driver through it', async () => {
    const build = await buildLifecycle();
    const home = join(dir, 'home');
    const env: NodeJS.ProcessEnv & { XDG_RUNTIME_DIR: string } = { ...process.env, HOME: home, XDG_RUNTIME_DIR: join(dir, 'xdg-run'), XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state'), TSVIRT_TSBHYVE: standInPath() };
    delete env.LIBVIRT_DEFAULT_URI;
    delete env.VIRSH_DEFAULT_CONNECT_URI;
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
    const proc = spawn(process.execPath, [join(build, 'src', 'cli', 'tsvirtd.js'), '--foreground', '--instance', 'session'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    try {
      await waitFor('session tsvirtd ready', () => (err.includes('"msg":"ready"') ? true : undefined), 30_000);
      expect(err).toContain('"uri":"bhyve:///session"');
      expect(existsSync(join(env.XDG_RUNTIME_DIR, 'tsvirt', 'tsvirt-sock'))).toBe(true);
      // (without -c, tsvirsh run by a user other than root picks this URI itself when the socket exists)
      const r = await run(process.execPath, [tsvirshPath(), '-c', 'bhyve:///session', `uri; define ${join(dir, 'vm.xml')}; list --all --name; undefine served`], { env });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^bhyve:\/\/\/session$/m);
      expect(r.stdout).toMatch(/^served$/m);
      // the daemon's state lives in the session default, not in the embedded root
      expect(existsSync(join(home, 'data', 'tsvirt', 'config'))).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
