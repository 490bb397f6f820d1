/**
 * tsvirsh's output, error messages, exit status and help compared with the real virsh from
 * Debian's libvirt-clients on `test:///default`, for the same domain XML and the same
 * commands. Runs the real tsvirsh program (embedded mode, temporary state root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLifecycle, tsvirshPath } from '../driver/lifecycle/helpers/build.js';
import { run, virsh, VIRSH, type Result } from './helpers/run.js';

const FIXTURE = join(process.cwd(), 'fixtures', 'domains', 'minimal.xml');
let root: string;

beforeAll(async () => {
  await buildLifecycle();
  root = mkdtempSync(join(tmpdir(), 'tsvirsh-fmt-'));
}, 600_000);
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

function tsvirsh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(process.execPath, [tsvirshPath(), '-c', `bhyve:///embed?root=${root}`, ...args], { env: { ...process.env, ...env } });
}

/** virsh on test:///default with its own 'test' domain removed, so only ours is listed. */
function virshClean(cmds: string): Promise<Result> {
  return virsh([`destroy test; undefine test; ${cmds}`]);
}

/** Drop the output of the two cleanup commands virshClean runs first. */
function afterCleanup(out: string): string {
  return out.replace(/^Domain 'test' destroyed\n\nDomain 'test' has been undefined\n\n/, '');
}

