// The backend-neutral VM object: libvmmapi's surface (reference/bhyve-userland.md 4.2)
// over a KVM or soft-CPU backend, with vmm.ko's in-kernel devices (4.7) living here.
//
// A Vm owns: guest memory (system memory split at 3 GiB / 4 GiB, device segments), the
// timer thread, the platform devices (vioapic, vatpic, vatpit, vrtc, vpmtmr, vhpet), and up
// to max_vcpus vCPUs each with its vlapic. It routes interrupts between them
// (InterruptRouter) and exposes vm_lapic_irq / vm_lapic_msi / vm_ioapic_*_irq /
// vm_isa_*_irq / vm_inject_nmi / vm_inject_exception, vm_suspend, and the debugger's
// suspend/resume of all vCPUs (here pause/resume).
//
// Running: start(handler) starts one thread per created vCPU running Vcpu::run_loop; the
// handler sees only the exits no in-vmm device handled. stop() is asynchronous (it never
// waits for a vCPU that may be blocked in the handler); join() waits for the threads.
// A suspended VM (poweroff, reset, halt, triple fault) stays suspended: bhyve's answer to
// a reset is a new process, and so is ours.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vmm/backend.h"
#include "vmm/backend_select.h"
#include "vmm/devices/vatpic.h"
#include "vmm/devices/vatpit.h"
#include "vmm/devices/vhpet.h"
#include "vmm/devices/vioapic.h"
#include "vmm/devices/vpmtmr.h"
#include "vmm/devices/vrtc.h"
#include "vmm/error.h"
#include "vmm/exit.h"
#include "vmm/irq.h"
#include "vmm/memory.h"
#include "vmm/pci_conf1.h"
#include "vmm/port_values.h"
#include "vmm/posted_writes.h"
#include "vmm/timer.h"
#include "vmm/vcpu.h"

namespace tsvirt::vmm {

struct VmConfig {
  BackendKind backend = BackendKind::kAuto;
  uint64_t memory_size = 0;
  int max_vcpus = 1;
  bool x2apic = false;         // x86.x2apic: allow x2APIC mode (CPUID + IA32_APIC_BASE)
  bool rtc_localtime = false;  // rtc.use_localtime
};

// Which in-vmm device owns a port or address (the dispatch table's values).
enum class PortOwner : uint8_t { kNone = 0, kPic, kPit, kRtc, kPmtmr };

class Vm final : public InterruptRouter {
 public:
  static constexpr int kMaxVcpus = 64;

  static Error create(const VmConfig& config, std::unique_ptr<Vm>* out);
  ~Vm() override;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  const VmConfig& config() const { return config_; }
  const char* backend_name() const;

  // Memory.
  GuestMemory& memory() { return memory_; }
  Error alloc_segment(int id, const std::string& name, uint64_t size);
  Error map_segment(uint64_t gpa, int segid, uint64_t offset, uint64_t len, bool writable);
  Error unmap_segment(uint64_t gpa, uint64_t len);
  // Device DMA wrote [gpa, gpa+len): drop decoded code (soft CPU); bounds are not checked
  // here (the range may span mappings), only clamped.
  void invalidate_code(uint64_t gpa, uint64_t len);

  // vCPUs.
  Error create_vcpu(int id);
  Vcpu* vcpu(int id);
  int max_vcpus() const { return config_.max_vcpus; }

  // Running.
  Error start(ExitHandler& handler);
  void stop();
  void join();
  bool running() const { return running_.load(std::memory_order_acquire); }
  // vm_suspend: first reason wins; every vCPU leaves with a suspended exit.
  void suspend(SuspendHow how);
  SuspendHow suspended() const { return suspend_.load(std::memory_order_acquire); }
  // vm_suspend_all_cpus / vm_resume_all_cpus (debug stop/go): pause() asks every running
  // vCPU to park at its next loop turn; paused() says whether all have.
  void pause();
  bool paused() const;
  void resume();
  bool pause_requested() const { return pause_.load(std::memory_order_acquire); }
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }

