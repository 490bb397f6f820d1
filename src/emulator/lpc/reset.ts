/**
 * Reset Control register at I/O port 0xCF9 (bhyve pm.c reset_handler): byte access only;
 * reads return the last value written; a write with bit 2 (0x04, "reset CPU") set
 * resets the VM (exit status 0). Hard and soft resets are not distinguished. It sits
 * inside the PCI 0xCF8-0xCFF block, which forwards byte accesses of 0xCF9 here.
 */
import type { BusDevice } from '../bus/range.js';
import type { RunControl } from '../run-control.js';

export const RESET_CONTROL_PORT = 0xcf9;
export const RCR_RESET_CPU = 0x04;

export class ResetControl implements BusDevice {
  readonly name = 'reset-control';
  private value = 0;

  constructor(private readonly control: RunControl) {}

  read(): number {
    return this.value;
  }

  write(_offset: number, _size: number, value: number): void {
    this.value = value & 0xff;
    if (this.value & RCR_RESET_CPU) this.control.suspend('reset');
  }
}
