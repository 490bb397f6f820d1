/**
 * A 16550 UART as bhyve emulates it (uart_emul.c; bhyve-userland.md §6.9): 16-byte RX
 * FIFO once enabled by FCR (1 byte before), immediate transmit (LSR THRE|TEMT always set),
 * IIR priority RLS (overrun) > RX data (reported as IIR_RXTOUT) > THRE > modem status,
 * THRE pending set by each THR write and by IER.ETXRDY 0→1 and cleared by reading IIR when
 * it is the reported cause; MSR always DCD|DSR outside loopback; loopback echoes TX into
 * RX and MCR bits into MSR with delta bits; divisor latch behind LCR.DLAB.
 *
 * After every register access and every input event the interrupt output is recomputed:
 * the "assert" callback while a cause is pending, else "deassert" (LPC COM ports map
 * assert to an ISA IRQ pulse, deassert to nothing).
 *
 * Fast path (issue 10: a console line used to cost two exits to JavaScript per byte): while
 * the UART is "quiet" — IER 0 (so no access can raise an interrupt), loopback off and no
 * overrun latched — reading LSR has no side effect and its value depends only on the RX
 * FIFO, and a THR write cannot change it. {@link setLsrListener} then receives the LSR
 * value whenever it changes (undefined when the UART stops being quiet), so the vmm can
 * answer LSR reads itself and THR writes can be posted (lpc-port.ts) without either
 * stopping the vCPU. Every register access and input event republishes.
 *
 * No host I/O here: output goes to the backend through a small batch flushed at the end
 * of the current event-loop turn (or when 4 KiB accumulate), input arrives through the
 * backend's sink with back-pressure (bytes are refused while the FIFO is full and
 * re-offered when the guest drains it). Register access allocates nothing.
 */
import type { SerialBackend } from './backend.js';
import * as R from './regs.js';

export interface UartInterrupt {
  assert(): void;
  deassert(): void;
}

const TX_BATCH = 4096;

export class Uart16550 {
  private dll = 1;
  private dlh = 0;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsr = 0;
  private msr: number;
  private fcr = 0;
  private scr = 0;
  private threPending = false;
  private readonly fifo = new Uint8Array(R.FIFOSZ);
  private rIndex = 0;
  private wIndex = 0;
  private num = 0;
  private fifoSize = 1;
  private readonly tx = new Uint8Array(TX_BATCH);
  private txLen = 0;
  private txScheduled = false;
  private backend: SerialBackend | undefined;
  private lsrListener: ((lsr: number | undefined) => void) | undefined;
  private published: number | undefined;

  constructor(private readonly intr: UartInterrupt) {
    const divisor = Math.floor(R.DEFAULT_RCLK / R.DEFAULT_BAUD / 16);
    this.dll = divisor & 0xff;
    this.dlh = divisor >> 8;
    this.msr = Uart16550.modemStatus(this.mcr);
  }

  /**
   * Receives the LSR value a read would return while reading it has no side effect, and
   * undefined otherwise (see the header); called at once and on every change.
   */
  setLsrListener(listener: ((lsr: number | undefined) => void) | undefined): void {
    this.lsrListener = listener;
    this.published = this.quietLsr();
    listener?.(this.published);
  }

  /** LSR as a read would return it, when that read would change nothing; else undefined. */
  private quietLsr(): number | undefined {
    if (this.ier !== 0 || this.mcr & R.MCR_LOOPBACK || this.lsr & R.LSR_OE) return undefined;
    return (this.lsr & ~R.LSR_RXRDY) | R.LSR_TEMT | R.LSR_THRE | (this.num > 0 ? R.LSR_RXRDY : 0);
  }

  private publish(): void {
    if (!this.lsrListener) return;
    const v = this.quietLsr();
    if (v === this.published) return;
    this.published = v;
    this.lsrListener(v);
  }

  /** Connects a host backend (or none: output discarded, no input). */
  setBackend(backend: SerialBackend | undefined): void {
    this.backend?.setInputSink(undefined);
    this.backend = backend;
    backend?.setInputSink((chunk) => this.receive(chunk));
  }

  private static modemStatus(mcr: number): number {
    if (mcr & R.MCR_LOOPBACK) {
      let msr = 0;
      if (mcr & R.MCR_RTS) msr |= R.MSR_CTS;
      if (mcr & R.MCR_DTR) msr |= R.MSR_DSR;
      if (mcr & R.MCR_OUT1) msr |= R.MSR_RI;
      if (mcr & R.MCR_OUT2) msr |= R.MSR_DCD;
      return msr;
    }
    return R.MSR_DCD | R.MSR_DSR;
  }

  private rxReset(size: number): void {
    this.rIndex = this.wIndex = this.num = 0;
    this.fifoSize = size;
    this.backend?.resume();
  }

  private rxPut(ch: number): boolean {
    if (this.num >= this.fifoSize) return false;
    this.fifo[this.wIndex] = ch;
    this.wIndex = (this.wIndex + 1) % this.fifoSize;
    this.num++;
    return true;
  }

  private rxGet(): number {
    if (this.num === 0) return -1;
    const wasFull = this.num >= this.fifoSize;
    const c = this.fifo[this.rIndex]!;
    this.rIndex = (this.rIndex + 1) % this.fifoSize;
    this.num--;
    if (wasFull) this.backend?.resume();
    return c;
  }

