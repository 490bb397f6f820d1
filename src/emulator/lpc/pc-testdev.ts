/**
 * QEMU-compatible pc-testdev and isa-debug-exit (bhyve pctestdev.c, enabled by
 * `-l pc-testdev`; bhyve-userland.md §5.3), used by kvm-unit-tests:
 *
 * - 0xF4-0xF7 isa-debug-exit: writing v ends the VM with exit status (v << 1) | 1
 *   (8 bits, as exit(3) keeps them); reads return 0.
 * - 0xE0-0xE3: a 32-bit scratch register accessible at any width; 0xE8-0xEB is the same
 *   register again (QEMU's "ioport-byte" window, which splits wider accesses into bytes —
 *   the result is the same as the direct access).
 * - 0xE4-0xE7 "flush page": 32-bit writes of a guest physical address. In QEMU this
 *   mprotect()s the host page to make KVM take a fault; it has no guest-visible effect, and
 *   here it has none either (reads 0; other widths are not claimed, as in QEMU).
 * - 0x2000 + n (one port per I/O APIC pin, byte writes): non-zero asserts, zero deasserts
 *   IRQ n — ISA IRQs (8259 + I/O APIC) below 16, I/O APIC pins above. Reads return 0.
 * - MMIO 0xFF000000, 64 KiB: scratch memory.
 */
import type { BusDevice } from '../bus/range.js';
import type { IrqController } from '../irq/lines.js';
import type { RunControl } from '../run-control.js';

export const DEBUGEXIT_BASE = 0xf4;
export const DEBUGEXIT_LEN = 4;
export const IOPORT_BASE = 0xe0;
export const IOPORT_LEN = 4;
export const FLUSH_PAGE_PORT = 0xe4;
export const IOPORT_BYTE_BASE = 0xe8;
export const IRQ_BASE = 0x2000;
export const IOMEM_BASE = 0xff00_0000;
export const IOMEM_LEN = 0x10000;
export const IRQ_IOAPIC_PINCOUNT_MIN = 24;
export const IRQ_IOAPIC_PINCOUNT_MAX = 32;

export class PcTestDev {
  private scratch = 0;
  private readonly iomem = new Uint8Array(IOMEM_LEN);

  constructor(
    private readonly control: RunControl,
    private readonly irq: IrqController,
    readonly ioapicPins: number,
  ) {
    if (ioapicPins < IRQ_IOAPIC_PINCOUNT_MIN || ioapicPins > IRQ_IOAPIC_PINCOUNT_MAX) {
      throw new RangeError(`pc-testdev: Unsupported IOAPIC pin count: ${ioapicPins}.`);
    }
  }

  readonly debugExit: BusDevice = {
    name: 'isa-debug-exit',
    read: () => 0,
    write: (_o, _s, v) => this.control.exit(((v << 1) | 1) & 0xff, `isa-debug-exit ${v}`),
  };

  readonly ioport: BusDevice = {
    name: 'pc-testdev-ioport',
    read: (offset, size) => {
      const lsb = offset * 8;
      const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
      return ((this.scratch >>> lsb) & mask) >>> 0;
    },
    write: (offset, size, value) => {
      const lsb = offset * 8;
      const mask = ((size === 4 ? 0xffffffff : (1 << (size * 8)) - 1) << lsb) >>> 0;
      this.scratch = ((this.scratch & ~mask) | ((value << lsb) & mask)) >>> 0;
    },
  };

  readonly flushPage: BusDevice = {
    name: 'pc-testdev-flush-page',
    accepts: (offset, size) => offset === 0 && size === 4,
    read: () => 0,
    write: () => {},
  };

  readonly irqLines: BusDevice = {
    name: 'pc-testdev-irq-line',
    accepts: (_o, size) => size === 1,
    read: () => 0,
    write: (offset, _s, value) => {
      const n = offset;
      if (n < 16) {
        if (value) this.irq.isaAssert(n, n);
        else this.irq.isaDeassert(n, n);
      } else if (value) this.irq.ioapicAssert(n);
      else this.irq.ioapicDeassert(n);
    },
  };

  readonly memory: BusDevice = {
    name: 'pc-testdev-iomem',
    read: (offset, size) => {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + this.iomem[offset + i]!;
      return v >>> 0;
    },
    write: (offset, size, value) => {
      for (let i = 0; i < size; i++) this.iomem[offset + i] = (value >>> (8 * i)) & 0xff;
    },
  };
}
