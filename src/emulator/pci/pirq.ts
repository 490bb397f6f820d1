/**
 * PCI INTx routing as bhyve does it (amd64/pci_irq.c and amd64/ioapic.c;
 * bhyve-userland.md §5.4): an 8-link PIRQ router compatible with Intel's ICH
 * (registers at LPC config 0x60-0x63 and 0x68-0x6B: IRQ number in bits 3:0, bit 7 =
 * disabled) and the I/O APIC pin allocator for pins 16 and up.
 *
 * - I/O APIC pins: round-robin over pins 16..pincount-1, or with a boot ROM the fixed
 *   formula 16 + (4 + slot + pin) % 8 the firmware expects.
 * - PIRQ links: least-used of A-H (bootrom: (4 + slot + pin) % 8); each newly used link
 *   gets the least-used ISA IRQ among {3,4,5,6,7,9,10,11,12,14,15} not reserved by an ISA
 *   device, set level-triggered.
 * - Assert/deassert count active users per link so that shared links stay asserted while
 *   any function holds them; while a link is routed to a valid IRQ the 8259 IRQ and the
 *   I/O APIC pin are driven together (vm_isa_assert_irq), otherwise the pin alone.
 */
import type { IrqController } from '../irq/lines.js';

export const NPIRQS = 8;
export const PIRQ_DIS = 0x80;
export const PIRQ_IRQ = 0x0f;
/** Only IRQs 3-7, 9-12, and 14-15 are permitted. */
export const PERMITTED_IRQS = 0xdef8;
const IRQ_DISABLED = 0xff;
const NIRQ_COUNTS = 16;

function permitted(irq: number): boolean {
  return ((1 << irq) & PERMITTED_IRQS) !== 0;
}

/** Extra trigger control the router needs beyond IrqController (ELCR). */
export interface IsaTriggerControl {
  isaSetLevelTriggered(irq: number): void;
}

export class PirqRouter {
  private readonly regs = new Uint8Array(NPIRQS).fill(PIRQ_DIS);
  private readonly useCount = new Int32Array(NPIRQS);
  private readonly activeCount = new Int32Array(NPIRQS);
  private readonly irqCounts = new Uint8Array(NIRQ_COUNTS);
  private cold = true;
  private lastIoapicPin = 0;
  private readonly pciPins: number;

  constructor(
    private readonly irq: IrqController & Partial<IsaTriggerControl>,
    opts: { ioapicPins: number; bootrom: boolean },
  ) {
    for (let i = 0; i < NIRQ_COUNTS; i++) this.irqCounts[i] = permitted(i) ? 0 : IRQ_DISABLED;
    this.pciPins = opts.ioapicPins > 16 ? opts.ioapicPins - 16 : 0;
    this.bootrom = opts.bootrom;
  }
  private readonly bootrom: boolean;

  private static validIrq(reg: number): boolean {
    return (reg & PIRQ_DIS) === 0 && permitted(reg & PIRQ_IRQ);
  }

  /** pci_irq_reserve: an ISA device owns this IRQ; PCI links never get it. */
  reserve(irq: number): void {
    if (!this.cold) throw new Error('ISA IRQs must be reserved before PCI interrupts are routed');
    this.irqCounts[irq] = IRQ_DISABLED;
  }

  /** pci_irq_use: an ISA device shares this IRQ (the SCI); less preferred for links. */
  use(irq: number): void {
    if (!this.cold) throw new Error('ISA IRQs must be claimed before PCI interrupts are routed');
    if (this.irqCounts[irq] !== IRQ_DISABLED) this.irqCounts[irq]!++;
  }

  /** ioapic_pci_alloc_irq; -1 when the I/O APIC has no pins beyond 15. */
  allocIoapicPin(slot: number, intPin: number): number {
    if (this.pciPins === 0) return -1;
    if (this.bootrom) return 16 + ((4 + slot + intPin) % 8);
    return 16 + (this.lastIoapicPin++ % this.pciPins);
  }

  /** pirq_alloc_pin: returns the link (1..8). */
  allocLink(slot: number, intPin: number): number {
    this.cold = false;
    let best = 0;
    if (this.bootrom) best = (4 + slot + intPin) % 8;
    else {
      for (let p = 1; p < NPIRQS; p++) if (this.useCount[p]! < this.useCount[best]!) best = p;
    }
    this.useCount[best]!++;
    if (this.regs[best] === PIRQ_DIS) {
      let bestIrq = -1;
      for (let irq = 0; irq < NIRQ_COUNTS; irq++) {
        if (this.irqCounts[irq] === IRQ_DISABLED) continue;
        if (bestIrq === -1 || this.irqCounts[irq]! < this.irqCounts[bestIrq]!) bestIrq = irq;
      }
      if (bestIrq < 0) throw new Error('no ISA IRQ left for PCI interrupt routing');
      this.irqCounts[bestIrq]!++;
      this.regs[best] = bestIrq;
      this.irq.isaSetLevelTriggered?.(bestIrq);
    }
    return best + 1;
  }

  /** The PIRQ register of link 1..8. */
  read(link: number): number {
    return this.regs[link - 1]!;
  }

  /** The ISA IRQ a link is routed to (Interrupt Line register value). */
  irqOf(link: number): number {
    return this.regs[link - 1]! & PIRQ_IRQ;
  }

  /** pirq_write: the guest reprograms a link (through the LPC bridge's config space). */
  write(link: number, value: number): void {
    const i = link - 1;
    const v = value & (PIRQ_DIS | PIRQ_IRQ);
    const old = this.regs[i]!;
    if (old === v) return;
    if (this.activeCount[i] !== 0 && PirqRouter.validIrq(old)) this.irq.isaDeassert(old & PIRQ_IRQ, -1);
    this.regs[i] = v;
    if (this.activeCount[i] !== 0 && PirqRouter.validIrq(v)) this.irq.isaAssert(v & PIRQ_IRQ, -1);
  }

  /** pci_irq_assert for a function routed to (link, ioapicPin). */
  assert(link: number, ioapicPin: number): void {
    if (link > 0) {
      const i = link - 1;
      this.activeCount[i]!++;
      if (this.activeCount[i] === 1 && PirqRouter.validIrq(this.regs[i]!)) {
        this.irq.isaAssert(this.regs[i]! & PIRQ_IRQ, ioapicPin);
        return;
      }
    }
    this.irq.ioapicAssert(ioapicPin);
  }

  /** pci_irq_deassert. */
  deassert(link: number, ioapicPin: number): void {
    if (link > 0) {
      const i = link - 1;
      this.activeCount[i]!--;
      if (this.activeCount[i] === 0 && PirqRouter.validIrq(this.regs[i]!)) {
        this.irq.isaDeassert(this.regs[i]! & PIRQ_IRQ, ioapicPin);
        return;
      }
    }
    this.irq.ioapicDeassert(ioapicPin);
  }

  /** ISA IRQs a link may be programmed to (the DSDT _PRS list). */
  static permittedIrqs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < NIRQ_COUNTS; i++) if (permitted(i)) out.push(i);
    return out;
  }
}
