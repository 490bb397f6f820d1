// KVM vCPU backend: KVM_RUN loop, exit decoding, interrupt injection, register access.
// See kvm_vm.h for the design (no in-kernel irqchip; the vmm's vlapic is the APIC).
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "vmm/backend.h"

namespace tsvirt::kvm {

class KvmVcpu final : public vmm::VcpuBackend {
 public:
  static vmm::Error create(int kvm_fd, int vm_fd, const vmm::VcpuConfig& config,
                           const std::vector<kvm_cpuid_entry2>& supported, vmm::VcpuHost& host,
                           std::unique_ptr<vmm::VcpuBackend>* out);
  ~KvmVcpu() override;

  vmm::RunStop run() override;
  void kick_interrupt() override;
  void kick_stop() override;

  vmm::Error get_state(x86::CpuState* out) override;
  vmm::Error set_state(const x86::CpuState& in) override;
  vmm::Error get_msr(uint32_t index, uint64_t* value) override;
  vmm::Error set_msr(uint32_t index, uint64_t value) override;
  vmm::Error set_cpuid(const std::vector<vmm::CpuidEntry>& entries) override;
  vmm::Error get_cpuid(std::vector<vmm::CpuidEntry>* entries) override;
  vmm::Error reset() override;
  vmm::Error inject_exception(int vector, bool has_error_code, uint32_t error_code) override;
  vmm::Error inject_nmi() override;
  bool interrupts_enabled() override;
  uint64_t guest_tsc() override;
  uint64_t tsc_hz() override { return tsc_hz_; }
  uint64_t exit_rip() override;
  vmm::Error set_capability(vmm::Capability cap, bool on) override;
  vmm::Error pass_breakpoint() override;
  void apic_base_changed(uint64_t value) override;
  const char* error_message() override { return error_.c_str(); }

 private:
  KvmVcpu(int fd, int id, vmm::VcpuHost& host);
  void kick();
  void write_apic_base(uint64_t value);
  bool thread_setup();
  void inject_pending_interrupt();
  bool handle_io();
  bool handle_mmio();
  vmm::RunStop fail(const std::string& message);
  vmm::Error set_guest_debug(bool mtrap, bool bpt, bool inject_bp);

  int fd_;
  int id_;
  vmm::VcpuHost& host_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
  uint64_t tsc_hz_ = 0;
  std::string error_;
  bool thread_ready_ = false;
  bool io_pending_ = false;  // an I/O, MMIO or MSR exit awaits completion by KVM_RUN
  bool apic_dirty_ = false;
  bool mtrap_exit_ = false;  // KVM_GUESTDBG_SINGLESTEP
  bool bpt_exit_ = false;    // KVM_GUESTDBG_USE_SW_BP
  uint64_t apic_base_ = 0;
  std::atomic<bool> in_run_{false};
  std::atomic<bool> kick_stop_{false};
  std::atomic<bool> have_thread_{false};
  pthread_t thread_{};
};

// Default CPUID table for a vCPU (see kvm_vm.h for what is hidden and why).
std::vector<vmm::CpuidEntry> default_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                           const vmm::VcpuConfig& config);

// Conversions between the backend-neutral state and KVM's structures.
void segment_from_kvm(const kvm_segment& k, x86::Segment* s);
void segment_to_kvm(const x86::Segment& s, kvm_segment* k);

}  // namespace tsvirt::kvm
