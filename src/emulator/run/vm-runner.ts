/**
 * One VM's life in the tsbhyve process (bhyverun.c main() after the options): create the
 * vmm VM with its memory and vCPUs, assemble the machine from the configuration tree, put
 * the BSP in the boot method's state, run every vCPU until the VM stops, then flush and
 * close the backends and answer the process exit status (bhyve-userland.md §3: 0 reset,
 * 1 poweroff, 2 halt, 3 triple fault, 4 error, pc-testdev `(v<<1)|1`).
 *
 * `vmm.backend` (soft | kvm | auto) picks the vCPU engine; `-c N` creates N vCPUs, the APs
 * waiting for INIT/SIPI as on real hardware. ACPI S3 requests pause the vCPUs until a wake
 * event (run/acpi-sleep.ts). SIGTERM presses the ACPI power button once the
 * guest enabled ACPI; before that it stops the VM cleanly and the process then dies by
 * SIGTERM as bhyve does. Hooks let the control socket (control/) pause, resume and stop the
 * VM; this module does not speak any protocol itself.
 */
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { PlatformConfig } from '../config/platform.js';
import type { ConfigTree } from '../config/tree.js';
import type { Logger } from '../log.js';
import { Machine } from '../machine.js';
import { EXIT_STATUS } from '../run-control.js';
import { Vm, VmmError, type BackendName, type VmExit } from '../vmm/vmm.js';
import { AcpiSleep } from './acpi-sleep.js';
import { applyBootState } from './boot-state.js';
import { ExitBridge } from './exit-bridge.js';
import { machineVmm } from './vmm-adapter.js';
import { startMark } from '../start-trace.js';

/** What the process should do once the VM is gone. */
export interface RunOutcome {
  /** Process exit status (bhyve's). */
  status: number;
  /** Why the VM stopped ("poweroff", "Unhandled inb 0x1234", ...). */
  reason: string;
  /** The VM was stopped because of SIGTERM before ACPI was enabled: die by that signal. */
  killedBy?: 'SIGTERM';
}

/** The running VM as the control socket sees it. */
export interface RunningVm {
  readonly name: string;
  readonly vcpus: number;
  readonly machine: Machine;
  readonly vm: Vm;
  paused(): boolean;
  pause(): Promise<void>;
  resume(): void;
}

export interface RunHooks {
  /** Called once the machine is built and before any guest instruction runs. */
  beforeRun?(vm: RunningVm): Promise<void> | void;
  /** Start with the vCPUs paused (tsvirt.control.start_paused). */
  startPaused?: boolean;
  /** Called after the VM stopped and its backends were flushed and closed. */
  afterRun?(outcome: RunOutcome): Promise<void> | void;
  /**
   * Sees every exit before the machine does (the GDB stub's mtrap/bpt exits); true means
   * handled. Called on every exit: keep it to a kind check for the others.
   */
  interceptExit?(exit: VmExit): boolean;
}

/** Runs several hook sets as one (control socket + GDB stub): in order, each awaited. */
export function combineHooks(...all: RunHooks[]): RunHooks {
  const intercepts = all.flatMap((h) => (h.interceptExit ? [h.interceptExit.bind(h)] : []));
  return {
    startPaused: all.some((h) => h.startPaused === true),
    async beforeRun(vm) {
      for (const h of all) await h.beforeRun?.(vm);
    },
    async afterRun(outcome) {
      for (const h of all) await h.afterRun?.(outcome);
    },
    ...(intercepts.length === 0
      ? {}
      : { interceptExit: (exit: VmExit) => intercepts.some((f) => f(exit)) }),
  };
}

function createVm(tree: ConfigTree, p: PlatformConfig): Vm {
  try {
    return Vm.create({
      backend: p.vmmBackend as BackendName,
      memorySize: p.memSize,
      vcpus: p.ncpus,
      x2apic: tree.getBool('x86.x2apic', false),
      rtcLocaltime: tree.getBool('rtc.use_localtime', true),
    });
  } catch (e) {
    if (e instanceof VmmError) throw new ConfigError(`cannot create VM '${p.name}': ${e.message}`, EXIT_ERROR);
    throw e;
  }
}

