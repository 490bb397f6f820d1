// Vcpu: see vcpu.h.
#include "vmm/vcpu.h"

#include "vmm/layout.h"
#include "vmm/vm.h"

namespace tsvirt::vmm {

namespace {
uint32_t size_mask(int size) {
  return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}
}  // namespace

Vcpu::Vcpu(Vm& vm, int id, bool x2apic, TimerService& timers, InterruptRouter& router)
    : vm_(vm), id_(id) {
  lapic_ = std::make_unique<Vlapic>(static_cast<uint32_t>(id), id == 0, x2apic,
                                    /*tsc_deadline_allowed=*/true, router, timers, *this);
  exit_.vcpu = id;
}

Vcpu::~Vcpu() = default;

Error Vcpu::init(VmBackend& backend, int max_vcpus, bool x2apic) {
  VcpuConfig config;
  config.id = id_;
  config.max_vcpus = max_vcpus;
  config.x2apic = x2apic;
  if (Error e = backend.create_vcpu(config, *this, &backend_)) return e;
  if (Error e = reset_registers()) return e;
  wait_sipi_.store(id_ != 0, std::memory_order_release);
  return Error::ok();
}

Error Vcpu::reset_registers() {
  // bhyve vcpu_reset (reference 4.6). CS uses the SDM's power-on access rights (code,
  // 0x9B) rather than bhyve's 0x93, which both backends accept in real mode.
  x86::CpuState s;
  s.rip = 0xFFF0;
  s.rflags = 0x2;
  s.gpr[x86::RDX] = 0xF00;
  s.cr0 = 0x20;  // CR0.NE
  s.cs = x86::Segment{0xFFFF0000ull, 0xFFFF, 0xF000, 0x9B};
  x86::Segment data{0, 0xFFFF, 0, 0x93};
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = x86::Segment{0, 0, 0, 0x8B};
  s.ldtr = x86::Segment{0, 0xFFFF, 0, 0x82};
  s.gdtr = x86::DescriptorTable{0, 0xFFFF};
  s.idtr = x86::DescriptorTable{0, 0xFFFF};
  s.dr[6] = 0xFFFF0FF0;
  s.dr[7] = 0x400;
  if (Error e = backend_->reset()) return e;
  return backend_->set_state(s);
}

// ---- control --------------------------------------------------------------------------

void Vcpu::wake() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    ++wake_seq_;
  }
  wake_cv_.notify_all();
}

void Vcpu::kick() {
  wake();
  if (backend_) backend_->kick_stop();
}

void Vcpu::request_stop() {
  stop_.store(true, std::memory_order_release);
  kick();
}

Error Vcpu::activate() {
  if (!wait_sipi_.load(std::memory_order_acquire)) return Error::ok();
  wait_sipi_.store(false, std::memory_order_release);
  if (phase() == Phase::kRunning || phase() == Phase::kParked) vm_.vcpu_active(id_, true);
  wake();
  return Error::ok();
}

bool Vcpu::loop_interrupted() const {
  return stop_.load(std::memory_order_acquire) || vm_.stop_requested() ||
         vm_.pause_requested() || vm_.suspended() != SuspendHow::kNone;
}

template <typename Pred>
void Vcpu::wait_for(Pred pred) {
  std::unique_lock<std::mutex> lock(wake_mu_);
  for (;;) {
    uint64_t seq = wake_seq_;
    lock.unlock();
    bool done = pred() || loop_interrupted();
    lock.lock();
    if (done) return;
    while (wake_seq_ == seq) wake_cv_.wait(lock);
  }
}

Error Vcpu::check_not_running(bool allow_in_exit) const {
  Phase p = phase();
  if (p == Phase::kRunning) {
    return Error::state("vCPU " + std::to_string(id_) +
                        " is running guest code; pause the VM or use its exit handler");
  }
  if (p == Phase::kInExit && !allow_in_exit) {
    return Error::state("vCPU " + std::to_string(id_) + " is inside an exit");
  }
  return Error::ok();
}

// ---- run loop -------------------------------------------------------------------------

ExitAction Vcpu::deliver(VmExit& exit) {
  if (!handler_ || std::this_thread::get_id() != thread_) {
    // A management access from another thread (e.g. the soft CPU's get_msr asking the
    // host about an MSR it does not keep, called from JavaScript) gets the default answer
    // an unclaimed access gets; only the vCPU's own thread may block in the handler.
    return ExitAction::kContinue;
  }
  exits_.fetch_add(1, std::memory_order_relaxed);
  phase_.store(Phase::kInExit, std::memory_order_release);
  ExitAction action = handler_->on_exit(exit);
  phase_.store(Phase::kRunning, std::memory_order_release);
  if (action == ExitAction::kStop) vm_.stop();
  return action;
}

