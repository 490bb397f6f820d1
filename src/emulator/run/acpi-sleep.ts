/**
 * ACPI S3 (suspend to RAM) for a VM booted without firmware (ACPI 6.4 §7.4.2 \_Sx, §16.3
 * "Platform firmware and the waking vector"; the FACS layout of §5.2.10).
 *
 * - enter(): called from the PM1 control write (lpc/pm.ts) inside that OUT's exit handler:
 *   pauses every vCPU, so none executes the instruction after the OUT (the vmm parks a vCPU
 *   before it re-enters the guest once a pause is requested). Guest RAM and the in-vmm
 *   devices keep running (the RTC keeps time and raises its alarm).
 * - While asleep, a 2 ms poll looks for a wake event: an RTC interrupt (the vmm's RTC
 *   interrupt counter moved, i.e. the alarm fired with AIE) while PM1_EN.RTC_EN is set, or
 *   a power-button press (always a wake source).
 * - wake(): does what platform firmware does on resume: PM1_STS gets WAK_STS and the
 *   source's bit; the BSP is put in real mode at FACS.Firmware_Waking_Vector (CS = vector
 *   >> 4, IP = vector & 0xF, everything else as at reset); the APs get an INIT and wait for
 *   a SIPI, as after power-on. The FACS is found as a guest would: RSDP → RSDT → FADT →
 *   FIRMWARE_CTRL, reading guest memory with bounds checks.
 * - Refused (enter() answers false, the guest keeps running and a warning is logged): a
 *   boot ROM (its firmware owns the ACPI tables and the resume path), and tables that give
 *   no FACS. On wake, a zero waking vector means "boot normally" (the VM resets, status 0)
 *   and a 64-bit X_Firmware_Waking_Vector is not supported (the VM resets, logged).
 * Not done: the BSP's local APIC is not reset (its registers survive the sleep); devices
 * are not powered down.
 */
import type { Logger } from '../log.js';
import { resetState } from '../loaders/cpu-state.js';
import type { AcpiPm, WakeSource } from '../lpc/pm.js';
import type { RunControl } from '../run-control.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Vm } from '../vmm/vmm.js';
import { initialRegisters } from './boot-state.js';

const POLL_MS = 2;
/** MSI data: delivery mode INIT (ACPI wake resets the APs as power-on does). */
const MSI_INIT = 0x500;
const MSI_ADDR = 0xfee00000;

/** The FACS of the tables in guest memory, or undefined (RSDP at `rsdp`). */
export function findFacs(mem: GuestMemory, rsdp: number): number | undefined {
  const u32 = (gpa: number): number | undefined => (mem.contains(gpa, 4) ? mem.read32(gpa) : undefined);
  const sig = (gpa: number): string | undefined => {
    const b = mem.view(gpa, 4);
    return b ? String.fromCharCode(...b) : undefined;
  };
  const rsdt = u32(rsdp + 16);
  if (rsdt === undefined || sig(rsdt) !== 'RSDT') return undefined;
  const len = u32(rsdt + 4);
  if (len === undefined || len < 36 || len > 4096) return undefined;
  for (let off = 36; off + 4 <= len; off += 4) {
    const t = u32(rsdt + off);
    if (t === undefined || sig(t) !== 'FACP') continue;
    const facs = u32(t + 36);
    if (facs === undefined || facs === 0 || sig(facs) !== 'FACS') return undefined;
    return facs;
  }
  return undefined;
}

export interface SleepContext {
  vm: Vm;
  memory: GuestMemory;
  pm: AcpiPm;
  control: RunControl;
  log: Logger;
  /** The RSDP the loader installed, or undefined with a boot ROM. */
  rsdpAddress: number | undefined;
}

export class AcpiSleep {
  private asleep = false;
  private timer: NodeJS.Timeout | undefined;
  private rtcIrqsAtSleep = 0;
  private paused: Promise<void> = Promise.resolve();
  /** Completed S3 cycles (sleep then wake). */
  wakeups = 0;

  constructor(private readonly ctx: SleepContext) {}

  get sleeping(): boolean {
    return this.asleep;
  }

  /** The S3 request: true when the VM sleeps now. */
  enter(): boolean {
    if (this.asleep) return true;
    const { ctx } = this;
    if (ctx.rsdpAddress === undefined) {
      ctx.log.warn('ACPI S3 request ignored: the boot ROM owns the resume path (not supported)');
      return false;
    }
    if (findFacs(ctx.memory, ctx.rsdpAddress) === undefined) {
      ctx.log.warn('ACPI S3 request ignored: no FACS reachable from the RSDP');
      return false;
    }
    this.asleep = true;
    this.rtcIrqsAtSleep = ctx.vm.deviceStats().rtcIrqs;
    this.paused = ctx.vm.pause();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    return true;
  }

  /** Stops waiting (the VM is being torn down). */
  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    const { pm, vm, control } = this.ctx;
    if (control.stop) {
      this.dispose();
      return;
    }
    let source: WakeSource | undefined;
    if (pm.powerButtonPending) source = 'pwrbtn';
    else if (pm.rtcWakeEnabled && vm.deviceStats().rtcIrqs !== this.rtcIrqsAtSleep) source = 'rtc';
    if (source === undefined) return;
    this.dispose();
    void this.paused.then(() => this.wake(source));
  }

  private wake(source: WakeSource): void {
    const { vm, memory, pm, control, log } = this.ctx;
    this.asleep = false;
    if (control.stop) return;
    pm.wake(source);
    const facs = findFacs(memory, this.ctx.rsdpAddress!);
    const vector = facs === undefined ? 0 : memory.read32(facs + 12);
    const xVector = facs === undefined ? 0n : memory.read64(facs + 24);
    if (xVector !== 0n) {
      log.warn('ACPI S3 wake: a 64-bit X_Firmware_Waking_Vector is not supported; resetting');
      control.suspend('reset');
      vm.resume();
      return;
    }
    if (vector === 0) {
      // No waking vector: firmware boots normally.
      control.suspend('reset');
      vm.resume();
      return;
    }
    const init = resetState();
    const sel = (vector >>> 4) & 0xffff;
    init.cs = { selector: sel, base: sel << 4, limit: 0xffff, access: init.cs.access };
    init.rip = vector & 0xf;
    init.regs = {};
    const bsp = vm.vcpu(0)!;
    bsp.setState(initialRegisters(bsp.getState(), init));
    for (const v of vm.vcpus) {
      if (v && v.id !== 0) vm.msi(MSI_ADDR | ((v.id & 0xff) << 12), MSI_INIT);
    }
    this.wakeups++;
    vm.resume();
  }
}
