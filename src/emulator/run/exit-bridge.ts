/**
 * The vmm's exit objects (vmm/exits.ts: the reusable InoutExit, MmioExit, RdmsrExit, ...)
 * handed to the machine's exit table (vmexit.ts) and its answer written back in place
 * (bhyve amd64/vmexit.c; bhyve-userland.md §4.5).
 *
 * - inout / mmio: dispatched to the port and MMIO buses through vmexit.ts (unclaimed reads
 *   answer all-ones; `x86.strictio` and MMIO outside every device stop the VM with 4).
 * - rdmsr / wrmsr: MSRs neither the CPU nor the local APIC implement. `x86.strictmsr`
 *   (default true) raises #GP as bhyve does; false reads 0 and ignores writes.
 * - hlt / pause / debug / mtrap: nothing to do but check whether a device asked the VM to stop.
 * - bpt: only the GDB stub asks for INT3 exits and it sees them first; one reaching this
 *   bridge is the guest's own, handed back to it as #BP.
 * - suspended: the vmm ends the run itself; nothing to do.
 * - error: the backend failed; the VM stops with status 4 and the message is kept.
 *
 * A stop is remembered in `stopped` (status and reason) and the handler answers 'stop'.
 * Called on every exit: it reuses two request objects and allocates only what vmexit.ts
 * returns.
 */
import type { ExitOutcome, VmExit as MachineExit } from '../vmexit.js';
import type { VmExit } from '../vmm/vmm.js';

export interface ExitSink {
  handleExit(exit: MachineExit): ExitOutcome;
}

export interface StopRecord {
  status: number;
  reason: string;
}

export class ExitBridge {
  stopped: StopRecord | undefined;
  private readonly io: Extract<MachineExit, { kind: 'inout' }> = { kind: 'inout', port: 0, size: 1, direction: 'in', value: 0 };
  private readonly mm: Extract<MachineExit, { kind: 'mmio' }> = { kind: 'mmio', gpa: 0, size: 1, direction: 'read', value: 0 };
  private readonly idle: MachineExit = { kind: 'hlt' };

  constructor(
    private readonly machine: ExitSink,
    private readonly strictMsr: boolean,
  ) {}

  /** The vm.run() handler. */
  readonly handle = (exit: VmExit): void | 'stop' => {
    switch (exit.kind) {
      case 'inout': {
        const io = this.io;
        io.port = exit.port;
        io.size = exit.size;
        io.direction = exit.in ? 'in' : 'out';
        io.value = exit.value;
        const r = this.machine.handleExit(io);
        if (r.action === 'stop') return this.stop(r.status, r.reason);
        if (exit.in) exit.value = r.value === undefined ? 0xffffffff : Number(r.value) >>> 0;
        return;
      }
      case 'mmio': {
        const mm = this.mm;
        mm.gpa = exit.gpa;
        mm.size = exit.size;
        mm.direction = exit.write ? 'write' : 'read';
        mm.value = exit.size === 8 ? (BigInt(exit.valueHigh >>> 0) << 32n) | BigInt(exit.value >>> 0) : exit.value;
        const r = this.machine.handleExit(mm);
        if (r.action === 'stop') return this.stop(r.status, r.reason);
        if (!exit.write) {
          const v = r.value ?? (exit.size === 8 ? 0xffff_ffff_ffff_ffffn : 0xffffffff);
          if (typeof v === 'bigint') {
            exit.value = Number(v & 0xffffffffn);
            exit.valueHigh = Number((v >> 32n) & 0xffffffffn);
          } else {
            exit.value = v >>> 0;
            exit.valueHigh = 0;
          }
        }
        return;
      }
      case 'rdmsr':
        if (!this.strictMsr) {
          exit.value = 0n;
          exit.ok = true;
        }
        return this.afterIdle();
      case 'wrmsr':
        if (!this.strictMsr) exit.ok = true;
        return this.afterIdle();
      case 'hlt':
      case 'pause':
      case 'debug':
      case 'mtrap':
        return this.afterIdle();
      case 'bpt':
        exit.pass = true;
        return this.afterIdle();
      case 'suspended':
        return;
      case 'error':
        return this.stop(4, exit.message);
    }
  };

  private afterIdle(): void | 'stop' {
    const r = this.machine.handleExit(this.idle);
    if (r.action === 'stop') return this.stop(r.status, r.reason);
  }

  private stop(status: number, reason: string): 'stop' {
    this.stopped ??= { status, reason };
    return 'stop';
  }
}
