/**
 * Domain lifecycle driven through tsvirsh processes as a user would, with running guests:
 * the real tsvirsh program and driver, supervisor and state root, wired (test scaffolding,
 * test/cli/helpers/tsvirsh-stand-in.ts) to the test translator and to the VM stand-in as
 * VM program until the real translation and a guest-running tsbhyve exist — the same
 * scenarios against real tsbhyve live in tsvirsh-tsbhyve.test.ts.
 *
 * Covers the end-to-end list (define → start → list/dominfo/domstate → console →
 * shutdown; destroy; reboot; suspend/resume; autostart; undefine; transient create;
 * on_poweroff=restart; crash) and its robustness list (kill -9 of the VM, the CLI killed
 * mid-start, 20 concurrent tsvirsh processes, a corrupt config file), plus `event --loop`
 * and running-state output compared with virsh on test:///default.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLifecycle, tsvirshStandInPath } from '../driver/lifecycle/helpers/build.js';
import { standInDomain } from '../driver/lifecycle/helpers/stand-in-domain.js';
import { waitFor, sleep } from '../driver/lifecycle/helpers/wait.js';
import { removeRoot } from '../driver/lifecycle/helpers/cleanup.js';
import { onPty, run, start, virsh, VIRSH, type Result } from './helpers/run.js';

let root: string;
let xmlDir: string;
let n = 0;

beforeAll(async () => {
  await buildLifecycle();
  root = mkdtempSync(join(tmpdir(), 'tsvirsh-life-'));
  xmlDir = mkdtempSync(join(tmpdir(), 'tsvirsh-xml-'));
}, 600_000);

afterAll(async () => {
  await removeRoot(root); // stops whatever still runs under this root
  rmSync(xmlDir, { recursive: true, force: true });
});

const URI = () => `bhyve:///embed?root=${root}`;

function tsv(args: string[], opts: { input?: string } = {}): Promise<Result> {
  return run(process.execPath, [tsvirshStandInPath(), '-c', URI(), ...args], { input: opts.input });
}

/** Write a domain XML for the stand-in and return its path. */
function domainFile(name: string, opts: { knobs?: string[]; extra?: string } = {}): { path: string; uuid: string } {
  n++;
  const uuid = `0000aaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const path = join(xmlDir, `${name}.xml`);
  writeFileSync(path, standInDomain(name, uuid, opts));
  return { path, uuid };
}

async function state(name: string): Promise<string> {
  return (await tsv(['domstate', '--reason', name])).stdout.trim();
}

function waitState(name: string, want: string, timeoutMs = 20_000): Promise<string> {
  return waitFor(`${name} → ${want}`, async () => ((await state(name)) === want ? want : undefined), timeoutMs);
}

function vmPid(name: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, 'run', `${name}.status.json`), 'utf8')) as { vm?: { pid: number } }).vm?.pid;
  } catch {
    return undefined;
  }
}

/** Stand-in processes running for a domain (by its config file path in their argv). */
function standIns(name: string): number[] {
  const conf = join(root, 'run', `${name}.conf`);
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('vm-stand-in.js') && l.includes(conf))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('tsvirsh lifecycle (VM stand-in)', { timeout: 90_000 }, () => {
  it('define → start → list shows it running with an id → dominfo/domstate → console shows guest output → shutdown → shut off (shutdown)', async () => {
    const f = domainFile('vm1');
    expect((await tsv(['define', f.path])).stdout).toBe(`Domain 'vm1' defined from ${f.path}\n\n`);
    const s = await tsv(['start', 'vm1']);
    expect([s.stdout, s.stderr, s.status]).toEqual(["Domain 'vm1' started\n\n", '', 0]);
    const list = (await tsv(['list'])).stdout;
    expect(list).toMatch(/^ Id   Name   State\n-{22}\n \d+ +vm1 +running\n\n$/);
    const id = Number(/ (\d+) +vm1/.exec(list)![1]);
    const info = (await tsv(['dominfo', 'vm1'])).stdout;
    expect(info).toContain(`Id:             ${id}\n`);
    expect(info).toContain('State:          running\n');
    expect(info).toMatch(/CPU time:       \d+\.\ds\n/);
    expect(info).not.toContain('Messages:');
    expect(await state('vm1')).toBe('running (booted)');
    expect((await tsv(['domid', 'vm1'])).stdout).toBe(`${id}\n\n`);

    const con = await onPty([process.execPath, tsvirshStandInPath(), '-c', URI(), 'console', 'vm1'], [
      { wait: 'Escape character is ^] (Ctrl + ])', send: '' },
      { wait: "stand-in guest 'vm1' booted", send: 'hello' },
      { wait: 'hello', send: '\x1d' },
    ]);
    expect(con.stdout).toContain("Connected to domain 'vm1'");
    expect(con.stdout).toContain("stand-in guest 'vm1' booted");
    expect(con.status).toBe(0);

    expect((await tsv(['shutdown', 'vm1'])).stdout).toBe("Domain 'vm1' is being shutdown\n\n");
    await waitState('vm1', 'shut off (shutdown)');
    expect((await tsv(['list', '--all'])).stdout).toMatch(/ -    vm1    shut off\n/);
  });

  it('destroy → shut off (destroyed); a second destroy fails like virsh', async () => {
    await tsv(['start', 'vm1']);
    const d = await tsv(['destroy', 'vm1']);
    expect([d.stdout, d.status]).toEqual(["Domain 'vm1' destroyed\n\n", 0]);
    expect(await state('vm1')).toBe('shut off (destroyed)');
    const again = await tsv(['destroy', 'vm1']);
    expect([again.stderr, again.status]).toEqual(["error: Failed to destroy domain 'vm1'\nerror: Requested operation is not valid: domain is not running\n", 1]);
    const start2 = await tsv(['start', 'vm1']);
    const start3 = await tsv(['start', 'vm1']);
    expect([start3.stderr, start3.status]).toEqual(['error: Domain is already active\n', 1]);
    expect(start2.status).toBe(0);
  });

  it('reboot: same id, new VM process, running (booted)', async () => {
    const before = vmPid('vm1')!;
    const id = (await tsv(['domid', 'vm1'])).stdout;
    expect((await tsv(['reboot', 'vm1'])).stdout).toBe("Domain 'vm1' is being rebooted\n\n");
    await waitFor('new VM process', () => (vmPid('vm1') !== undefined && vmPid('vm1') !== before ? true : undefined));
    await waitState('vm1', 'running (booted)');
    expect((await tsv(['domid', 'vm1'])).stdout).toBe(id);
  });

  it('reset: restarted at once, same id', async () => {
    const before = vmPid('vm1')!;
    expect((await tsv(['reset', 'vm1'])).stdout).toBe("Domain 'vm1' was reset\n\n");
    await waitFor('new VM process', () => (vmPid('vm1') !== undefined && vmPid('vm1') !== before ? true : undefined));
    await waitState('vm1', 'running (booted)');
  });

  it('suspend/resume: paused (user) → running (unpaused); list shows paused', async () => {
    expect((await tsv(['suspend', 'vm1'])).stdout).toBe("Domain 'vm1' suspended\n\n");
    expect(await state('vm1')).toBe('paused (user)');
    expect((await tsv(['list'])).stdout).toMatch(/vm1 +paused\n/);
    expect((await tsv(['resume', 'vm1'])).stdout).toBe("Domain 'vm1' resumed\n\n");
    expect(await state('vm1')).toBe('running (unpaused)');
    const again = await tsv(['resume', 'vm1']);
    expect(again.stderr).toBe("error: Failed to resume domain 'vm1'\nerror: Requested operation is not valid: domain is not paused\n");
  });

  it('kill -9 of the VM process → shut off (crashed), never "running"', async () => {
    process.kill(vmPid('vm1')!, 'SIGKILL');
    await waitState('vm1', 'shut off (crashed)');
  });

  it('guest triple fault → shut off (crashed); with on_crash=restart it runs again', async () => {
    const f = domainFile('crashy');
    await tsv(['define', f.path]);
    await tsv(['start', 'crashy']);
    await onPty([process.execPath, tsvirshStandInPath(), '-c', URI(), 'console', 'crashy'], [
      { wait: 'booted', send: 'crash\r' },
    ]);
    await waitState('crashy', 'shut off (crashed)');
    const g = domainFile('phoenix', { extra: '<on_crash>restart</on_crash>' });
    await tsv(['define', g.path]);
    await tsv(['start', 'phoenix']);
    const before = vmPid('phoenix');
    await onPty([process.execPath, tsvirshStandInPath(), '-c', URI(), 'console', 'phoenix'], [{ wait: 'booted', send: 'crash\r' }]);
    await waitFor('restart', () => (vmPid('phoenix') !== before && vmPid('phoenix') !== undefined ? true : undefined));
    await waitState('phoenix', 'running (booted)');
    await tsv(['destroy', 'phoenix']);
  });

  it('on_poweroff=restart: a shutdown restarts the guest', async () => {
    const f = domainFile('bouncer', { extra: '<on_poweroff>restart</on_poweroff>' });
    await tsv(['define', f.path]);
    await tsv(['start', 'bouncer']);
    const before = vmPid('bouncer');
    await tsv(['shutdown', 'bouncer']);
    await waitFor('restart', () => (vmPid('bouncer') !== before && vmPid('bouncer') !== undefined ? true : undefined));
    await waitState('bouncer', 'running (booted)');
    await tsv(['destroy', 'bouncer']);
  });

  it('autostart: marked, and started by the first tsvirsh of the next host boot', async () => {
    expect((await tsv(['autostart', 'vm1'])).stdout).toBe("Domain 'vm1' marked as autostarted\n\n");
    expect((await tsv(['list', '--all', '--autostart', '--name'])).stdout).toBe('vm1\n\n');
    expect(await state('vm1')).toBe('shut off (crashed)');
    writeFileSync(join(root, 'run', 'autostart.boot'), 'a-previous-boot\n');
    await tsv(['uri']);
    await waitState('vm1', 'running (booted)');
    expect((await tsv(['autostart', '--disable', 'vm1'])).stdout).toBe("Domain 'vm1' unmarked as autostarted\n\n");
  });

  it('undefine of a running domain makes it transient; it disappears when stopped', async () => {
    expect((await tsv(['undefine', 'vm1'])).stdout).toBe("Domain 'vm1' has been undefined\n\n");
    expect((await tsv(['list', '--transient', '--name'])).stdout).toBe('vm1\n\n');
    expect((await tsv(['dominfo', 'vm1'])).stdout).toContain('Persistent:     no\n');
    await tsv(['destroy', 'vm1']);
    const gone = await tsv(['dominfo', 'vm1']);
    expect([gone.stderr, gone.status]).toEqual(["error: failed to get domain 'vm1'\n", 1]);
  });

  it('transient create: running at once, not persistent, gone after destroy', async () => {
    const f = domainFile('temp');
    const c = await tsv(['create', f.path]);
    expect(c.stdout).toBe(`Domain 'temp' created from ${f.path}\n\n`);
    expect(await state('temp')).toBe('running (booted)');
    expect((await tsv(['list', '--all', '--persistent', '--name'])).stdout).not.toContain('temp');
    await tsv(['destroy', 'temp']);
    expect((await tsv(['list', '--all', '--name'])).stdout).not.toContain('temp');
  });

  it('event --loop prints lifecycle events of other tsvirsh processes as virsh does', async () => {
    const f = domainFile('evt');
    const ev = start(process.execPath, [tsvirshStandInPath(), '-c', URI(), 'event', '--loop', '--all', '--domain', 'crashy']);
    await sleep(1500);
    await tsv(['start', 'crashy']);
    await tsv(['suspend', 'crashy']);
    await tsv(['resume', 'crashy']);
    await tsv(['destroy', 'crashy']);
    await tsv(['define', f.path]); // another domain: filtered out by --domain
    await waitFor('events', () => (ev.out.stdout.split('\n').length >= 5 ? true : undefined));
    ev.child.kill('SIGINT');
    await ev.exited;
    expect(ev.out.stdout).toBe(
      [
        "event 'lifecycle' for domain 'crashy': Started Booted",
        "event 'lifecycle' for domain 'crashy': Suspended Paused",
        "event 'lifecycle' for domain 'crashy': Resumed Unpaused",
        "event 'lifecycle' for domain 'crashy': Stopped Destroyed",
        'event loop interrupted',
        'events received: 4',
        '',
        '',
      ].join('\n'),
    );
  });

  it('a corrupt config file in the state directory is reported and skipped; listing still works', async () => {
    writeFileSync(join(root, 'config', 'broken.xml'), '<domain type="bhyve"><name>broken</na');
    const r = await tsv(['list', '--all', '--name']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('crashy\n');
    expect(r.stdout).not.toContain('broken');
    expect(r.stderr).toMatch(/^warning: .*config\/broken\.xml: invalid domain XML/m);
    rmSync(join(root, 'config', 'broken.xml'));
  });
});

describe('tsvirsh robustness (VM stand-in)', { timeout: 180_000 }, () => {
  it('killing the CLI mid-start never leaves a half-started domain or an orphan VM', async () => {
    const f = domainFile('halfway');
    await tsv(['define', f.path]);
    for (const delay of [150, 300, 450, 600, 750, 900]) {
      const p = start(process.execPath, [tsvirshStandInPath(), '-c', URI(), 'start', 'halfway']);
      await sleep(delay);
      p.child.kill('SIGKILL');
      await p.exited;
      // Whatever moment it died at: once things settle, either it started completely and
      // runs with exactly one VM process, or it is shut off with no VM process left.
      const settled = await waitFor('settled state', async () => {
        const s = await state('halfway');
        return s === 'running (booted)' || s.startsWith('shut off') ? s : undefined;
      });
      await sleep(300);
      const again = await state('halfway');
      if (settled === 'running (booted)') {
        expect(again).toBe('running (booted)');
        expect(standIns('halfway')).toHaveLength(1);
        await tsv(['destroy', 'halfway']);
      } else {
        expect(again).toMatch(/^shut off \((failed|destroyed|unknown)\)$/);
        await waitFor('no orphan VM', () => (standIns('halfway').length === 0 ? true : undefined));
      }
      expect(standIns('halfway')).toHaveLength(0);
    }
  });

  it('20 concurrent tsvirsh processes on the same domains leave consistent state', async () => {
    const names = ['p1', 'p2', 'p3'];
    for (const nm of names) await tsv(['define', domainFile(nm).path]);
    const ops = ['start', 'destroy', 'suspend', 'resume', 'list --all', 'dominfo', 'domstate --reason', 'start', 'destroy', 'autostart'];
    const runs: Array<Promise<Result>> = [];
    for (let i = 0; i < 20; i++) {
      const nm = names[i % names.length]!;
      const op = ops[(i * 7) % ops.length]!;
      const cmd = op === 'list --all' ? op : `${op} ${nm}`;
      runs.push(tsv([`${cmd}; domstate ${nm}; start ${nm}; domstate --reason ${nm}`]));
    }
    const results = await Promise.all(runs);
    // No process crashed or reported anything but libvirt-style errors.
    for (const r of results) {
      expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('error: '))).toEqual([]);
      expect(r.stderr).not.toContain('internal error');
    }
    // Every status file parses; running domains have exactly one VM process, others none.
    for (const nm of names) {
      const s = await state(nm);
      expect(s).toMatch(/^(running|paused|shut off) \(/);
      const st = JSON.parse(readFileSync(join(root, 'run', `${nm}.status.json`), 'utf8')) as { startingBy?: unknown };
      expect(st.startingBy).toBeUndefined();
      if (s.startsWith('shut off')) expect(standIns(nm)).toHaveLength(0);
      else expect(standIns(nm)).toHaveLength(1);
      await tsv([`destroy ${nm}`]);
    }
    const list = await tsv(['list', '--all']);
    expect(list.status).toBe(0);
    expect(readdirSync(join(root, 'run')).filter((x) => x.includes('.tmp-'))).toEqual([]);
  });
});

describe.skipIf(!VIRSH)('running-state output compared with virsh -c test:///default', { timeout: 90_000 }, () => {
  it('list, dominfo and domstate --reason through start, suspend, resume and destroy', async () => {
    const f = domainFile('cmpvm');
    const steps = 'start cmpvm; list; domstate --reason cmpvm; suspend cmpvm; list; domstate --reason cmpvm; resume cmpvm; domstate --reason cmpvm; destroy cmpvm; domstate --reason cmpvm; list --all --name';
    // virsh: remove the test driver's own domain first so both lists show only ours.
    const theirs = (await virsh([`destroy test; undefine test; define ${f.path}; ${steps}`])).stdout;
    const ours = (await tsv([`define ${f.path}; ${steps}`])).stdout;
    const norm = (s: string) =>
      s
        .replace(/^Domain 'test' destroyed\n\nDomain 'test' has been undefined\n\n/, '')
        .replace(/^ \d+ +cmpvm/gm, ' N cmpvm')
        .split('\n')
        .filter((l) => !/^(crashy|halfway|p\d|phoenix|bouncer|evt)$/.test(l))
        .join('\n');
    expect(norm(ours)).toBe(norm(theirs));
  });

  it('dominfo of a running domain: same lines and layout', async () => {
    await tsv(['start', 'cmpvm']);
    const ours = (await tsv(['dominfo', 'cmpvm'])).stdout;
    await tsv(['destroy', 'cmpvm']);
    const f = join(xmlDir, 'cmpvm.xml');
    const theirs = (await virsh([`define ${f}; start cmpvm; dominfo cmpvm`])).stdout.replace(/^[\s\S]*?(?=^Id:)/m, '');
    const norm = (s: string) =>
      s
        .split('\n')
        .filter((l) => !/^(Security model|Security DOI|Security label|Messages):/.test(l) && !/^ {16}/.test(l))
        .map((l) => l.replace(/^(Id:|CPU time:|OS Type:)(\s+)\S+/, '$1$2X'))
        .join('\n');
    expect(norm(ours)).toBe(norm(theirs));
  });
});
