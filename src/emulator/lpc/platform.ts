/**
 * The fixed platform devices outside PCI, wired onto the port bus (bhyve: pm.c, post.c,
 * atkbdc.c, the reset register, fwctl.c / qemu_fwcfg.c, and pci_lpc.c lpc_init for the COM
 * ports and pc-testdev; bhyve-userland.md §5.3):
 *
 * - always: ACPI PM1/GPE0/SMI_CMD (SCI = IRQ 9, level), POST ports 0x80/0x84, the 8042
 *   (0x60/0x64), and the firmware interface on 0x510 — QEMU fw_cfg with
 *   `lpc.fwcfg=qemu`, fwctl with `lpc.fwcfg=bhyve` when a boot ROM is used;
 * - with the `lpc` PCI bridge: COM1-COM4 (always present, backend from `lpc.comN.path`,
 *   edge IRQ pulses on 4/3) and pc-testdev when `lpc.pc-testdev` is true. Where the vmm
 *   offers them, a COM port's THR byte writes are posted writes and its LSR is a port read
 *   value while the UART is quiet (uart/device.ts), so console output does not stop the vCPU.
 * The reset register 0xCF9 lives in the PCI 0xCF8 block (pci/host.ts).
 */
import type { MmioBus } from '../bus/mmio-bus.js';
import type { PortBus } from '../bus/port-bus.js';
import { openSerialBackend, type SerialOpenContext } from '../backends/serial/open.js';
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigTree } from '../config/tree.js';
import { isaLine, type IrqController } from '../irq/lines.js';
import type { Logger } from '../log.js';
import type { PirqRouter } from '../pci/pirq.js';
import type { PostedWrites } from '../pci/posted-writes.js';
import type { RunControl } from '../run-control.js';
import { Atkbdc, KBD_DATA_PORT, KBD_STS_CTL_PORT } from './atkbdc.js';
import { QemuFwCfg, FWCFG_SELECTOR_PORT } from './fwcfg.js';
import { Fwctl, FWCTL_OUT } from './fwctl.js';
import { DEBUGEXIT_BASE, DEBUGEXIT_LEN, FLUSH_PAGE_PORT, IOMEM_BASE, IOMEM_LEN, IOPORT_BASE, IOPORT_BYTE_BASE, IOPORT_LEN, IRQ_BASE, PcTestDev } from './pc-testdev.js';
import { AcpiPm, IO_GPE0_BLK, IO_GPE0_LEN, PM1A_CNT_ADDR, PM1A_EVT_ADDR, SCI_INT, SMI_CMD } from './pm.js';
import { PostPorts, POST_CODE_PORT, POST_DATA_PORT } from './post.js';
import * as R from './uart/regs.js';
import { COM_PORTS, UART_IO_BAR_SIZE } from './uart/regs.js';
import { Uart16550 } from './uart/device.js';
import { LpcUartPort } from './uart/lpc-port.js';

export interface PlatformContext {
  tree: ConfigTree;
  ports: PortBus;
  mmio: MmioBus;
  irq: IrqController;
  pirq: PirqRouter;
  control: RunControl;
  log: Logger;
  ncpus: number;
  /** Bytes of guest RAM (low + high memory). */
  memSize: number;
  ioapicPins: number;
  bootrom: boolean;
  /** The vmm's posted write ranges (COM THR writes), when offered. */
  postedWrites?: PostedWrites;
  /** Publishes (or withdraws: undefined) the value the vmm answers byte reads of a port with. */
  portReadValue?(port: number, value: number | undefined): void;
}

export interface PlatformDevices {
  pm: AcpiPm;
  fwcfg?: QemuFwCfg;
}

