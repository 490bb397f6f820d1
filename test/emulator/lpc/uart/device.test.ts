import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../../../src/emulator/lpc/uart/device.js';
import type { InputSink, SerialBackend } from '../../../../src/emulator/lpc/uart/backend.js';
import * as R from '../../../../src/emulator/lpc/uart/regs.js';

class FakeBackend implements SerialBackend {
  readonly description = 'fake';
  out: number[] = [];
  sink: InputSink | undefined;
  held: Uint8Array = new Uint8Array(0);
  resumes = 0;
  write(d: Uint8Array) {
    this.out.push(...d);
  }
  setInputSink(s: InputSink | undefined) {
    this.sink = s;
  }
  /** Host types bytes: offered to the UART, remainder held. */
  type(bytes: number[]) {
    const all = new Uint8Array([...this.held, ...bytes]);
    const n = this.sink!(all);
    this.held = all.slice(n);
  }
  resume() {
    this.resumes++;
    if (this.held.length) this.type([]);
  }
  async flush() {}
  async close() {}
}

function uart() {
  const events: string[] = [];
  const u = new Uart16550({ assert: () => events.push('A'), deassert: () => events.push('D') });
  const b = new FakeBackend();
  u.setBackend(b);
  return { u, b, events };
}

describe('16550 UART', () => {
  it('resets to 115200 baud, LSR THRE|TEMT, IIR no interrupt, MSR DCD|DSR', () => {
    const { u } = uart();
    u.write(R.REG_LCR, R.LCR_DLAB);
    expect([u.read(R.REG_DLL), u.read(R.REG_DLH)]).toEqual([1, 0]);
    u.write(R.REG_DLL, 12);
    expect(u.read(R.REG_DLL)).toBe(12);
    u.write(R.REG_LCR, 0x03);
    expect(u.read(R.REG_LSR)).toBe(R.LSR_THRE | R.LSR_TEMT);
    expect(u.read(R.REG_IIR)).toBe(R.IIR_NOPEND);
    expect(u.read(R.REG_MSR)).toBe(R.MSR_DCD | R.MSR_DSR);
    expect(u.read(R.REG_DATA)).toBe(0xff); // empty FIFO
  });

  it('transmits bytes in order through the backend', () => {
    const { u, b } = uart();
    for (const c of 'hello\n') u.write(R.REG_DATA, c.charCodeAt(0));
    u.flushTx();
    expect(String.fromCharCode(...b.out)).toBe('hello\n');
  });

  it('raises THRE on IER enable and on each THR write, cleared by reading IIR', () => {
    const { u, events } = uart();
    u.write(R.REG_IER, R.IER_ETXRDY);
    expect(events.at(-1)).toBe('A');
    expect(u.read(R.REG_IIR)).toBe(R.IIR_TXRDY);
    expect(events.at(-1)).toBe('D');
    expect(u.read(R.REG_IIR)).toBe(R.IIR_NOPEND);
    u.write(R.REG_DATA, 0x41);
    expect(events.at(-1)).toBe('A');
    u.write(R.REG_IER, R.IER_ETXRDY); // no 0→1 transition: still pending from the write
    expect(u.read(R.REG_IIR)).toBe(R.IIR_TXRDY);
  });

  it('holds one byte without FIFO and 16 with it, pushing back the rest', () => {
    const { u, b, events } = uart();
    u.write(R.REG_IER, R.IER_ERXRDY);
    b.type([1, 2, 3]);
    expect(b.held).toEqual(new Uint8Array([2, 3]));
    expect(events.at(-1)).toBe('A');
    expect(u.read(R.REG_IIR)).toBe(R.IIR_RXTOUT);
    expect(u.read(R.REG_LSR) & R.LSR_RXRDY).toBe(1);
    expect(u.read(R.REG_DATA)).toBe(1);
    expect(b.resumes).toBeGreaterThan(0);
    expect(u.read(R.REG_DATA)).toBe(2); // re-offered after the guest drained the FIFO
    u.write(R.REG_FCR, R.FCR_ENABLE | R.FCR_RCV_RST);
    expect(u.read(R.REG_IIR) & R.IIR_FIFO_MASK).toBe(R.IIR_FIFO_MASK);
    b.held = new Uint8Array(0);
    b.type(Array.from({ length: 20 }, (_, i) => i));
    expect(b.held.length).toBe(4);
    const got: number[] = [];
    while (u.read(R.REG_LSR) & R.LSR_RXRDY) got.push(u.read(R.REG_DATA));
    expect(got).toEqual([...Array.from({ length: 16 }, (_, i) => i), 16, 17, 18, 19]);
    expect(events.at(-1)).toBe('D');
  });

  it('loops back TX into RX, reports overrun, and maps MCR to MSR with deltas', () => {
    const { u, b, events } = uart();
    u.write(R.REG_MCR, R.MCR_LOOPBACK);
    expect(u.read(R.REG_MSR)).toBe(R.MSR_DDSR | R.MSR_DDCD); // DCD|DSR dropped
    u.write(R.REG_MCR, R.MCR_LOOPBACK | R.MCR_DTR | R.MCR_RTS | R.MCR_OUT1 | R.MCR_OUT2);
    expect(u.read(R.REG_MSR)).toBe(0xf0 | R.MSR_DCTS | R.MSR_DDSR | R.MSR_DDCD);
    expect(u.read(R.REG_MSR)).toBe(0xf0);
    u.write(R.REG_IER, R.IER_ERLS);
    u.write(R.REG_DATA, 0x55);
    u.write(R.REG_DATA, 0x66); // 1-byte FIFO full: overrun
    expect(events.at(-1)).toBe('A');
    expect(u.read(R.REG_IIR)).toBe(R.IIR_RLS);
    expect(u.read(R.REG_LSR)).toBe(R.LSR_THRE | R.LSR_TEMT | R.LSR_OE | R.LSR_RXRDY);
    expect(u.read(R.REG_LSR) & R.LSR_OE).toBe(0);
    expect(u.read(R.REG_DATA)).toBe(0x55);
    u.flushTx();
    expect(b.out).toEqual([]);
    expect(u.read(R.REG_MCR)).toBe(0x1f);
  });

  it('ignores writes to LSR/MSR and keeps only IER bits 0-3', () => {
    const { u } = uart();
    u.write(R.REG_LSR, 0xff);
    u.write(R.REG_MSR, 0x00);
    u.write(R.REG_IER, 0xff);
    expect(u.read(R.REG_IER)).toBe(0x0f);
    expect(u.read(R.REG_MSR)).toBe(R.MSR_DCD | R.MSR_DSR);
    u.write(R.REG_SCR, 0x5a);
    expect(u.read(R.REG_SCR)).toBe(0x5a);
  });

  it('works without a backend (output dropped, no input)', () => {
    const u = new Uart16550({ assert: () => {}, deassert: () => {} });
    u.write(R.REG_DATA, 0x41);
    u.flushTx();
    expect(u.read(R.REG_LSR)).toBe(R.LSR_THRE | R.LSR_TEMT);
  });
});
