// The two seams between the backend-neutral vmm and a CPU backend (KVM or the soft CPU).
//
// VcpuHost is what a backend asks of the vmm on the vCPU thread (the same shape as
// soft::CpuHost in native/soft/cpu.h): port I/O, MMIO, MSRs the backend does not own, the
// interrupt controller's pending vector and acknowledge, CR8. The vmm answers from its
// in-vmm devices or, for everything else, by handing an exit to the ExitHandler and
// blocking until it answers. VcpuBackend and VmBackend are what the vmm asks of a backend.
//
// Threading: VcpuBackend::run() and the register/event calls run on the vCPU's thread, or
// on another thread while the vCPU thread is not inside run(); kick_*() may be called from
// any thread at any time (including before the first run() and after the last).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vmm/error.h"
#include "vmm/x86_state.h"

namespace tsvirt::vmm {

// One CPUID leaf (TypeScript may replace the table; see Vcpu::set_cpuid).
struct CpuidEntry {
  uint32_t leaf = 0, subleaf = 0;
  bool has_subleaf = false;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

class VcpuHost {
 public:
  virtual ~VcpuHost() = default;
  // string: one element of INS/OUTS (rep: with a REP prefix). Unclaimed IN = all-ones.
  virtual uint32_t pio_in(uint16_t port, int size, bool string, bool rep) = 0;
  virtual void pio_out(uint16_t port, int size, uint32_t value, bool string, bool rep) = 0;
  virtual uint64_t mmio_read(uint64_t gpa, int size) = 0;
  virtual void mmio_write(uint64_t gpa, int size, uint64_t value) = 0;
  // false raises #GP(0).
  virtual bool rdmsr(uint32_t index, uint64_t* value) = 0;
  virtual bool wrmsr(uint32_t index, uint64_t value) = 0;
  // Highest deliverable external interrupt vector, or -1; ack after delivering it.
  virtual int pending_interrupt() = 0;
  virtual void ack_interrupt(int vector) = 0;
  virtual uint64_t read_cr8() = 0;
  virtual void write_cr8(uint64_t value) = 0;
};

// Why VcpuBackend::run() returned.
enum class RunStop {
  kKicked,    // kick_*() or a host signal: re-examine events and call run() again
  kHlt,       // HLT executed (RIP is past it); the vmm sleeps until an event
  kShutdown,  // triple fault
  kDebug,     // debug exception the host asked for
  kError,     // backend failure; error_message() says what
  kMtrap,     // mtrap_exit: one instruction retired (or one exception was delivered)
  kBreakpoint,  // bpt_exit: INT3 reached, RIP at the INT3, nothing delivered to the guest
  kPause,     // pause_exit: PAUSE executed (RIP after it)
};

// vm_cap_type values the backends understand.
enum class Capability : int {
  kHaltExit = 0,   // VM_CAP_HALT_EXIT
  kMtrapExit = 1,  // VM_CAP_MTRAP_EXIT: exit after every instruction (single step, no TF)
  kPauseExit = 2,  // VM_CAP_PAUSE_EXIT
  kBptExit = 5,    // VM_CAP_BPT_EXIT: INT3 exits instead of raising #BP in the guest
};

class VcpuBackend {
 public:
  virtual ~VcpuBackend() = default;
  virtual RunStop run() = 0;
  // An interrupt became pending: make sure the backend looks at pending_interrupt() soon.
  virtual void kick_interrupt() = 0;
  // Make run() return kKicked soon.
  virtual void kick_stop() = 0;
  // The vmm woke from HLT for a deliverable interrupt and will call run() next.
  virtual void wake_from_hlt() {}

  virtual Error get_state(x86::CpuState* out) = 0;
  virtual Error set_state(const x86::CpuState& in) = 0;
  // MSRs the backend keeps (EFER, STAR, TSC, PAT, MTRRs ...). false: not a backend MSR.
  virtual Error get_msr(uint32_t index, uint64_t* value) = 0;
  virtual Error set_msr(uint32_t index, uint64_t value) = 0;
  virtual Error set_cpuid(const std::vector<CpuidEntry>& entries) = 0;
  virtual Error get_cpuid(std::vector<CpuidEntry>* entries) = 0;
  // Architectural reset of everything set_state does not cover (FPU, pending events).
  virtual Error reset() = 0;
  virtual Error inject_exception(int vector, bool has_error_code, uint32_t error_code) = 0;
  virtual Error inject_nmi() = 0;
  // RFLAGS.IF as of the last exit (used after kHlt).
  virtual bool interrupts_enabled() = 0;
  virtual uint64_t guest_tsc() = 0;
  virtual uint64_t tsc_hz() = 0;
  // RIP of the last exit as far as the backend knows it cheaply, else 0.
  virtual uint64_t exit_rip() = 0;
  // kHaltExit is the vmm's own; a backend answers for the others (unsupported: say why).
  virtual Error set_capability(Capability cap, bool on) = 0;
  // After a kBreakpoint the host did not want: deliver the INT3 to the guest as it would
  // have run (#BP through the IDT, return RIP after the INT3) when run() is next called.
  virtual Error pass_breakpoint() = 0;
  // The guest changed IA32_APIC_BASE (the vlapic owns it); KVM mirrors it for CPUID.
  virtual void apic_base_changed(uint64_t /*value*/) {}
  virtual const char* error_message() = 0;
};

struct VcpuConfig {
  int id = 0;
  int max_vcpus = 1;
  bool x2apic = false;  // advertise x2APIC in CPUID
};

class VmBackend {
 public:
  virtual ~VmBackend() = default;
  virtual const char* name() const = 0;
  // Memory slots: slot ids are chosen by the vmm; host memory stays owned by the vmm.
  virtual Error map_memory(int slot, uint64_t gpa, uint64_t size, uint8_t* host,
                           bool writable) = 0;
  virtual Error unmap_memory(int slot) = 0;
  virtual Error create_vcpu(const VcpuConfig& config, VcpuHost& host,
                            std::unique_ptr<VcpuBackend>* out) = 0;
  // Guest memory was written behind the CPUs' backs (device DMA).
  virtual void invalidate_code(uint64_t gpa, uint64_t length) = 0;
  // Whether memory mappings may change while vCPUs run (KVM: yes; the soft CPU's
  // PhysMemory lookups are unlocked, so it takes regions only before running).
  virtual bool live_memory_changes() const { return true; }
  // Whether the vCPUs' CPUID will advertise x2APIC when the VM asked for `requested`;
  // the vlapic must then accept x2APIC mode, or a guest that believes CPUID faults.
  virtual bool advertises_x2apic(bool requested) const { return requested; }
};

}  // namespace tsvirt::vmm
