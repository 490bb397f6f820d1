// A GdbTarget over plain arrays for the stub's unit tests: 1 MiB of "RAM", N register
// files, and a log of the control calls (pause, resume, stepping, breakpoint exits, kill).
import type { VcpuState } from '../../../src/emulator/vmm/registers.js';
import type { GdbTarget } from '../../../src/emulator/gdb/target.js';

export function blankState(): VcpuState {
  const seg = (selector: number) => ({ base: 0n, limit: 0xffffffff, selector, access: 0x93 });
  return {
    rax: 0n, rcx: 0n, rdx: 0n, rbx: 0n, rsp: 0n, rbp: 0n, rsi: 0n, rdi: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: 0n, rflags: 2n, cr0: 0x11n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n,
    dr: [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
    cs: seg(0x08), ds: seg(0x10), es: seg(0x10), fs: seg(0x10), gs: seg(0x10), ss: seg(0x10),
    tr: seg(0), ldtr: seg(0),
    gdtr: { base: 0n, limit: 0 }, idtr: { base: 0n, limit: 0 },
  };
}

export class FakeTarget implements GdbTarget {
  readonly mem = new Uint8Array(1 << 20);
  readonly states: VcpuState[];
  readonly calls: string[] = [];
  running = false;

  constructor(readonly vcpus = 1) {
    this.states = Array.from({ length: vcpus }, blankState);
  }
  private check(): void {
    if (this.running) throw new Error('registers of a running vCPU');
  }
  getState(vcpu: number): VcpuState {
    this.check();
    return structuredClone(this.states[vcpu]!);
  }
  setState(vcpu: number, s: VcpuState): void {
    this.check();
    this.states[vcpu] = structuredClone(s);
  }
  readPhys(gpa: number, dst: Uint8Array): boolean {
    if (gpa < 0 || gpa + dst.length > this.mem.length) return false;
    dst.set(this.mem.subarray(gpa, gpa + dst.length));
    return true;
  }
  writePhys(gpa: number, src: Uint8Array): boolean {
    if (gpa < 0 || gpa + src.length > this.mem.length) return false;
    this.mem.set(src, gpa);
    return true;
  }
  setStepping(vcpu: number, on: boolean): void {
    this.calls.push(`step ${vcpu} ${on}`);
  }
  setBreakpointExits(on: boolean): void {
    this.calls.push(`bpt ${on}`);
  }
  pause(): Promise<void> {
    this.calls.push('pause');
    this.running = false;
    return Promise.resolve();
  }
  resume(): void {
    this.calls.push('resume');
    this.running = true;
  }
  kill(): void {
    this.calls.push('kill');
  }
}
