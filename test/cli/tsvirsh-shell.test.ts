/**
 * tsvirsh's connection selection (-c, VIRSH_DEFAULT_CONNECT_URI, LIBVIRT_DEFAULT_URI, the
 * per-user default root), the interactive shell, command strings, read-only mode and
 * timing, through the real tsvirsh program.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLifecycle, tsvirshPath } from '../driver/lifecycle/helpers/build.js';
import { onPty, run } from './helpers/run.js';

let dir: string;
const FIXTURE = join(process.cwd(), 'fixtures', 'domains', 'minimal.xml');

beforeAll(async () => {
  await buildLifecycle();
  dir = mkdtempSync(join(tmpdir(), 'tsvirsh-shell-'));
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

/** An environment with no daemon socket and a private home. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'runtime') };
  delete e.VIRSH_DEFAULT_CONNECT_URI;
  delete e.LIBVIRT_DEFAULT_URI;
  delete e.XDG_STATE_HOME;
  const out = { ...e, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete out[k];
  return out;
}

/** As root the default root is /var/lib/tsvirt/embed: these tests must not touch it. */
const ROOT_USER = process.getuid?.() === 0;

function tsv(args: string[], e: NodeJS.ProcessEnv = env(), input?: string) {
  return run(process.execPath, [tsvirshPath(), ...args], { env: e, input });
}

describe('tsvirsh connections', () => {
  it.skipIf(ROOT_USER)('defaults to embedded mode in the per-user state directory (skipped as root: the default would be /var/lib/tsvirt/embed)', async () => {
    const r = await tsv(['uri']);
    expect(r.stdout).toBe(`bhyve:///embed?root=${join(dir, 'home', '.local', 'state', 'tsvirt', 'embed')}\n\n`);
    expect(existsSync(join(dir, 'home', '.local', 'state', 'tsvirt', 'embed', 'config'))).toBe(true);
  });

  it.skipIf(ROOT_USER)('honours XDG_STATE_HOME for the default root (skipped as root)', async () => {
    const r = await tsv(['uri'], env({ XDG_STATE_HOME: join(dir, 'state') }));
    expect(r.stdout).toBe(`bhyve:///embed?root=${join(dir, 'state', 'tsvirt', 'embed')}\n\n`);
  });

  it('takes -c over VIRSH_DEFAULT_CONNECT_URI over LIBVIRT_DEFAULT_URI', async () => {
    const a = `bhyve:///embed?root=${dir}/a`;
    const b = `bhyve:///embed?root=${dir}/b`;
    const c = `bhyve:///embed?root=${dir}/c`;
    expect((await tsv(['uri'], env({ LIBVIRT_DEFAULT_URI: a }))).stdout).toBe(`${a}\n\n`);
    expect((await tsv(['uri'], env({ LIBVIRT_DEFAULT_URI: a, VIRSH_DEFAULT_CONNECT_URI: b }))).stdout).toBe(`${b}\n\n`);
    expect((await tsv(['-c', c, 'uri'], env({ LIBVIRT_DEFAULT_URI: a, VIRSH_DEFAULT_CONNECT_URI: b }))).stdout).toBe(`${c}\n\n`);
    expect((await tsv(['--connect', c, 'uri'])).stdout).toBe(`${c}\n\n`);
  });

  it('refuses malformed bhyve URIs with a libvirt-style error', async () => {
    const rel = await tsv(['-c', 'bhyve:///embed?root=relative/dir', 'list']);
    expect(rel.status).toBe(1);
    expect(rel.stderr).toBe("error: failed to connect to the hypervisor\nerror: invalid argument: URI 'bhyve:///embed?root=relative/dir' has a relative root 'relative/dir'; it must be absolute\n");
    const remote = await tsv(['-c', 'bhyve://otherhost/system', 'list']);
    expect(remote.stderr).toContain('names a remote host');
  });

  it('reports a daemon that is not there as virsh does', async () => {
    const r = await tsv(['-c', `bhyve+unix:///system?socket=${dir}/nonexistent/sock`, 'list']);
    expect([r.stdout, r.stderr, r.status]).toEqual(['', `error: failed to connect to the hypervisor\nerror: Failed to connect socket to '${dir}/nonexistent/sock': No such file or directory\n`, 1]);
    const s = await tsv(['-c', 'bhyve:///session', 'list']);
    expect(s.stderr).toBe(`error: failed to connect to the hypervisor\nerror: Failed to connect socket to '${dir}/runtime/tsvirt/tsvirt-sock': No such file or directory\n`);
  });
});