export async function runVm(tree: ConfigTree, p: PlatformConfig, log: Logger, hooks: RunHooks = {}): Promise<RunOutcome> {
  const vm = createVm(tree, p);
  let machine: Machine | undefined;
  let closed = false;
  const closeMachine = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await machine?.close();
  };
  let sigterm = false;
  const onSigterm = (): void => {
    if (machine?.powerButton()) return;
    sigterm = true;
    machine?.control.exit(EXIT_ERROR, 'SIGTERM');
    vm.stop();
  };
  try {
    for (let i = 0; i < p.ncpus; i++) vm.createVcpu(i);
    startMark('vm created');
    machine = await Machine.build(tree, p, machineVmm(vm, tree.getBool('tsvirt.posted_writes', true), tree.getBool('tsvirt.pci_conf1_latch', true)), { log, freshMemory: true });
    startMark('machine built');
    applyBootState(vm.vcpu(0)!, machine.boot.state);
    const m = machine;
    const bridge = new ExitBridge(m, tree.getBool('x86.strictmsr', true));
    // start_paused: the vCPUs are not started at all until the first resume.
    let isPaused = hooks.startPaused === true;
    let started = !isPaused;
    let release: () => void = () => {};
    const startGate = started ? Promise.resolve() : new Promise<void>((r) => (release = r));
    const running: RunningVm = {
      name: p.name,
      vcpus: p.ncpus,
      machine: m,
      vm,
      paused: () => isPaused,
      pause: async () => {
        isPaused = true;
        if (started) await vm.pause();
      },
      resume: () => {
        isPaused = false;
        if (started) vm.resume();
        else {
          started = true;
          release();
        }
      },
    };
    const sleep = new AcpiSleep({ vm, memory: m.memory, pm: m.platform.pm, control: m.control, log, rsdpAddress: m.rsdpAddress });
    m.control.onSleep = () => sleep.enter();
    m.control.onStop = () => {
      sleep.dispose();
      if (sleep.sleeping) vm.resume(); // parked vCPUs must see the stop
      vm.stop();
      if (!started) {
        started = true;
        release();
      }
    };
    process.on('SIGTERM', onSigterm);
    await hooks.beforeRun?.(running);
    startMark('before run done');
    let outcome: RunOutcome;
    try {
      await startGate;
      const intercept = hooks.interceptExit?.bind(hooks);
      const handler = intercept ? (e: VmExit) => (intercept(e) ? undefined : bridge.handle(e)) : bridge.handle;
      startMark('vcpus run');
      const result = m.control.stop ? { reason: 'stopped' as const } : await vm.run(handler);
      if (sigterm) outcome = { status: EXIT_ERROR, reason: 'SIGTERM', killedBy: 'SIGTERM' };
      else if (bridge.stopped) outcome = { ...bridge.stopped };
      else if (m.control.stop) outcome = { ...m.control.stop };
      else if (result.reason === 'suspended') outcome = { status: EXIT_STATUS[result.how], reason: result.how };
      else if (result.reason === 'error') outcome = { status: EXIT_ERROR, reason: `vCPU ${result.vcpu}: ${result.message}` };
      else outcome = { status: EXIT_ERROR, reason: 'the VM stopped' };
    } catch (e) {
      outcome = { status: EXIT_ERROR, reason: `exit handler failed: ${(e as Error).stack ?? String(e)}` };
    }
    // Flush the guest's last output to every backend (console clients included) before
    // the control socket goes away.
    await closeMachine();
    await hooks.afterRun?.(outcome);
    return outcome;
  } finally {
    process.removeListener('SIGTERM', onSigterm);
    await closeMachine();
    if (!vm.running) vm.destroy();
  }
}
