/** bench/kut plan.ts: harness SKIPs, QEMU's command line, and tsbhyve's translation. */
import { describe, expect, it } from 'vitest';
import type { KutTest } from '../../bench/kut/cfg.js';
import type { CpuidLeaf } from '../../bench/kut/cpu.js';
import { harnessSkip, parseQemuMem, parseTimeout, qemuArgv, tsbhyvePlan } from '../../bench/kut/plan.js';

const t = (p: Partial<KutTest>): KutTest => ({
  name: 't', file: 'apic.flat', smp: 1, testArgs: '', qemuParams: '', groups: [], arch: '', machine: '', check: '', accel: '', timeout: '', disabledIf: '', ...p,
});
const CPUID: CpuidLeaf[] = [{ leaf: 1, eax: 0, ebx: 0, ecx: 1 << 21, edx: 0 }];
const host = { exists: () => true, readFile: (p: string) => (p === '/sys/on' ? 'Y\n' : undefined) };

describe('harnessSkip', () => {
  it('skips as the harness does, in its order', () => {
    expect(harnessSkip(t({ groups: ['nodefault'] }), '/k', host)).toBe('test marked as manual run only');
    expect(harnessSkip(t({ arch: 'i386' }), '/k', host)).toBe('i386 only');
    expect(harnessSkip(t({ accel: 'kvm' }), '/k', host)).toBe('kvm only, but ACCEL=tcg');
    expect(harnessSkip(t({ check: '/sys/on=Y /sys/off=Y' }), '/k', host)).toBe('/sys/off not equal to Y');
    expect(harnessSkip(t({ check: '/sys/on=Y' }), '/k', host)).toBeUndefined();
    expect(harnessSkip(t({}), '/k', { exists: () => false })).toBe("Test file 'x86/apic.flat' not found");
  });
});

describe('qemuArgv', () => {
  it('is the harness command line', () => {
    expect(qemuArgv(t({ file: 'vmexit.flat', smp: 2, testArgs: "'cpuid'", qemuParams: '-cpu max -m 2048' }))).toEqual([
      '--no-reboot', '-nodefaults', '-global', 'kvm-pit.lost_tick_policy=discard', '-device', 'pc-testdev',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4', '-display', 'none', '-serial', 'stdio', '-device', 'pci-testdev',
      '-machine', 'accel=tcg', '-kernel', 'x86/vmexit.flat', '-smp', '2', '-append', 'cpuid', '-cpu', 'max', '-m', '2048',
    ]);
  });
});

describe('tsbhyvePlan', () => {
  const o = { cpuid: CPUID, envFile: '/tmp/env' };
  it('boots the image by multiboot with argv[0] = file name, the env module, -c and memory', () => {
    const p = tsbhyvePlan(t({ name: 'x2apic', smp: 2, testArgs: "'a b'", qemuParams: '-cpu qemu64,+x2apic -m 4g', timeout: '30' }), '/k', o);
    expect(p).toEqual({
      kind: 'run',
      timeoutS: 30,
      notes: [],
      argv: [
        '-c', '2', '-m', '4096M', '-s', '0,hostbridge', '-s', '31,lpc', '-l', 'com1,stdio', '-l', 'pc-testdev',
        '-o', 'lpc.fwcfg=qemu', '-o', 'vmm.backend=soft', '-o', 'boot.protocol=multiboot', '-o', 'boot.kernel=/k/x86/apic.flat',
        '-o', 'boot.cmdline=x86/apic.flat a b', '-o', 'boot.module.0.path=/tmp/env', 'kut-x2apic',
      ],
    });
    const d = tsbhyvePlan(t({}), '/k', o);
    expect(d.kind === 'run' && d.argv.slice(2, 4)).toEqual(['-m', '128M']);
    expect(d.kind === 'run' && d.timeoutS).toBe(90);
  });

  it('refuses options it cannot honour, with the reason', () => {
    expect(tsbhyvePlan(t({ qemuParams: '-cpu max,+vmx' }), '/k', o)).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/vmx/) });
    expect(tsbhyvePlan(t({ qemuParams: '-M q35,kernel-irqchip=split' }), '/k', o)).toMatchObject({ kind: 'skip', reason: "machine option 'q35' not provided" });
    expect(tsbhyvePlan(t({ qemuParams: '-device edu' }), '/k', o)).toMatchObject({ kind: 'skip', reason: 'device edu not provided' });
    expect(tsbhyvePlan(t({ qemuParams: '-enable-kvm' }), '/k', o)).toMatchObject({ kind: 'skip' });
    expect(tsbhyvePlan(t({ qemuParams: '-frob' }), '/k', o)).toMatchObject({ kind: 'skip', reason: 'QEMU option -frob not translated' });
    expect(tsbhyvePlan(t({ qemuParams: '-machine pit=off' }), '/k', o)).toMatchObject({ kind: 'run', notes: ['pit=off: the PIT stays'] });
  });

  it('parses timeouts and memory sizes', () => {
    expect([parseTimeout(''), parseTimeout('30'), parseTimeout('90s'), parseTimeout('2m'), parseTimeout('x')]).toEqual([90, 30, 90, 120, undefined]);
    expect([parseQemuMem('2048'), parseQemuMem('4g'), parseQemuMem('512M'), parseQemuMem('big')]).toEqual([2048, 4096, 512, undefined]);
  });
});
