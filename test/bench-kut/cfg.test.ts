/** bench/kut cfg.ts: unittests.cfg sections, keys, multi-line params, and shell words. */
import { describe, expect, it } from 'vitest';
import { CfgError, parseUnittestsCfg, words } from '../../bench/kut/cfg.js';

const SAMPLE = `##############
# comment
[x2apic]
file = apic.flat
smp = 2
qemu_params = -cpu qemu64,+x2apic,+tsc-deadline
arch = x86_64
timeout = 30
groups = apic

[vmexit_cpuid]
file = vmexit.flat
test_args = 'cpuid'
groups = vmexit

[multi]
file = m.flat
extra_params = """-cpu max \\
  -m 2048"""
check = /sys/x=Y /proc/y=0
accel = kvm
`;

describe('parseUnittestsCfg', () => {
  it('reads every section with the keys the harness reads', () => {
    const t = parseUnittestsCfg(SAMPLE);
    expect(t.map((x) => x.name)).toEqual(['x2apic', 'vmexit_cpuid', 'multi']);
    expect(t[0]).toMatchObject({ file: 'apic.flat', smp: 2, qemuParams: '-cpu qemu64,+x2apic,+tsc-deadline', arch: 'x86_64', timeout: '30', groups: ['apic'] });
    expect(t[1]).toMatchObject({ file: 'vmexit.flat', smp: 1, testArgs: "'cpuid'", qemuParams: '', timeout: '' });
    expect(t[2]).toMatchObject({ qemuParams: '-cpu max   -m 2048', check: '/sys/x=Y /proc/y=0', accel: 'kvm' });
  });

  it('refuses a bad smp value and an unterminated """', () => {
    expect(() => parseUnittestsCfg('[a]\nsmp = many\n')).toThrow(CfgError);
    expect(() => parseUnittestsCfg('[a]\nqemu_params = """-cpu max\n')).toThrow(/unterminated/);
  });
});

describe('words', () => {
  it('splits and unquotes as the harness eval does', () => {
    expect(words("'cpuid'")).toEqual(['cpuid']);
    expect(words('"-pause_filter_test -svm_x"')).toEqual(['-pause_filter_test -svm_x']);
    expect(words('-cpu max,+vmx -m 2048')).toEqual(['-cpu', 'max,+vmx', '-m', '2048']);
    expect(words('a\\ b c')).toEqual(['a b', 'c']);
  });

  it('expands `date +%s` and refuses any other substitution', () => {
    expect(words('"10000000 `date +%s`"', () => 1234)).toEqual(['10000000 1234']);
    expect(() => words('`rm -rf /`')).toThrow(CfgError);
    expect(() => words('"$(id)"')).toThrow(CfgError);
    expect(() => words('$HOME')).toThrow(CfgError);
    expect(() => words("'open")).toThrow(/unterminated/);
  });
});
