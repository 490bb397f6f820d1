/**
 * The vmm as the emulator uses it: `Vm`, `Vcpu`, guest memory, exits, interrupts.
 *
 * This is the one typed wrapper of the native addon (DESIGN.md "The vmm boundary"): a VM
 * with a memory size laid out as bhyve does (RAM below 3 GiB, the rest above 4 GiB), its
 * system memory as one zero-copy {@link GuestMemory}, extra segments (boot ROM,
 * framebuffer), vCPUs with register/MSR/CPUID access, a run loop that hands every exit the
 * in-vmm devices did not handle to one handler, and libvmmapi's interrupt calls. The
 * in-vmm devices (local APICs, I/O APIC, 8259s, 8254, RTC, PM timer, HPET) run in C++ and
 * never cross into JavaScript.
 *
 * Threading: each vCPU runs on its own native thread; an exit for TypeScript blocks that
 * vCPU until the handler (called on the JavaScript thread) returns, so the event loop
 * stays free while guests run. The handler is synchronous; it answers in place (see
 * exits.ts) and may return 'stop' to stop the VM. An exception thrown by the handler
 * stops the VM and rejects {@link Vm.run} with it.
 *
 * Posted writes (ioeventfd-style, native/vmm/posted_writes.h): {@link Vm.addPostedWrite}
 * registers a write-only notify range whose guest writes of one width do not stop the vCPU;
 * the handler runs later on the JavaScript thread with (offset, value). Ordering rule
 * (native/binding/exit_bridge.h): every posted write a vCPU made is handled before any later
 * synchronous exit or run event is, so one vCPU's writes reach devices in program order;
 * across vCPUs posted writes are unordered. A full ring falls back to a normal exit, so no
 * write is lost; a removed range's queued writes are still delivered to its handler.
 *
 * Backends: 'kvm' (Linux /dev/kvm), 'soft' (the software x86-64 CPU, when built in),
 * 'auto' (KVM only with hardware virtualization, else soft; see native/vmm/backend_select.h).
 */
import { GuestMemory } from './guest-memory.js';
import { VmmError } from './errors.js';
import {
  EVENT_PAUSED,
  EVENT_RUN_DONE,
  loadNativeVmm,
  type BackendProbe,
  type NativeDeviceStats,
  type NativeVcpuStats,
  type NativeVm,
} from './native.js';
import { ExitSlot, SUSPEND_HOW, type SuspendHow, type VmExit } from './exits.js';
import { STATE_WORDS, decodeState, encodeState, type VcpuState } from './registers.js';

export { GuestMemory } from './guest-memory.js';
export { VmmError, type VmmErrorKind } from './errors.js';
export * from './exits.js';
export * from './registers.js';
export type {
  BackendProbe,
  NativeDeviceStats as DeviceStats,
  NativeVcpuStats as VcpuStats,
} from './native.js';

export type BackendName = 'soft' | 'kvm' | 'auto';

export interface VmOptions {
  /** vmm.backend; default 'auto'. */
  backend?: BackendName;
  /** memory.size in bytes: a non-zero multiple of 4096. */
  memorySize: number;
  /** Number of vCPUs the VM may create (bhyve -c); default 1. */
  vcpus?: number;
  /** x86.x2apic: allow x2APIC mode; default false. */
  x2apic?: boolean;
  /** rtc.use_localtime: the RTC shows local time; default false (UTC). */
  rtcLocaltime?: boolean;
  /**
   * Exit hand-off polling window in microseconds (default 0: off): after the handler
   * answers, the JS thread keeps taking exits that follow within this window without a
   * thread hop (at most 0.5 ms per turn of the event loop). Meant for bursts of exits
   * (UART output) on a host with a core to spare; on the loaded two-core machine it was
   * measured on (bench/vmm) it gained nothing, so it is opt-in.
   */
  exitSpinMicros?: number;
  /**
   * Posted writes queued per vCPU (a power of two, default 256); when a vCPU's ring is
   * full its next matching write takes the normal exit.
   */
  postedRingEntries?: number;
}