describe.skipIf(!VIRSH)('tsvirsh output compared with virsh -c test:///default', () => {
  it('define, then list --all, dominfo and domstate --reason of the same inactive domain', async () => {
    const cmds = `define ${FIXTURE}; list --all; domstate --reason minimal; list --inactive --name; list --uuid --all; domid minimal`;
    const ours = await tsvirsh([cmds]);
    const theirs = await virshClean(cmds);
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    expect(ours.stdout).toBe(afterCleanup(theirs.stdout));
  });

  it('dominfo of an inactive domain: same fields, same layout (host-specific lines aside)', async () => {
    const ours = (await tsvirsh(['dominfo minimal'])).stdout;
    const theirs = afterCleanup((await virshClean(`define ${FIXTURE}; dominfo minimal`)).stdout).replace(/^Domain 'minimal' defined from .*\n\n/, '');
    // The test driver reports OS type 'linux' for every domain, keeps a CPU time for
    // inactive domains and has a security model; the bhyve driver reports the domain's
    // own os type, no CPU time when shut off and no security driver.
    const norm = (s: string) =>
      s
        .split('\n')
        .filter((l) => !/^(CPU time|Security model|Security DOI|Security label):/.test(l))
        .map((l) => l.replace(/^(OS Type:\s+)\S+/, '$1X'))
        .join('\n');
    expect(norm(ours)).toBe(norm(theirs));
    expect(ours).toContain('OS Type:        hvm\n');
  });

  it.each([
    ['unknown command', ['frobnicate']],
    ['unknown option', ['list', '--bogus']],
    ['missing required option', ['domstate']],
    ['unexpected extra data', ['dominfo', 'minimal', 'extra']],
    ['value missing', ['shutdown', 'minimal', '--mode']],
    ['= after a flag', ['list', '--all=3']],
    ['unknown domain', ['dominfo', 'nosuch']],
    ['unknown domain by id', ['domname', '99']],
    ['domid of an inactive domain', ['domid', 'minimal']],
    ['event without a type', ['event']],
    ['event of an unknown type', ['event', '--event', 'frob']],
    ['help of an unknown command', ['help', 'frob']],
    ['unknown shutdown mode', ['shutdown', 'minimal', '--mode', 'bogus']],
    ['mutually exclusive options', ['list', '--table', '--name']],
    ['missing file', ['define', '/nonexistent/dir/x.xml']],
    ['domstate --reason of a defined domain', ['domstate', 'minimal', '--reason']],
    ['domuuid by name', ['domuuid', 'minimal']],
    ['event --list', ['event', '--list']],
  ])('%s: same stdout, stderr and exit status', async (_what, args) => {
    const ours = await tsvirsh(args);
    const theirs = await virshClean(`define ${FIXTURE}; ${args.join(' ')}`);
    // virsh's chain ran three set-up commands first (unless the chain failed to parse);
    // what our one command printed must match what the chain printed after them.
    const rest = afterCleanup(theirs.stdout).replace(/^Domain 'minimal' defined from .*\n\n/, '');
    expect({ out: ours.stdout, err: ours.stderr, status: ours.status }).toEqual({ out: rest, err: theirs.stderr, status: theirs.status });
  });

  it('quiet mode: no header, no trailing blank line, no informational messages', async () => {
    const ours = await tsvirsh(['-q', 'list --all; domstate minimal; autostart minimal; autostart --disable minimal']);
    const theirs = await virsh(['-q', `destroy test; undefine test; define ${FIXTURE}; list --all; domstate minimal; autostart minimal; autostart --disable minimal`]);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.status).toBe(0);
  });

  it('autostart messages and dominfo Autostart line', async () => {
    const cmds = 'autostart minimal; dominfo minimal; autostart --disable minimal';
    const ours = await tsvirsh([cmds]);
    const theirs = afterCleanup((await virshClean(`define ${FIXTURE}; ${cmds}`)).stdout).replace(/^Domain 'minimal' defined from .*\n\n/, '');
    const pick = (s: string) => s.split('\n').filter((l) => /^(Domain |Autostart:)/.test(l));
    expect(pick(ours.stdout)).toEqual(pick(theirs));
  });

  const HELP_CMDS = ['list', 'define', 'undefine', 'create', 'start', 'destroy', 'shutdown', 'reboot', 'reset', 'suspend', 'resume', 'dominfo', 'domstate', 'domid', 'domname', 'domuuid', 'dumpxml', 'edit', 'autostart', 'console', 'capabilities', 'domcapabilities', 'version', 'uri', 'hostname', 'nodeinfo', 'domxml-to-native', 'domxml-from-native', 'event', 'help', 'quit', 'exit', 'connect'];

  it('help of every command matches virsh (the tsvirsh --json extension aside)', async () => {
    const chain = HELP_CMDS.map((c) => `help ${c}`).join('; ');
    const ours = (await tsvirsh([chain])).stdout.split(/(?=^ {2}NAME$)/m);
    const theirs = (await virsh([chain])).stdout.split(/(?=^ {2}NAME$)/m);
    expect(ours.length).toBe(HELP_CMDS.length);
    const strip = (s: string) => s.replace(' [--json]', '').replace(/^ {4}--json {11}.*\n/m, '').replace('  OPTIONS\n\n', '');
    ours.forEach((h, i) => expect(strip(h)).toBe(theirs[i]));
  });

  it('`COMMAND --help` prints the same as `help COMMAND`', async () => {
    for (const c of ['dominfo', 'quit', 'list']) {
      expect((await tsvirsh([c, '--help'])).stdout).toBe((await tsvirsh(['help', c])).stdout);
    }
  });

  it('the virsh-style version and usage', async () => {
    expect((await tsvirsh(['-v'])).stdout).toBe('0.1.0\n');
    expect((await tsvirsh(['--version'])).stdout).toBe('0.1.0\n');
    const bad = await tsvirsh(['-x', 'list']);
    expect([bad.stderr, bad.status]).toEqual(["error: unsupported option '-x'. See --help.\n", 1]);
    const help = (await tsvirsh(['--help'])).stdout;
    expect(help).toContain('tsvirsh [options]... <command> [args...]');
    expect(help).toContain(" Domain Management (help keyword 'domain')\n");
    expect(help).toContain('    dominfo                        domain information\n');
  });

  it('nodeinfo has virsh layout', async () => {
    const ours = (await tsvirsh(['nodeinfo'])).stdout;
    const theirs = (await virsh(['nodeinfo'])).stdout;
    const keys = (s: string) => s.split('\n').map((l) => l.slice(0, 21));
    expect(keys(ours)).toEqual(keys(theirs));
  });

  it('list, dominfo and domstate --json', async () => {
    const list = JSON.parse((await tsvirsh(['list', '--all', '--json'])).stdout) as unknown[];
    expect(list).toEqual([{ id: null, name: 'minimal', uuid: '5d3c4b52-9a6e-4c1e-8f7d-2b6a1e0c9d41', state: 'shutoff', persistent: true, autostart: false }]);
    const st = JSON.parse((await tsvirsh(['domstate', 'minimal', '--json'])).stdout) as Record<string, unknown>;
    expect(st).toEqual({ state: 'shutoff', reason: 'unknown', stateCode: 5, reasonCode: 0 });
    const info = JSON.parse((await tsvirsh(['dominfo', '--json', 'minimal'])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'minimal', state: 'shutoff', cpus: 2, maxMemoryKiB: 262144, persistent: true });
  });
});