/** Devices present in every VM (before PCI devices, so the SCI claims IRQ 9 first). */
export function buildPlatformDevices(ctx: PlatformContext): PlatformDevices {
  ctx.pirq.use(SCI_INT);
  const pm = new AcpiPm(isaLine(ctx.irq, SCI_INT), ctx.control);
  ctx.ports.register(PM1A_EVT_ADDR, 4, pm.eventBlock);
  ctx.ports.register(PM1A_CNT_ADDR, 2, pm.controlBlock);
  ctx.ports.register(IO_GPE0_BLK, IO_GPE0_LEN, pm.gpeBlock);
  ctx.ports.register(SMI_CMD, 1, pm.smiCmd);
  const post = new PostPorts();
  ctx.ports.register(POST_CODE_PORT, 1, post.code);
  ctx.ports.register(POST_DATA_PORT, 1, post.data);
  const kbd = new Atkbdc(ctx.control);
  ctx.ports.register(KBD_DATA_PORT, 1, kbd.dataPort);
  ctx.ports.register(KBD_STS_CTL_PORT, 1, kbd.statusPort);
  const mode = ctx.tree.get('lpc.fwcfg') ?? 'bhyve';
  let fwcfg: QemuFwCfg | undefined;
  if (mode === 'qemu') {
    fwcfg = new QemuFwCfg(ctx.ncpus, ctx.memSize);
    ctx.ports.register(FWCFG_SELECTOR_PORT, 2, fwcfg.ports);
  } else if (mode === 'bhyve') {
    if (ctx.bootrom) ctx.ports.register(FWCTL_OUT, 5, new Fwctl(ctx.ncpus).ports);
  } else {
    throw new ConfigError(`Invalid value for lpc.fwcfg: '${mode}' (bhyve or qemu)`, EXIT_ERROR);
  }
  return { pm, fwcfg };
}

export interface LpcDevices {
  uarts: Uart16550[];
}

/** lpc_init: COM ports and pc-testdev, built when the LPC bridge is configured. */
export async function buildLpcDevices(
  ctx: PlatformContext & { serial: SerialOpenContext; closers: Array<() => Promise<void>> },
): Promise<LpcDevices> {
  const uarts: Uart16550[] = [];
  for (const com of COM_PORTS) {
    ctx.pirq.reserve(com.irq);
    const line = isaLine(ctx.irq, com.irq);
    const uart = new Uart16550({ assert: () => line.pulse(), deassert: () => {} });
    const spec = ctx.tree.get(`lpc.${com.name}.path`);
    if (spec !== undefined) {
      try {
        const backend = await openSerialBackend(spec, ctx.serial, com.name);
        uart.setBackend(backend);
        ctx.closers.push(async () => {
          uart.flushTx();
          await backend.close();
        });
      } catch (e) {
        throw new ConfigError(`Unable to initialize backend '${spec}' for LPC device ${com.name}: ${(e as Error).message}`, EXIT_ERROR, {
          prefixed: false,
        });
      }
    }
    const port = new LpcUartPort(com.name, uart);
    ctx.ports.register(com.base, UART_IO_BAR_SIZE, port);
    if (ctx.postedWrites && ctx.portReadValue) {
      // THR (base + 0) byte writes go posted; they are the same port write, only later (the
      // vCPU's next synchronous exit, e.g. an IIR read, still sees them first).
      ctx.postedWrites.add({ space: 'io', address: com.base + R.REG_DATA, length: 1, width: 1 }, (_off, value) => port.write(R.REG_DATA, 1, value));
      const setLsr = ctx.portReadValue.bind(ctx);
      uart.setLsrListener((lsr) => setLsr(com.base + R.REG_LSR, lsr));
    }
    uarts.push(uart);
  }
  if (ctx.tree.getBool('lpc.pc-testdev', false)) {
    let t: PcTestDev;
    try {
      t = new PcTestDev(ctx.control, ctx.irq, ctx.ioapicPins);
    } catch (e) {
      throw new ConfigError((e as Error).message, EXIT_ERROR, { prefixed: false });
    }
    ctx.ports.register(DEBUGEXIT_BASE, DEBUGEXIT_LEN, t.debugExit);
    ctx.ports.register(IOPORT_BASE, IOPORT_LEN, t.ioport);
    ctx.ports.register(FLUSH_PAGE_PORT, 4, t.flushPage);
    ctx.ports.register(IOPORT_BYTE_BASE, IOPORT_LEN, t.ioport);
    ctx.ports.register(IRQ_BASE, ctx.ioapicPins, t.irqLines);
    ctx.mmio.register(IOMEM_BASE, IOMEM_LEN, t.memory);
  }
  return { uarts };
}
