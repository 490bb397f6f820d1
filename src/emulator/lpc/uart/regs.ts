/**
 * NS16550 register offsets and bits (FreeBSD dev/ic/ns16550.h names; bhyve
 * uart_emul.c). Constants only.
 */
export const REG_DATA = 0; // RBR (read) / THR (write); DLL when DLAB
export const REG_DLL = 0;
export const REG_IER = 1; // DLH when DLAB
export const REG_DLH = 1;
export const REG_IIR = 2; // read
export const REG_FCR = 2; // write
export const REG_LCR = 3;
export const REG_MCR = 4;
export const REG_LSR = 5;
export const REG_MSR = 6;
export const REG_SCR = 7;
export const UART_IO_BAR_SIZE = 8;

export const IER_ERXRDY = 0x01;
export const IER_ETXRDY = 0x02;
export const IER_ERLS = 0x04;
export const IER_EMSC = 0x08;

export const IIR_NOPEND = 0x01;
export const IIR_MLSC = 0x00;
export const IIR_TXRDY = 0x02;
export const IIR_RXRDY = 0x04;
export const IIR_RLS = 0x06;
export const IIR_RXTOUT = 0x0c;
export const IIR_FIFO_MASK = 0xc0;

export const FCR_ENABLE = 0x01;
export const FCR_RCV_RST = 0x02;
export const FCR_XMT_RST = 0x04;
export const FCR_DMA = 0x08;
export const FCR_RX_MASK = 0xc0;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOPBACK = 0x10;

export const LSR_RXRDY = 0x01;
export const LSR_OE = 0x02;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_DELTA_MASK = 0x0f;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

export const FIFOSZ = 16;
/** 1.8432 MHz clock; bhyve's default divisor gives 115200 baud (divisor 1). */
export const DEFAULT_RCLK = 1843200;
export const DEFAULT_BAUD = 115200;

/** Legacy COM ports: base and ISA IRQ (uart_lres). */
export const COM_PORTS = [
  { name: 'com1', base: 0x3f8, irq: 4 },
  { name: 'com2', base: 0x2f8, irq: 3 },
  { name: 'com3', base: 0x3e8, irq: 4 },
  { name: 'com4', base: 0x2e8, irq: 3 },
] as const;
