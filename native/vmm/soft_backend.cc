// Soft-CPU backend: see soft_backend.h.
#include "vmm/soft_backend.h"

#include <x86intrin.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "soft/cpu.h"
#include "vmm/clock.h"

namespace tsvirt::vmm {

namespace {

// Host TSC ticks per second, measured once over at least 20 ms: the window opens when
// the first soft VM is created (start_tsc_calibration) and closes at the first question,
// waiting only for what is left of the 20 ms. The VM process builds its machine (devices,
// firmware tables, kernel loading) in between, so the measurement no longer holds up the
// start; a longer window only makes the figure more precise.
struct TscCalibration {
  std::once_flag started, done;
  uint64_t t0 = 0, c0 = 0, hz = 0;
};
TscCalibration& tsc_calibration() {
  static TscCalibration c;
  return c;
}

void start_tsc_calibration() {
  TscCalibration& c = tsc_calibration();
  std::call_once(c.started, [&c] {
    c.t0 = monotonic_ns();
    c.c0 = __rdtsc();
  });
}

uint64_t host_tsc_hz() {
  start_tsc_calibration();
  TscCalibration& c = tsc_calibration();
  std::call_once(c.done, [&c] {
    uint64_t t1;
    do {
      t1 = monotonic_ns();
    } while (t1 - c.t0 < 20000000);
    uint64_t c1 = __rdtsc();
    c.hz = static_cast<uint64_t>(static_cast<unsigned __int128>(c1 - c.c0) * 1000000000u / (t1 - c.t0));
    if (c.hz == 0) c.hz = 1000000000ull;
  });
  return c.hz;
}

// Forwards the CPU's callbacks to the vmm (soft::CpuHost has no string/rep flags).
class HostAdapter final : public soft::CpuHost {
 public:
  explicit HostAdapter(VcpuHost& host) : host_(host) {}
  uint32_t pio_in(uint16_t port, int size) override { return host_.pio_in(port, size, false, false); }
  void pio_out(uint16_t port, int size, uint32_t value) override {
    host_.pio_out(port, size, value, false, false);
  }
  uint64_t mmio_read(uint64_t gpa, int size) override { return host_.mmio_read(gpa, size); }
  void mmio_write(uint64_t gpa, int size, uint64_t value) override {
    host_.mmio_write(gpa, size, value);
  }
  bool rdmsr(uint32_t index, uint64_t* value) override { return host_.rdmsr(index, value); }
  bool wrmsr(uint32_t index, uint64_t value) override { return host_.wrmsr(index, value); }
  int pending_interrupt() override { return host_.pending_interrupt(); }
  void ack_interrupt(int vector) override { host_.ack_interrupt(vector); }
  uint64_t read_cr8() override { return host_.read_cr8(); }
  void write_cr8(uint64_t value) override { host_.write_cr8(value); }

 private:
  VcpuHost& host_;
};

class SoftVcpu final : public VcpuBackend {
 public:
  SoftVcpu(soft::PhysMemory& memory, VcpuHost& host, int id)
      : adapter_(host), cpu_(soft::Cpu::create(memory, adapter_, id)) {}

  RunStop run() override {
    if (pass_bpt_) {
      // Deliver the INT3 the host passed on: run it once with INT3 exits off. Should an
      // interrupt be delivered first, the INT3 exits again later and is decided again.
      pass_bpt_ = false;
      cpu_->set_exit_controls(controls_ & ~soft::exit_ctl::kExitInt3);
      soft::StopReason r = cpu_->run(1);
      cpu_->set_exit_controls(controls_);
      if (r != soft::StopReason::kBudget) return map(r);
      if (mtrap_) return RunStop::kMtrap;
    }
    if (mtrap_) {
      // MTRAP: exactly one instruction (or one exception delivery) per run().
      const uint64_t before = cpu_->instructions_retired();
      soft::StopReason r = cpu_->run(1);
      if (r == soft::StopReason::kBudget ||
          (r == soft::StopReason::kStopRequested && cpu_->instructions_retired() != before)) {
        return RunStop::kMtrap;
      }
      return map(r);
    }
    // A bounded budget keeps the vmm's loop conditions (stop, pause, INIT) looked at even
    // if a kick raced with the start of run().
    return map(cpu_->run(kBudget));
  }
  void kick_interrupt() override { cpu_->notify_interrupt(); }
  void apic_base_changed(uint64_t value) override { cpu_->set_apic_enabled((value >> 11) & 1); }
  void kick_stop() override { cpu_->request_stop(); }
  void wake_from_hlt() override { cpu_->notify_interrupt(); }

