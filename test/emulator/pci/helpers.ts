/** A small PCI world for tests: buses, recording interrupt controller, host. */
import { MmioBus } from '../../../src/emulator/bus/mmio-bus.js';
import { PortBus } from '../../../src/emulator/bus/port-bus.js';
import { RecordingIrq } from '../../../src/emulator/irq/lines.js';
import { CollectingLogger } from '../../../src/emulator/log.js';
import { PciHost, type PciHostOptions } from '../../../src/emulator/pci/host.js';

export function pciWorld(opts: Partial<PciHostOptions> = {}) {
  const log = new CollectingLogger();
  const ports = new PortBus(log);
  const mmio = new MmioBus(log);
  const irq = new RecordingIrq();
  const host = new PciHost({ ports, mmio, irq, log, highMem: 0, ...opts });
  host.registerConfigAccess(256 * 2 ** 20);
  /** Mechanism #1 config read through the real ports. */
  const cfgRead = (bus: number, slot: number, func: number, reg: number, size = 4): number => {
    ports.write(0xcf8, 4, (0x80000000 | (bus << 16) | (slot << 11) | (func << 8) | (reg & 0xfc)) >>> 0);
    return ports.read(0xcfc + (reg & 3), size);
  };
  const cfgWrite = (bus: number, slot: number, func: number, reg: number, value: number, size = 4): void => {
    ports.write(0xcf8, 4, (0x80000000 | (bus << 16) | (slot << 11) | (func << 8) | (reg & 0xfc)) >>> 0);
    ports.write(0xcfc + (reg & 3), size, value);
  };
  const ecamAddr = (bus: number, slot: number, func: number, reg: number) => 0xe000_0000 + (bus << 20) + (slot << 15) + (func << 12) + reg;
  return { log, ports, mmio, irq, host, cfgRead, cfgWrite, ecamAddr };
}
