// Public interface of the software x86-64 CPU (native/soft/).
//
// This header is the contract between the CPU (native/soft/*) and the vmm that hosts it
// (native/vmm/*). The CPU knows nothing of devices, N-API or threads: it executes guest
// code against a physical memory map and calls back into its host for everything that is
// not RAM (port I/O, MMIO, unknown MSRs, interrupt acknowledge). Callbacks are synchronous:
// when the vmm needs JavaScript to handle an access it blocks the vCPU thread inside the
// callback until the answer arrives, exactly as bhyve's vCPU thread blocks in userspace
// while a device model runs. The CPU never sees a half-finished access.
//
// Threading: one Cpu is driven by one thread. request_stop(), notify_interrupt() and
// inject_nmi() may be called from any thread. Several Cpus may share one PhysMemory (SMP);
// RAM accesses of LOCK-prefixed instructions (and XCHG, CMPXCHG, XADD with memory) are
// host-atomic so guests' spinlocks work across vCPU threads. A store by any vCPU into a
// page another vCPU has decoded code from is seen by that vCPU at its next block boundary.
//
// Semantics the soft CPU implements (native/soft/README.md has the internals):
//  - Callbacks run in the middle of an instruction that has not completed: get_state()
//    from inside a callback reports that instruction's RIP (as KVM does at an I/O exit).
//    set_state() must not be called from inside a callback.
//  - Interrupts: after notify_interrupt(), at the next instruction boundary where
//    RFLAGS.IF=1 and no STI/MOV SS shadow is active, the CPU calls pending_interrupt(); if it
//    returns a vector, the CPU calls ack_interrupt(vector) and then delivers it through the
//    IDT (a fault during delivery is handled as the SDM says; the interrupt stays
//    acknowledged, as with a hardware INTA cycle). If IF=0, the notification is remembered
//    and pending_interrupt() is asked again when IF becomes 1. When pending_interrupt()
//    returns -1 the notification is consumed.
//  - HLT: run() returns kHlt with RIP after the HLT. A later run() on the halted vCPU
//    delivers a pending NMI or (IF=1) interrupt and continues, or returns kHlt at once with
//    no instruction executed; it never sleeps, the vmm waits between calls.
//    kInterruptWindow and kDebug are not produced by this CPU (no interrupt-window exiting,
//    no host debug interface); a vmm may treat them as kBudget.
//  - Exit controls (set_exit_controls, for the vmm's VM_CAP_BPT_EXIT / VM_CAP_PAUSE_EXIT):
//    with kExitInt3, INT3 (CC) does not deliver #BP: run() returns kBreakpoint with RIP at
//    the INT3 (the instruction did not retire). With kExitPause, PAUSE (F3 90) completes
//    and run() returns kPause with RIP after it. Single-stepping for VM_CAP_MTRAP_EXIT is
//    run(1): exactly one instruction retires (or one exception is delivered) before kBudget.
//  - kShutdown: a triple fault. The vCPU stays stopped (every run() returns kShutdown)
//    until reset() or set_state().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vmm/x86_state.h"

namespace tsvirt::soft {

// One RAM or ROM range of guest-physical memory backed directly by host memory.
struct RamRegion {
  uint64_t gpa = 0;
  uint64_t size = 0;      // multiple of 4 KiB
  uint8_t* host = nullptr;
  bool writable = true;   // false: ROM (writes are dropped, fetch works)
};

// Physical memory map shared by all vCPUs of a VM. Everything not covered by a RamRegion is
// MMIO and goes to CpuHost::mmio_read/mmio_write.
class PhysMemory;

// Everything the CPU asks of the vmm. All methods run on the vCPU's own thread.
class CpuHost {
 public:
  virtual ~CpuHost() = default;
  // Port I/O; size is 1, 2 or 4. An unclaimed IN returns all-ones (the host decides).
  virtual uint32_t pio_in(uint16_t port, int size) = 0;
  virtual void pio_out(uint16_t port, int size, uint32_t value) = 0;
  // MMIO outside RAM; size is 1, 2, 4 or 8 (wider accesses are split by the CPU).
  virtual uint64_t mmio_read(uint64_t gpa, int size) = 0;
  virtual void mmio_write(uint64_t gpa, int size, uint64_t value) = 0;
  // MSRs the CPU does not implement itself (APIC, MTRR ranges it does not keep, ...).
  // Return false to make the instruction raise #GP(0).
  virtual bool rdmsr(uint32_t index, uint64_t* value) = 0;
  virtual bool wrmsr(uint32_t index, uint64_t value) = 0;
  // Interrupt controller: the highest-priority deliverable vector, or -1. Called only at an
  // instruction boundary where RFLAGS.IF=1 and no interrupt shadow is active; the vector is
  // then delivered and acknowledged (ack_interrupt) in that order.
  virtual int pending_interrupt() = 0;
  virtual void ack_interrupt(int vector) = 0;
  // TPR access (MOV CR8) forwarded to the local APIC.
  virtual uint64_t read_cr8() = 0;
  virtual void write_cr8(uint64_t value) = 0;
};

// CPUID: leaf table configurable from TypeScript. Leaves not present answer as the
// highest basic leaf does on real hardware (Intel) or zero (AMD), per the table's vendor.
struct CpuidEntry {
  uint32_t leaf = 0, subleaf = 0;
  bool has_subleaf = false;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Why run() returned.
enum class StopReason : int {
  kBudget = 0,       // instruction budget exhausted
  kStopRequested,    // request_stop() was called
  kHlt,              // HLT executed with no interrupt pending (RIP after HLT)
  kInterruptWindow,  // notify_interrupt() arrived while the CPU was halted
  kShutdown,         // triple fault (state is left as at the fault)
  kDebug,            // single-step or breakpoint the host asked to see
  kError,            // internal error; error_message() says what
  kBreakpoint,       // INT3 with kExitInt3 (RIP at the INT3)
  kPause,            // PAUSE with kExitPause (RIP after it)
};

// Bits of Cpu::set_exit_controls.
namespace exit_ctl {
constexpr uint32_t kExitInt3 = 1u << 0;
constexpr uint32_t kExitPause = 1u << 1;
}  // namespace exit_ctl

class Cpu {
 public:
  static std::unique_ptr<Cpu> create(PhysMemory& memory, CpuHost& host, int vcpu_id);
  virtual ~Cpu() = default;