/** A write-only notify range whose guest writes are posted (KVM_IOEVENTFD's shape). */
export interface PostedWriteRange {
  space: 'io' | 'mmio';
  address: number;
  length: number;
  /** The one access width posted; other widths, reads, unaligned and string I/O exit. */
  width: 1 | 2 | 4 | 8;
  /** Post only writes of exactly this value (KVM_IOEVENTFD_FLAG_DATAMATCH). */
  datamatch?: number;
}

/**
 * Called on the JavaScript thread for each posted write: `offset` from the range's
 * address, `value` the low 32 bits, `valueHigh` bits 32-63 (8-byte MMIO). The value is the
 * guest's: validate it. Throwing stops the VM and rejects {@link Vm.run}.
 */
export type PostedWriteHandler = (offset: number, value: number, valueHigh: number) => void;

/** Answer of an exit handler: nothing (continue) or 'stop' (stop the VM). */
export type ExitHandler = (exit: VmExit) => void | 'stop';

/** How a run ended. */
export type RunResult =
  | { reason: 'suspended'; how: SuspendHow }
  | { reason: 'stopped' }
  | { reason: 'error'; vcpu: number; message: string };

/** Memory segment ids (vm_alloc_memseg). */
export const SEGMENT_BOOTROM = 1;
export const SEGMENT_FRAMEBUFFER = 2;
export const SEGMENT_PCIROM = 3;

/** LVT indices for {@link Vm.lapicLocalIrq} (bhyve's APIC_LVT_*). */
export const LVT = { lint0: 0, lint1: 1, timer: 2, error: 3, pmc: 4, thermal: 5, cmci: 6 } as const;
export type LvtName = keyof typeof LVT;

/**
 * vCPU capabilities (vm_cap_type). mtrap_exit: an `mtrap` exit after every instruction
 * (single step without a guest-visible TF); bpt_exit: INT3 gives a `bpt` exit instead of
 * #BP; pause_exit: PAUSE gives a `pause` exit. The soft CPU has all; KVM has mtrap_exit and
 * bpt_exit where KVM_SET_GUEST_DEBUG works, and refuses pause_exit.
 */
export type CapabilityName = 'hlt_exit' | 'mtrap_exit' | 'pause_exit' | 'bpt_exit';
const CAPABILITY: Record<CapabilityName, number> = { hlt_exit: 0, mtrap_exit: 1, pause_exit: 2, bpt_exit: 5 };

const SUSPEND_CODE: Record<SuspendHow, number> = {
  reset: 1,
  poweroff: 2,
  halt: 3,
  triplefault: 4,
};

const OP_ASSERT = 0;
const OP_DEASSERT = 1;
const OP_PULSE = 2;

/** One CPUID leaf. */
export interface CpuidEntry {
  leaf: number;
  subleaf?: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Which backends this host offers and what 'auto' picks. */
export function probeBackends(): BackendProbe {
  return loadNativeVmm().probeBackends();
}

export class Vcpu {
  readonly id: number;
  /** @internal */ readonly slot: ExitSlot;
  private readonly native: NativeVm;
  private readonly words = new BigUint64Array(STATE_WORDS);

  /** @internal */
  constructor(native: NativeVm, id: number, slot: ExitSlot) {
    this.native = native;
    this.id = id;
    this.slot = slot;
  }

  /** Registers; allowed while the vCPU is not running guest code (before run, paused, in its exit). */
  getState(): VcpuState {
    this.native.getState(this.id, this.words);
    return decodeState(this.words);
  }

  setState(state: VcpuState): void {
    encodeState(state, this.words);
    this.native.setState(this.id, this.words);
  }

  /** Reads, changes and writes back the register file in one call. */
  updateState(change: (state: VcpuState) => void): void {
    const s = this.getState();
    change(s);
    this.setState(s);
  }

