// The vmm's debug capabilities (bhyve's VM_CAP_MTRAP_EXIT, VM_CAP_BPT_EXIT,
// VM_CAP_PAUSE_EXIT) with tiny hand-assembled real-mode guests: an mtrap exit after every
// single instruction with no TF the guest can see, INT3 stopping with RIP at it (and
// handed to the guest as #BP when the handler passes it, or skipped after the host
// patched it away), PAUSE exits. Every test runs on each backend present; a backend that
// refuses a capability must say so with an 'unsupported' VmmError.
import { afterEach, describe, expect, it } from 'vitest';
import { Vm, VmmError, type CapabilityName, type Vcpu, type VmExit } from '../../../src/emulator/vmm/vmm.js';
import { availableBackends, reportMissingBackends } from './guest-harness.js';

const { present, missing } = availableBackends();
const MiB = 1024 * 1024;

const vms: Vm[] = [];
afterEach(() => {
  for (const vm of vms.splice(0)) {
    if (vm.running) vm.stop();
    else vm.destroy();
  }
});

function make(backend: 'kvm' | 'soft'): { vm: Vm; cpu: Vcpu } {
  const vm = Vm.create({ backend, memorySize: MiB });
  vms.push(vm);
  return { vm, cpu: vm.createVcpu() };
}

/** Real-mode code at 0x1000 (CS=0). */
function loadReal(vm: Vm, code: number[]): void {
  vm.memory.write(0x1000, Uint8Array.from(code));
  vm.vcpu(0)!.updateState((s) => {
    s.cs = { ...s.cs, base: 0n, selector: 0 };
    s.rip = 0x1000n;
  });
}

/** Enables a capability; false (after checking the refusal is explicit) when the backend has none. */
function enable(cpu: Vcpu, cap: CapabilityName): boolean {
  try {
    cpu.setCapability(cap, true);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(VmmError);
    expect((err as VmmError).kind).toBe('unsupported');
    expect((err as VmmError).message.length).toBeGreaterThan(10);
    return false;
  }
}

const OUT_F4 = [0xe6, 0xf4]; // out 0xF4, al

