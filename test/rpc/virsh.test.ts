/**
 * End to end with Debian's real `virsh` (libvirt-clients 9.0) against a `tsvirtd` process
 * serving the TEST driver, through `bhyve+unix:///system?socket=…` — the URI form libvirt's
 * remote driver accepts for a hypervisor it has no local driver for.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from './daemon.js';

const VIRSH = '/usr/bin/virsh';
const PY = '/usr/bin/python3';
const haveVirsh = existsSync(VIRSH);

const UUID = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
const XML = `<domain type='bhyve'>
  <name>vm1</name>
  <uuid>${UUID}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
`;

interface Result {
  code: number;
  out: string;
  err: string;
}

let d: Daemon;
let xmlPath: string;

function virsh(uri: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(VIRSH, ['-c', uri, ...args], { timeout: 20_000, env: { ...process.env, LC_ALL: 'C' } }, (e, out, err) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}
const v = (...args: string[]) => virsh(d.uri, ...args);

describe.skipIf(!haveVirsh)('real virsh against tsvirtd', () => {
  beforeAll(async () => {
    d = await startDaemon();
    xmlPath = join(d.dir, 'vm1.xml');
    writeFileSync(xmlPath, XML);
  }, 60_000);

  afterAll(async () => {
    if (d) expect(await d.stop()).toBe(0);
  });

  it('lists no domains at first', async () => {
    const r = await v('list', '--all');
    expect(r).toEqual({ code: 0, out: ` Id   Name   State\n${'-'.repeat(20)}\n\n`, err: '' });
  });

  it('defines, lists and shows a domain', async () => {
    expect((await v('define', xmlPath)).out).toBe(`Domain 'vm1' defined from ${xmlPath}\n\n`);
    expect((await v('list', '--all')).out).toBe(` Id   Name   State\n${'-'.repeat(23)}\n -    vm1    shut off\n\n`);
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('shut off (unknown)\n\n');
    expect((await v('domuuid', 'vm1')).out).toBe(`${UUID}\n\n`);
  });

  it('starts it and reports it running with an id', async () => {
    expect((await v('start', 'vm1')).out).toBe("Domain 'vm1' started\n\n");
    expect((await v('list')).out).toBe(` Id   Name   State\n${'-'.repeat(22)}\n 1    vm1    running\n\n`);
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('running (booted)\n\n');
    expect((await v('domid', 'vm1')).out).toBe('1\n\n');
    const info = (await v('dominfo', 'vm1')).out;
    for (const line of [
      'Id:             1',
      'Name:           vm1',
      `UUID:           ${UUID}`,
      'OS Type:        hvm',
      'State:          running',
      'CPU(s):         2',
      'Max memory:     262144 KiB',
      'Used memory:    262144 KiB',
      'Persistent:     yes',
      'Autostart:      disable',
      'Managed save:   no',
    ]) {
      expect(info).toContain(`${line}\n`);
    }
  });

  it('dumps the live XML with the id', async () => {
    const x = (await v('dumpxml', 'vm1')).out;
    expect(x).toMatch(/^<domain type="bhyve" id="1">/);
    expect(x).toContain(`<uuid>${UUID}</uuid>`);
    expect((await v('dumpxml', '--inactive', 'vm1')).out).toMatch(/^<domain type="bhyve">/);
  });

  it('suspends and resumes', async () => {
    expect((await v('suspend', 'vm1')).out).toBe("Domain 'vm1' suspended\n\n");
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('paused (user)\n\n');
    expect((await v('resume', 'vm1')).out).toBe("Domain 'vm1' resumed\n\n");
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('running (unpaused)\n\n');
  });

  it('toggles autostart', async () => {
    expect((await v('autostart', 'vm1')).out).toBe("Domain 'vm1' marked as autostarted\n\n");
    expect((await v('dominfo', 'vm1')).out).toContain('Autostart:      enable\n');
    expect((await v('list', '--all', '--autostart')).out).toBe(` Id   Name   State\n${'-'.repeat(22)}\n 1    vm1    running\n\n`);
    expect((await v('autostart', '--disable', 'vm1')).out).toBe("Domain 'vm1' unmarked as autostarted\n\n");
  });

  it('shuts down and destroys with the right reasons', async () => {
    expect((await v('shutdown', 'vm1')).out).toBe("Domain 'vm1' is being shutdown\n\n");
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('shut off (shutdown)\n\n');
    await v('start', 'vm1');
    expect((await v('destroy', 'vm1')).out).toBe("Domain 'vm1' destroyed\n\n");
    expect((await v('domstate', '--reason', 'vm1')).out).toBe('shut off (destroyed)\n\n');
  });

  it('reports errors as virsh does', async () => {
    const r = await v('destroy', 'vm1');
    expect(r.code).toBe(1);
    expect(r.err).toContain("error: Failed to destroy domain 'vm1'\nerror: Requested operation is not valid: domain 'vm1' is not running\n");
    const n = await v('dominfo', 'nope');
    expect(n.code).toBe(1);
    expect(n.err).toContain("error: failed to get domain 'nope'");
  });

  it('answers host queries: version, nodeinfo, capabilities, hostname', async () => {
    const ver = (await v('version', '--daemon')).out;
    expect(ver).toContain('Using API: TEST 9.0.0\n');
    expect(ver).toContain('Running hypervisor: TEST 0.1.0\n');
    expect(ver).toContain('Running against daemon: 9.0.0\n');
    const node = (await v('nodeinfo')).out;
    expect(node).toContain('CPU model:           x86_64\n');
    expect(node).toContain(`CPU(s):              ${cpus().length}\n`);
    expect(node).toMatch(/Memory size:\s+\d+ KiB/);
    const caps = (await v('capabilities')).out;
    expect(caps).toMatch(/^<capabilities>[^]*<domain type='test'\/>[^]*<\/capabilities>/);
    expect((await v('hostname')).code).toBe(0);
  });

  it('shows titles and descriptions (domain metadata) and free memory', async () => {
    const titled = join(d.dir, 'titled.xml');
    writeFileSync(titled, XML.replace('vm1', 'vm2').replace(UUID, '5dea22b3-1d52-d8f3-2516-782e98ab3fa0').replace('<vcpu>', '<title>A small VM</title><description>For tests</description><vcpu>'));
    await v('define', titled);
    expect((await v('list', '--all', '--title')).out).toBe(
      ` Id   Name   State      Title\n${'-'.repeat(36)}\n -    vm1    shut off   \n -    vm2    shut off   A small VM\n\n`,
    );
    expect((await v('desc', 'vm2')).out).toBe('For tests\n');
    expect((await v('desc', '--title', 'vm2')).out).toBe('A small VM\n');
    expect((await v('desc', 'vm1')).out).toBe('No description for domain: vm1\n');
    expect((await v('freecell')).out).toMatch(/^Total: \d+ KiB\n/);
    await v('undefine', 'vm2');
  });

  it('refuses domxml-to-native and domxml-from-native with NO_SUPPORT from the TEST driver', async () => {
    const r = await v('domxml-to-native', 'bhyve-argv', xmlPath);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: this function is not supported by the connection driver: virConnectDomainXMLToNative');
    const argv = join(d.dir, 'argv');
    writeFileSync(argv, 'bhyve -c 1 -m 256 -s 0,hostbridge vm1\n');
    const f = await v('domxml-from-native', 'bhyve-argv', argv);
    expect(f.code).toBe(1);
    expect(f.err).toContain('error: this function is not supported by the connection driver: virConnectDomainXMLFromNative');
  });

  it('streams lifecycle events with event --loop', async () => {
    const ev = spawn(VIRSH, ['-c', d.uri, 'event', '--all', '--loop'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ev.stdout.on('data', (b: Buffer) => (out += b.toString()));
    // virsh registers one callback per event kind (27 with libvirt 9.0): act once the
    // registrations have stopped coming
    const registered = () => (d.stderr().match(/REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY/g) ?? []).length;
    const before = registered();
    const ready = Date.now() + 15_000;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < ready) {
      const n = registered();
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      } else if (n > before && Date.now() - stableSince > 300) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(registered()).toBeGreaterThan(before);
    await v('start', 'vm1');
    await v('suspend', 'vm1');
    await v('resume', 'vm1');
    await v('destroy', 'vm1');
    const deadline = Date.now() + 5000;
    while (!out.includes('Stopped Destroyed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ev.kill('SIGINT');
    await new Promise((r) => ev.once('exit', r));
    expect(out).toBe(
      [
        "event 'lifecycle' for domain 'vm1': Started Booted",
        "event 'lifecycle' for domain 'vm1': Suspended Paused",
        "event 'lifecycle' for domain 'vm1': Resumed Unpaused",
        "event 'lifecycle' for domain 'vm1': Stopped Destroyed",
        'event loop interrupted',
        'events received: 4',
        '',
        '',
      ].join('\n'),
    );
  });

  it.skipIf(!existsSync(PY))('attaches to the console through a terminal and detaches with ^]', async () => {
    await v('start', 'vm1');
    // virsh console needs a terminal: run it under a pty from Python's standard library.
    const script = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv('${VIRSH}', ['virsh', '-c', sys.argv[1], 'console', 'vm1'])
buf = b''
def pump(until, t):
    global buf
    end = time.time() + t
    while time.time() < end and until not in buf:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: return
pump(b'Escape character', 15)
pump(b'input is echoed', 5)
os.write(fd, b'ping-from-console\\r')
pump(b'ping-from-console', 5)
os.write(fd, b'\\x1d')
pump(b'\\0never', 2)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode('utf-8', 'replace'))
sys.stdout.write('\\nEXIT %d\\n' % os.waitstatus_to_exitcode(status))
`;
    const r = await new Promise<Result>((resolve) => {
      execFile(PY, ['-c', script, d.uri], { timeout: 20_000 }, (e, out, err) => resolve({ code: e ? 1 : 0, out, err }));
    });
    expect(r.out).toContain('Connected to domain');
    expect(r.out).toContain('tsvirt test console of domain vm1');
    expect(r.out).toContain('ping-from-console'); // the terminal is raw: this is the console's echo
    expect(r.out).toContain('EXIT 0');
    await v('destroy', 'vm1');
  });

  it('refuses state changes on the read-only socket', async () => {
    const list = await virsh(d.roUri, 'list', '--all');
    expect(list.out).toBe(` Id   Name   State\n${'-'.repeat(23)}\n -    vm1    shut off\n\n`);
    const r = await virsh(d.roUri, 'start', 'vm1');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: operation forbidden: read only access prevents virDomainCreate');
  });

  it('undefines', async () => {
    expect((await v('undefine', 'vm1')).out).toBe("Domain 'vm1' has been undefined\n\n");
    expect((await v('list', '--all')).out).toBe(` Id   Name   State\n${'-'.repeat(20)}\n\n`);
  });

  it('was never asked for a procedure it does not implement', () => {
    const unknown = d
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"unimplemented procedure"'));
    expect(unknown).toEqual([]);
  });
});