  /** Input from the backend: takes what fits in the FIFO, returns how many bytes. */
  receive(chunk: Uint8Array): number {
    let taken = 0;
    if (this.mcr & R.MCR_LOOPBACK) {
      taken = chunk.length; // bhyve reads and drops host input in loopback mode
    } else {
      while (taken < chunk.length && this.rxPut(chunk[taken]!)) taken++;
      this.toggleIntr();
      this.publish();
    }
    return taken;
  }

  private intrReason(): number {
    if (this.lsr & R.LSR_OE && this.ier & R.IER_ERLS) return R.IIR_RLS;
    if (this.num > 0 && this.ier & R.IER_ERXRDY) return R.IIR_RXTOUT;
    if (this.threPending && this.ier & R.IER_ETXRDY) return R.IIR_TXRDY;
    if (this.msr & R.MSR_DELTA_MASK && this.ier & R.IER_EMSC) return R.IIR_MLSC;
    return R.IIR_NOPEND;
  }

  private toggleIntr(): void {
    if (this.intrReason() === R.IIR_NOPEND) this.intr.deassert();
    else this.intr.assert();
  }

  private transmit(value: number): void {
    if (!this.backend) return;
    this.tx[this.txLen++] = value;
    if (this.txLen === TX_BATCH) this.flushTx();
    else if (!this.txScheduled) {
      this.txScheduled = true;
      setImmediate(() => this.flushTx());
    }
  }

  /** Hands batched output to the backend now (also before the VM exits). */
  flushTx(): void {
    this.txScheduled = false;
    if (this.txLen === 0 || !this.backend) return;
    this.backend.write(this.tx.slice(0, this.txLen));
    this.txLen = 0;
  }

  write(offset: number, value: number): void {
    const v = value & 0xff;
    if (this.lcr & R.LCR_DLAB && offset === R.REG_DLL) this.dll = v;
    else if (this.lcr & R.LCR_DLAB && offset === R.REG_DLH) this.dlh = v;
    else {
      switch (offset) {
        case R.REG_DATA:
          if (this.mcr & R.MCR_LOOPBACK) {
            if (!this.rxPut(v)) this.lsr |= R.LSR_OE;
          } else this.transmit(v);
          this.threPending = true;
          break;
        case R.REG_IER:
          if ((this.ier & R.IER_ETXRDY) === 0 && v & R.IER_ETXRDY) this.threPending = true;
          this.ier = v & 0x0f;
          break;
        case R.REG_FCR:
          if ((this.fcr & R.FCR_ENABLE) !== (v & R.FCR_ENABLE)) this.rxReset(v & R.FCR_ENABLE ? R.FIFOSZ : 1);
          if ((v & R.FCR_ENABLE) === 0) this.fcr = 0;
          else {
            if (v & R.FCR_RCV_RST) this.rxReset(R.FIFOSZ);
            this.fcr = v & (R.FCR_ENABLE | R.FCR_DMA | R.FCR_RX_MASK);
          }
          break;
        case R.REG_LCR:
          this.lcr = v;
          break;
        case R.REG_MCR: {
          this.mcr = v & 0x1f;
          const msr = Uart16550.modemStatus(this.mcr);
          if ((msr ^ this.msr) & R.MSR_CTS) this.msr |= R.MSR_DCTS;
          if ((msr ^ this.msr) & R.MSR_DSR) this.msr |= R.MSR_DDSR;
          if ((msr ^ this.msr) & R.MSR_DCD) this.msr |= R.MSR_DDCD;
          if (this.msr & R.MSR_RI && (msr & R.MSR_RI) === 0) this.msr |= R.MSR_TERI;
          this.msr = (this.msr & R.MSR_DELTA_MASK) | msr;
          break;
        }
        case R.REG_SCR:
          this.scr = v;
          break;
        default: // LSR, MSR: read-only
          break;
      }
    }
    this.toggleIntr();
    this.publish();
  }

  read(offset: number): number {
    let reg: number;
    if (this.lcr & R.LCR_DLAB && offset === R.REG_DLL) reg = this.dll;
    else if (this.lcr & R.LCR_DLAB && offset === R.REG_DLH) reg = this.dlh;
    else {
      switch (offset) {
        case R.REG_DATA:
          reg = this.rxGet() & 0xff;
          break;
        case R.REG_IER:
          reg = this.ier;
          break;
        case R.REG_IIR: {
          const reason = this.intrReason();
          if (reason === R.IIR_TXRDY) this.threPending = false;
          reg = (this.fcr & R.FCR_ENABLE ? R.IIR_FIFO_MASK : 0) | reason;
          break;
        }
        case R.REG_LCR:
          reg = this.lcr;
          break;
        case R.REG_MCR:
          reg = this.mcr;
          break;
        case R.REG_LSR:
          this.lsr |= R.LSR_TEMT | R.LSR_THRE;
          if (this.num > 0) this.lsr |= R.LSR_RXRDY;
          else this.lsr &= ~R.LSR_RXRDY;
          reg = this.lsr;
          this.lsr &= ~R.LSR_OE;
          break;
        case R.REG_MSR:
          reg = this.msr;
          this.msr &= ~R.MSR_DELTA_MASK;
          break;
        case R.REG_SCR:
          reg = this.scr;
          break;
        default:
          reg = 0xff;
      }
    }
    this.toggleIntr();
    this.publish();
    return reg;
  }
}
