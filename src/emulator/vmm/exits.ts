/**
 * vCPU exits as a discriminated union of small reusable objects, decoded from the native
 * exit slots (native/binding/exit_bridge.h has the word layout; bhyve's struct vm_exit,
 * reference 4.5, is the model).
 *
 * Only exits no in-vmm device handled reach TypeScript: port I/O and MMIO nobody in the
 * vmm claims, MSRs neither the CPU nor the local APIC implement, HLT/PAUSE when the
 * capability asks for them, suspension, debug stops and backend errors. The debug
 * capabilities (mtrap_exit, bpt_exit; bhyve's VM_CAP_MTRAP_EXIT / VM_CAP_BPT_EXIT) add
 * `mtrap` (one instruction retired) and `bpt` (INT3 reached, RIP at it, not executed).
 * The handler answers in place: an IN sets `value`, an MMIO read sets `value` (and
 * `valueHigh` for 8-byte reads), an RDMSR sets `value` and `ok`, a WRMSR sets `ok` (false
 * raises #GP, the default, as bhyve's x86.strictmsr), a `bpt` sets `pass` to hand the INT3
 * to the guest as #BP (an INT3 the debugger did not plant). Each vCPU owns one object per kind, refilled for
 * every exit: a handler must copy what it wants to keep.
 *
 * Called on every exit: decode() and commit() allocate nothing except the bigint of MSR
 * values and of `rip` (computed on demand).
 */

/** bhyve's enum vm_exitcode values used by the vmm (native/vmm/exit.h). */
export const EXIT_INOUT = 0;
export const EXIT_RDMSR = 3;
export const EXIT_WRMSR = 4;
export const EXIT_HLT = 5;
export const EXIT_MTRAP = 6;
export const EXIT_PAUSE = 7;
export const EXIT_MMIO = 9;
export const EXIT_SUSPENDED = 14;
export const EXIT_DEBUG = 21;
export const EXIT_BPT = 23;
export const EXIT_ERROR = 100;

/** enum vm_suspend_how. */
export type SuspendHow = 'reset' | 'poweroff' | 'halt' | 'triplefault';
export const SUSPEND_HOW: readonly (SuspendHow | undefined)[] = [
  undefined,
  'reset',
  'poweroff',
  'halt',
  'triplefault',
];

abstract class ExitBase {
  /** vCPU that exited. */
  vcpu = 0;
  /** @internal */ ripLo = 0;
  /** @internal */ ripHi = 0;
  /** Guest RIP as the backend reported it at the exit (at or just past the instruction). */
  get rip(): bigint {
    return (BigInt(this.ripHi) << 32n) | BigInt(this.ripLo);
  }
}

export class InoutExit extends ExitBase {
  readonly kind = 'inout' as const;
  port = 0;
  size: 1 | 2 | 4 = 1;
  /** true for IN (the handler sets `value`), false for OUT. */
  in = false;
  /** One element of INS/OUTS. */
  string = false;
  rep = false;
  /** OUT: the value written. IN: set by the handler (masked to `size`); all-ones if unset. */
  value = 0;
}

export class MmioExit extends ExitBase {
  readonly kind = 'mmio' as const;
  gpa = 0;
  size: 1 | 2 | 4 | 8 = 1;
  write = false;
  /** Bits 31:0 of the value written, or of the value read (set by the handler). */
  value = 0;
  /** Bits 63:32 (8-byte accesses only). */
  valueHigh = 0;
}

export class RdmsrExit extends ExitBase {
  readonly kind = 'rdmsr' as const;
  index = 0;
  /** Set by the handler. */
  value = 0n;
  /** Set true by the handler to complete the RDMSR; false raises #GP(0). */
  ok = false;
}

export class WrmsrExit extends ExitBase {
  readonly kind = 'wrmsr' as const;
  index = 0;
  value = 0n;
  /** Set true by the handler to accept the WRMSR; false raises #GP(0). */
  ok = false;
}

export class HltExit extends ExitBase {
  readonly kind = 'hlt' as const;
  /** Interrupts were enabled at the HLT (RFLAGS.IF). */
  interruptsEnabled = false;
}

export class PauseExit extends ExitBase {
  readonly kind = 'pause' as const;
}

/** mtrap_exit: the vCPU retired one instruction (or delivered one exception). */
export class MtrapExit extends ExitBase {
  readonly kind = 'mtrap' as const;
}

/** bpt_exit: INT3 at `rip`, not executed. */
export class BptExit extends ExitBase {
  readonly kind = 'bpt' as const;
  instLength = 1;
  /** Set true by the handler to deliver the INT3 to the guest (#BP); default: stay stopped at it. */
  pass = false;
}

export class SuspendedExit extends ExitBase {
  readonly kind = 'suspended' as const;
  how: SuspendHow = 'poweroff';
}

