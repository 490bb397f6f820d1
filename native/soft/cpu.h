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
// Threading: one Cpu is driven by one thread. request_stop() and notify_interrupt() may
// be called from any thread. Several Cpus may share one PhysMemory (SMP); RAM accesses of
// LOCK-prefixed instructions are host-atomic so guests' spinlocks work across vCPU threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

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
};

class Cpu {
 public:
  static std::unique_ptr<Cpu> create(PhysMemory& memory, CpuHost& host, int vcpu_id);
  virtual ~Cpu() = default;

  // Architectural power-on/INIT state (Intel SDM vol. 3, 10.1.1: CS=F000 base FFFF0000,
  // RIP=FFF0, CR0=60000010, EDX=family/model/stepping).
  virtual void reset() = 0;
  virtual void get_state(x86::CpuState* out) const = 0;
  virtual void set_state(const x86::CpuState& in) = 0;
  virtual bool get_msr(uint32_t index, uint64_t* value) = 0;
  virtual bool set_msr(uint32_t index, uint64_t value) = 0;
  virtual void set_cpuid(const CpuidEntry* entries, size_t count) = 0;

  // Execute at most max_instructions; returns why execution stopped.
  virtual StopReason run(uint64_t max_instructions) = 0;
  virtual uint64_t instructions_retired() const = 0;

  // Thread-safe wakeups.
  virtual void request_stop() = 0;
  virtual void notify_interrupt() = 0;

  // Event injection at the next instruction boundary.
  virtual void inject_exception(int vector, bool has_error_code, uint32_t error_code) = 0;
  virtual void inject_nmi() = 0;

  // Guest-physical code invalidation for writes the CPU did not make itself (device DMA).
  virtual void invalidate_code(uint64_t gpa, uint64_t length) = 0;

  virtual const char* error_message() const = 0;
};

// Physical memory map: built by the vmm, shared read-mostly by all vCPUs.
class PhysMemory {
 public:
  static std::unique_ptr<PhysMemory> create();
  virtual ~PhysMemory() = default;
  // Regions must not overlap; returns false (and adds nothing) if they do.
  virtual bool add_region(const RamRegion& region) = 0;
  // Invalidate decoded code of every CPU for a range written behind the CPUs' backs.
  virtual void invalidate_code(uint64_t gpa, uint64_t length) = 0;
};

}  // namespace tsvirt::soft