bool Vcpu::try_post(PostedSpace space, uint64_t addr, int size, uint64_t value) {
  // Only the vCPU's own thread inside its run loop posts (as deliver(): management
  // accesses from other threads never reach the handler).
  if (!handler_ || std::this_thread::get_id() != thread_) return false;
  bool matched = false;
  if (vm_.posted_writes().post(id_, space, addr, size, value, *handler_, &matched)) {
    posted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (matched) posted_fallbacks_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Vcpu::park() {
  phase_.store(Phase::kParked, std::memory_order_release);
  vm_.vcpu_parked(true);
  std::unique_lock<std::mutex> lock(wake_mu_);
  for (;;) {
    uint64_t seq = wake_seq_;
    lock.unlock();
    bool done = !vm_.pause_requested() || stop_.load() || vm_.stop_requested() ||
                vm_.suspended() != SuspendHow::kNone;
    lock.lock();
    if (done) break;
    while (wake_seq_ == seq) wake_cv_.wait(lock);
  }
  lock.unlock();
  vm_.vcpu_parked(false);
  phase_.store(Phase::kRunning, std::memory_order_release);
}

void Vcpu::do_init() {
  // INIT: the target resets and waits for a SIPI (bhyve treats every INIT target so).
  lapic_->reset(false);
  reset_registers();
  // A SIPI already pending arrived after this INIT (on_sipi accepts one only while an INIT
  // is pending or the vCPU waits), so it stands: a descheduled AP must not lose it.
  if (!wait_sipi_.exchange(true)) vm_.vcpu_active(id_, false);
}

void Vcpu::do_sipi(uint8_t vector) {
  x86::CpuState s;
  if (backend_->get_state(&s)) return;
  s.cs.selector = static_cast<uint16_t>(vector) << 8;
  s.cs.base = static_cast<uint64_t>(vector) << 12;
  s.rip = 0;
  backend_->set_state(s);
  wait_sipi_.store(false, std::memory_order_release);
  vm_.vcpu_active(id_, true);
}

bool Vcpu::deliverable_interrupt() {
  if (lapic_->pending_vector() >= 0) return true;
  return vm_.pic_output_hint() &&
         (extint_flag_.load(std::memory_order_acquire) || lapic_->accepts_extint());
}

void Vcpu::handle_hlt() {
  hlts_.fetch_add(1, std::memory_order_relaxed);
  bool ie = backend_->interrupts_enabled();
  if (cap_hlt_exit_) {
    exit_.code = ExitCode::kHlt;
    exit_.rip = backend_->exit_rip();
    exit_.u.hlt.rflags = ie ? 0x202 : 0x2;
    deliver(exit_);
  }
  if (!ie) vm_.vcpu_halted(id_, true);
  wait_for([&] {
    return (ie && deliverable_interrupt()) || nmi_pending_.load(std::memory_order_acquire) ||
           init_pending_.load(std::memory_order_acquire);
  });
  if (!ie) vm_.vcpu_halted(id_, false);
  // Tell the backend to look at the interrupt controller again: the soft CPU polls
  // pending_interrupt() only after a notification, and the one that made this interrupt
  // pending may have been consumed while the vector was still blocked.
  if (ie && deliverable_interrupt()) backend_->wake_from_hlt();
}

void Vcpu::run_loop(ExitHandler& handler) {
  handler_ = &handler;
  thread_ = std::this_thread::get_id();
  stop_.store(false, std::memory_order_release);
  phase_.store(Phase::kRunning, std::memory_order_release);
  if (!wait_sipi_.load()) vm_.vcpu_active(id_, true);
  for (;;) {
    SuspendHow how = vm_.suspended();
    if (how != SuspendHow::kNone) {
      exit_.code = ExitCode::kSuspended;
      exit_.rip = 0;
      exit_.u.suspended.how = how;
      deliver(exit_);
      break;
    }
    if (stop_.load(std::memory_order_acquire) || vm_.stop_requested()) break;
    if (vm_.pause_requested()) {
      park();
      continue;
    }
    if (init_pending_.exchange(false)) do_init();
    if (wait_sipi_.load(std::memory_order_acquire)) {
      if (sipi_pending_.exchange(false)) {
        do_sipi(sipi_vector_.load());
      } else {
        wait_for([&] {
          return sipi_pending_.load() || init_pending_.load() || !wait_sipi_.load();
        });
        continue;
      }
    }
    if (nmi_pending_.exchange(false)) backend_->inject_nmi();
    {
      std::lock_guard<std::mutex> lock(exc_mu_);
      if (exc_pending_) {
        exc_pending_ = false;
        backend_->inject_exception(exc_vector_, exc_has_error_, exc_error_);
      }
    }
    RunStop stop = backend_->run();
    switch (stop) {
      case RunStop::kKicked:
        continue;
      case RunStop::kHlt:
        handle_hlt();
        continue;
      case RunStop::kShutdown:
        vm_.suspend(SuspendHow::kTripleFault);
        continue;
      case RunStop::kDebug:
        exit_.code = ExitCode::kDebug;
        exit_.rip = backend_->exit_rip();
        exit_.error = "debug stop";
        deliver(exit_);
        continue;
      case RunStop::kMtrap:
        exit_.code = ExitCode::kMtrap;
        exit_.rip = backend_->exit_rip();
        deliver(exit_);
        continue;
      case RunStop::kBreakpoint:
        exit_.code = ExitCode::kBpt;
        exit_.rip = backend_->exit_rip();
        exit_.u.bpt = BptExit{1, false};
        deliver(exit_);
        if (exit_.u.bpt.pass) backend_->pass_breakpoint();
        continue;
      case RunStop::kPause:
        exit_.code = ExitCode::kPause;
        exit_.rip = backend_->exit_rip();
        deliver(exit_);
        continue;
      case RunStop::kError:
        exit_.code = ExitCode::kError;
        exit_.rip = backend_->exit_rip();
        exit_.error = backend_->error_message();
        deliver(exit_);
        vm_.stop();
        break;
    }
    break;
  }
  vm_.vcpu_active(id_, false);
  phase_.store(Phase::kDone, std::memory_order_release);
  handler_ = nullptr;
  thread_ = std::thread::id();
  vm_.vcpu_thread_done();
  handler.on_vcpu_done(id_);
}

// ---- VcpuHost -------------------------------------------------------------------------

uint32_t Vcpu::pio_in(uint16_t port, int size, bool string, bool rep) {
  if (size != 1 && size != 2 && size != 4) return 0xFFFFFFFFu;
  uint32_t v;
  switch (vm_.port_owner(port)) {
    case PortOwner::kPic: v = vm_.pic().port_in(port, size); break;
    case PortOwner::kPit: v = vm_.pit().port_in(port, size); break;
    case PortOwner::kRtc: v = vm_.rtc().port_in(port, size); break;
    case PortOwner::kPmtmr: v = vm_.pmtmr().port_in(port, size); break;
    case PortOwner::kNone:
    default:
      if (size == 1 && !string) {
        int32_t pv = vm_.port_read_values().lookup(port);
        if (pv >= 0) {
          pio_vmm_.fetch_add(1, std::memory_order_relaxed);
          return static_cast<uint32_t>(pv);
        }
      }
      if (vm_.pci_conf1().port_in(port, size, string, &v)) {
        pio_vmm_.fetch_add(1, std::memory_order_relaxed);
        return v;
      }
      exit_.code = ExitCode::kInout;
      exit_.rip = backend_->exit_rip();
      exit_.u.inout = InoutExit{port, static_cast<uint8_t>(size), true, string, rep, 0xFFFFFFFFu};
      deliver(exit_);
      return exit_.u.inout.eax & size_mask(size);
  }
  pio_vmm_.fetch_add(1, std::memory_order_relaxed);
  return v & size_mask(size);
}

void Vcpu::pio_out(uint16_t port, int size, uint32_t value, bool string, bool rep) {
  if (size != 1 && size != 2 && size != 4) return;
  value &= size_mask(size);
  switch (vm_.port_owner(port)) {
    case PortOwner::kPic: vm_.pic().port_out(port, size, value); break;
    case PortOwner::kPit: vm_.pit().port_out(port, size, value); break;
    case PortOwner::kRtc: vm_.rtc().port_out(port, size, value); break;
    case PortOwner::kPmtmr: break;  // read-only register
    case PortOwner::kNone:
    default:
      if (vm_.pci_conf1().port_out(port, size, string, value)) break;
      if (!string && try_post(PostedSpace::kPort, port, size, value)) return;
      exit_.code = ExitCode::kInout;
      exit_.rip = backend_->exit_rip();
      exit_.u.inout = InoutExit{port, static_cast<uint8_t>(size), false, string, rep, value};
      deliver(exit_);
      return;
  }
  pio_vmm_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Vcpu::mmio_read(uint64_t gpa, int size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) return ~0ull;
  if (lapic_->claims(gpa)) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    return lapic_->mmio_read(gpa, size);
  }
  if (gpa - layout::kIoapicBase < layout::kIoapicSize) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    return vm_.ioapic().mmio_read(gpa - layout::kIoapicBase, size);
  }
  if (gpa - layout::kHpetBase < layout::kHpetSize) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    return vm_.hpet().mmio_read(gpa - layout::kHpetBase, size);
  }
  exit_.code = ExitCode::kMmio;
  exit_.rip = backend_->exit_rip();
  exit_.u.mmio = MmioExit{gpa, static_cast<uint8_t>(size), false, ~0ull};
  deliver(exit_);
  uint64_t v = exit_.u.mmio.value;
  return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