  // Interrupt injection (libvmmapi names).
  Error lapic_irq(int vcpu, int vector);
  Error lapic_local_irq(int vcpu, int lvt);  // vcpu -1: all
  Error lapic_msi(uint64_t addr, uint64_t data);
  Error ioapic_irq_op(int pin, IrqOp op);
  Error isa_irq_op(int atpic_irq, int ioapic_irq, IrqOp op);
  Error isa_set_irq_trigger(int atpic_irq, bool level);
  Error inject_nmi(int vcpu);
  Error inject_exception(int vcpu, int vector, bool has_error_code, uint32_t error_code);

  // Interrupts raised by the in-vmm devices since creation (tests, benches).
  struct DeviceStats {
    uint64_t pit_irqs = 0;
    uint64_t pit_periods = 0;
    uint64_t rtc_irqs = 0;
    uint64_t hpet_irqs = 0;
    uint64_t hpet_matches = 0;
    uint64_t ioapic_deliveries = 0;
    uint64_t timer_callbacks = 0;
  };
  DeviceStats device_stats() const;

  // Posted write ranges (ioeventfd-style notify registers; posted_writes.h).
  PostedWriteTable& posted_writes() { return posted_; }
  // Port read values (port_values.h): byte ports answered in the vmm from a published value.
  PortReadValues& port_read_values() { return port_values_; }
  // PCI CONFIG_ADDRESS (0xCF8) kept in the vmm when enabled (pci_conf1.h).
  PciConf1Latch& pci_conf1() { return conf1_; }

  // RTC (vm_rtc_*), HPET capabilities.
  Vrtc& rtc() { return *rtc_; }
  static uint32_t hpet_capabilities() { return Vhpet::capabilities_low(); }

  // InterruptRouter.
  void apic_deliver(const ApicMessage& msg) override;
  void ioapic_eoi(int vector) override;
  void isa_irq(int atpic_irq, int ioapic_pin, IrqOp op) override;
  void ioapic_irq(int pin, IrqOp op) override;
  void msi(uint64_t addr, uint64_t data) override;
  void pic_output(bool asserted) override;

  // Used by Vcpu.
  PortOwner port_owner(uint16_t port) const { return port_owner_[port]; }
  Vatpic& pic() { return *pic_; }
  Vatpit& pit() { return *pit_; }
  Vioapic& ioapic() { return *ioapic_; }
  Vhpet& hpet() { return *hpet_; }
  Vpmtmr& pmtmr() { return *pmtmr_; }
  bool pic_output_hint() const { return pic_->output_hint(); }
  // HLT bookkeeping for the all-halted suspend.
  void vcpu_halted(int id, bool halted_with_if_clear);
  void vcpu_active(int id, bool active);
  // A vCPU thread ended; the last one marks the VM stopped.
  void vcpu_thread_done();
  // A vCPU parked or unparked.
  void vcpu_parked(bool parked);

 private:
  explicit Vm(const VmConfig& config);
  Error init();
  void deliver_to(Vcpu& v, const ApicMessage& msg);

  VmConfig config_;
  std::unique_ptr<VmBackend> backend_;
  GuestMemory memory_;
  TimerService timers_;
  std::unique_ptr<Vioapic> ioapic_;
  std::unique_ptr<Vatpic> pic_;
  std::unique_ptr<Vatpit> pit_;
  std::unique_ptr<Vrtc> rtc_;
  std::unique_ptr<Vpmtmr> pmtmr_;
  std::unique_ptr<Vhpet> hpet_;
  // Created vCPUs: owned here, published through vcpu_ptr_ so that interrupt delivery on
  // other threads (timer thread, TypeScript) never races with creation.
  std::vector<std::unique_ptr<Vcpu>> owned_vcpus_;
  std::atomic<Vcpu*> vcpu_ptr_[kMaxVcpus] = {};
  PortOwner port_owner_[65536] = {};
  PostedWriteTable posted_;
  PortReadValues port_values_;
  PciConf1Latch conf1_;

  std::mutex mu_;  // lifecycle: start/stop/join, vCPU creation, memory map changes
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> pause_{false};
  std::atomic<SuspendHow> suspend_{SuspendHow::kNone};
  std::atomic<int> threads_live_{0};
  std::atomic<int> parked_{0};
  ExitHandler* handler_ = nullptr;  // of the current run

  std::mutex halt_mu_;
  uint64_t active_mask_ = 0;
  uint64_t halted_if0_mask_ = 0;
  std::atomic<uint32_t> lowest_rr_{0};
};

}  // namespace tsvirt::vmm