  getMsr(index: number): bigint {
    return this.native.getMsr(this.id, index);
  }

  setMsr(index: number, value: bigint): void {
    this.native.setMsr(this.id, index, value);
  }

  getCpuid(): CpuidEntry[] {
    const w = this.native.getCpuid(this.id);
    const out: CpuidEntry[] = [];
    for (let i = 0; i + 7 <= w.length; i += 7) {
      const e: CpuidEntry = { leaf: w[i]!, eax: w[i + 3]!, ebx: w[i + 4]!, ecx: w[i + 5]!, edx: w[i + 6]! };
      if (w[i + 2]) e.subleaf = w[i + 1]!;
      out.push(e);
    }
    return out;
  }

  /** Replaces the CPUID table (before the vCPU first runs). */
  setCpuid(entries: readonly CpuidEntry[]): void {
    const w = new Uint32Array(entries.length * 7);
    entries.forEach((e, i) => {
      w.set([e.leaf, e.subleaf ?? 0, e.subleaf === undefined ? 0 : 1, e.eax, e.ebx, e.ecx, e.edx], i * 7);
    });
    this.native.setCpuid(this.id, w);
  }

  /** vm_set_capability; allowed while the vCPU is not running guest code (not in its exit). */
  setCapability(name: CapabilityName, on: boolean): void {
    this.native.setCapability(this.id, CAPABILITY[name], on);
  }

  /** vm_activate_cpu: an AP runs from its registers instead of waiting for INIT/SIPI. */
  activate(): void {
    this.native.activateVcpu(this.id);
  }

  stats(): NativeVcpuStats {
    return this.native.stats(this.id);
  }
}

export class Vm {
  readonly backend: 'soft' | 'kvm';
  readonly memory: GuestMemory;
  readonly maxVcpus: number;
  private readonly native: NativeVm;
  private readonly exitWords: Uint32Array;
  private readonly wordsPerVcpu: number;
  private readonly notifyWords: Uint32Array;
  private readonly notifyEntryWords: number;
  /** Posted write handlers by range id; removed ones wait for their last queued writes. */
  private readonly posted = new Map<number, PostedWriteHandler>();
  private retired = new Map<number, PostedWriteHandler>();
  private retiredDuringDrain = new Map<number, PostedWriteHandler>();
  private notifying = false;
  private readonly vcpuList: (Vcpu | undefined)[];
  private active = false;
  private pauseWaiters: (() => void)[] = [];
  private destroyed = false;

  private constructor(native: NativeVm, maxVcpus: number, wordsPerVcpu: number, notifyEntryWords: number) {
    this.native = native;
    this.notifyWords = new Uint32Array(native.notifyBuffer());
    this.notifyEntryWords = notifyEntryWords;
    this.backend = native.backendName() as 'soft' | 'kvm';
    this.maxVcpus = maxVcpus;
    this.wordsPerVcpu = wordsPerVcpu;
    this.exitWords = new Uint32Array(native.exitBuffer());
    this.vcpuList = new Array<Vcpu | undefined>(maxVcpus).fill(undefined);
    const invalidate =
      this.backend === 'soft'
        ? (gpa: number, len: number) => native.invalidateCode(gpa, len)
        : () => {};
    this.memory = new GuestMemory(native.memory(), native.lowmemSize(), native.highmemSize(), invalidate);
  }

  /** vm_create + vm_setup_memory. Throws VmmError (no-backend, invalid-argument, host). */
  static create(options: VmOptions): Vm {
    const addon = loadNativeVmm();
    const vcpus = options.vcpus ?? 1;
    const native = new addon.Vm({
      backend: options.backend ?? 'auto',
      memorySize: options.memorySize,
      vcpus,
      x2apic: options.x2apic ?? false,
      rtcLocaltime: options.rtcLocaltime ?? false,
      ...(options.exitSpinMicros === undefined ? {} : { exitSpinMicros: options.exitSpinMicros }),
      ...(options.postedRingEntries === undefined ? {} : { postedRingEntries: options.postedRingEntries }),
    });
    return new Vm(native, vcpus, addon.exitWordsPerVcpu, addon.notifyEntryWords);
  }

