/**
 * The AHCI controller as a PCI function (bhyve pci_ahci.c pci_ahci_init, host registers
 * and interrupt logic; bhyve-userland.md §6.0, §6.7): Intel ICH8 8086:2821, class
 * 01/06/01, ABAR in BAR5 (0x100 + 0x80 per reported port, reported ports = max(highest
 * configured + 1, 6)), one MSI capability with 2^ceil(log2(min(ports, 16))) messages, and
 * INTx. CAP advertises 64-bit, NCQ, SNTF, MPS, SSS, ALP, AL, CLO, gen3, PMD, SSC, PSC, SXS.
 *
 * Interrupts: HBA IS collects ports whose PxIS & PxIE is set; with GHC.IE, MSI sends the
 * port's message (the last message is shared when there are fewer messages than ports),
 * otherwise INTx is held while IS ≠ 0. GHC.HR resets the HBA and every port.
 * Register accesses are 4 bytes (narrower reads are extracted from the dword, as bhyve).
 */
import type { BlockBackend } from '../backends/block/backend.js';
import { blockSerial } from '../virtio/block/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Logger } from '../log.js';
import type { PciDeviceOps, PciFunction } from '../pci/function.js';
import { PCIC_STORAGE, PCIP_STORAGE_SATA_AHCI_1_0, PCIS_STORAGE_SATA } from '../pci/regs.js';
import { AhciPort, type PortHost } from './port.js';
import * as H from './index.js';

export interface AhciPortConfig {
  port: number;
  type: 'hd' | 'cd';
  backend: BlockBackend;
  /** Config path of the image (default serial is derived from it, as bhyve). */
  path: string;
  ser?: string;
  rev?: string;
  model?: string;
  nmrr?: number;
}

const ABAR = 5;

export class AhciController implements PciDeviceOps, PortHost {
  readonly ports: AhciPort[];
  readonly slots = H.AHCI_SLOTS;
  private readonly cap: number;
  private ghc = H.AHCI_GHC_AE;
  private is = 0;
  private readonly pi: number;
  private lintr = false;

  constructor(
    readonly pci: PciFunction,
    private readonly mem: GuestMemory,
    configs: AhciPortConfig[],
    log: Logger,
  ) {
    pci.attach(this);
    const highest = configs.reduce((m, c) => Math.max(m, c.port + 1), 0);
    const nports = Math.max(highest, H.DEF_PORTS);
    if (nports > H.MAX_PORTS) throw new RangeError(`AHCI supports ${H.MAX_PORTS} ports`);
    this.pi = configs.reduce((m, c) => m | (1 << c.port), 0) >>> 0;
    this.ports = Array.from({ length: nports }, (_, i) => {
      const c = configs.find((x) => x.port === i);
      const drive = c && {
        backend: c.backend,
        atapi: c.type === 'cd',
        strings: {
          serial: c.ser ?? blockSerial(c.path),
          revision: c.rev ?? '001',
          model: c.model ?? (c.type === 'cd' ? 'BHYVE SATA DVD ROM' : 'BHYVE SATA DISK'),
          nmrr: c.nmrr,
        },
      };
      return new AhciPort(i, mem, this, log, drive);
    });
    this.cap =
      (H.AHCI_CAP_64BIT |
        H.AHCI_CAP_SNCQ |
        H.AHCI_CAP_SSNTF |
        H.AHCI_CAP_SMPS |
        H.AHCI_CAP_SSS |
        H.AHCI_CAP_SALP |
        H.AHCI_CAP_SAL |
        H.AHCI_CAP_SCLO |
        (3 << H.AHCI_CAP_ISS_SHIFT) |
        H.AHCI_CAP_PMD |
        H.AHCI_CAP_SSC |
        H.AHCI_CAP_PSC |
        ((this.slots - 1) << H.AHCI_CAP_NCS_SHIFT) |
        H.AHCI_CAP_SXS |
        (nports - 1)) >>>
      0;
    pci.setIds({ vendor: 0x8086, device: 0x2821, classCode: PCIC_STORAGE, subclass: PCIS_STORAGE_SATA, progIf: PCIP_STORAGE_SATA_AHCI_1_0 });
    const p = Math.min(nports, 16);
    pci.addMsiCapability(2 ** Math.ceil(Math.log2(p)));
    pci.allocBar(ABAR, 'mem32', H.AHCI_OFFSET + nports * H.AHCI_STEP);
    pci.requestIntx();
  }

  portInterrupt(port: number): void {
    const p = this.ports[port]!;
    if (p.is & p.ie) this.is |= 1 << port;
    this.generate(1 << port);
  }

  private generate(mask: number): void {
    this.is >>>= 0;
    if (this.is === 0 || !(this.ghc & H.AHCI_GHC_IE)) {
      if (this.lintr) {
        this.lintr = false;
        this.pci.intxDeassert();
      }
      return;
    }
    const nmsg = this.pci.msiMessages();
    if (nmsg === 0) {
      if (!this.lintr) {
        this.lintr = true;
        this.pci.intxAssert();
      }
      return;
    }
    for (let i = 0; i < nmsg; i++) {
      const mmask = this.ports.length <= nmsg || i < nmsg - 1 ? 1 << i : (0xffffffff << i) >>> 0;
      if (this.is & mask && mmask & mask) this.pci.generateMsi(i);
    }
  }

  private hostRead(off: number): number {
    switch (off) {
      case H.AHCI_CAP:
        return this.cap;
      case H.AHCI_GHC:
        return this.ghc >>> 0;
      case H.AHCI_IS:
        return this.is >>> 0;
      case H.AHCI_PI:
        return this.pi;
      case H.AHCI_VS:
        return 0x10300;
      case H.AHCI_CAP2:
        return H.AHCI_CAP2_APST;
      default:
        return 0; // CCC, EM, BOHC
    }
  }

  private hostWrite(off: number, v: number): void {
    switch (off) {
      case H.AHCI_GHC:
        if (v & H.AHCI_GHC_HR) {
          this.ghc = H.AHCI_GHC_AE;
          this.is = 0;
          for (const p of this.ports) p.hbaReset();
          this.generate(0);
        } else {
          this.ghc = (H.AHCI_GHC_AE | (v & H.AHCI_GHC_IE)) >>> 0;
          this.generate(0xffffffff);
        }
        break;
      case H.AHCI_IS:
        this.is &= ~v;
        // Ports still requesting keep their bit.
        this.ports.forEach((p, i) => {
          if (p.is & p.ie) this.is |= 1 << i;
        });
        this.generate(v);
        break;
      default:
        break;
    }
  }

  barRead(bar: number, offset: number, size: number): number {
    if (bar !== ABAR) return 0;
    const aligned = offset & ~3;
    let v: number;
    if (aligned < H.AHCI_OFFSET) v = this.hostRead(aligned);
    else {
      const idx = Math.floor((aligned - H.AHCI_OFFSET) / H.AHCI_STEP);
      const p = this.ports[idx];
      v = p ? p.read((aligned - H.AHCI_OFFSET) % H.AHCI_STEP) : 0;
    }
    v = v >>> (8 * (offset & 3));
    return size === 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  barWrite(bar: number, offset: number, size: number, value: number): void {
    if (bar !== ABAR || size !== 4 || offset & 3) return;
    if (offset < H.AHCI_OFFSET) this.hostWrite(offset, value >>> 0);
    else {
      const idx = Math.floor((offset - H.AHCI_OFFSET) / H.AHCI_STEP);
      this.ports[idx]?.write((offset - H.AHCI_OFFSET) % H.AHCI_STEP, value >>> 0);
    }
  }

  async idle(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.idle()));
  }
}
