/**
 * What the GDB stub needs of a VM, as an interface: the session (session.ts) speaks only
 * to this, so it can be tested against a fake and wired to the real vmm by vm-target.ts.
 *
 * vCPU ids are 0..vcpus-1 (gdb threads 1..vcpus). Register and debug-capability access is
 * valid only while the VM is stopped (never started, or paused and every vCPU parked);
 * memory access any time. Physical reads and writes answer false outside RAM.
 */
import type { VcpuState } from '../vmm/registers.js';

export interface GdbTarget {
  readonly vcpus: number;
  getState(vcpu: number): VcpuState;
  setState(vcpu: number, state: VcpuState): void;
  /** Copies guest-physical memory into dst; false when any of it is not RAM. */
  readPhys(gpa: number, dst: Uint8Array): boolean;
  /** Copies src into guest-physical memory (dropping decoded code); false outside RAM. */
  writePhys(gpa: number, src: Uint8Array): boolean;
  /** mtrap_exit on one vCPU (single step). */
  setStepping(vcpu: number, on: boolean): void;
  /** bpt_exit on every vCPU. */
  setBreakpointExits(on: boolean): void;
  /** Stops every vCPU; resolves when all are parked (at once when not started). */
  pause(): Promise<void>;
  /** Lets every vCPU run (starts the VM the first time). */
  resume(): void;
  /** Ends the VM (the debugger's kill). */
  kill(): void;
}

/** Why a vCPU stopped, for the stop reply. */
export type StopCause = 'initial' | 'breakpoint' | 'step' | 'interrupt';

/** What the exit interceptor tells the stub (exits of interest only). */
export type DebugEvent =
  | { kind: 'mtrap'; vcpu: number }
  | { kind: 'bpt'; vcpu: number; rip: bigint };
