// The TypeScript API of the vmm (src/emulator/vmm/vmm.ts) with tiny hand-assembled guests:
// errors as VmmError kinds, guest memory layout and bounds, registers/MSRs/CPUID, boot
// ROM segments and the reset vector, pause/resume, stop, exceptions from the handler,
// destroy. Every test runs on each backend present.
import { afterEach, describe, expect, it } from 'vitest';
import {
  GuestMemory,
  SEGMENT_BOOTROM,
  SEGMENT_FRAMEBUFFER,
  Vm,
  VmmError,
  probeBackends,
  type VmExit,
} from '../../../src/emulator/vmm/vmm.js';
import { availableBackends, reportMissingBackends } from './guest-harness.js';

const { present, missing } = availableBackends();
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const vms: Vm[] = [];
function make(backend: 'kvm' | 'soft', memorySize = 16 * MiB, vcpus = 1): Vm {
  const vm = Vm.create({ backend, memorySize, vcpus });
  vms.push(vm);
  return vm;
}
afterEach(() => {
  for (const vm of vms.splice(0)) {
    if (vm.running) vm.stop();
    else vm.destroy();
  }
});

/** Real-mode code at 0x1000 (CS=0) on vCPU 0. */
function loadReal(vm: Vm, code: number[]): void {
  vm.memory.write(0x1000, Uint8Array.from(code));
  vm.vcpu(0)!.updateState((s) => {
    s.cs = { ...s.cs, base: 0n, selector: 0 };
    s.rip = 0x1000n;
  });
}

function expectVmmError(fn: () => unknown, kind: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VmmError);
    expect((err as VmmError).kind).toBe(kind);
    return;
  }
  throw new Error(`expected a VmmError of kind ${kind}`);
}

describe('VM creation errors', () => {
  it('refuses bad sizes, counts and backend names with typed errors', () => {
    expectVmmError(() => Vm.create({ backend: 'auto', memorySize: 0 }), 'invalid-argument');
    expectVmmError(() => Vm.create({ backend: 'auto', memorySize: 4097 }), 'invalid-argument');
    expectVmmError(() => Vm.create({ backend: 'auto', memorySize: 2 ** 50 }), 'invalid-argument');
    expectVmmError(() => Vm.create({ backend: 'auto', memorySize: MiB, vcpus: 0 }), 'usage');
    expectVmmError(
      () => Vm.create({ backend: 'bogus' as 'auto', memorySize: MiB }),
      'usage',
    );
  });
});

describe('GuestMemory bounds (no VM)', () => {
  it('maps low memory at 0 and high memory at 4 GiB and refuses everything else', () => {
    const buf = new ArrayBuffer(3 * 4096);
    const calls: [number, number][] = [];
    const m = new GuestMemory(buf, 2 * 4096, 4096, (g, l) => calls.push([g, l]));
    expect(m.translate(0, 8192)).toBe(0);
    expect(m.translate(4096, 8192)).toBe(-1); // crosses the end of low memory
    expect(m.translate(4 * GiB, 4096)).toBe(8192);
    expect(m.translate(4 * GiB + 1, 4096)).toBe(-1);
    expect(m.translate(-1, 1)).toBe(-1);
    expect(m.translate(0.5, 1)).toBe(-1);
    expect(m.translate(2 ** 53, 1)).toBe(-1);
    expect(m.translate(3 * GiB, 1)).toBe(-1);
    expect(m.tryBytes(8190, 4)).toBeUndefined();
    m.writeU32(4 * GiB + 8, 0xdeadbeef);
    expect(m.readU32(4 * GiB + 8)).toBe(0xdeadbeef);
    expect(calls).toEqual([[4 * GiB + 8, 4]]);
    expect(() => m.readU8(2 * 4096)).toThrow(VmmError);
    try {
      m.bytes(0xfee00000, 4);
    } catch (e) {
      expect((e as VmmError).kind).toBe('out-of-range');
    }
  });
});

