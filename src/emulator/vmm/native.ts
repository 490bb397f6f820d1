/**
 * The one loader of the native vmm addon (`build/Release/tsvirt_vmm.node`) and the typed
 * declaration of its raw surface.
 *
 * Every other module imports the typed surface exported here; nothing else calls `require`
 * on a `.node` file. A missing or stale build fails with an error that lists every path
 * tried and how to rebuild. The raw surface mirrors native/binding/*.cc one to one:
 * positional arguments, numbers for guest addresses (integers up to 2^53), bigints for
 * 64-bit register and MSR values, errors thrown through the factory registered here (so
 * they arrive as {@link VmmError}). Callers should use `vmm.ts`, which adds names, defaults
 * and the exit decoding; this file holds no policy.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VmmError, type VmmErrorKind } from './errors.js';
import { newerNativeSource } from './native-freshness.js';

/** Options of the native Vm constructor. */
export interface NativeVmOptions {
  backend: 'soft' | 'kvm' | 'auto';
  /** Guest memory in bytes, a non-zero multiple of 4096. */
  memorySize: number;
  /** vCPUs the VM may have (maxcpus); each must still be created. */
  vcpus: number;
  x2apic: boolean;
  rtcLocaltime: boolean;
  /** How long (µs) the JS thread keeps polling for the next exit after answering one. */
  exitSpinMicros?: number;
  /** Posted writes queued per vCPU before writes fall back to exits (power of two, default 256). */
  postedRingEntries?: number;
}

/** Per-vCPU counters kept by the vmm. */
export interface NativeVcpuStats {
  exitsToHandler: number;
  pioInVmm: number;
  mmioInVmm: number;
  hltSleeps: number;
  interruptsInjected: number;
  /** Writes queued through a posted write range (no exit). */
  postedWrites: number;
  /** Writes that matched a posted write range but took the normal exit (ring full). */
  postedFallbacks: number;
  lapicAccepted: number;
  lapicTimerFires: number;
}

/** Interrupts raised by the in-vmm devices since the VM was created. */
export interface NativeDeviceStats {
  /** IRQ0 pulses counter 0 sent. */
  pitIrqs: number;
  /** Counter-0 periods elapsed (pulses plus periods a late host coalesced). */
  pitPeriods: number;
  rtcIrqs: number;
  hpetIrqs: number;
  /** HPET comparator matches that fell due (including coalesced periodic ones). */
  hpetMatches: number;
  ioapicDeliveries: number;
  timerCallbacks: number;
}

/** What the backends look like on this host (`probeBackends()`). */
export interface BackendProbe {
  softBuilt: boolean;
  kvmOpens: boolean;
  hardwareVirtualization: boolean;
  kvmDetail: string;
  /** What `backend: 'auto'` would choose, or null when nothing is available. */
  auto: 'soft' | 'kvm' | null;
}

/** Event kinds passed to the `onEvent` callback of {@link NativeVm.start}. */
export const EVENT_VCPU_DONE = 2;
export const EVENT_PAUSED = 3;
export const EVENT_RUN_DONE = 4;