void Vcpu::mmio_write(uint64_t gpa, int size, uint64_t value) {
  if (size != 1 && size != 2 && size != 4 && size != 8) return;
  if (size < 8) value &= (1ull << (size * 8)) - 1;
  if (lapic_->claims(gpa)) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    lapic_->mmio_write(gpa, size, value);
    return;
  }
  if (gpa - layout::kIoapicBase < layout::kIoapicSize) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    vm_.ioapic().mmio_write(gpa - layout::kIoapicBase, size, value);
    return;
  }
  if (gpa - layout::kHpetBase < layout::kHpetSize) {
    mmio_vmm_.fetch_add(1, std::memory_order_relaxed);
    vm_.hpet().mmio_write(gpa - layout::kHpetBase, size, value);
    return;
  }
  if (try_post(PostedSpace::kMmio, gpa, size, value)) return;
  exit_.code = ExitCode::kMmio;
  exit_.rip = backend_->exit_rip();
  exit_.u.mmio = MmioExit{gpa, static_cast<uint8_t>(size), true, value};
  deliver(exit_);
}

bool Vcpu::rdmsr(uint32_t index, uint64_t* value) {
  if (Vlapic::owns_msr(index)) return lapic_->rdmsr(index, value);
  exit_.code = ExitCode::kRdmsr;
  exit_.rip = backend_->exit_rip();
  exit_.u.msr = MsrExit{index, 0, false};
  deliver(exit_);
  *value = exit_.u.msr.value;
  return exit_.u.msr.ok;
}