describe.each(present)('debug capabilities on %s', (backend) => {
  it('mtrap_exit stops after every instruction, without a TF the guest can see', async () => {
    const { vm, cpu } = make(backend);
    if (!enable(cpu, 'mtrap_exit')) return;
    // mov ax, 1 ; inc ax ; inc ax ; pushf ; pop bx ; out 0xF4, al
    loadReal(vm, [0xb8, 0x01, 0x00, 0x40, 0x40, 0x9c, 0x5b, ...OUT_F4]);
    const steps: [bigint, bigint][] = [];
    let bx = -1n;
    await vm.run((e: VmExit) => {
      if (e.kind === 'mtrap') {
        const s = vm.vcpu(e.vcpu)!.getState();
        steps.push([s.rip, s.rax & 0xffffn]);
        return;
      }
      if (e.kind === 'inout' && e.port === 0xf4) {
        bx = vm.vcpu(e.vcpu)!.getState().rbx & 0xffffn;
        return 'stop';
      }
    });
    // One stop per instruction up to the OUT; the OUT itself completes before the stop the
    // handler asked for takes effect, which may add its own step.
    expect(steps.slice(0, 5)).toEqual([
      [0x1003n, 1n],
      [0x1004n, 2n],
      [0x1005n, 3n],
      [0x1006n, 3n],
      [0x1007n, 3n],
    ]);
    expect(steps.slice(5)).toEqual(steps.length > 5 ? [[0x1009n, 3n]] : []);
    expect(bx & 0x100n).toBe(0n); // TF not in the pushed flags
  });

  it('bpt_exit stops at an INT3 and delivers #BP to the guest when the handler passes it', async () => {
    const { vm, cpu } = make(backend);
    if (!enable(cpu, 'bpt_exit')) return;
    // IVT[3] -> 0000:2000: mov cx, 0x77 ; iret
    vm.memory.writeU32(3 * 4, 0x00002000);
    vm.memory.write(0x2000, Uint8Array.from([0xb9, 0x77, 0x00, 0xcf]));
    // mov ax, 1 ; int3 ; mov dx, cx ; out 0xF4, al
    loadReal(vm, [0xb8, 0x01, 0x00, 0xcc, 0x89, 0xca, ...OUT_F4]);
    const bpts: bigint[] = [];
    let dx = -1n;
    await vm.run((e: VmExit) => {
      if (e.kind === 'bpt') {
        bpts.push(vm.vcpu(e.vcpu)!.getState().rip);
        expect(e.instLength).toBe(1);
        e.pass = true;
        return;
      }
      if (e.kind === 'inout' && e.port === 0xf4) {
        dx = vm.vcpu(e.vcpu)!.getState().rdx & 0xffffn;
        return 'stop';
      }
    });
    expect(bpts).toEqual([0x1003n]);
    expect(dx).toBe(0x77n); // the guest's #BP handler ran and returned after the INT3
  });

  it('bpt_exit leaves RIP at the INT3 until the host removes it', async () => {
    const { vm, cpu } = make(backend);
    if (!enable(cpu, 'bpt_exit')) return;
    vm.memory.writeU32(3 * 4, 0x00002000);
    vm.memory.write(0x2000, Uint8Array.from([0xb9, 0x77, 0x00, 0xcf]));
    loadReal(vm, [0xb8, 0x01, 0x00, 0xcc, 0x89, 0xca, ...OUT_F4]);
    let bpts = 0;
    let paused: Promise<void> | undefined;
    let dx = -1n;
    const done = vm.run((e: VmExit) => {
      if (e.kind === 'bpt') {
        bpts++;
        paused = vm.pause();
        return;
      }
      if (e.kind === 'inout' && e.port === 0xf4) {
        dx = vm.vcpu(e.vcpu)!.getState().rdx & 0xffffn;
        return 'stop';
      }
    });
    for (let i = 0; i < 500 && !paused; i++) await new Promise((r) => setTimeout(r, 10));
    await paused;
    expect(bpts).toBe(1);
    expect(cpu.getState().rip).toBe(0x1003n);
    vm.memory.writeU8(0x1003, 0x90); // NOP over the INT3 (the CPU must not run stale code)
    vm.resume();
    await done;
    expect(bpts).toBe(1);
    expect(dx).toBe(0n); // the guest's handler never ran
  });

  it('pause_exit reports each PAUSE', async () => {
    const { vm, cpu } = make(backend);
    if (!enable(cpu, 'pause_exit')) return;
    // pause ; nop ; pause ; out 0xF4, al
    loadReal(vm, [0xf3, 0x90, 0x90, 0xf3, 0x90, ...OUT_F4]);
    const rips: bigint[] = [];
    await vm.run((e: VmExit) => {
      if (e.kind === 'pause') rips.push(vm.vcpu(e.vcpu)!.getState().rip);
      if (e.kind === 'inout' && e.port === 0xf4) return 'stop';
    });
    expect(rips).toEqual([0x1002n, 0x1005n]);
  });

  it('turns the capabilities off again', async () => {
    const { vm, cpu } = make(backend);
    if (!enable(cpu, 'mtrap_exit') || !enable(cpu, 'bpt_exit')) return;
    cpu.setCapability('mtrap_exit', false);
    cpu.setCapability('bpt_exit', false);
    vm.memory.writeU32(3 * 4, 0x00002000);
    vm.memory.write(0x2000, Uint8Array.from([0xb9, 0x77, 0x00, 0xcf]));
    loadReal(vm, [0xcc, 0x89, 0xca, ...OUT_F4]);
    const kinds: string[] = [];
    let dx = -1n;
    await vm.run((e: VmExit) => {
      kinds.push(e.kind);
      if (e.kind === 'inout' && e.port === 0xf4) {
        dx = vm.vcpu(e.vcpu)!.getState().rdx & 0xffffn;
        return 'stop';
      }
    });
    expect(kinds).toEqual(['inout']);
    expect(dx).toBe(0x77n);
  });
});

describe('debug capabilities', () => {
  reportMissingBackends(missing, it.skip);
  it('refuses an unknown capability number with a clear error', () => {
    const vm = Vm.create({ backend: present[0] ?? 'auto', memorySize: MiB });
    vms.push(vm);
    vm.createVcpu();
    expect(() => (vm.vcpu(0)!.setCapability as (n: string, on: boolean) => void)('rdpid_exit', true)).toThrow();
  });
});
