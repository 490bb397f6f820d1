/**
 * Posted writes for PCI device models: a notify register (virtio QUEUE_NOTIFY, the modern
 * notify window, NVMe doorbells) registered with the vmm as a write-only range whose guest
 * writes do not stop the vCPU (KVM_IOEVENTFD's idea; native/vmm/posted_writes.h,
 * src/emulator/vmm/vmm.ts `Vm.addPostedWrite`).
 *
 * {@link BarPostedWrite} keeps one such window inside a BAR in step with the BAR: the
 * device forwards its `barMapped` calls, and the window is registered at the BAR's address
 * when the BAR decodes, unregistered when it stops decoding or moves (then registered at
 * the new address). Writes the vmm does not post (other widths, reads, a full ring, no vmm
 * support, a registration the vmm refused) still arrive through barWrite: a posted write is
 * only a faster path to the same device function, which must validate the value either
 * way (guest input is hostile). Ordering: one vCPU's posted writes are handled before its
 * next synchronous exit (native/binding/exit_bridge.h), so a BAR write or a device reset
 * that follows notifications from the same vCPU sees them first.
 */
import type { PciFunction } from './function.js';

export interface PostedWriteWindow {
  space: 'io' | 'mmio';
  address: number;
  length: number;
  width: 1 | 2 | 4 | 8;
  datamatch?: number;
}

/** What the vmm offers (vmm.ts Vm.addPostedWrite / removePostedWrite). */
export interface PostedWrites {
  /** Returns the range id; throws when the vmm refuses the range. */
  add(window: PostedWriteWindow, handler: (offset: number, value: number, valueHigh: number) => void): number;
  remove(id: number): void;
}

export class BarPostedWrite {
  private id: number | undefined;
  /** Why the last registration was refused (the window then uses the normal exit path). */
  refused: string | undefined;

  /**
   * @param offset  start of the window inside BAR `bar`
   * @param handler called with the offset inside the window and the written value
   */
  constructor(
    private readonly pci: PciFunction,
    readonly bar: number,
    readonly offset: number,
    readonly length: number,
    readonly width: 1 | 2 | 4 | 8,
    private readonly handler: (offset: number, value: number) => void,
  ) {}

  /** Whether the window is currently registered with the vmm. */
  get registered(): boolean {
    return this.id !== undefined;
  }

  /** Forwarded from PciDeviceOps.barMapped. */
  barMapped(bar: number, mapped: boolean, addr: number): void {
    if (bar !== this.bar) return;
    this.detach();
    if (mapped) this.attach(addr);
  }

  /** Unregisters the window (also done by barMapped when the BAR stops decoding). */
  detach(): void {
    if (this.id === undefined) return;
    const id = this.id;
    this.id = undefined;
    this.pci.host.postedWrites?.remove(id);
  }

  private attach(addr: number): void {
    const pw = this.pci.host.postedWrites;
    const type = this.pci.bars[this.bar]?.type;
    if (!pw || type === undefined || type === 'none' || type === 'rom') return;
    const window: PostedWriteWindow = {
      space: type === 'io' ? 'io' : 'mmio',
      address: addr + this.offset,
      length: this.length,
      width: this.width,
    };
    const h = this.handler;
    try {
      this.id = pw.add(window, (offset, value) => h(offset, value));
      this.refused = undefined;
    } catch (e) {
      // Still correct, only slower: every write exits as before.
      this.refused = (e as Error).message;
    }
  }
}
