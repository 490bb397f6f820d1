/**
 * The narrow interrupt interfaces device models use (bhyve-userland.md §5.4). A device
 * never knows which controller is behind a line: machine.ts binds these to the vmm's
 * ioapicAssert/Deassert/Pulse, isaIrq and msi calls.
 *
 * - InterruptLine: one wire, level (assert/deassert) or edge (pulse). PCI INTx, COM
 *   ports and the SCI are lines.
 * - MsiSink: delivers one MSI/MSI-X message (address, data) to the local APICs.
 * - IrqController: what the platform offers to route lines (I/O APIC pins, ISA IRQs that
 *   drive 8259 + I/O APIC together as vm_isa_*_irq do).
 */

export interface InterruptLine {
  assert(): void;
  deassert(): void;
  pulse(): void;
}

export interface MsiSink {
  msi(addr: number, data: number): void;
}

export interface IrqController {
  ioapicAssert(pin: number): void;
  ioapicDeassert(pin: number): void;
  ioapicPulse(pin: number): void;
  /** Drives ISA IRQ `irq` on the 8259 pair and I/O APIC pin `ioapicPin` (or -1 to skip one). */
  isaAssert(irq: number, ioapicPin: number): void;
  isaDeassert(irq: number, ioapicPin: number): void;
  isaPulse(irq: number, ioapicPin: number): void;
  msi(addr: number, data: number): void;
}

/** A line that does nothing (a COM port's deassert is a no-op in bhyve, for instance). */
export const NULL_LINE: InterruptLine = { assert() {}, deassert() {}, pulse() {} };

/** An ISA IRQ line: 8259 input `irq` and I/O APIC pin `irq` (IRQ 0 goes to pin 2). */
export function isaLine(ctl: IrqController, irq: number): InterruptLine {
  const pin = irq === 0 ? 2 : irq;
  return {
    assert: () => ctl.isaAssert(irq, pin),
    deassert: () => ctl.isaDeassert(irq, pin),
    pulse: () => ctl.isaPulse(irq, pin),
  };
}

/** Records every interrupt event; the test double for IrqController/MsiSink/lines. */
export class RecordingIrq implements IrqController {
  readonly events: string[] = [];
  /** Current level of I/O APIC pins that are asserted. */
  readonly ioapicLevel = new Map<number, boolean>();
  readonly msis: Array<{ addr: number; data: number }> = [];
  ioapicAssert(pin: number): void {
    this.events.push(`ioapic+${pin}`);
    this.ioapicLevel.set(pin, true);
  }
  ioapicDeassert(pin: number): void {
    this.events.push(`ioapic-${pin}`);
    this.ioapicLevel.set(pin, false);
  }
  ioapicPulse(pin: number): void {
    this.events.push(`ioapic^${pin}`);
  }
  isaAssert(irq: number, pin: number): void {
    this.events.push(`isa+${irq}/${pin}`);
  }
  isaDeassert(irq: number, pin: number): void {
    this.events.push(`isa-${irq}/${pin}`);
  }
  isaPulse(irq: number, pin: number): void {
    this.events.push(`isa^${irq}/${pin}`);
  }
  msi(addr: number, data: number): void {
    this.events.push(`msi ${addr.toString(16)}:${data.toString(16)}`);
    this.msis.push({ addr, data });
  }
}