  /** vm_vcpu_open: creates vCPU `id` (default: the lowest not yet created). */
  createVcpu(id?: number): Vcpu {
    const n = id ?? this.vcpuList.findIndex((v) => v === undefined);
    if (n < 0) throw new VmmError('invalid-argument', `all ${this.maxVcpus} vCPUs already exist`);
    this.native.createVcpu(n);
    const words = this.exitWords.subarray(n * this.wordsPerVcpu, (n + 1) * this.wordsPerVcpu);
    const v = new Vcpu(this.native, n, new ExitSlot(words, n));
    this.vcpuList[n] = v;
    return v;
  }

  vcpu(id: number): Vcpu | undefined {
    return this.vcpuList[id];
  }

  get vcpus(): readonly Vcpu[] {
    return this.vcpuList.filter((v): v is Vcpu => v !== undefined);
  }

  get running(): boolean {
    return this.active;
  }

  /**
   * Runs every created vCPU until the VM suspends, is stopped, or fails. The BSP (vCPU 0)
   * starts from its registers; APs wait for INIT/SIPI unless activated.
   */
  run(handler: ExitHandler): Promise<RunResult> {
    if (this.active) return Promise.reject(new VmmError('state', 'the VM is already running'));
    return new Promise<RunResult>((resolve, reject) => {
      let handlerError: unknown;
      let failed: { vcpu: number; message: string } | undefined;
      const slots = this.vcpuList.map((v) => v?.slot);
      const onExit = (vcpu: number, message?: string): void => {
        const slot = slots[vcpu];
        if (!slot) return;
        const exit = slot.decode(message);
        if (exit.kind === 'error' && !failed) failed = { vcpu, message: exit.message };
        let stop = false;
        try {
          stop = handler(exit) === 'stop';
        } catch (err) {
          if (handlerError === undefined) handlerError = err ?? new Error('exit handler threw');
          stop = true;
        }
        slot.commit(exit, stop);
      };
      const notifyWords = this.notifyWords;
      const per = this.notifyEntryWords;
      const onNotify = (count: number, drained: boolean): void => {
        this.notifying = true;
        try {
          for (let i = 0; i < count; i++) {
            const o = i * per;
            const id = notifyWords[o]!;
            const h = this.posted.get(id) ?? this.retired.get(id) ?? this.retiredDuringDrain.get(id);
            if (!h) continue;
            try {
              h(notifyWords[o + 1]!, notifyWords[o + 2]!, notifyWords[o + 3]!);
            } catch (err) {
              if (handlerError === undefined) handlerError = err ?? new Error('posted write handler threw');
              this.native.stop();
            }
          }
        } finally {
          this.notifying = false;
        }
        if (drained) {
          // Every write of the ranges removed before this drain has been delivered.
          this.retired = this.retiredDuringDrain;
          this.retiredDuringDrain = new Map();
        }
      };
      const onEvent = (kind: number, _vcpu: number, how: number): void => {
        if (kind === EVENT_PAUSED) {
          this.releasePauseWaiters();
        } else if (kind === EVENT_RUN_DONE) {
          this.active = false;
          // The run-done drain delivered every queued write.
          this.retired.clear();
          this.retiredDuringDrain.clear();
          this.releasePauseWaiters();
          const suspended = SUSPEND_HOW[how];
          if (handlerError !== undefined) reject(handlerError);
          else if (suspended) resolve({ reason: 'suspended', how: suspended });
          else if (failed) resolve({ reason: 'error', ...failed });
          else resolve({ reason: 'stopped' });
        }
      };
      this.native.start(onExit, onEvent, onNotify);
      this.active = true;
    });
  }

