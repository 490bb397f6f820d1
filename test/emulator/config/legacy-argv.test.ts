import { describe, expect, it } from 'vitest';
import { parseCommandLine, type ParseOutcome } from '../../../src/emulator/config/legacy-argv.js';
import { ConfigError } from '../../../src/emulator/config/errors.js';
import { getopt } from '../../../src/emulator/config/getopt.js';

function config(args: string[], files: Record<string, string> = {}) {
  const r = parseCommandLine(args, {
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return files[p]!;
    },
  });
  if (r.kind !== 'config') throw new Error(`expected config, got ${r.kind}`);
  return r;
}

function failure(args: string[]): ConfigError {
  try {
    parseCommandLine(args, {
      readFile: () => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      },
    });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function outcome(args: string[]): ParseOutcome {
  return parseCommandLine(args, { readFile: () => '' });
}

const SECTION_2_5 = `acpi_tables=true
acpi_tables_in_memory=true
memory.size=256
x86.strictmsr=true
x86.verbosemsr=false
x86.vmexit_on_hlt=true
x86.vmexit_on_pause=true
lpc.fwcfg=bhyve
lpc.com1.path=stdio
cpus=2
pci.0.0.0.device=hostbridge
pci.0.1.0.device=virtio-net
pci.0.1.0.backend=tap0
pci.0.2.0.device=ahci
pci.0.2.0.port.0.type=hd
pci.0.2.0.port.0.path=./vm0.img
pci.0.31.0.device=lpc
config.dump=1
name=vm0
`;

describe('getopt', () => {
  it('groups flags, takes attached and separate arguments, stops at the first operand', () => {
    const evs = [...getopt(['-AHc2', '-m', '-5', 'vm', '-x'], 'AHc:m:x')];
    expect(evs).toEqual([
      { kind: 'option', opt: 'A' },
      { kind: 'option', opt: 'H' },
      { kind: 'option', opt: 'c', arg: '2' },
      { kind: 'option', opt: 'm', arg: '-5' },
      { kind: 'end', operands: ['vm', '-x'] },
    ]);
    expect([...getopt(['--', '-x'], 'x')]).toEqual([{ kind: 'end', operands: ['-x'] }]);
    expect([...getopt(['-q'], 'x')][0]).toEqual({ kind: 'error', message: 'illegal option -- q' });
    expect([...getopt(['-c'], 'c:')][0]).toEqual({ kind: 'error', message: 'option requires an argument -- c' });
  });
});

describe('bhyve command line → config tree', () => {
  it('prints the tree of bhyve-userland.md section 2.5 for the worked example', () => {
    const r = config(
      '-c 2 -m 256 -A -H -P -s 0:0,hostbridge -s 1:0,virtio-net,tap0 -s 2:0,ahci-hd,./vm0.img -s 31,lpc -l com1,stdio -o config.dump=1 vm0'.split(' '),
    );
    expect(r.tree.dump()).toBe(SECTION_2_5);
  });

  it('maps every flag to its key', () => {
    const r = config(['-aCDeHMPSuwWxYI', 'vm']);
    const t = r.tree;
    expect(t.get('x86.x2apic')).toBe('true'); // -x after -a wins
    for (const k of ['memory.guest_in_core', 'destroy_on_poweroff', 'x86.strictio', 'x86.vmexit_on_hlt', 'monitor', 'x86.vmexit_on_pause', 'memory.wired']) {
      expect(t.get(k)).toBe('true');
    }
    for (const k of ['rtc.use_localtime', 'x86.strictmsr', 'virtio_msix', 'x86.mptable']) expect(t.get(k)).toBe('false');
    const r2 = config(['-U', '2e6cf2b5-6e1a-4ad2-8a55-4b0c1f0f4d7e', '-K', 'fr', '-V', 'soft', 'vm']);
    expect(r2.tree.get('uuid')).toBe('2e6cf2b5-6e1a-4ad2-8a55-4b0c1f0f4d7e');
    expect(r2.tree.get('keyboard.layout')).toBe('fr');
    expect(r2.tree.get('vmm.backend')).toBe('soft');
  });

  it('parses -c topologies and refuses unknown keys with EX_USAGE', () => {
    const t = config(['-c', 'cpus=8,sockets=2,cores=2,threads=2', 'vm']).tree;
    expect(['cpus', 'sockets', 'cores', 'threads'].map((k) => t.get(k))).toEqual(['8', '2', '2', '2']);
    const t2 = config(['-c', '', 'vm']).tree;
    expect(t2.dump()).toContain('sockets=1\ncores=1\nthreads=1\ncpus=1\n');
    const e = failure(['-c', '4,dies=2', 'vm']);
    expect(e.exitStatus).toBe(64);
    expect(e.message).toBe("invalid cpu topology '4,dies=2'");
  });

  it('accumulates -p pinnings and checks their range', () => {
    const t = config(['-p', '0:1', '-p', '0:3', '-p', '1:2', 'vm']).tree;
    expect(t.get('vcpu.0.cpuset')).toBe('1,3');
    expect(t.get('vcpu.1.cpuset')).toBe('2');
    expect(failure(['-p', '0-1', 'vm']).exitStatus).toBe(64);
    expect(failure(['-p', '0:5000', 'vm']).message).toContain("hostcpu '5000' outside valid range");
  });

  it('parses -G with wait flag, IPv6 address and port', () => {
    const t = config(['-G', 'w[::1]:1234', 'vm']).tree;
    expect(t.get('gdb.wait')).toBe('true');
    expect(t.get('gdb.address')).toBe('[::1]');
    expect(t.get('gdb.port')).toBe('1234');
    expect(config(['-G', '5555', 'vm']).tree.get('gdb.port')).toBe('5555');
  });

  it('parses -n NUMA domains', () => {
    const t = config(['-n', 'id=0,size=107,cpus=0-3', '-n', 'id=1,size=107,cpus=4-7,domain_policy=prefer:0', 'vm']).tree;
    expect(t.dump()).toContain('domains.0.size=107\ndomains.0.cpus=0-3\ndomains.1.size=107\ndomains.1.domain_policy=prefer:0\ndomains.1.cpus=4-7\n');
    expect(failure(['-n', 'size=1', 'vm']).message).toBe("invalid NUMA configuration 'size=1'");
    expect(failure(['-n', 'id=300', 'vm']).exitStatus).toBe(4);
    expect(failure(['-o', 'acpi_tables=false', '-n', 'id=0', 'vm']).message).toBe('NUMA emulation requires ACPI');
  });

  it('takes -o and refuses a missing or empty value', () => {
    const t = config(['-o', 'bios.vendor=ACME Corp', '-o', 'pci.0.2.0.path=/a=b', 'vm']).tree;
    expect(t.get('bios.vendor')).toBe('ACME Corp');
    expect(t.get('pci.0.2.0.path')).toBe('/a=b');
    expect(failure(['-o', 'novalue', 'vm']).exitStatus).toBe(64);
    expect(failure(['-o', 'empty=', 'vm']).message).toBe("invalid configuration option 'empty='");
    expect(failure(['-o', 'lpc=x', 'vm']).exitStatus).toBe(4); // lpc is a node
  });

  it('reads -k files where they appear, later options win', () => {
    const files = { '/k.conf': '# comment\n\nname=fromfile\nmemory.size=1G\ncpus=4\n' };
    const t = config(['-m', '512', '-k', '/k.conf', '-c', '2'], files).tree;
    expect(t.get('name')).toBe('fromfile');
    expect(t.get('memory.size')).toBe('1G');
    expect(t.get('cpus')).toBe('2');
    const e = (() => {
      try {
        config(['-k', '/bad.conf', 'vm'], { '/bad.conf': 'a=1\njunk line\n' });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(e.exitStatus).toBe(4);
    expect(e.message).toBe("/bad.conf line 2: invalid config option 'junk line'");
    expect(failure(['-k', '/nonexistent', 'vm']).message).toBe('Failed to open configuration file /nonexistent: No such file or directory');
  });

  it('keeps a value verbatim after the first "=" in -k files, without trimming', () => {
    const t = config(['-k', '/k'], { '/k': 'name=vm\nuuid= spaced =x' }).tree;
    expect(t.get('uuid')).toBe(' spaced =x');
  });

  it('requires exactly one VM name unless the tree has one', () => {
    expect(outcome([])).toEqual({ kind: 'usage', exitStatus: 1 });
    expect(outcome(['a', 'b'])).toEqual({ kind: 'usage', exitStatus: 1 });
    expect(config(['-o', 'name=x']).tree.get('name')).toBe('x');
    expect(outcome(['-h'])).toEqual({ kind: 'usage', exitStatus: 0 });
    expect(outcome(['-z', 'vm'])).toEqual({ kind: 'usage', exitStatus: 1, message: 'illegal option -- z' });
  });

  it('answers help lists for any prefix of "help"', () => {
    expect(outcome(['-s', 'help'])).toEqual({ kind: 'list-pci' });
    expect(outcome(['-s', 'h'])).toEqual({ kind: 'list-pci' });
    expect(outcome(['-l', 'hel'])).toEqual({ kind: 'list-lpc' });
    // help wins over a malformed option that comes after it
    expect(outcome(['-s', 'help', '-s', 'bogus'])).toEqual({ kind: 'list-pci' });
  });

  it('copies lpc.bootrom/bootvars to the top-level keys with a deprecation warning', () => {
    const r = config(['-l', 'bootrom,/fw/CODE.fd,/fw/VARS.fd,fwcfg=qemu', 'vm']);
    expect(r.tree.dump()).toBe(
      'acpi_tables=true\nacpi_tables_in_memory=true\nmemory.size=256M\nx86.strictmsr=true\nx86.verbosemsr=false\n' +
        'lpc.bootrom=/fw/CODE.fd\nlpc.bootvars=/fw/VARS.fd\nlpc.fwcfg=qemu\nbootrom=/fw/CODE.fd\nbootvars=/fw/VARS.fd\nname=vm\n',
    );
    expect(r.warnings).toEqual([
      "lpc.bootrom is deprecated, use '-o bootrom' instead",
      "lpc.bootvars is deprecated, use '-o bootvars' instead",
    ]);
    const r2 = config(['-o', 'bootrom=/mine', '-l', 'bootrom,/other', 'vm']);
    expect(r2.tree.get('bootrom')).toBe('/mine');
  });

  it('parses -l COM ports, pc-testdev and tpm case-insensitively', () => {
    const t = config(['-l', 'COM2,tcp=127.0.0.1:12345', '-l', 'pc-testdev', '-l', 'tpm,swtpm,/run/swtpm.sock', 'vm']).tree;
    expect(t.get('lpc.com2.path')).toBe('tcp=127.0.0.1:12345');
    expect(t.get('lpc.pc-testdev')).toBe('true');
    expect(t.dump()).toContain('tpm.type=swtpm\ntpm.path=/run/swtpm.sock\ntpm.version=2.0\n');
    expect(failure(['-l', 'com5,stdio', 'vm'])).toMatchObject({ exitStatus: 64, message: "invalid lpc device configuration 'com5,stdio'" });
    expect(failure(['-l', 'com1', 'vm']).exitStatus).toBe(64);
    expect(failure(['-l', 'bootrom', 'vm'])).toMatchObject({ exitStatus: 4, message: 'invalid bootrom option "bootrom"' });
    expect(failure(['-l', 'tpm,passthru', 'vm']).exitStatus).toBe(4);
  });

  it('stores direct-boot -f specs as boot.* keys and bhyve -f fw_cfg files aside', () => {
    const r = config(['-f', 'kexec,/k/bzImage,/k/initrd,"console=ttyS0,115200 quiet"', '-f', 'opt/x,string=hello', 'vm']);
    expect(r.tree.dump()).toContain(
      'boot.protocol=linux\nboot.kernel=/k/bzImage\nboot.initrd=/k/initrd\nboot.cmdline=console=ttyS0,115200 quiet\n',
    );
    expect(r.fwcfgFiles).toEqual([{ name: 'opt/x', source: { kind: 'string', value: 'hello' } }]);
    const m = config(['-f', 'multiboot,/g.elf,/m1;arg1:/m2,cmd line', 'vm']).tree;
    expect(m.dump()).toContain(
      'boot.protocol=multiboot\nboot.kernel=/g.elf\nboot.module.0.path=/m1\nboot.module.0.cmdline=arg1\nboot.module.1.path=/m2\nboot.cmdline=cmd line\n',
    );
    const k = config(['-f', 'kexec,/k,,root=/dev/vda', 'vm']).tree;
    expect(k.get('boot.initrd')).toBeUndefined();
    expect(k.get('boot.cmdline')).toBe('root=/dev/vda');
    expect(config(['-f', 'multiboot,guest.elf', 'vm']).tree.get('boot.kernel')).toBe('guest.elf');
    expect(failure(['-f', 'kexec', 'vm']).exitStatus).toBe(64);
    expect(failure(['-f', 'kexec,/a', '-f', 'kexec,/b', 'vm']).exitStatus).toBe(64);
    expect(failure(['-f', 'x'.repeat(56) + ',string=a', 'vm']).message).toMatch(/^invalid fwcfg item/);
    expect(failure(['-f', 'name,other=a', 'vm']).exitStatus).toBe(64);
  });

  it('refuses an unknown vmm backend', () => {
    expect(failure(['-V', 'xen', 'vm'])).toMatchObject({ exitStatus: 64 });
  });
});