describe.each(present)('Vm API (%s)', (backend) => {
  it('lays out memory as bhyve: 3 GiB low, the rest above 4 GiB', () => {
    const vm = make(backend, 3 * GiB + 8 * MiB);
    expect(vm.memory.lowmemSize).toBe(3 * GiB);
    expect(vm.memory.highmemSize).toBe(8 * MiB);
    vm.memory.writeU32(4 * GiB + 4 * MiB, 0x12345678);
    expect(new DataView(vm.memory.buffer).getUint32(3 * GiB + 4 * MiB, true)).toBe(0x12345678);
    expect(vm.memory.contains(3 * GiB, 1)).toBe(false);
    expect(vm.rtc.read(0x35)).toBe(((3 * GiB - 16 * MiB) / 65536) >> 8);
    expect(vm.rtc.read(0x5b) | (vm.rtc.read(0x5c) << 8)).toBe((8 * MiB) / 65536);
  });

  it('reads and writes registers, MSRs and the reset state of bhyve', () => {
    const vm = make(backend);
    const cpu = vm.createVcpu();
    const s = cpu.getState();
    expect(s.rip).toBe(0xfff0n);
    expect(s.cs.selector).toBe(0xf000);
    expect(s.cs.base).toBe(0xffff0000n);
    expect(s.rdx).toBe(0xf00n);
    expect(s.dr[7]).toBe(0x400n);
    s.rax = 0x1122334455667788n;
    s.r15 = 0xfedcba9876543210n;
    s.rip = 0x1234n;
    s.cr8 = 5n;
    cpu.setState(s);
    const t = cpu.getState();
    expect(t.rax).toBe(0x1122334455667788n);
    expect(t.r15).toBe(0xfedcba9876543210n);
    expect(t.rip).toBe(0x1234n);
    expect(t.cr8).toBe(5n);
    cpu.setMsr(0xc0000081, 0x0023001000000000n); // STAR
    expect(cpu.getMsr(0xc0000081)).toBe(0x0023001000000000n);
    expect(cpu.getMsr(0x1b)).toBe(0xfee00900n); // the vlapic's APIC base, BSP
    expectVmmError(() => cpu.getMsr(0x12345678), 'invalid-argument');
    expectVmmError(() => vm.createVcpu(0), 'state');
    expectVmmError(() => vm.createVcpu(5), 'invalid-argument');
  });

  it('refuses out-of-range interrupt arguments', () => {
    const vm = make(backend);
    vm.createVcpu();
    expectVmmError(() => vm.lapicIrq(0, 3), 'invalid-argument');
    expectVmmError(() => vm.lapicIrq(7, 0x40), 'invalid-argument');
    expectVmmError(() => vm.msi(0xfed00000, 0x40), 'invalid-argument');
    expectVmmError(() => vm.ioapicAssert(32), 'invalid-argument');
    expectVmmError(() => vm.isaIrq(16, true), 'invalid-argument');
    expectVmmError(() => vm.isaSetTrigger(0, 'level'), 'invalid-argument');
    expectVmmError(() => vm.injectException(0, 2), 'invalid-argument');
    expectVmmError(() => vm.nmi(1), 'invalid-argument');
    expect(vm.hpetCapabilities()).toBe(0x8086a701);
  });

  it('boots from a read-only boot ROM segment at the reset vector', async () => {
    const vm = make(backend);
    vm.createVcpu();
    const rom = new Uint8Array(vm.allocSegment(SEGMENT_BOOTROM, 'bootrom', 64 * 1024));
    // At 0xFFFF0 (F000:FFF0): mov al, 0x42; out 0xE0, al; cli; hlt
    rom.set([0xb0, 0x42, 0xe6, 0xe0, 0xfa, 0xf4], 0xfff0);
    vm.mapSegment(4 * GiB - 64 * 1024, SEGMENT_BOOTROM, 0, 64 * 1024, false);
    expectVmmError(() => vm.mapSegment(0, SEGMENT_BOOTROM, 0, 4096, false), 'invalid-argument');
    expectVmmError(() => vm.mapSegment(4 * GiB - 4096, SEGMENT_BOOTROM, 4096, 8192, false), 'invalid-argument');
    const seen: number[] = [];
    const result = await vm.run((e: VmExit) => {
      if (e.kind === 'inout' && !e.in) seen.push(e.port, e.value);
    });
    expect(seen).toEqual([0xe0, 0x42]);
    expect(result).toEqual({ reason: 'suspended', how: 'halt' });
  });

  it('pauses and resumes running vCPUs, then stops', async () => {
    const vm = make(backend);
    vm.createVcpu();
    // loop: inc word [0x500]; jmp loop
    loadReal(vm, [0xff, 0x06, 0x00, 0x05, 0xeb, 0xfa]);
    const done = vm.run(() => {});
    const counter = () => vm.memory.readU16(0x500);
    const moved = async () => {
      const a = counter();
      for (let i = 0; i < 200 && counter() === a; i++) await new Promise((r) => setTimeout(r, 5));
      return counter() !== a;
    };
    expect(await moved()).toBe(true);
    await vm.pause();
    const frozen = counter();
    await new Promise((r) => setTimeout(r, 50));
    expect(counter()).toBe(frozen);
    const rip = vm.vcpu(0)!.getState().rip;
    expect(rip >= 0x1000n && rip < 0x1006n).toBe(true);
    vm.resume();
    expect(await moved()).toBe(true);
    expectVmmError(() => vm.vcpu(0)!.setCpuid([]), 'state');
    await expect(vm.run(() => {})).rejects.toMatchObject({ kind: 'state' });
    vm.stop();
    expect(await done).toEqual({ reason: 'stopped' });
  });

  it('rejects run() with the exception an exit handler throws, and stops the VM', async () => {
    const vm = make(backend);
    vm.createVcpu();
    loadReal(vm, [0xe6, 0x80, 0xeb, 0xfc]); // loop: out 0x80, al; jmp loop
    const boom = new Error('device model failed');
    await expect(vm.run(() => {
      throw boom;
    })).rejects.toBe(boom);
    expect(vm.running).toBe(false);
  });

  it('reads back the CPUID table in effect and keeps a table set', () => {
    const vm = make(backend);
    const cpu = vm.createVcpu();
    const table = cpu.getCpuid();
    const leaf0 = table.find((e) => e.leaf === 0 && !e.subleaf);
    expect(leaf0).toBeDefined();
    expect(leaf0!.eax).toBeGreaterThanOrEqual(1); // highest basic leaf
    const leaf1 = table.find((e) => e.leaf === 1);
    expect(leaf1).toBeDefined();
    expect((leaf1!.edx >>> 0) & 1).toBe(1); // FPU
    // A changed vendor string (leaf 0, EBX/EDX/ECX) comes back as set.
    const changed = table.map((e) =>
      e.leaf === 0 ? { ...e, ebx: 0x61626364, edx: 0x65666768, ecx: 0x696a6b6c } : e,
    );
    cpu.setCpuid(changed);
    const back = cpu.getCpuid().find((e) => e.leaf === 0)!;
    expect([back.ebx, back.edx, back.ecx]).toEqual([0x61626364, 0x65666768, 0x696a6b6c]);
  });

  it('unmaps a segment: the range then exits as MMIO', async () => {
    const vm = make(backend);
    vm.createVcpu();
    const gpa = 32 * MiB; // above the 16 MiB of system memory
    const fb = new Uint8Array(vm.allocSegment(SEGMENT_FRAMEBUFFER, 'fb', 64 * 1024));
    fb[0x10] = 0x5c;
    vm.mapSegment(gpa, SEGMENT_FRAMEBUFFER, 0, 64 * 1024, true);
    // DS base = gpa. mov al, [0x10]; out 0x80, al; jmp $ (the handler stops the VM at the OUT)
    const start = (): void => {
      loadReal(vm, [0xa0, 0x10, 0x00, 0xe6, 0x80, 0xeb, 0xfe]);
      vm.vcpu(0)!.updateState((s) => {
        s.ds = { ...s.ds, base: BigInt(gpa), selector: 0 };
      });
    };
    const run = async (): Promise<{ out: number[]; mmio: string[] }> => {
      const out: number[] = [];
      const mmio: string[] = [];
      await vm.run((e) => {
        if (e.kind === 'inout' && !e.in && e.port === 0x80) {
          out.push(e.value);
          return 'stop';
        }
        if (e.kind === 'mmio') {
          mmio.push(`${e.write ? 'w' : 'r'} ${e.gpa.toString(16)}/${e.size}`);
          if (!e.write) e.value = 0x77;
        }
      });
      return { out, mmio };
    };
    start();
    expect(await run()).toEqual({ out: [0x5c], mmio: [] });
    vm.unmapSegment(gpa, 64 * 1024);
    expectVmmError(() => vm.unmapSegment(gpa, 64 * 1024), 'invalid-argument');
    start();
    expect(await run()).toEqual({ out: [0x77], mmio: [`r ${(gpa + 0x10).toString(16)}/1`] });
    // Mapped again, the CPU reads the segment's memory again (no stale translation).
    vm.mapSegment(gpa, SEGMENT_FRAMEBUFFER, 0, 64 * 1024, true);
    start();
    expect(await run()).toEqual({ out: [0x5c], mmio: [] });
  });

  it('answers IN exits with the value the handler sets', async () => {
    const vm = make(backend);
    vm.createVcpu();
    // in al, 0x60; out 0x80, al; cli; hlt
    loadReal(vm, [0xe4, 0x60, 0xe6, 0x80, 0xfa, 0xf4]);
    let written = -1;
    const r = await vm.run((e) => {
      if (e.kind === 'inout' && e.in && e.port === 0x60) e.value = 0x5a;
      if (e.kind === 'inout' && !e.in && e.port === 0x80) written = e.value;
    });
    expect(written).toBe(0x5a);
    expect(r).toEqual({ reason: 'suspended', how: 'halt' });
  });

  it('makes the CPU see code the host rewrote through GuestMemory (DMA invalidation)', async () => {
    const vm = make(backend);
    vm.createVcpu();
    // 0x1000: mov bl,2 | 0x1002: out 0x80,al | call 0x1100 | out 0x81,al | dec bl | jnz 0x1002 | cli; hlt
    // 0x1100: mov al,0x11 | ret
    loadReal(vm, [0xb3, 0x02, 0xe6, 0x80, 0xe8, 0xf9, 0x00, 0xe6, 0x81, 0xfe, 0xcb, 0x75, 0xf5, 0xfa, 0xf4]);
    vm.memory.write(0x1100, Uint8Array.from([0xb0, 0x11, 0xc3]));
    const seen: number[] = [];
    let kicks = 0;
    await vm.run((e) => {
      if (e.kind !== 'inout' || e.in) return;
      if (e.port === 0x80 && ++kicks === 2) vm.memory.write(0x1101, Uint8Array.of(0x22));
      if (e.port === 0x81) seen.push(e.value);
    });
    expect(seen).toEqual([0x11, 0x22]);
  });

  it('resolves backend auto as the probe says', () => {
    const p = probeBackends();
    if (p.auto === null) return;
    const vm = Vm.create({ backend: 'auto', memorySize: MiB });
    vms.push(vm);
    expect(vm.backend).toBe(p.auto);
    // kvm only with hardware virtualization; an emulating /dev/kvm (kvm_pvm) loses to soft.
    if (p.softBuilt && !p.hardwareVirtualization) expect(p.auto).toBe('soft');
  });

  it('reports HLT exits with the hlt_exit capability and injects exceptions through the IVT', async () => {
    const vm = make(backend);
    const cpu = vm.createVcpu();
    cpu.setCapability('hlt_exit', true);
    // pause_exit exists on the soft CPU only (debug-caps.test.ts).
    if (backend === 'kvm') expectVmmError(() => cpu.setCapability('pause_exit', true), 'unsupported');
    // IVT[6] (#UD) -> 0000:1100: out 0x90, al ; iret.  Main: cli; hlt (twice).
    vm.memory.writeU32(6 * 4, 0x00001100);
    vm.memory.write(0x1100, Uint8Array.from([0xe6, 0x90, 0xcf]));
    loadReal(vm, [0xfa, 0xf4, 0xf4]);
    vm.injectException(0, 6);
    const seen: string[] = [];
    const r = await vm.run((e) => {
      if (e.kind === 'inout') seen.push(`out ${e.port.toString(16)}`);
      if (e.kind === 'hlt') seen.push(`hlt if=${e.interruptsEnabled}`);
    });
    expect(seen).toEqual(['out 90', 'hlt if=false']);
    expect(r).toEqual({ reason: 'suspended', how: 'halt' });
  });

  it('can run again after a stop, with timers still counting', async () => {
    const vm = make(backend);
    vm.createVcpu();
    loadReal(vm, [0xe6, 0x80, 0xeb, 0xfc]); // loop: out 0x80, al; jmp loop
    let n = 0;
    const stopAfter = (k: number) => (e: VmExit): void | 'stop' => {
      if (e.kind === 'inout' && ++n >= k) return 'stop';
    };
    expect(await vm.run(stopAfter(3))).toEqual({ reason: 'stopped' });
    expect(await vm.run(stopAfter(6))).toEqual({ reason: 'stopped' });
    expect(n).toBe(6);
  });

  it('detaches guest memory on destroy and refuses further calls', () => {
    const vm = Vm.create({ backend, memorySize: 4 * MiB });
    vm.createVcpu();
    const buf = vm.memory.buffer;
    vm.destroy();
    expect(buf.byteLength).toBe(0);
    expect(vm.memory.translate(0, 1)).toBe(-1);
    expectVmmError(() => vm.lapicIrq(0, 0x40), 'state');
    vm.destroy(); // idempotent
  });
});

reportMissingBackends(missing, it.skip);
