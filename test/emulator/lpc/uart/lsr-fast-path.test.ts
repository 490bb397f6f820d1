import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../../../src/emulator/lpc/uart/device.js';
import type { InputSink, SerialBackend } from '../../../../src/emulator/lpc/uart/backend.js';
import * as R from '../../../../src/emulator/lpc/uart/regs.js';

class Backend implements SerialBackend {
  readonly description = 'test';
  sink: InputSink | undefined;
  write() {}
  setInputSink(s: InputSink | undefined) {
    this.sink = s;
  }
  resume() {}
  async flush() {}
  async close() {}
}

/** The published LSR (the vmm's port read value) always equals what a JS read would return. */
function setup() {
  let pulses = 0;
  const uart = new Uart16550({ assert: () => pulses++, deassert: () => {} });
  const backend = new Backend();
  uart.setBackend(backend);
  const seen: Array<number | undefined> = [];
  uart.setLsrListener((v) => seen.push(v));
  return { uart, backend, seen, last: () => seen[seen.length - 1], pulses: () => pulses };
}

describe('UART LSR fast path (port read value while quiet)', () => {
  it('publishes THRE|TEMT at once, adds RXRDY for input and drops it when the FIFO drains', () => {
    const { uart, backend, last } = setup();
    expect(last()).toBe(R.LSR_THRE | R.LSR_TEMT);
    backend.sink!(new Uint8Array([0x41]));
    expect(last()).toBe(R.LSR_THRE | R.LSR_TEMT | R.LSR_RXRDY);
    expect(uart.read(R.REG_LSR)).toBe(last());
    expect(uart.read(R.REG_DATA)).toBe(0x41);
    expect(last()).toBe(R.LSR_THRE | R.LSR_TEMT);
    expect(uart.read(R.REG_LSR)).toBe(last());
  });

  it('withdraws the value while an interrupt is enabled, in loopback, and while an overrun is latched', () => {
    const { uart, last, pulses } = setup();
    uart.write(R.REG_IER, R.IER_ETXRDY);
    expect(last()).toBeUndefined();
    // An LSR read now has a side effect (re-pulses the pending THRE interrupt): it must exit.
    const before = pulses();
    uart.read(R.REG_LSR);
    expect(pulses()).toBe(before + 1);
    uart.write(R.REG_IER, 0);
    expect(last()).toBe(R.LSR_THRE | R.LSR_TEMT);

    uart.write(R.REG_MCR, R.MCR_LOOPBACK);
    expect(last()).toBeUndefined();
    uart.write(R.REG_DATA, 1); // 1-byte FIFO (FCR off): fills it
    uart.write(R.REG_DATA, 2); // overrun
    uart.write(R.REG_MCR, 0);
    expect(last()).toBeUndefined(); // OE latched: the read that clears it must reach the model
    expect(uart.read(R.REG_LSR) & R.LSR_OE).toBe(R.LSR_OE);
    expect(last()).toBe(R.LSR_THRE | R.LSR_TEMT | R.LSR_RXRDY);
    expect(uart.read(R.REG_LSR)).toBe(last());
  });

  it('a THR write while quiet leaves the published value as it was (it may be posted)', () => {
    const { uart, seen } = setup();
    const n = seen.length;
    for (let i = 0; i < 100; i++) uart.write(R.REG_DATA, 0x30 + (i % 10));
    expect(seen.length).toBe(n);
  });
});