describe('tsvirsh command forms', () => {
  const uri = () => `bhyve:///embed?root=${dir}/forms`;

  it('runs a command string with quotes and ; separators, exit status of the last command', async () => {
    const ok = await tsv(['-c', uri(), `define '${FIXTURE}'; domstate minimal; domuuid "minimal"`]);
    expect(ok.stdout).toBe(`Domain 'minimal' defined from ${FIXTURE}\n\nshut off\n\n5d3c4b52-9a6e-4c1e-8f7d-2b6a1e0c9d41\n\n`);
    expect(ok.status).toBe(0);
    const last = await tsv(['-c', uri(), 'domstate nosuch; domstate minimal']);
    expect(last.status).toBe(0);
    const lastFails = await tsv(['-c', uri(), 'domstate minimal; domstate nosuch']);
    expect(lastFails.status).toBe(1);
    const unterminated = await tsv(['-c', uri(), "domstate 'minimal"]);
    expect([unterminated.stderr, unterminated.status]).toEqual([`error: missing "'"\n`, 1]);
  });

  it('read-only connections refuse state changes as libvirt does', async () => {
    const r = await tsv(['-r', '-c', uri(), 'autostart minimal']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("error: Failed to mark domain 'minimal' as autostarted\nerror: operation forbidden: read only access prevents virDomainSetAutostart\n");
    expect((await tsv(['-r', '-c', uri(), 'domstate minimal'])).status).toBe(0);
  });

  it('-t prints timing instead of the blank line', async () => {
    const r = await tsv(['-t', '-c', uri(), 'domstate minimal']);
    expect(r.stdout).toMatch(/^shut off\n\n\(Time: \d+\.\d{3} ms\)\n$/);
  });

  it('interactive shell on piped input: runs each line, quits on quit', async () => {
    const r = await tsv(['-c', uri()], env(), 'domstate minimal\nlist --all --name\nquit\ndomstate minimal\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Welcome to tsvirsh, the tsvirt interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n");
    expect(r.stdout.match(/shut off\n/g)).toHaveLength(1);
    expect(r.stdout).toContain('minimal\n\n');
  });

  it('interactive shell on a terminal: prompt, line editing, exit at end of input', async () => {
    const prompt = process.getuid?.() === 0 ? 'tsvirsh # ' : 'tsvirsh $ ';
    const r = await onPty([process.execPath, tsvirshPath(), '-c', uri()], [
      { wait: prompt, send: 'domstate minimal\r' },
      { wait: 'shut off', send: 'exit\r' },
    ]);
    expect(r.stdout).toContain(prompt);
    expect(r.stdout).toContain('shut off');
    expect(r.status).toBe(0);
  });

  it('edit: $EDITOR changes the definition; an unchanged file is reported as such; a broken edit fails', async () => {
    const e = (editor: string) => env({ EDITOR: editor, VISUAL: undefined });
    const same = await tsv(['-c', uri(), 'edit minimal'], e('true'));
    expect(same.stdout).toBe("Domain 'minimal' XML configuration not changed.\n\n");
    const edited = await tsv(['-c', uri(), 'edit minimal'], e("sed -i -e 's/262144/131072/g'"));
    expect(edited.stdout).toBe("Domain 'minimal' XML configuration edited.\n\n");
    expect((await tsv(['-c', uri(), 'dumpxml minimal'])).stdout).toContain("<memory unit='KiB'>131072</memory>");
    const broken = await tsv(['-c', uri(), 'edit minimal'], e("sed -i -e 's/<name>/<nme>/'"));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^error: /);
    expect((await tsv(['-c', uri(), 'dumpxml minimal'])).stdout).toContain('<name>minimal</name>');
  });

  it('domxml-to-native and domxml-from-native with the bhyve translation', async () => {
    const kernel = join(dir, 'kernel.bin');
    const b = Buffer.alloc(64);
    b.writeUInt32LE(0x1badb002, 0);
    b.writeUInt32LE(0, 4);
    b.writeUInt32LE((0x100000000 - 0x1badb002) >>> 0, 8);
    writeFileSync(kernel, b);
    const xml = join(dir, 'native.xml');
    writeFileSync(xml, `<domain type='bhyve'><name>native</name><uuid>5d3c4b52-9a6e-4c1e-8f7d-2b6a1e0c9d42</uuid><memory unit='MiB'>64</memory><os><type>hvm</type><kernel>${kernel}</kernel></os><devices><serial type='tcp'><source mode='bind' host='127.0.0.1' service='4444'/><target port='0'/></serial></devices></domain>`);
    const to = await tsv(['-c', uri(), `domxml-to-native bhyve-argv --xml ${xml}`]);
    expect(to.status).toBe(0);
    expect(to.stdout).toMatch(/^\/usr\/sbin\/bhyve -c 1 -m 64 .*-l com1,tcp=127\.0\.0\.1:4444 .*native\n\n$/);
    const argv = join(dir, 'native.args');
    writeFileSync(argv, to.stdout.trim());
    const from = await tsv(['-c', uri(), `domxml-from-native bhyve-argv ${argv}`]);
    expect(from.status).toBe(0);
    expect(from.stdout).toContain('<name>native</name>');
    const bad = await tsv(['-c', uri(), `domxml-to-native qemu-argv --xml ${xml}`]);
    expect([bad.stderr, bad.status]).toEqual(['error: invalid argument: unsupported config type qemu-argv\n', 1]);
  });

  it('console needs a terminal, like virsh', async () => {
    const r = await tsv(['-c', uri(), 'console minimal']);
    expect([r.stderr, r.status]).toEqual(['error: Cannot run interactive console without a controlling TTY\n', 1]);
  });
});
