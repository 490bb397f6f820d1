/**
 * A 16550 on the LPC bus as a COM port (bhyve pci_lpc.c lpc_uart_io_handler): 8 I/O
 * ports, byte and word accesses (a word is two byte accesses, low first); other sizes
 * read all-ones and are dropped.
 */
import type { BusDevice } from '../../bus/range.js';
import type { Uart16550 } from './device.js';

export class LpcUartPort implements BusDevice {
  constructor(
    readonly name: string,
    readonly uart: Uart16550,
  ) {}

  read(offset: number, size: number): number {
    if (size === 1) return this.uart.read(offset);
    if (size === 2) return this.uart.read(offset) | (this.uart.read(offset + 1) << 8);
    return 0xffffffff;
  }

  write(offset: number, size: number, value: number): void {
    if (size === 1) this.uart.write(offset, value);
    else if (size === 2) {
      this.uart.write(offset, value & 0xff);
      this.uart.write(offset + 1, (value >>> 8) & 0xff);
    }
  }
}