bool Vcpu::wrmsr(uint32_t index, uint64_t value) {
  if (Vlapic::owns_msr(index)) {
    bool ok = lapic_->wrmsr(index, value);
    if (ok && index == x86::msr::kApicBase) backend_->apic_base_changed(lapic_->apic_base());
    return ok;
  }
  exit_.code = ExitCode::kWrmsr;
  exit_.rip = backend_->exit_rip();
  exit_.u.msr = MsrExit{index, value, false};
  deliver(exit_);
  return exit_.u.msr.ok;
}

int Vcpu::pending_interrupt() {
  // ExtINT from the 8259 first, as vmm.ko checks it before the local APIC.
  if (vm_.pic_output_hint() &&
      (extint_flag_.load(std::memory_order_acquire) || lapic_->accepts_extint())) {
    int v = vm_.pic().pending_vector();
    if (v >= 0) {
      extint_in_flight_ = true;
      return v;
    }
  }
  extint_in_flight_ = false;
  return lapic_->pending_vector();
}

void Vcpu::ack_interrupt(int vector) {
  injected_.fetch_add(1, std::memory_order_relaxed);
  if (extint_in_flight_) {
    extint_in_flight_ = false;
    // Clear before the INTA: a still-high 8259 output re-signals from inside ack().
    extint_flag_.store(false, std::memory_order_release);
    vm_.pic().ack();
    return;
  }
  lapic_->ack(vector);
}

uint64_t Vcpu::read_cr8() { return lapic_->read_cr8(); }
void Vcpu::write_cr8(uint64_t value) { lapic_->write_cr8(value); }

// ---- VcpuEvents -----------------------------------------------------------------------

void Vcpu::on_interrupt_pending() {
  wake();
  if (backend_) backend_->kick_interrupt();
}