  // ---- posted writes (ioeventfd-style notify ranges) ------------------------------------

  /**
   * Registers a posted write range; returns its id. Throws VmmError (invalid-argument) for
   * a bad range, an overlap with another range (unless both have distinct datamatch
   * values), or more than 256 ranges.
   */
  addPostedWrite(range: PostedWriteRange, handler: PostedWriteHandler): number {
    const id = this.native.addPostedWrite(range.space === 'io' ? 0 : 1, range.address, range.length, range.width, range.datamatch ?? -1);
    this.posted.set(id, handler);
    return id;
  }

  /**
   * Unregisters a range (BAR moved, device reset): no write is posted for it afterwards;
   * writes already queued still reach its handler (before any later exit of their vCPU).
   */
  removePostedWrite(id: number): void {
    const h = this.posted.get(id);
    if (!h) throw new VmmError('invalid-argument', `no posted write range ${id}`);
    this.native.removePostedWrite(id);
    this.posted.delete(id);
    if (!this.active) return; // nothing can be queued between runs
    (this.notifying ? this.retiredDuringDrain : this.retired).set(id, h);
  }

  /**
   * Port read values (native/vmm/port_values.h): byte INs from `port` are answered by the
   * vmm with `value` (0-255) without an exit while it is set; undefined withdraws it. For
   * registers whose read has no side effect in the device's present state; the device
   * updates or withdraws the value whenever that changes. At most 8 ports per VM.
   */
  setPortReadValue(port: number, value: number | undefined): void {
    this.native.setPortReadValue(port, value === undefined ? -1 : value);
  }

  /**
   * The PCI CONFIG_ADDRESS latch (native/vmm/pci_conf1.h): while enabled, 32-bit guest
   * reads and writes of port 0xCF8 are answered by the vmm without an exit, and the
   * emulator reads the address with {@link pciConf1Address} at data-port (0xCFC) exits.
   */
  setPciConf1Latch(enabled: boolean): void {
    this.native.setPciConf1Latch(enabled);
  }

  /** The latched CONFIG_ADDRESS (enable, bus, device, function, register; mask 0x80FFFFFC). */
  pciConf1Address(): number {
    return this.native.pciConf1Address();
  }

  /** Sets the latch (masked as a guest write is), for accesses that reached the emulator. */
  setPciConf1Address(value: number): void {
    this.native.setPciConf1Address(value >>> 0);
  }

  /** Stops every vCPU (asynchronous: run() settles when they have stopped). */
  stop(): void {
    this.native.stop();
  }

  /** vm_suspend: every vCPU leaves with a 'suspended' exit; run() resolves with `how`. */
  suspend(how: SuspendHow): void {
    this.native.suspend(SUSPEND_CODE[how]);
  }

  /** vm_suspend_all_cpus: resolves once every running vCPU has parked. */
  pause(): Promise<void> {
    this.native.pause();
    if (!this.active || this.native.paused()) return Promise.resolve();
    return new Promise((resolve) => this.pauseWaiters.push(resolve));
  }

  /** vm_resume_all_cpus. */
  resume(): void {
    this.native.resume();
  }

  private releasePauseWaiters(): void {
    const waiters = this.pauseWaiters;
    this.pauseWaiters = [];
    for (const w of waiters) w();
  }

  // ---- interrupts (libvmmapi) ---------------------------------------------------------

  /** vm_lapic_irq: fixed, edge interrupt `vector` (16-255) on one vCPU's local APIC. */
  lapicIrq(vcpu: number, vector: number): void {
    this.native.lapicIrq(vcpu, vector);
  }

  /** vm_lapic_local_irq: fire a LVT pin of one vCPU or of all. */
  lapicLocalIrq(vcpu: number | 'all', lvt: LvtName | number): void {
    this.native.lapicLocalIrq(vcpu === 'all' ? -1 : vcpu, typeof lvt === 'number' ? lvt : LVT[lvt]);
  }

