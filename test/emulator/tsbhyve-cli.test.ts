import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuild, tsbhyvePath } from './helpers/build-cli.js';

let cli: string;
beforeAll(() => {
  cli = tsbhyvePath();
}, 120_000);
afterAll(() => removeBuild());

function run(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SECTION_2_5 = [
  'acpi_tables=true',
  'acpi_tables_in_memory=true',
  'memory.size=256',
  'x86.strictmsr=true',
  'x86.verbosemsr=false',
  'x86.vmexit_on_hlt=true',
  'x86.vmexit_on_pause=true',
  'lpc.fwcfg=bhyve',
  'lpc.com1.path=stdio',
  'cpus=2',
  'pci.0.0.0.device=hostbridge',
  'pci.0.1.0.device=virtio-net',
  'pci.0.1.0.backend=tap0',
  'pci.0.2.0.device=ahci',
  'pci.0.2.0.port.0.type=hd',
  'pci.0.2.0.port.0.path=./vm0.img',
  'pci.0.31.0.device=lpc',
  'config.dump=1',
  'name=vm0',
  '',
].join('\n');

describe('tsbhyve command line (spawned)', () => {
  it('dumps the section 2.5 tree byte for byte and exits 1', () => {
    const r = run(
      '-c 2 -m 256 -A -H -P -s 0:0,hostbridge -s 1:0,virtio-net,tap0 -s 2:0,ahci-hd,./vm0.img -s 31,lpc -l com1,stdio -o config.dump=1 vm0'.split(' '),
    );
    expect(r.stdout).toBe(SECTION_2_5);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
  });

  it('dumps a -k file merged with options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbhyve-k-'));
    writeFileSync(join(dir, 'vm.conf'), '# made by a test\nname=fromk\ncpus=3\npci.0.0.0.device=hostbridge\n');
    const r = run(['-k', 'vm.conf', '-o', 'config.dump=true'], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('\nname=fromk\ncpus=3\npci.0.0.0.device=hostbridge\nconfig.dump=true\n');
  });

  it('prints usage and exits 0 for -h, 1 for an unknown option or a missing name', () => {
    const h = run(['-h']);
    expect(h.status).toBe(0);
    expect(h.stderr).toMatch(/^Usage: tsbhyve \[-aCDeHhMPSuWwxY\]/);
    const bad = run(['-Z', 'vm']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^tsbhyve: illegal option -- Z\nUsage:/);
    expect(run([]).status).toBe(1);
  });

  it('exits 64 for a malformed option value and 4 for a bad -s', () => {
    const o = run(['-o', 'novalue', 'vm']);
    expect(o.status).toBe(64);
    expect(o.stderr).toBe("tsbhyve: invalid configuration option 'novalue'\n");
    const s = run(['-s', '40,hostbridge', 'vm']);
    expect(s.status).toBe(4);
    expect(s.stderr).toBe('Invalid PCI slot info field "40,hostbridge"\n');
    const l = run(['-l', 'com9,stdio', 'vm']);
    expect(l.status).toBe(64);
  });

  it('lists the LPC devices it implements for -l help', () => {
    const r = run(['-l', 'help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('bootrom\ncom1\ncom2\ncom3\ncom4\npc-testdev\n');
  });

  it('lists the PCI models it implements for -s help', () => {
    const r = run(['-s', 'help']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['hostbridge', 'lpc', 'ahci', 'ahci-hd', 'ahci-cd', 'virtio-blk', 'virtio-net', 'virtio-rnd', 'virtio-console', 'nvme', 'virtio-9p', 'e1000', 'xhci', 'fbuf']));
    expect(r.stdout).not.toContain('hda');
  });

  it('checks topology and memory size before running', () => {
    const t = run(['-c', 'cpus=3,sockets=2', 'vm']);
    expect(t.status).toBe(4);
    expect(t.stderr).toBe('tsbhyve: Topology (2 sockets, 1 cores, 1 threads) does not match 3 vCPUs\n');
    const m = run(['-m', '12Q', 'vm']);
    expect(m.status).toBe(64);
    expect(m.stderr).toBe("tsbhyve: invalid memsize '12Q'\n");
  });
});