  Error get_state(x86::CpuState* out) override {
    cpu_->get_state(out);
    return Error::ok();
  }
  Error set_state(const x86::CpuState& in) override {
    cpu_->set_state(in);
    return Error::ok();
  }
  Error get_msr(uint32_t index, uint64_t* value) override {
    if (!cpu_->get_msr(index, value)) {
      return Error::invalid("MSR " + std::to_string(index) + " is not kept by the soft CPU");
    }
    return Error::ok();
  }
  Error set_msr(uint32_t index, uint64_t value) override {
    if (!cpu_->set_msr(index, value)) {
      return Error::invalid("MSR " + std::to_string(index) + " refused the value (soft CPU)");
    }
    return Error::ok();
  }
  Error set_cpuid(const std::vector<CpuidEntry>& entries) override {
    std::vector<soft::CpuidEntry> t(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      t[i].leaf = entries[i].leaf;
      t[i].subleaf = entries[i].subleaf;
      t[i].has_subleaf = entries[i].has_subleaf;
      t[i].eax = entries[i].eax;
      t[i].ebx = entries[i].ebx;
      t[i].ecx = entries[i].ecx;
      t[i].edx = entries[i].edx;
    }
    cpu_->set_cpuid(t.data(), t.size());
    return Error::ok();
  }
  Error get_cpuid(std::vector<CpuidEntry>* entries) override {
    std::vector<soft::CpuidEntry> t;
    cpu_->get_cpuid(&t);
    entries->resize(t.size());
    for (size_t i = 0; i < t.size(); ++i) {
      CpuidEntry& e = (*entries)[i];
      e.leaf = t[i].leaf;
      e.subleaf = t[i].subleaf;
      e.has_subleaf = t[i].has_subleaf;
      e.eax = t[i].eax;
      e.ebx = t[i].ebx;
      e.ecx = t[i].ecx;
      e.edx = t[i].edx;
    }
    return Error::ok();
  }
  Error reset() override {
    cpu_->reset();
    return Error::ok();
  }
  Error inject_exception(int vector, bool has_error_code, uint32_t error_code) override {
    cpu_->inject_exception(vector, has_error_code, error_code);
    return Error::ok();
  }
  Error inject_nmi() override {
    cpu_->inject_nmi();
    return Error::ok();
  }
  bool interrupts_enabled() override {
    x86::CpuState s;
    cpu_->get_state(&s);
    return (s.rflags & 0x200) != 0;
  }
  uint64_t guest_tsc() override {
    uint64_t v = 0;
    cpu_->get_msr(x86::msr::kTsc, &v);
    return v;
  }
  uint64_t tsc_hz() override { return host_tsc_hz(); }
  uint64_t exit_rip() override {
    x86::CpuState s;
    cpu_->get_state(&s);
    return s.rip;
  }
  Error set_capability(Capability cap, bool on) override {
    switch (cap) {
      case Capability::kMtrapExit:
        mtrap_ = on;
        return Error::ok();
      case Capability::kBptExit:
        set_control(soft::exit_ctl::kExitInt3, on);
        return Error::ok();
      case Capability::kPauseExit:
        set_control(soft::exit_ctl::kExitPause, on);
        return Error::ok();
      case Capability::kHaltExit:
        return Error::ok();
    }
    return Error::unsupported("capability " + std::to_string(static_cast<int>(cap)) +
                              " is not known to the soft CPU");
  }
  Error pass_breakpoint() override {
    pass_bpt_ = true;
    return Error::ok();
  }
  const char* error_message() override { return cpu_->error_message(); }

