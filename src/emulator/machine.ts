/**
 * Machine assembly: builds one VM's device graph from its configuration tree and the
 * vmm's guest memory and interrupt controller, and handles its exits. Wires only — every
 * behaviour lives in the modules it calls (STYLE.md: "machine.ts wires, it does not
 * grow"). Order follows bhyve's main(): platform devices (SCI first), PCI devices bus by
 * bus (LPC devices inside the LPC bridge), BAR assignment and INTx routing, firmware
 * tables, boot loader.
 *
 * The vmm binding (src/emulator/vmm/vmm.ts) supplies MachineVmm: guest RAM as one
 * ArrayBuffer laid out low (0..lowmem) then high (4 GiB..), the interrupt calls, the
 * I/O APIC pin count and HPET capabilities, and a ROM mapper for UEFI. Exits from its
 * vCPUs go to handleExit(); applying `boot.state` to the BSP is the binding's job.
 */
import type { ConsoleSocketBackend } from './backends/serial/console-socket.js';
import type { SerialOpenContext } from './backends/serial/open.js';
import { MmioBus } from './bus/mmio-bus.js';
import { PortBus } from './bus/port-bus.js';
import type { FwCfgUserFile } from './config/options.js';
import type { PlatformConfig } from './config/platform.js';
import { ConfigError, EXIT_ERROR } from './config/errors.js';
import type { ConfigTree } from './config/tree.js';
import { buildE820 } from './firmware/e820.js';
import { installFirmware } from './firmware/install.js';
import type { IrqController } from './irq/lines.js';
import type { Logger } from './log.js';
import { prepareBoot, type BootPlan } from './loaders/boot.js';
import { buildLpcDevices, buildPlatformDevices, type PlatformDevices } from './lpc/platform.js';
import { ResetControl } from './lpc/reset.js';
import type { Uart16550 } from './lpc/uart/device.js';
import type { DeviceMemory } from './memory/device-memory.js';
import { GuestMemory } from './memory/guest-memory.js';
import { PciHost, type Conf1Latch } from './pci/host.js';
import type { PostedWrites } from './pci/posted-writes.js';
import { buildPciDevice, type PciModelContext } from './pci/models.js';
import { RunControl } from './run-control.js';
import { handleExit, type ExitContext, type ExitOutcome, type VmExit } from './vmexit.js';
import { startMark } from './start-trace.js';

export interface MachineVmm {
  memory: ArrayBuffer;
  irq: IrqController & { isaSetLevelTriggered?(irq: number): void };
  ioapicPins: number;
  hpetCapabilities: number;
  /** Maps a read-only ROM image at `gpa` (UEFI boot ROM). */
  mapRom?(gpa: number, data: Uint8Array): void;
  /** Device (DMA) writes to guest RAM: a CPU caching decoded code drops what it decoded there. */
  invalidateCode?(gpa: number, len: number): void;
  /** Device memory segments mapped into the guest (the framebuffer). */
  deviceMemory?: DeviceMemory;
  /** Posted write ranges for device notify registers (pci/posted-writes.ts). */
  postedWrites?: PostedWrites;
  /** Port read values: byte reads of `port` answered by the vmm without an exit (lpc/uart). */
  portReadValue?(port: number, value: number | undefined): void;
  /** PCI CONFIG_ADDRESS (0xCF8) kept by the vmm, already enabled there (pci/host.ts). */
  pciConf1Latch?: Conf1Latch;
}

export interface MachineOptions {
  log: Logger;
  fwcfgFiles?: FwCfgUserFile[];
  /**
   * Guest memory comes straight from the vmm: zero-filled by the host, nothing written yet.
   * Assembly then writes only below 1 MiB before the loader runs (firmware tables,
   * firmware/install.ts), so the kernel loader need not zero its area above 1 MiB again.
   */
  freshMemory?: boolean;
}

export class Machine {
  readonly exitContext: ExitContext;
  /** The RSDP of the ACPI tables tsbhyve installed for a kernel boot (undefined with a boot ROM). */
  rsdpAddress: number | undefined;

  private constructor(
    readonly memory: GuestMemory,
    readonly ports: PortBus,
    readonly mmio: MmioBus,
    readonly control: RunControl,
    readonly pci: PciHost,
    readonly platform: PlatformDevices,
    readonly uarts: Uart16550[],
    readonly boot: BootPlan,
    /** Serial ports served on the control socket (`lpc.comN.path=tsvirt-console`), by name. */
    readonly consoles: ReadonlyMap<string, ConsoleSocketBackend>,
    private readonly closers: Array<() => Promise<void>>,
    strictIo: boolean,
  ) {
    this.exitContext = { ports, mmio, control, strictIo };
  }