  // Architectural INIT state (Intel SDM vol. 3, 10.1.1 and table 10-1: CS=F000 base
  // FFFF0000, RIP=FFF0, CR0=60000010, EDX=family/model/stepping). Like INIT it keeps the
  // TSC and the MTRRs (their power-on values, 0, are set when the Cpu is created) and the
  // CPUID table; the APIC is the host's.
  virtual void reset() = 0;
  virtual void get_state(x86::CpuState* out) const = 0;
  virtual void set_state(const x86::CpuState& in) = 0;
  virtual bool get_msr(uint32_t index, uint64_t* value) = 0;
  virtual bool set_msr(uint32_t index, uint64_t value) = 0;
  // Replace the CPUID table (entries == nullptr restores the default table, cpuid.cc).
  // Feature bits of leaves 1, 7 and 0x80000001 are masked to what this CPU implements,
  // except the ones describing vmm devices (APIC, x2APIC, TSC-deadline, hypervisor).
  virtual void set_cpuid(const CpuidEntry* entries, size_t count) = 0;
  // The table in effect (the default one, or the last set_cpuid() after masking), entry by
  // entry, with leaf 1's per-vCPU fields as this vCPU's CPUID answers them now: EBX[31:24]
  // (the vCPU id as initial APIC ID), ECX.OSXSAVE (CR4.OSXSAVE) and EDX.APIC (APIC enable).
  virtual void get_cpuid(std::vector<CpuidEntry>* entries) const = 0;
  // The local APIC's global enable (IA32_APIC_BASE.EN, kept by the vmm's vlapic): while
  // clear, CPUID.1:EDX.APIC[bit 9] reads 0 (SDM vol. 3A 11.4.3).
  virtual void set_apic_enabled(bool enabled) = 0;

  // Execute at most max_instructions; returns why execution stopped. Each exception the
  // CPU delivers also consumes one unit, so a guest faulting in a loop still returns.
  virtual StopReason run(uint64_t max_instructions) = 0;
  virtual uint64_t instructions_retired() const = 0;

  // Thread-safe wakeups.
  virtual void request_stop() = 0;
  virtual void notify_interrupt() = 0;

  // Event injection at the next instruction boundary. inject_exception (vCPU thread only)
  // delivers vector 0..31 as a fault at the current RIP; inject_nmi (any thread) delivers
  // an NMI unless one is being handled (blocked until the handler's IRET).
  virtual void inject_exception(int vector, bool has_error_code, uint32_t error_code) = 0;
  virtual void inject_nmi() = 0;

  // Guest-physical code invalidation for writes the CPU did not make itself (device DMA).
  virtual void invalidate_code(uint64_t gpa, uint64_t length) = 0;

  virtual const char* error_message() const = 0;

  // exit_ctl bits: which instructions stop run() instead of executing as the guest expects.
  virtual void set_exit_controls(uint32_t controls) = 0;
};

// Physical memory map: built by the vmm, shared read-mostly by all vCPUs.
class PhysMemory {
 public:
  static std::unique_ptr<PhysMemory> create();
  virtual ~PhysMemory() = default;
  // Regions must not overlap, be page aligned and non-empty; returns false (and adds
  // nothing) otherwise. Add regions while no vCPU runs (lookups are not locked).
  virtual bool add_region(const RamRegion& region) = 0;
  // Remove the region added with exactly this gpa and size; false if there is none. Only
  // while no vCPU runs: each vCPU drops its cached translations and decoded code at its
  // next run(), and the range becomes MMIO. The host memory may be released afterwards.
  virtual bool remove_region(uint64_t gpa, uint64_t size) = 0;
  // Invalidate decoded code of every CPU for a range written behind the CPUs' backs.
  virtual void invalidate_code(uint64_t gpa, uint64_t length) = 0;
};

}  // namespace tsvirt::soft
