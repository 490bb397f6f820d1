/**
 * bhyve's always-present test device `dummy` (pci_emul.c PCI_EMUL_TEST;
 * bhyve-userland.md §5.2): 10DD:0001, class 0x02, a 4-message MSI capability, BAR0 I/O
 * 8 bytes and BAR1/BAR2 MEM32 4 KiB of scratch registers. A 4-byte write of v to I/O
 * offset 4 raises MSI message v % messages; writing 0xABCDEF raises all of them. Useful
 * to guest programs testing config space, BAR decoding and MSI delivery.
 */
import type { PciDeviceOps, PciFunction } from './function.js';

const DIOSZ = 8;
const DMEMSZ = 4096;

export class DummyDevice implements PciDeviceOps {
  private readonly io = new Uint8Array(DIOSZ);
  private readonly mem = [new Uint8Array(DMEMSZ), new Uint8Array(DMEMSZ)];

  constructor(readonly pci: PciFunction) {
    pci.attach(this);
    pci.setIds({ vendor: 0x10dd, device: 0x0001, classCode: 0x02 });
    pci.addMsiCapability(4);
    pci.allocBar(0, 'io', DIOSZ);
    pci.allocBar(1, 'mem32', DMEMSZ);
    pci.allocBar(2, 'mem32', DMEMSZ);
  }

  private regs(bar: number): Uint8Array | undefined {
    return bar === 0 ? this.io : bar === 1 || bar === 2 ? this.mem[bar - 1] : undefined;
  }

  barRead(bar: number, offset: number, size: number): number {
    const r = this.regs(bar);
    if (!r) return 0;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + r[offset + i]!;
    return v >>> 0;
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    const r = this.regs(bar);
    if (!r) return;
    for (let i = 0; i < size; i++) r[offset + i] = (value >>> (8 * i)) & 0xff;
    if (bar === 0) {
      const n = this.pci.msiMessages();
      if (offset === 4 && size === 4 && n > 0) this.pci.generateMsi(value % n);
      if (value === 0xabcdef) for (let i = 0; i < n; i++) this.pci.generateMsi(i);
    }
  }
}
