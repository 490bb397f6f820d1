/**
 * Binds the machine (machine.ts `MachineVmm`) to the vmm (src/emulator/vmm): guest RAM as
 * the vmm's one external ArrayBuffer, the device models' interrupt calls to libvmmapi's
 * (vm_ioapic_*, vm_isa_*_irq, vm_lapic_msi), the I/O APIC pin count and HPET capabilities
 * the firmware tables describe, and the boot ROM as a read-only memory segment mapped below
 * 4 GiB (bhyve-userland.md §4.3 vm_alloc_memseg/vm_mmap_memseg, §5.1), the framebuffer
 * segment devices map at their BAR (memory/device-memory.ts), and device writes
 * to guest RAM reported to the soft CPU so it drops code it decoded from those bytes, and
 * the vmm's posted write ranges (vm.addPostedWrite) for device doorbells and its port read
 * values (vm.setPortReadValue) for the UARTs' LSR; `tsvirt.posted_writes=false` turns both off.
 * The PCI CONFIG_ADDRESS register (port 0xCF8) is kept by the vmm (vm.setPciConf1Latch) so
 * that a configuration access exits once, at the data port; `tsvirt.pci_conf1_latch=false`
 * keeps it in the emulator (every address write exits).
 *
 * Nothing here runs vCPUs or handles exits (vm-runner.ts does); nothing here allocates on
 * an interrupt.
 */
import type { MachineVmm } from '../machine.js';
import type { IrqController } from '../irq/lines.js';
import type { DeviceMemory } from '../memory/device-memory.js';
import { SEGMENT_BOOTROM, SEGMENT_FRAMEBUFFER, type Vm } from '../vmm/vmm.js';

/** The vmm's I/O APIC has 32 redirection entries (native/vmm/devices/vioapic.h kPins). */
export const VMM_IOAPIC_PINS = 32;

/** The interrupt calls device models make, routed to the vmm's in-kernel controllers. */
export function vmmIrqController(vm: Vm): IrqController & { isaSetLevelTriggered(irq: number): void } {
  return {
    ioapicAssert: (pin) => vm.ioapicAssert(pin),
    ioapicDeassert: (pin) => vm.ioapicDeassert(pin),
    ioapicPulse: (pin) => vm.ioapicPulse(pin),
    isaAssert: (irq, pin) => vm.isaIrqRaw(irq, pin, 'assert'),
    isaDeassert: (irq, pin) => vm.isaIrqRaw(irq, pin, 'deassert'),
    isaPulse: (irq, pin) => vm.isaIrqRaw(irq, pin, 'pulse'),
    msi: (addr, data) => vm.msi(addr, data),
    isaSetLevelTriggered: (irq) => vm.isaSetTrigger(irq, 'level'),
  };
}

/**
 * @param postedWrites offer the vmm's posted write ranges to device notify registers
 *   (`tsvirt.posted_writes`, default true; false makes every doorbell a synchronous exit).
 * @param conf1Latch enable the vmm's PCI CONFIG_ADDRESS latch and hand it to the PCI host
 *   (`tsvirt.pci_conf1_latch`, default true).
 */
export function machineVmm(vm: Vm, postedWrites = true, conf1Latch = true): MachineVmm {
  if (conf1Latch) vm.setPciConf1Latch(true);
  return {
    ...(conf1Latch ? { pciConf1Latch: { address: () => vm.pciConf1Address(), setAddress: (v: number) => vm.setPciConf1Address(v) } } : {}),
    ...(postedWrites
      ? {
          postedWrites: { add: (w, h) => vm.addPostedWrite(w, h), remove: (id) => vm.removePostedWrite(id) },
          portReadValue: (port: number, value: number | undefined) => vm.setPortReadValue(port, value),
        }
      : {}),
    memory: vm.memory.buffer,
    irq: vmmIrqController(vm),
    ioapicPins: VMM_IOAPIC_PINS,
    hpetCapabilities: vm.hpetCapabilities(),
    // Only the soft CPU caches decoded code; on KVM there is nothing to tell.
    invalidateCode: vm.backend === 'soft' ? (gpa, len) => vm.memory.written(gpa, len) : undefined,
    mapRom(gpa: number, data: Uint8Array): void {
      const seg = new Uint8Array(vm.allocSegment(SEGMENT_BOOTROM, 'bootrom', data.length));
      seg.set(data);
      vm.mapSegment(gpa, SEGMENT_BOOTROM, 0, data.length, false);
    },
    deviceMemory: vmmDeviceMemory(vm),
  };
}

/** The framebuffer as bhyve's VM_FRAMEBUFFER segment, mapped where fbuf's BAR1 decodes. */
export function vmmDeviceMemory(vm: Vm): DeviceMemory {
  return {
    framebuffer(size: number) {
      const memory = new Uint8Array(vm.allocSegment(SEGMENT_FRAMEBUFFER, 'framebuffer', size));
      return {
        memory,
        map: (gpa) => vm.mapSegment(gpa, SEGMENT_FRAMEBUFFER, 0, size, true),
        unmap: (gpa) => vm.unmapSegment(gpa, size),
      };
    },
  };
}