void Vcpu::on_nmi() {
  nmi_pending_.store(true, std::memory_order_release);
  wake();
  if (backend_) backend_->kick_stop();
}

void Vcpu::on_extint() {
  extint_flag_.store(true, std::memory_order_release);
  wake();
  if (backend_) backend_->kick_interrupt();
}

void Vcpu::on_init() {
  init_pending_.store(true, std::memory_order_release);
  wake();
  if (backend_) backend_->kick_stop();
}

void Vcpu::on_sipi(uint8_t vector) {
  // A SIPI only matters to a vCPU waiting for one (or about to, after a pending INIT).
  if (!wait_sipi_.load(std::memory_order_acquire) &&
      !init_pending_.load(std::memory_order_acquire)) {
    return;
  }
  sipi_vector_.store(vector, std::memory_order_release);
  sipi_pending_.store(true, std::memory_order_release);
  wake();
}

uint64_t Vcpu::guest_tsc() { return backend_ ? backend_->guest_tsc() : 0; }
uint64_t Vcpu::tsc_hz() { return backend_ ? backend_->tsc_hz() : 1; }

// ---- registers ------------------------------------------------------------------------

Error Vcpu::get_state(x86::CpuState* out) {
  if (Error e = check_not_running(true)) return e;
  if (Error e = backend_->get_state(out)) return e;
  out->cr8 = lapic_->read_cr8();  // the vlapic's TPR is the one CR8
  return Error::ok();
}

Error Vcpu::set_state(const x86::CpuState& in) {
  // Not from inside an exit: the instruction that exited has not completed (the soft CPU
  // forbids it outright; KVM would overwrite RAX/RIP when completing the I/O).
  if (Error e = check_not_running(false)) return e;
  if (Error e = backend_->set_state(in)) return e;
  lapic_->write_cr8(in.cr8);
  return Error::ok();
}

Error Vcpu::get_msr(uint32_t index, uint64_t* value) {
  if (Error e = check_not_running(true)) return e;
  if (Vlapic::owns_msr(index)) {
    if (!lapic_->rdmsr(index, value)) return Error::invalid("MSR not readable in this APIC mode");
    return Error::ok();
  }
  return backend_->get_msr(index, value);
}

Error Vcpu::set_msr(uint32_t index, uint64_t value) {
  if (Error e = check_not_running(false)) return e;
  if (Vlapic::owns_msr(index)) {
    if (!lapic_->wrmsr(index, value)) return Error::invalid("value refused by the local APIC");
    if (index == x86::msr::kApicBase) backend_->apic_base_changed(lapic_->apic_base());
    return Error::ok();
  }
  return backend_->set_msr(index, value);
}

Error Vcpu::set_cpuid(const std::vector<CpuidEntry>& entries) {
  if (Error e = check_not_running(false)) return e;
  return backend_->set_cpuid(entries);
}

Error Vcpu::get_cpuid(std::vector<CpuidEntry>* entries) { return backend_->get_cpuid(entries); }

Error Vcpu::set_capability(Capability cap, bool on) {
  if (Error e = check_not_running(false)) return e;
  if (cap == Capability::kHaltExit) {
    cap_hlt_exit_ = on;
    return Error::ok();
  }
  return backend_->set_capability(cap, on);
}

Error Vcpu::inject_exception(int vector, bool has_error_code, uint32_t error_code) {
  if (vector < 0 || vector > 31 || vector == 2) {
    return Error::invalid("exception vector " + std::to_string(vector) +
                          " is not an exception (0-31, not NMI)");
  }
  {
    std::lock_guard<std::mutex> lock(exc_mu_);
    exc_pending_ = true;
    exc_vector_ = vector;
    exc_has_error_ = has_error_code;
    exc_error_ = error_code;
  }
  kick();
  return Error::ok();
}

Vcpu::Stats Vcpu::stats() const {
  Stats s;
  s.exits_to_handler = exits_.load(std::memory_order_relaxed);
  s.pio_in_vmm = pio_vmm_.load(std::memory_order_relaxed);
  s.mmio_in_vmm = mmio_vmm_.load(std::memory_order_relaxed);
  s.hlt_sleeps = hlts_.load(std::memory_order_relaxed);
  s.interrupts_injected = injected_.load(std::memory_order_relaxed);
  s.posted_writes = posted_.load(std::memory_order_relaxed);
  s.posted_fallbacks = posted_fallbacks_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tsvirt::vmm
