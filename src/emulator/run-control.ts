/**
 * How devices ask the VM to stop, and what status the process then exits with
 * (bhyve-userland.md §3: BHYVE_EXIT_RESET 0, POWEROFF 1, HALT 2, TRIPLEFAULT 3, ERROR 4;
 * pc-testdev's `(v << 1) | 1`).
 *
 * A device calls suspend()/exit(); the first request wins and later ones are ignored, as
 * only one exit status can be reported. sleep() is the ACPI S3 request, which stops the
 * vCPUs without ending the VM when the runner installed a sleep handler. The vCPU exit loop checks `stop` after each
 * dispatched access and leaves with it. Nothing here touches the process.
 */

export type SuspendHow = 'reset' | 'poweroff' | 'halt' | 'triplefault';

export const EXIT_STATUS: Record<SuspendHow, number> = {
  reset: 0,
  poweroff: 1,
  halt: 2,
  triplefault: 3,
};

/** bhyve exits with 100 on a suspend reason it does not know. */
export const EXIT_UNKNOWN_SUSPEND = 100;

export interface StopRequest {
  status: number;
  reason: string;
}

export class RunControl {
  stop: StopRequest | undefined;
  /** Called once when the first stop is requested (the machine wakes its vCPUs). */
  onStop: ((req: StopRequest) => void) | undefined;
  /**
   * Puts the VM in the ACPI S3 sleeping state (run/acpi-sleep.ts); answers false when the
   * VM cannot sleep (no handler, or the boot method has no waking path).
   */
  onSleep: (() => boolean) | undefined;

  /** The guest asked for S3 (PM1 control SLP_EN with SLP_TYP 1): true when it sleeps now. */
  sleep(): boolean {
    if (this.stop || !this.onSleep) return false;
    return this.onSleep();
  }

  /** vm_suspend(how): the guest powered off, reset, halted or triple-faulted. */
  suspend(how: SuspendHow): void {
    this.request({ status: EXIT_STATUS[how], reason: how });
  }

  /** exit(status) on behalf of a device (pc-testdev's isa-debug-exit). */
  exit(status: number, reason: string): void {
    this.request({ status, reason });
  }

  private request(req: StopRequest): void {
    if (this.stop) return;
    this.stop = req;
    this.onStop?.(req);
  }
}
