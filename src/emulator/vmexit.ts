/**
 * VM exits → emulation, through one table keyed by exit kind (bhyve amd64/vmexit.c
 * vmexit_handlers[]; bhyve-userland.md §4.5). Each handler answers "continue" (with the
 * value an IN or MMIO read produced) or "stop" with the process exit status.
 *
 * The VmExit union mirrors what the vmm wrapper delivers (inout, mmio, hlt, suspended,
 * debug, error); machine.ts passes exits straight through. Policies kept here, as bhyve:
 * `x86.strictio` makes an unclaimed port fatal (exit 4); an MMIO access outside every
 * device and the PCI hole is fatal (exit 4); a device that asked the VM to stop (ACPI
 * poweroff, reset, isa-debug-exit) ends the loop after its access with its status.
 * Called on every exit: handlers allocate only their small result object.
 */
import type { MmioBus } from './bus/mmio-bus.js';
import type { PortBus } from './bus/port-bus.js';
import { EXIT_STATUS, EXIT_UNKNOWN_SUSPEND, type RunControl, type SuspendHow } from './run-control.js';

export type VmExit =
  | { kind: 'inout'; port: number; size: 1 | 2 | 4; direction: 'in' | 'out'; value: number }
  | { kind: 'mmio'; gpa: number; size: 1 | 2 | 4 | 8; direction: 'read' | 'write'; value: number | bigint }
  | { kind: 'hlt' }
  | { kind: 'suspended'; how: SuspendHow | string }
  | { kind: 'debug' }
  | { kind: 'error'; message: string };

export type ExitOutcome =
  | { action: 'continue'; value?: number | bigint }
  | { action: 'stop'; status: number; reason: string };

const CONTINUE: ExitOutcome = { action: 'continue' };

export interface ExitContext {
  ports: PortBus;
  mmio: MmioBus;
  control: RunControl;
  strictIo: boolean;
}

type Handler<K extends VmExit['kind']> = (ctx: ExitContext, exit: Extract<VmExit, { kind: K }>) => ExitOutcome;

function afterAccess(ctx: ExitContext, value?: number | bigint): ExitOutcome {
  const stop = ctx.control.stop;
  if (stop) return { action: 'stop', status: stop.status, reason: stop.reason };
  return value === undefined ? CONTINUE : { action: 'continue', value };
}

const handlers: { [K in VmExit['kind']]: Handler<K> } = {
  inout(ctx, e) {
    if (ctx.strictIo && !ctx.ports.claims(e.port, e.size)) {
      return {
        action: 'stop',
        status: 4,
        reason: `Unhandled ${e.direction === 'in' ? 'in' : 'out'}${e.size === 1 ? 'b' : e.size === 2 ? 'w' : 'l'} 0x${e.port.toString(16).padStart(4, '0')}`,
      };
    }
    if (e.direction === 'in') return afterAccess(ctx, ctx.ports.read(e.port, e.size));
    ctx.ports.write(e.port, e.size, e.value);
    return afterAccess(ctx);
  },
  mmio(ctx, e) {
    if (!ctx.mmio.claimedOrFallback(e.gpa, e.size === 8 ? 4 : e.size)) {
      return { action: 'stop', status: 4, reason: `Unhandled memory access to 0x${e.gpa.toString(16)}` };
    }
    if (e.direction === 'read') {
      return afterAccess(ctx, e.size === 8 ? ctx.mmio.read64(e.gpa) : ctx.mmio.read(e.gpa, e.size));
    }
    if (e.size === 8) ctx.mmio.write64(e.gpa, BigInt(e.value));
    else ctx.mmio.write(e.gpa, e.size, Number(e.value));
    return afterAccess(ctx);
  },
  hlt(ctx) {
    return afterAccess(ctx);
  },
  suspended(_ctx, e) {
    const status = (EXIT_STATUS as Record<string, number>)[e.how] ?? EXIT_UNKNOWN_SUSPEND;
    return { action: 'stop', status, reason: e.how };
  },
  debug(ctx) {
    return afterAccess(ctx);
  },
  error(_ctx, e) {
    return { action: 'stop', status: 4, reason: e.message };
  },
};

/** Dispatches one exit. */
export function handleExit(ctx: ExitContext, exit: VmExit): ExitOutcome {
  return (handlers[exit.kind] as Handler<typeof exit.kind>)(ctx, exit as never);
}