/** The native VM object (native/binding/vm_object.cc). */
export interface NativeVm {
  backendName(): string;
  /** System memory: [0, lowmem) then the memory above 4 GiB, contiguous. */
  memory(): ArrayBuffer;
  lowmemSize(): number;
  highmemSize(): number;
  /** The exit slots: exitWordsPerVcpu Uint32 words per vCPU (exit_bridge.h). */
  exitBuffer(): ArrayBuffer;
  /** Posted writes handed to onNotify: notifyBatch entries of notifyEntryWords words (id, offset, value lo, value hi). */
  notifyBuffer(): ArrayBuffer;
  /** Registers a posted write range (space 0 port, 1 MMIO; datamatch -1: none); returns its id. */
  addPostedWrite(space: number, base: number, length: number, width: number, datamatch: number): number;
  removePostedWrite(id: number): void;
  /** Publishes the value byte reads of a port get without an exit (0-255), or withdraws it (-1). */
  setPortReadValue(port: number, value: number): void;
  /** Turns the vmm's PCI CONFIG_ADDRESS latch (native/vmm/pci_conf1.h) on or off. */
  setPciConf1Latch(enabled: boolean): void;
  /** The latched CONFIG_ADDRESS (masked 0x80FFFFFC). */
  pciConf1Address(): number;
  setPciConf1Address(value: number): void;
  allocSegment(id: number, name: string, size: number): ArrayBuffer;
  mapSegment(gpa: number, segid: number, offset: number, length: number, writable: boolean): void;
  unmapSegment(gpa: number, length: number): void;
  invalidateCode(gpa: number, length: number): void;
  createVcpu(id: number): void;
  activateVcpu(id: number): void;
  getState(vcpu: number, out: BigUint64Array): void;
  setState(vcpu: number, state: BigUint64Array): void;
  getMsr(vcpu: number, index: number): bigint;
  setMsr(vcpu: number, index: number, value: bigint): void;
  getCpuid(vcpu: number): Uint32Array;
  setCpuid(vcpu: number, entries: Uint32Array): void;
  setCapability(vcpu: number, cap: number, on: boolean): void;
  start(
    onExit: (vcpu: number, message?: string) => void,
    onEvent: (kind: number, vcpu: number, suspendHow: number) => void,
    onNotify?: (count: number, drained: boolean) => void,
  ): void;
  stop(): void;
  pause(): void;
  resume(): void;
  paused(): boolean;
  running(): boolean;
  suspend(how: number): void;
  suspended(): number;
  lapicIrq(vcpu: number, vector: number): void;
  lapicLocalIrq(vcpu: number, lvt: number): void;
  msi(address: number, data: number): void;
  ioapicIrq(pin: number, op: number): void;
  isaIrq(atpicIrq: number, ioapicPin: number, op: number): void;
  isaSetTrigger(irq: number, level: boolean): void;
  nmi(vcpu: number): void;
  injectException(vcpu: number, vector: number, hasErrorCode: boolean, errorCode: number): void;
  rtcRead(offset: number): number;
  rtcWrite(offset: number, value: number): void;
  rtcSetTime(seconds: number): void;
  rtcGetTime(): number;
  stats(vcpu: number): NativeVcpuStats;
  /** Low 32 bits of the HPET capabilities register (for the ACPI HPET table). */
  hpetCapabilities(): number;
  deviceStats(): NativeDeviceStats;
  destroy(): void;
}

/** The raw surface of the addon, as native/binding/addon.cc exports it. */
export interface NativeVmm {
  /** ABI version of the compiled binding; must equal {@link BINDING_ABI}. */
  abiVersion(): number;
  setErrorFactory(
    factory: (kind: string, message: string, op?: string, code?: string) => Error,
  ): void;
  probeBackends(): BackendProbe;
  Vm: new (options: NativeVmOptions) => NativeVm;
  exitWordsPerVcpu: number;
  stateWords: number;
  notifyBatch: number;
  notifyEntryWords: number;
}

/** The binding ABI this TypeScript tree was written against. */
export const BINDING_ABI = 6;

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(start, '..', '..', '..');
    dir = up;
  }
}

let cached: NativeVmm | undefined;

/** Loads (once) and returns the native addon; throws naming every path tried. */
export function loadNativeVmm(): NativeVmm {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  const candidates = [
    join(root, 'build', 'Release', 'tsvirt_vmm.node'),
    join(root, 'build', 'Debug', 'tsvirt_vmm.node'),
  ];
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) {
      errors.push(`${path}: not found`);
      continue;
    }
    const newer = newerNativeSource(root, path);
    if (newer !== undefined) {
      errors.push(`${path}: stale build, ${newer} changed after it was built`);
      continue;
    }
    try {
      const mod = require(path) as NativeVmm;
      const abi = mod.abiVersion();
      if (abi !== BINDING_ABI) {
        errors.push(`${path}: binding ABI ${abi}, expected ${BINDING_ABI} (stale build)`);
        continue;
      }
      mod.setErrorFactory(
        (kind, message, op, code) => new VmmError(kind as VmmErrorKind, message, { op, code }),
      );
      cached = mod;
      return mod;
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new VmmError(
    'no-backend',
    `cannot load the tsvirt vmm addon; run 'npm run build:native'. Tried:\n  ${errors.join('\n  ')}`,
  );
}
