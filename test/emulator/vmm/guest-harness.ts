// Runs a guest program from fixtures/guests on the vmm through the TypeScript API, with a
// small test platform implemented in the exit handler:
//
//   COM1 0x3F8 (THR writes captured, LSR reads THRE|TEMT), isa-debug-exit 0xF4 (status
//   (v << 1) | 1, the VM is stopped), QEMU pc-testdev's 32-bit scratch port 0xE0 and IRQ
//   lines 0x2000+n (byte writes: non-zero asserts, zero deasserts; n < 16 through the
//   8259s and I/O APIC as an ISA line, else I/O APIC pin n), a 64 KiB MMIO scratch window at
//   0xFF000000 (pc-testdev iomem), and the vmm test host at 0x520-0x52F:
//     0x520 w32: record a mark (value, host time in ns, device interrupt counters)
//     0x524 w32: MSI address latch      0x528 w32: MSI data -> vm.msi(addr, data)
//     0x52C w32: NMI to that vCPU
//     0x530 w8: ACPI-style poweroff  0xCF9 w8 bit 2: reset (as bhyve's pm.c does)
// Everything else reads all-ones and ignores writes, as bhyve's unclaimed ports.
import { buildVmmGuest } from './guest-build.js';
import { loadMultiboot } from './multiboot.js';
import {
  Vm,
  probeBackends,
  type DeviceStats,
  type RunResult,
  type VmExit,
  type VmOptions,
} from '../../../src/emulator/vmm/vmm.js';

export interface Mark {
  value: number;
  ns: bigint;
  vcpu: number;
  /** The vmm's device interrupt counters at the mark. */
  devices: DeviceStats;
}

/** Registers one skipped test per missing backend, saying why (KVM absent on CI, ...). */
export function reportMissingBackends(
  missing: string[],
  skip: (name: string, fn: () => void) => void,
): void {
  for (const m of missing) skip(`backend unavailable, guest tests skipped: ${m}`, () => {});
}

export interface GuestRun {
  result: RunResult;
  /** isa-debug-exit status, or undefined when the guest did not exit that way. */
  status: number | undefined;
  serial: string;
  marks: Mark[];
  vm: Vm;
  timedOut: boolean;
  portCounts: Map<number, number>;
}

export interface GuestOptions extends Partial<VmOptions> {
  timeoutMs?: number;
  /** Extra handler tried first; return true when it handled the exit. */
  onExit?: (exit: VmExit, vm: Vm) => boolean;
  /** Called after loading, before running (extra vCPU setup). */
  setup?: (vm: Vm) => void;
  cmdline?: string;
}

/** Backends present on this host, with why the missing ones are missing. */
export function availableBackends(): { present: ('kvm' | 'soft')[]; missing: string[] } {
  const p = probeBackends();
  const present: ('kvm' | 'soft')[] = [];
  const missing: string[] = [];
  if (p.kvmOpens) present.push('kvm');
  else missing.push(`kvm: ${p.kvmDetail}`);
  if (p.softBuilt) present.push('soft');
  else missing.push('soft: not built into the addon');
  return { present, missing };
}

/** Runs fixtures/guests/vmm/<name>. */
export async function runGuest(name: string, options: GuestOptions = {}): Promise<GuestRun> {
  return runElf(await buildVmmGuest(name), options);
}

/** Runs any Multiboot guest image on the vmm with the test platform. */
export async function runElf(elf: string, options: GuestOptions = {}): Promise<GuestRun> {
  const vm = Vm.create({
    backend: options.backend ?? 'kvm',
    memorySize: options.memorySize ?? 64 * 1024 * 1024,
    vcpus: options.vcpus ?? 1,
    x2apic: options.x2apic ?? false,
    rtcLocaltime: options.rtcLocaltime ?? false,
    ...(options.exitSpinMicros === undefined ? {} : { exitSpinMicros: options.exitSpinMicros }),
    ...(options.postedRingEntries === undefined ? {} : { postedRingEntries: options.postedRingEntries }),
  });
  for (let i = 0; i < (options.vcpus ?? 1); i++) vm.createVcpu(i);
  loadMultiboot(vm, elf, options.cmdline);
  options.setup?.(vm);

  let serial = '';
  let status: number | undefined;
  const marks: Mark[] = [];
  const scratchMem = new Uint8Array(0x10000);
  const scratchView = new DataView(scratchMem.buffer);
  let scratchPort = 0;
  let msiAddr = 0;
  const portCounts = new Map<number, number>();

  const handler = (exit: VmExit): void | 'stop' => {
    if (options.onExit?.(exit, vm)) return;
    switch (exit.kind) {
      case 'inout': {
        const port = exit.port;
        portCounts.set(port, (portCounts.get(port) ?? 0) + 1);
        if (exit.in) {
          if (port === 0x3fd) exit.value = 0x60;
          else if (port === 0xe0) exit.value = scratchPort;
          return;
        }
        const v = exit.value;
        if (port === 0x3f8) serial += String.fromCharCode(v & 0xff);
        else if (port === 0xf4) {
          status = ((v << 1) | 1) & 0xff;
          return 'stop';
        } else if (port === 0xe0) scratchPort = v;
        else if (port >= 0x2000 && port < 0x2020) {
          const n = port - 0x2000;
          if (n < 16) vm.isaIrq(n, v !== 0);
          else if (v !== 0) vm.ioapicAssert(n);
          else vm.ioapicDeassert(n);
        } else if (port === 0x520) {
          marks.push({ value: v, ns: process.hrtime.bigint(), vcpu: exit.vcpu, devices: vm.deviceStats() });
        }
        else if (port === 0x524) msiAddr = v;
        else if (port === 0x528) vm.msi(msiAddr, v);
        else if (port === 0x52c) vm.nmi(v);
        else if (port === 0x530) vm.suspend('poweroff');
        else if (port === 0xcf9 && v & 4) vm.suspend('reset');
        return;
      }
      case 'mmio': {
        const off = exit.gpa - 0xff000000;
        if (off >= 0 && off + exit.size <= scratchMem.length) {
          if (exit.write) {
            if (exit.size === 8) {
              scratchView.setUint32(off, exit.value, true);
              scratchView.setUint32(off + 4, exit.valueHigh, true);
            } else if (exit.size === 4) scratchView.setUint32(off, exit.value, true);
            else if (exit.size === 2) scratchView.setUint16(off, exit.value, true);
            else scratchView.setUint8(off, exit.value);
          } else if (exit.size === 8) {
            exit.value = scratchView.getUint32(off, true);
            exit.valueHigh = scratchView.getUint32(off + 4, true);
          } else if (exit.size === 4) exit.value = scratchView.getUint32(off, true);
          else if (exit.size === 2) exit.value = scratchView.getUint16(off, true);
          else exit.value = scratchView.getUint8(off);
        }
        return;
      }
      case 'rdmsr':
      case 'wrmsr':
        exit.ok = false; // x86.strictmsr: unknown MSRs raise #GP
        return;
      default:
        return;
    }
  };

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    vm.stop();
  }, options.timeoutMs ?? 120_000);
  try {
    const result = await vm.run(handler);
    return { result, status, serial: serial.replace(/\r\n/g, '\n'), marks, vm, timedOut, portCounts };
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts-friendly summary of a PASS/FAIL guest's serial output. */
export function failures(serial: string): string[] {
  return serial.split('\n').filter((l) => l.startsWith('FAIL'));
}
