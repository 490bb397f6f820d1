/**
 * The PCI host: the functions on each bus, BAR assignment in bhyve's windows, BAR
 * (un)mapping on the port and MMIO buses, INTx pin requests and routing, and the two
 * configuration mechanisms (bhyve pci_emul.c init_pci, pci_cfgrw, pci_emul_cfgaddr/
 * cfgdata, pci_emul_ecfg_handler; bhyve-userland.md §5.1, §5.2, §5.4).
 *
 * - Windows: I/O from 0x2000 to 0x10000; MEM32 from 0xC0000000 to 0xE0000000; MEM64 from
 *   roundup(4 GiB + highmem, 32 GiB) for 32 GiB. Per bus, BAR requests are assigned
 *   largest first (stable for equal sizes); MEM64 BARs up to 128 MiB go below 4 GiB
 *   keeping their 64-bit type, larger ones above 4 GiB marked prefetchable. After each
 *   bus the bases advance by slop (32 B, 1 MiB, 512 MiB) and the bus windows are recorded
 *   (the DSDT reports them).
 * - Config access: absent function, size ∉ {1,2,4} or unaligned → reads all-ones, writes
 *   ignored; offsets ≥ 0x100 → reads 0 at 0x100-0x103 (no extended capabilities), else
 *   all-ones; writes ignored.
 * - Mechanism #1 at 0xCF8 (dword only; narrower reads all-ones) and 0xCFC-0xCFF; the
 *   0xCF8-0xCFF block also carries the reset-control byte 0xCF9 (delegated). ECAM at
 *   0xE0000000, 1 MiB per bus. CONFIG_ADDRESS keeps the bits mask 0x80FFFFFC (enable,
 *   bus, device, function, dword register). Where the vmm keeps that register
 *   (`conf1Latch`, native/vmm/pci_conf1.h) its dword accesses never reach this module and
 *   the data port reads the vmm's latch: one exit per configuration access instead of two.
 *
 * A guest moving a BAR onto another device's range is not fatal: the conflicting BAR
 * stays unmapped (logged once) until moved again.
 */
import type { MmioBus } from '../bus/mmio-bus.js';
import type { PortBus } from '../bus/port-bus.js';
import { BusError, type BusDevice } from '../bus/range.js';
import type { InterruptLine, IrqController, MsiSink } from '../irq/lines.js';
import { OnceLogger, type Logger } from '../log.js';
import { PciFunction, type BarRequest, type PciFunctionHost } from './function.js';
import { PirqRouter } from './pirq.js';
import type { PostedWrites } from './posted-writes.js';
import { PCI_FUNCMAX, PCI_REGMAX, PCI_SLOTMAX } from './regs.js';

export const PCI_EMUL_IOBASE = 0x2000;
export const PCI_EMUL_IOLIMIT = 0x10000;
export const PCI_EMUL_MEMBASE32 = 0xc000_0000;
export const PCI_EMUL_ECFG_BASE = 0xe000_0000;
export const PCI_EMUL_ECFG_SIZE = 256 * 1024 * 1024;
export const PCI_EMUL_MEMLIMIT32 = PCI_EMUL_ECFG_BASE;
export const PCI_EMUL_MEMSIZE64 = 32 * 2 ** 30;
const BUSIO_ROUNDUP = 32;
const BUSMEM32_ROUNDUP = 1024 * 1024;
const BUSMEM64_ROUNDUP = 512 * 1024 * 1024;
const MEM64_BELOW_4G_MAX = 128 * 1024 * 1024;
export const CONF1_ADDR_PORT = 0xcf8;
export const CONF1_DATA_PORT = 0xcfc;

export interface BusWindows {
  iobase: number;
  iolimit: number;
  membase32: number;
  memlimit32: number;
  membase64: number;
  memlimit64: number;
}

/** One slot's INTx pin bookkeeping (struct intxinfo). */
interface IntxInfo {
  count: number;
  ioapicPin: number;
  link: number;
}

/** One INTx route for the DSDT _PRT and the MP table. */
export interface IntxRoute {
  bus: number;
  slot: number;
  /** 1..4 = INTA..INTD */
  pin: number;
  link: number;
  ioapicPin: number;
  isaIrq: number;
}