  static async build(tree: ConfigTree, p: PlatformConfig, vmm: MachineVmm, opts: MachineOptions): Promise<Machine> {
    const { log } = opts;
    if (vmm.memory.byteLength !== p.memSize) {
      throw new ConfigError(`guest memory of ${vmm.memory.byteLength} bytes does not match memory.size (${p.memSize})`, EXIT_ERROR);
    }
    const memory = new GuestMemory(vmm.memory, { lowMem: p.lowMem, highMem: p.highMem });
    if (vmm.invalidateCode) memory.onWrite = vmm.invalidateCode;
    const ports = new PortBus(log);
    const mmio = new MmioBus(log);
    const control = new RunControl();
    const closers: Array<() => Promise<void>> = [];
    const bootrom = tree.get('bootrom') !== undefined;
    const pci = new PciHost({
      ports,
      mmio,
      irq: vmm.irq,
      log,
      highMem: p.highMem,
      ioapicPins: vmm.ioapicPins,
      bootrom,
      resetControl: new ResetControl(control),
      postedWrites: vmm.postedWrites,
      conf1Latch: vmm.pciConf1Latch,
    });
    if (tree.findNode('tpm')) throw new ConfigError('TPM emulation (-l tpm) is not supported by tsbhyve', EXIT_ERROR);
    const platformCtx = {
      tree, ports, mmio, irq: vmm.irq, pirq: pci.pirq, control, log, ncpus: p.ncpus, memSize: p.memSize, ioapicPins: vmm.ioapicPins, bootrom,
      postedWrites: vmm.postedWrites,
      portReadValue: vmm.portReadValue,
    };
    const platform = buildPlatformDevices(platformCtx);
    const serial: SerialOpenContext = { stdioTaken: false, consoles: new Map() };
    const ctx: PciModelContext = { tree, host: pci, memory, log, vmName: p.name, serial, closers, bootDevices: [], ports, deviceMemory: vmm.deviceMemory };
    let uarts: Uart16550[] = [];
    try {
      const pciNode = tree.findNode('pci');
      const numeric = (n: Map<string, unknown> | undefined) =>
        [...(n?.keys() ?? [])].filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
      for (const bus of numeric(pciNode?.children)) {
        const busNode = pciNode!.node(String(bus));
        for (const slot of numeric(busNode?.children)) {
          const slotNode = busNode!.node(String(slot));
          for (const func of numeric(slotNode?.children)) {
            await buildPciDevice(ctx, bus, slot, func, slotNode!.node(String(func))!);
            if (tree.get(`pci.${bus}.${slot}.${func}.device`) === 'lpc') {
              uarts = (await buildLpcDevices({ ...platformCtx, serial, closers })).uarts;
            }
          }
        }
      }
      try {
        pci.assignResources();
      } catch (e) {
        throw new ConfigError((e as Error).message, EXIT_ERROR);
      }
      ctx.lpcBridge?.syncPirqRegisters();
      pci.registerConfigAccess(p.lowMem);
      startMark('devices built');
      const e820 = buildE820(p.lowMem, p.highMem);
      const lpc = ctx.lpcBridge ? { slot: ctx.lpcBridge.pci.slot, func: ctx.lpcBridge.pci.func } : undefined;
      const fw = await installFirmware({
        tree,
        memory,
        host: pci,
        lpc,
        ncpus: p.ncpus,
        sockets: p.sockets,
        cores: p.cores,
        threads: p.threads,
        hpetCapabilities: vmm.hpetCapabilities,
        e820,
        fwcfg: platform.fwcfg,
        userFiles: opts.fwcfgFiles ?? [],
        bootDevices: ctx.bootDevices,
      });
      startMark('firmware tables');
      const boot = await prepareBoot(tree, memory, e820, log, fw.rsdpAddress, opts.freshMemory === true);
      if (boot.kind === 'rom') {
        if (!vmm.mapRom) throw new ConfigError('this vmm backend cannot map a boot ROM', EXIT_ERROR);
        vmm.mapRom(boot.rom.romGpa, boot.rom.rom);
        if (boot.rom.vars) {
          const v = boot.rom.vars;
          mmio.register(v.gpa, v.flash.size, v.flash);
          closers.push(() => v.flash.close());
        }
      }
      const m = new Machine(memory, ports, mmio, control, pci, platform, uarts, boot, serial.consoles ?? new Map(), closers, tree.getBool('x86.strictio', false));
      m.rsdpAddress = boot.kind === 'kernel' ? fw.rsdpAddress : undefined;
      return m;
    } catch (e) {
      await Promise.allSettled(closers.map((c) => c()));
      throw e;
    }
  }

  handleExit(exit: VmExit): ExitOutcome {
    return handleExit(this.exitContext, exit);
  }

  /** SIGTERM: an ACPI power-button press when the guest enabled ACPI, else false. */
  powerButton(): boolean {
    if (!this.platform.pm.acpiEnabled) return false;
    this.platform.pm.pressPowerButton();
    return true;
  }

  /** Flushes serial output and closes every backend (call once, after the vCPUs stop). */
  async close(): Promise<void> {
    for (const u of this.uarts) u.flushTx();
    await Promise.allSettled(this.closers.map((c) => c()));
  }
}
