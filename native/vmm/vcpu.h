// One virtual CPU of a Vm: its local APIC, its run loop, and the exit dispatch shared by
// both backends.
//
// The run loop is bhyve's vm_run() loop in one place: it applies pending INIT/SIPI/NMI/
// exception events, runs the backend, sleeps on HLT until an interrupt (or, with IF=0,
// until NMI/INIT; all vCPUs so halted suspend the VM with "halt", as vmm.ko does), turns a
// triple fault into a VM suspend, and ends on suspend, stop or error. Port I/O, MMIO and
// MSR accesses from the backend are served by the in-vmm devices first (vlapic, vioapic,
// vhpet by address; vatpic, vatpit, vrtc, vpmtmr by port) and handed to the ExitHandler
// only when none claims them; a write that matches one of the VM's posted write ranges
// (posted_writes.h) is queued through ExitHandler::post_write instead, without waiting.
// Application processors start in wait-for-SIPI, the BSP runs; activate() starts an AP
// directly (vm_activate_cpu).
//
// Threading: run_loop() runs on the vCPU's own thread. VcpuEvents (interrupts, NMI, INIT,
// SIPI) and the request_* methods may be called from any thread. Register and MSR access
// from other threads is allowed while the vCPU is not running guest code: before start,
// while parked (Vm::pause), after the loop ended, and (reads only) while the vCPU waits in
// its own exit handler, whose instruction has not completed yet.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vmm/backend.h"
#include "vmm/devices/vlapic.h"
#include "vmm/exit.h"
#include "vmm/irq.h"
#include "vmm/posted_writes.h"

namespace tsvirt::vmm {

class Vm;

class Vcpu final : public VcpuHost, public VcpuEvents {
 public:
  enum class Phase : int { kIdle, kRunning, kInExit, kParked, kDone };

  Vcpu(Vm& vm, int id, bool x2apic, TimerService& timers, InterruptRouter& router);
  ~Vcpu() override;
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  Error init(VmBackend& backend, int max_vcpus, bool x2apic);
  int id() const { return id_; }
  Vlapic& lapic() { return *lapic_; }

  // Runs until suspend/stop/error. Called by the Vm on the vCPU thread.
  void run_loop(ExitHandler& handler);
  Phase phase() const { return phase_.load(std::memory_order_acquire); }

  // Control (any thread).
  void request_stop();
  void kick();  // re-examine the loop conditions (pause, suspend)
  // vm_activate_cpu: an AP runs from its current state instead of waiting for SIPI.
  Error activate();
  bool waiting_for_sipi() const { return wait_sipi_.load(std::memory_order_acquire); }

  // Registers (see the threading note above).
  Error get_state(x86::CpuState* out);
  Error set_state(const x86::CpuState& in);
  Error get_msr(uint32_t index, uint64_t* value);
  Error set_msr(uint32_t index, uint64_t value);
  Error set_cpuid(const std::vector<CpuidEntry>& entries);
  Error get_cpuid(std::vector<CpuidEntry>* entries);
  Error set_capability(Capability cap, bool on);
  // hlt_exit is kept here; mtrap_exit, bpt_exit and pause_exit are the backend's (they
  // produce the kMtrap, kBpt and kPause exits; a kBpt answered with `pass` delivers #BP).
  // bhyve's vcpu_reset register values (reference 4.6).
  Error reset_registers();

  // Event injection (any thread): applied by the vCPU thread before it next enters.
  Error inject_exception(int vector, bool has_error_code, uint32_t error_code);
  void inject_nmi() { on_nmi(); }

  // Statistics for tests and benches.
  struct Stats {
    uint64_t exits_to_handler = 0;
    uint64_t pio_in_vmm = 0;
    uint64_t mmio_in_vmm = 0;
    uint64_t hlt_sleeps = 0;
    uint64_t interrupts_injected = 0;
    uint64_t posted_writes = 0;     // writes queued through a posted write range
    uint64_t posted_fallbacks = 0;  // matched a range but went the normal path (ring full)
  };
  Stats stats() const;

  // VcpuHost (vCPU thread).
  uint32_t pio_in(uint16_t port, int size, bool string, bool rep) override;
  void pio_out(uint16_t port, int size, uint32_t value, bool string, bool rep) override;
  uint64_t mmio_read(uint64_t gpa, int size) override;
  void mmio_write(uint64_t gpa, int size, uint64_t value) override;
  bool rdmsr(uint32_t index, uint64_t* value) override;
  bool wrmsr(uint32_t index, uint64_t value) override;
  int pending_interrupt() override;
  void ack_interrupt(int vector) override;
  uint64_t read_cr8() override;
  void write_cr8(uint64_t value) override;

  // VcpuEvents (any thread).
  void on_interrupt_pending() override;
  void on_nmi() override;
  void on_extint() override;
  void on_init() override;
  void on_sipi(uint8_t vector) override;
  uint64_t guest_tsc() override;
  uint64_t tsc_hz() override;

 private:
  ExitAction deliver(VmExit& exit);
  // Offers a write to the posted write ranges; true when it was queued (no exit).
  bool try_post(PostedSpace space, uint64_t addr, int size, uint64_t value);
  void wake();
  // Sleeps until pred() holds or a loop condition (stop, suspend, pause) is raised.
  template <typename Pred>
  void wait_for(Pred pred);
  bool loop_interrupted() const;
  void handle_hlt();
  void do_init();
  void do_sipi(uint8_t vector);
  void park();
  bool deliverable_interrupt();
  Error check_not_running(bool allow_in_exit) const;

  Vm& vm_;
  const int id_;
  std::unique_ptr<Vlapic> lapic_;
  std::unique_ptr<VcpuBackend> backend_;
  ExitHandler* handler_ = nullptr;
  std::thread::id thread_;  // the thread inside run_loop(), if any
  VmExit exit_;

  std::atomic<Phase> phase_{Phase::kIdle};
  std::atomic<bool> stop_{false};
  std::atomic<bool> wait_sipi_{false};
  std::atomic<bool> nmi_pending_{false};
  std::atomic<bool> init_pending_{false};
  std::atomic<bool> sipi_pending_{false};
  std::atomic<uint8_t> sipi_vector_{0};
  std::atomic<bool> extint_flag_{false};
  bool extint_in_flight_ = false;  // vCPU thread only
  bool cap_hlt_exit_ = false;

  std::mutex exc_mu_;
  bool exc_pending_ = false;
  int exc_vector_ = 0;
  bool exc_has_error_ = false;
  uint32_t exc_error_ = 0;

  // Wake-up: a leaf lock, never held while taking another.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  uint64_t wake_seq_ = 0;

  std::atomic<uint64_t> exits_{0}, pio_vmm_{0}, mmio_vmm_{0}, hlts_{0}, injected_{0};
  std::atomic<uint64_t> posted_{0}, posted_fallbacks_{0};
};

}  // namespace tsvirt::vmm