 private:
  static RunStop map(soft::StopReason r) {
    switch (r) {
      case soft::StopReason::kBudget:
      case soft::StopReason::kStopRequested:
      case soft::StopReason::kInterruptWindow:
        return RunStop::kKicked;
      case soft::StopReason::kHlt: return RunStop::kHlt;
      case soft::StopReason::kShutdown: return RunStop::kShutdown;
      case soft::StopReason::kDebug: return RunStop::kDebug;
      case soft::StopReason::kError: return RunStop::kError;
      case soft::StopReason::kBreakpoint: return RunStop::kBreakpoint;
      case soft::StopReason::kPause: return RunStop::kPause;
    }
    return RunStop::kError;
  }
  void set_control(uint32_t bit, bool on) {
    controls_ = on ? (controls_ | bit) : (controls_ & ~bit);
    cpu_->set_exit_controls(controls_);
  }

  static constexpr uint64_t kBudget = 50000000;
  // Debug capabilities; changed only while the vCPU is not inside run() (Vcpu checks).
  bool mtrap_ = false;
  bool pass_bpt_ = false;
  uint32_t controls_ = 0;
  HostAdapter adapter_;
  std::unique_ptr<soft::Cpu> cpu_;
};

class SoftVm final : public VmBackend {
 public:
  SoftVm() : memory_(soft::PhysMemory::create()) {}
  const char* name() const override { return "soft"; }

  Error map_memory(int slot, uint64_t gpa, uint64_t size, uint8_t* host, bool writable) override {
    soft::RamRegion r;
    r.gpa = gpa;
    r.size = size;
    r.host = host;
    r.writable = writable;
    if (!memory_->add_region(r)) {
      return Error::invalid("the soft CPU refused the memory region (overlap)");
    }
    slots_[slot] = Slot{gpa, size};
    return Error::ok();
  }
  // The vmm calls this only while no vCPU runs (live_memory_changes() is false), which is
  // what PhysMemory::remove_region requires; each vCPU drops its cached translations and
  // decoded code at its next run().
  Error unmap_memory(int slot) override {
    auto it = slots_.find(slot);
    if (it == slots_.end()) {
      return Error::invalid("memory slot " + std::to_string(slot) + " is not mapped");
    }
    if (!memory_->remove_region(it->second.gpa, it->second.size)) {
      return Error::invalid("the soft CPU has no memory region for slot " + std::to_string(slot));
    }
    slots_.erase(it);
    return Error::ok();
  }
  Error create_vcpu(const VcpuConfig& config, VcpuHost& host,
                    std::unique_ptr<VcpuBackend>* out) override {
    *out = std::make_unique<SoftVcpu>(*memory_, host, config.id);
    return Error::ok();
  }
  void invalidate_code(uint64_t gpa, uint64_t length) override {
    memory_->invalidate_code(gpa, length);
  }
  // The soft CPU's default CPUID always advertises x2APIC (set_cpuid keeps the bit as
  // given), so its vlapics accept x2APIC mode regardless.
  bool advertises_x2apic(bool) const override { return true; }
  bool live_memory_changes() const override { return false; }

 private:
  struct Slot {
    uint64_t gpa, size;
  };
  std::unique_ptr<soft::PhysMemory> memory_;
  std::map<int, Slot> slots_;  // the vmm's slot id -> the region given to add_region
};

}  // namespace

Error create_soft_backend(std::unique_ptr<VmBackend>* out) {
  start_tsc_calibration();  // done by the first tsc_hz(), at the latest 20 ms later
  *out = std::make_unique<SoftVm>();
  return Error::ok();
}

}  // namespace tsvirt::vmm