function roundup(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export interface PciHostOptions {
  ports: PortBus;
  mmio: MmioBus;
  irq: IrqController;
  msi?: MsiSink;
  log: Logger;
  /** Bytes of RAM above 4 GiB (sets the 64-bit window). */
  highMem: number;
  /** Number of I/O APIC pins (32 upstream). */
  ioapicPins?: number;
  /** A boot ROM selects the fixed INTx formula (bhyve 5.4). */
  bootrom?: boolean;
  /** Reset-control byte at 0xCF9, part of the 0xCF8 block. */
  resetControl?: BusDevice;
  /** The vmm's posted write ranges (device notify registers); absent: every write exits. */
  postedWrites?: PostedWrites;
  /** CONFIG_ADDRESS kept by the vmm (already enabled there); absent: kept here. */
  conf1Latch?: Conf1Latch;
}

/** The vmm's copy of CONFIG_ADDRESS (vmm.ts Vm.pciConf1Address / setPciConf1Address). */
export interface Conf1Latch {
  address(): number;
  setAddress(value: number): void;
}

/** The bits of CONFIG_ADDRESS the host keeps: enable 31, bus 23:16, device 15:11, function 10:8, register 7:2. */
export const CONF1_ADDR_MASK = 0x80ff_fffc;

export class PciHost implements PciFunctionHost {
  private readonly funcs = new Map<number, PciFunction>();
  private readonly intx = new Map<number, IntxInfo[]>();
  readonly windows = new Map<number, BusWindows>();
  private readonly mapped = new Set<string>();
  readonly pirq: PirqRouter;
  readonly msi: MsiSink;
  readonly postedWrites: PostedWrites | undefined;
  private readonly once: OnceLogger;
  /** CONFIG_ADDRESS when the vmm does not keep it (masked with CONF1_ADDR_MASK). */
  private cfgAddr = 0;
  private assigned = false;

  constructor(private readonly o: PciHostOptions) {
    this.msi = o.msi ?? o.irq;
    this.postedWrites = o.postedWrites;
    this.once = new OnceLogger(o.log);
    this.pirq = new PirqRouter(o.irq, { ioapicPins: o.ioapicPins ?? 32, bootrom: o.bootrom ?? false });
  }

  private static key(bus: number, slot: number, func: number): number {
    return (bus << 8) | (slot << 3) | func;
  }

  /** Creates the function object a device model then attaches to. */
  createFunction(bus: number, slot: number, func: number, model: string): PciFunction {
    if (this.assigned) throw new Error('PCI functions must be created before BARs are assigned');
    if (bus < 0 || bus > 255 || slot < 0 || slot > PCI_SLOTMAX || func < 0 || func > PCI_FUNCMAX) {
      throw new RangeError(`invalid PCI address ${bus}:${slot}:${func}`);
    }
    const k = PciHost.key(bus, slot, func);
    if (this.funcs.has(k)) throw new Error(`pci slot ${bus}:${slot}:${func} already occupied!`);
    const fn = new PciFunction(this, bus, slot, func, model);
    this.funcs.set(k, fn);
    return fn;
  }

  /** Removes a function whose model failed to initialise (before assignment only). */
  discardFunction(fn: PciFunction): void {
    if (this.assigned) throw new Error('cannot remove a PCI function after assignment');
    this.funcs.delete(PciHost.key(fn.bus, fn.slot, fn.func));
  }

  getFunction(bus: number, slot: number, func: number): PciFunction | undefined {
    return this.funcs.get(PciHost.key(bus, slot, func));
  }

  functions(): PciFunction[] {
    return [...this.funcs.values()].sort((a, b) => PciHost.key(a.bus, a.slot, a.func) - PciHost.key(b.bus, b.slot, b.func));
  }

  buses(): number[] {
    return [...new Set(this.functions().map((f) => f.bus))].sort((a, b) => a - b);
  }

  isMultiFunction(bus: number, slot: number): boolean {
    let n = 0;
    for (let f = 0; f <= PCI_FUNCMAX; f++) if (this.funcs.has(PciHost.key(bus, slot, f))) n++;
    return n > 1;
  }

  // ---- INTx ----

  requestIntx(fn: PciFunction): number {
    const k = (fn.bus << 5) | fn.slot;
    let pins = this.intx.get(k);
    if (!pins) {
      pins = Array.from({ length: 4 }, () => ({ count: 0, ioapicPin: 0, link: 0 }));
      this.intx.set(k, pins);
    }
    let best = 0;
    for (let p = 1; p < 4; p++) if (pins[p]!.count < pins[best]!.count) best = p;
    pins[best]!.count++;
    return best + 1;
  }

  intxLine(fn: PciFunction): InterruptLine {
    return {
      assert: () => this.pirq.assert(fn.lintr.link, fn.lintr.ioapicPin),
      deassert: () => this.pirq.deassert(fn.lintr.link, fn.lintr.ioapicPin),
      pulse: () => {
        this.pirq.assert(fn.lintr.link, fn.lintr.ioapicPin);
        this.pirq.deassert(fn.lintr.link, fn.lintr.ioapicPin);
      },
    };
  }

  /** Every routed INTx pin, by bus, slot and pin (pci_walk_lintr order). */
  intxRoutes(bus?: number): IntxRoute[] {
    const out: IntxRoute[] = [];
    const keys = [...this.intx.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const b = k >> 5;
      if (bus !== undefined && b !== bus) continue;
      this.intx.get(k)!.forEach((ii, p) => {
        if (ii.count !== 0) {
          out.push({ bus: b, slot: k & 31, pin: p + 1, link: ii.link, ioapicPin: ii.ioapicPin, isaIrq: this.pirq.irqOf(ii.link) });
        }
      });
    }
    return out;
  }

  // ---- BAR assignment (second run of init_pci) ----

  /** Assigns every requested BAR and routes INTx; call once after all models are built. */
  assignResources(): void {
    if (this.assigned) throw new Error('PCI resources already assigned');
    this.assigned = true;
    let iobase = PCI_EMUL_IOBASE;
    let membase32 = PCI_EMUL_MEMBASE32;
    let membase64 = roundup(0x1_0000_0000 + this.o.highMem, PCI_EMUL_MEMSIZE64);
    const memlimit64 = membase64 + PCI_EMUL_MEMSIZE64;
    for (const bus of this.buses()) {
      const win: BusWindows = { iobase, iolimit: 0, membase32, memlimit32: 0, membase64, memlimit64: 0 };
      const reqs: BarRequest[] = [];
      for (const fn of this.functions()) {
        if (fn.bus !== bus) continue;
        for (const r of fn.barRequests) {
          // Insert before the first smaller request: largest first, stable among equals.
          const at = reqs.findIndex((x) => x.size < r.size);
          if (at < 0) reqs.push(r);
          else reqs.splice(at, 0, r);
        }
      }
      for (const r of reqs) {
        let addr = 0;
        let prefetch = false;
        const alloc = (base: number, limit: number): number => {
          const a = roundup(base, r.size);
          if (a + r.size > limit) {
            throw new Error(`${r.fn.name}: no room for BAR ${r.idx} (${r.type}, ${r.size} bytes) in the PCI window`);
          }
          return a;
        };
        if (r.type === 'io') {
          // Skip ports already owned by platform devices (pc-testdev's IRQ lines sit at
          // 0x2000, where bhyve would abort on the clash).
          addr = alloc(iobase, PCI_EMUL_IOLIMIT);
          while (this.portsClaimed(addr, r.size)) addr = alloc(addr + r.size, PCI_EMUL_IOLIMIT);
          iobase = addr + r.size;
        } else if (r.type === 'mem32' || (r.type === 'mem64' && r.size <= MEM64_BELOW_4G_MAX)) {
          addr = alloc(membase32, PCI_EMUL_MEMLIMIT32);
          membase32 = addr + r.size;
        } else if (r.type === 'mem64') {
          addr = alloc(membase64, memlimit64);
          membase64 = addr + r.size;
          prefetch = true;
        }
        r.fn.assignBar(r, addr, prefetch);
      }
      iobase = roundup(iobase + BUSIO_ROUNDUP, BUSIO_ROUNDUP);
      win.iolimit = iobase;
      membase32 = roundup(membase32 + BUSMEM32_ROUNDUP, BUSMEM32_ROUNDUP);
      win.memlimit32 = membase32;
      membase64 = roundup(membase64 + BUSMEM64_ROUNDUP, BUSMEM64_ROUNDUP);
      win.memlimit64 = membase64;
      this.windows.set(bus, win);
    }
    // Route INTx after all models reserved their ISA IRQs (pci_lintr_route).
    for (const fn of this.functions()) {
      if (fn.lintr.pin === 0) continue;
      const ii = this.intx.get((fn.bus << 5) | fn.slot)![fn.lintr.pin - 1]!;
      if (ii.ioapicPin === 0) ii.ioapicPin = this.pirq.allocIoapicPin(fn.slot, fn.lintr.pin);
      if (ii.ioapicPin <= 0) throw new Error(`${fn.name}: no I/O APIC pin for INTx`);
      if (ii.link === 0) ii.link = this.pirq.allocLink(fn.slot, fn.lintr.pin);
      fn.setIntxRoute(ii.ioapicPin, ii.link, this.pirq.irqOf(ii.link));
    }
  }

  private portsClaimed(base: number, size: number): boolean {
    for (let p = base; p < base + size; p++) if (this.o.ports.owner(p, 1) !== undefined) return true;
    return false;
  }

  // ---- BAR mapping ----

  mapBar(fn: PciFunction, idx: number): void {
    const bar = fn.bars[idx]!;
    const key = `${fn.name}/${idx}`;
    if (this.mapped.has(key) || bar.type === 'none' || bar.type === 'memhi64') return;
    const dev: BusDevice = {
      name: `${fn.name} BAR${idx}`,
      read: (offset, size) => fn.barRead(idx, offset, size),
      write: (offset, size, value) => fn.barWrite(idx, offset, size, value),
    };
    try {
      if (bar.type === 'io') this.o.ports.register(bar.addr, bar.size, dev);
      else this.o.mmio.register(bar.addr, bar.size, dev);
    } catch (err) {
      if (!(err instanceof BusError)) throw err;
      this.once.warn(`${key}@${bar.addr}`, `${err.message}; BAR left unmapped`);
      return;
    }
    this.mapped.add(key);
    fn.ops.barMapped?.(idx, true, bar.addr);
  }

  unmapBar(fn: PciFunction, idx: number): void {
    const bar = fn.bars[idx]!;
    const key = `${fn.name}/${idx}`;
    if (!this.mapped.has(key)) return;
    if (bar.type === 'io') this.o.ports.unregister(bar.addr);
    else this.o.mmio.unregister(bar.addr);
    this.mapped.delete(key);
    fn.ops.barMapped?.(idx, false, bar.addr);
  }

  // ---- configuration access ----

  /** pci_cfgrw read side. */
  cfgRead(bus: number, slot: number, func: number, coff: number, bytes: number): number {
    const fn = this.funcs.get(PciHost.key(bus, slot, func));
    if (!fn || (bytes !== 1 && bytes !== 2 && bytes !== 4) || (coff & (bytes - 1)) !== 0) return 0xffffffff;
    if (coff >= PCI_REGMAX + 1) return coff <= PCI_REGMAX + 4 ? 0 : 0xffffffff;
    return fn.cfgRead(coff, bytes);
  }

  /** pci_cfgrw write side. */
  cfgWrite(bus: number, slot: number, func: number, coff: number, bytes: number, value: number): void {
    const fn = this.funcs.get(PciHost.key(bus, slot, func));
    if (!fn || (bytes !== 1 && bytes !== 2 && bytes !== 4) || (coff & (bytes - 1)) !== 0) return;
    if (coff >= PCI_REGMAX + 1) return;
    fn.cfgWrite(coff, bytes, value);
  }

  /** The 0xCF8-0xCFF port block (register at CONF1_ADDR_PORT, 8 ports). */
  readonly conf1: BusDevice = {
    name: 'pci-conf1',
    read: (offset, size) => {
      if (offset === 0) {
        if (size !== 4) return size === 2 ? 0xffff : 0xff;
        return this.conf1Address();
      }
      if (offset < 4) {
        if (offset === 1 && size === 1 && this.o.resetControl) return this.o.resetControl.read(0, 1);
        return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
      }
      const a = this.conf1Address();
      if (!(a & 0x80000000)) return 0xffffffff;
      return this.cfgRead((a >>> 16) & 0xff, (a >>> 11) & PCI_SLOTMAX, (a >>> 8) & PCI_FUNCMAX, (a & PCI_REGMAX & ~3) + (offset - 4), size);
    },
    write: (offset, size, value) => {
      if (offset === 0) {
        if (size !== 4) return;
        if (this.o.conf1Latch) this.o.conf1Latch.setAddress((value & CONF1_ADDR_MASK) >>> 0);
        else this.cfgAddr = (value & CONF1_ADDR_MASK) >>> 0;
        return;
      }
      if (offset < 4) {
        if (offset === 1 && size === 1 && this.o.resetControl) this.o.resetControl.write(0, 1, value);
        return;
      }
      const a = this.conf1Address();
      if (a & 0x80000000) this.cfgWrite((a >>> 16) & 0xff, (a >>> 11) & PCI_SLOTMAX, (a >>> 8) & PCI_FUNCMAX, (a & PCI_REGMAX & ~3) + (offset - 4), size, value);
    },
  };

  /** CONFIG_ADDRESS, from the vmm when it keeps the register. */
  private conf1Address(): number {
    return this.o.conf1Latch ? this.o.conf1Latch.address() >>> 0 : this.cfgAddr;
  }

  /** The ECAM window (register at PCI_EMUL_ECFG_BASE, PCI_EMUL_ECFG_SIZE bytes). */
  readonly ecam: BusDevice = {
    name: 'pci-ecam',
    read: (offset, size) => this.cfgRead((offset >>> 20) & 0xff, (offset >>> 15) & 0x1f, (offset >>> 12) & 7, offset & 0xfff, size),
    write: (offset, size, value) =>
      this.cfgWrite((offset >>> 20) & 0xff, (offset >>> 15) & 0x1f, (offset >>> 12) & 7, offset & 0xfff, size, value),
  };

  /** Registers mechanism #1, ECAM and the PCI-hole fallback on the buses. */
  registerConfigAccess(lowMem: number): void {
    this.o.ports.register(CONF1_ADDR_PORT, 8, this.conf1);
    this.o.mmio.register(PCI_EMUL_ECFG_BASE, PCI_EMUL_ECFG_SIZE, this.ecam);
    this.o.mmio.addFallback(lowMem, 0x1_0000_0000 - lowMem);
  }
}
