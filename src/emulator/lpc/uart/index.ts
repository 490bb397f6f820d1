/** The 16550 UART: registers, device, LPC port adapter, backend interface (contents only). */
export * from './regs.js';
export { Uart16550, type UartInterrupt } from './device.js';
export { LpcUartPort } from './lpc-port.js';
export type { SerialBackend, InputSink } from './backend.js';