export class DebugExit extends ExitBase {
  readonly kind = 'debug' as const;
  message = '';
}

export class ErrorExit extends ExitBase {
  readonly kind = 'error' as const;
  message = '';
}

export type VmExit =
  | InoutExit
  | MmioExit
  | RdmsrExit
  | WrmsrExit
  | HltExit
  | PauseExit
  | MtrapExit
  | BptExit
  | SuspendedExit
  | DebugExit
  | ErrorExit;

export type VmExitKind = VmExit['kind'];

/** The reusable exit objects of one vCPU and their codec over its exit slot. */
export class ExitSlot {
  private readonly w: Uint32Array;
  private readonly inout = new InoutExit();
  private readonly mmio = new MmioExit();
  private readonly rdmsr = new RdmsrExit();
  private readonly wrmsr = new WrmsrExit();
  private readonly hlt = new HltExit();
  private readonly pause = new PauseExit();
  private readonly mtrap = new MtrapExit();
  private readonly bpt = new BptExit();
  private readonly suspended = new SuspendedExit();
  private readonly debug = new DebugExit();
  private readonly error = new ErrorExit();

  constructor(words: Uint32Array, vcpu: number) {
    this.w = words;
    for (const e of [
      this.inout, this.mmio, this.rdmsr, this.wrmsr, this.hlt, this.pause, this.mtrap, this.bpt,
      this.suspended, this.debug, this.error,
    ]) {
      e.vcpu = vcpu;
    }
  }

  /** Fills and returns the object for the exit now in the slot. */
  decode(message: string | undefined): VmExit {
    const w = this.w;
    let e: VmExit;
    switch (w[0]) {
      case EXIT_INOUT: {
        const x = this.inout;
        x.port = w[4]!;
        x.size = w[5] as 1 | 2 | 4;
        const flags = w[6]!;
        x.in = (flags & 1) !== 0;
        x.string = (flags & 2) !== 0;
        x.rep = (flags & 4) !== 0;
        x.value = w[7]!;
        e = x;
        break;
      }
      case EXIT_MMIO: {
        const x = this.mmio;
        x.gpa = w[4]! + w[5]! * 0x1_0000_0000;
        x.size = w[6] as 1 | 2 | 4 | 8;
        x.write = (w[7]! & 1) !== 0;
        x.value = x.write ? w[8]! : 0xffffffff;
        x.valueHigh = x.write ? w[9]! : 0xffffffff;
        e = x;
        break;
      }
      case EXIT_RDMSR: {
        const x = this.rdmsr;
        x.index = w[4]!;
        x.value = 0n;
        x.ok = false;
        e = x;
        break;
      }
      case EXIT_WRMSR: {
        const x = this.wrmsr;
        x.index = w[4]!;
        x.value = (BigInt(w[9]!) << 32n) | BigInt(w[8]!);
        x.ok = false;
        e = x;
        break;
      }
      case EXIT_HLT:
        this.hlt.interruptsEnabled = (w[8]! & 0x200) !== 0;
        e = this.hlt;
        break;
      case EXIT_PAUSE:
        e = this.pause;
        break;
      case EXIT_MTRAP:
        e = this.mtrap;
        break;
      case EXIT_BPT:
        this.bpt.instLength = w[4]!;
        this.bpt.pass = false;
        e = this.bpt;
        break;
      case EXIT_SUSPENDED:
        this.suspended.how = SUSPEND_HOW[w[4]!] ?? 'poweroff';
        e = this.suspended;
        break;
      case EXIT_DEBUG:
        this.debug.message = message ?? '';
        e = this.debug;
        break;
      default:
        this.error.message = message ?? `unknown exit code ${w[0]}`;
        e = this.error;
        break;
    }
    e.ripLo = w[2]!;
    e.ripHi = w[3]!;
    return e;
  }

  /** Writes the handler's answer (and whether it asked to stop) back into the slot. */
  commit(e: VmExit, stop: boolean): void {
    const w = this.w;
    w[1] = stop ? 1 : 0;
    switch (e.kind) {
      case 'inout':
        if (e.in) w[7] = e.value >>> 0;
        break;
      case 'mmio':
        if (!e.write) {
          w[8] = e.value >>> 0;
          w[9] = e.valueHigh >>> 0;
        }
        break;
      case 'rdmsr': {
        const v = BigInt.asUintN(64, e.value);
        w[8] = Number(v & 0xffffffffn);
        w[9] = Number(v >> 32n);
        w[10] = e.ok ? 1 : 0;
        break;
      }
      case 'wrmsr':
        w[10] = e.ok ? 1 : 0;
        break;
      case 'bpt':
        w[5] = e.pass ? 1 : 0;
        break;
      default:
        break;
    }
  }
}