  /** vm_lapic_msi: deliver an MSI as a device would write it (address 0xFEExxxxx). */
  msi(address: number, data: number): void {
    this.native.msi(address, data);
  }

  ioapicAssert(pin: number): void {
    this.native.ioapicIrq(pin, OP_ASSERT);
  }
  ioapicDeassert(pin: number): void {
    this.native.ioapicIrq(pin, OP_DEASSERT);
  }
  ioapicPulse(pin: number): void {
    this.native.ioapicIrq(pin, OP_PULSE);
  }

  /**
   * vm_isa_*_irq for an ISA device: drives 8259 input `irq` and I/O APIC pin `irq`
   * (IRQ0 goes to pin 2, as the MADT override says).
   */
  isaIrq(irq: number, level: boolean): void {
    this.native.isaIrq(irq, irq === 0 ? 2 : irq, level ? OP_ASSERT : OP_DEASSERT);
  }
  isaPulse(irq: number): void {
    this.native.isaIrq(irq, irq === 0 ? 2 : irq, OP_PULSE);
  }
  /** The raw libvmmapi form: -1 skips that controller. */
  isaIrqRaw(atpicIrq: number, ioapicPin: number, op: 'assert' | 'deassert' | 'pulse'): void {
    this.native.isaIrq(atpicIrq, ioapicPin, op === 'assert' ? OP_ASSERT : op === 'deassert' ? OP_DEASSERT : OP_PULSE);
  }
  /** vm_isa_set_irq_trigger (ELCR). */
  isaSetTrigger(irq: number, trigger: 'edge' | 'level'): void {
    this.native.isaSetTrigger(irq, trigger === 'level');
  }

  nmi(vcpu: number): void {
    this.native.nmi(vcpu);
  }

  /** vm_inject_exception (vector 0-31, not 2). */
  injectException(vcpu: number, vector: number, errorCode?: number): void {
    this.native.injectException(vcpu, vector, errorCode !== undefined, errorCode ?? 0);
  }

  // ---- memory segments ------------------------------------------------------------------

  /** vm_alloc_memseg for device memory: returns its zero-copy buffer. */
  allocSegment(id: number, name: string, size: number): ArrayBuffer {
    return this.native.allocSegment(id, name, size);
  }

  /** vm_mmap_memseg: maps [offset, offset+length) of segment `segid` at `gpa`. */
  mapSegment(gpa: number, segid: number, offset: number, length: number, writable: boolean): void {
    this.native.mapSegment(gpa, segid, offset, length, writable);
  }

  /** vm_munmap_memseg. */
  unmapSegment(gpa: number, length: number): void {
    this.native.unmapSegment(gpa, length);
  }

  // ---- RTC, HPET --------------------------------------------------------------------------

  readonly rtc = {
    /** vm_rtc_read: CMOS byte (0-127). */
    read: (offset: number): number => this.native.rtcRead(offset),
    /** vm_rtc_write. */
    write: (offset: number, value: number): void => this.native.rtcWrite(offset, value),
    /** vm_rtc_settime: seconds since the epoch in the RTC's time zone. */
    setTime: (seconds: number): void => this.native.rtcSetTime(seconds),
    /** vm_rtc_gettime. */
    getTime: (): number => this.native.rtcGetTime(),
  };

  /** vm_get_hpet_capabilities: low 32 bits of the HPET capabilities register. */
  hpetCapabilities(): number {
    return this.native.hpetCapabilities();
  }

  /** Interrupts raised by the in-vmm devices (PIT, RTC, HPET, I/O APIC) so far. */
  deviceStats(): NativeDeviceStats {
    return this.native.deviceStats();
  }

  /** vm_destroy: frees the VM; its memory buffers become detached (length 0). */
  destroy(): void {
    if (this.destroyed) return;
    if (this.active) throw new VmmError('state', 'stop the VM and await run() before destroying it');
    this.native.destroy();
    this.destroyed = true;
  }
}
