// Vm: see vm.h.
#include "vmm/vm.h"

#include "vmm/backend_select.h"
#include "vmm/layout.h"

namespace tsvirt::vmm {

Vm::Vm(const VmConfig& config) : config_(config) {}

Error Vm::create(const VmConfig& config, std::unique_ptr<Vm>* out) {
  if (config.max_vcpus < 1 || config.max_vcpus > kMaxVcpus) {
    return Error::invalid("vCPU count " + std::to_string(config.max_vcpus) + " is outside 1.." +
                          std::to_string(kMaxVcpus));
  }
  std::unique_ptr<Vm> vm(new Vm(config));
  if (Error e = vm->init()) return e;
  *out = std::move(vm);
  return Error::ok();
}

Error Vm::init() {
  if (Error e = create_backend(config_.backend, &backend_)) return e;
  if (Error e = memory_.setup(config_.memory_size, *backend_)) return e;
  ioapic_ = std::make_unique<Vioapic>(*this);
  pic_ = std::make_unique<Vatpic>(*this);
  pit_ = std::make_unique<Vatpit>(*this, timers_);
  rtc_ = std::make_unique<Vrtc>(*this, timers_, config_.rtc_localtime);
  rtc_->set_memory_cells(memory_.lowmem(), memory_.highmem());
  pmtmr_ = std::make_unique<Vpmtmr>();
  hpet_ = std::make_unique<Vhpet>(*this, timers_);
  for (uint32_t p = 0; p < 65536; ++p) {
    uint16_t port = static_cast<uint16_t>(p);
    if (Vatpic::claims_port(port)) port_owner_[p] = PortOwner::kPic;
    else if (Vatpit::claims_port(port)) port_owner_[p] = PortOwner::kPit;
    else if (Vrtc::claims_port(port)) port_owner_[p] = PortOwner::kRtc;
    else if (Vpmtmr::claims_port(port)) port_owner_[p] = PortOwner::kPmtmr;
  }
  timers_.start();
  return Error::ok();
}

Vm::~Vm() {
  stop();
  join();
  timers_.stop();
  // vCPUs (and their backends) go before the backend that created them.
  for (auto& p : vcpu_ptr_) p.store(nullptr);
  owned_vcpus_.clear();
}

const char* Vm::backend_name() const { return backend_->name(); }

// ---- memory ---------------------------------------------------------------------------

Error Vm::alloc_segment(int id, const std::string& name, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  return memory_.alloc_segment(id, name, size);
}

Error Vm::map_segment(uint64_t gpa, int segid, uint64_t offset, uint64_t len, bool writable) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.load() && !backend_->live_memory_changes()) {
    return Error::state("the " + std::string(backend_->name()) +
                        " backend takes memory mappings only while the VM is not running");
  }
  return memory_.map(gpa, segid, offset, len, writable, *backend_);
}

Error Vm::unmap_segment(uint64_t gpa, uint64_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.load() && !backend_->live_memory_changes()) {
    return Error::state("the " + std::string(backend_->name()) +
                        " backend takes memory mappings only while the VM is not running");
  }
  return memory_.unmap(gpa, len, *backend_);
}

void Vm::invalidate_code(uint64_t gpa, uint64_t len) {
  if (len == 0) return;
  if (gpa + len < gpa) len = ~gpa;  // clamp at the top of the address space
  backend_->invalidate_code(gpa, len);
}

// ---- vCPUs ----------------------------------------------------------------------------

Error Vm::create_vcpu(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 0 || id >= config_.max_vcpus) {
    return Error::invalid("vCPU id " + std::to_string(id) + " is outside 0.." +
                          std::to_string(config_.max_vcpus - 1));
  }
  if (vcpu(id)) return Error::state("vCPU " + std::to_string(id) + " already exists");
  if (running_.load()) return Error::state("vCPUs cannot be created while the VM runs");
  bool x2apic = backend_->advertises_x2apic(config_.x2apic);
  auto v = std::make_unique<Vcpu>(*this, id, x2apic, timers_, *this);
  if (Error e = v->init(*backend_, config_.max_vcpus, x2apic)) return e;
  vcpu_ptr_[id].store(v.get(), std::memory_order_release);
  owned_vcpus_.push_back(std::move(v));
  return Error::ok();
}

Vcpu* Vm::vcpu(int id) {
  if (id < 0 || id >= config_.max_vcpus) return nullptr;
  return vcpu_ptr_[id].load(std::memory_order_acquire);
}

// ---- running --------------------------------------------------------------------------

Error Vm::start(ExitHandler& handler) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.load()) return Error::state("the VM is already running");
  if (suspend_.load() != SuspendHow::kNone) {
    return Error::state("the VM is suspended; create a new VM to boot again");
  }
  // Threads of an earlier run have ended (running_ is false) but may still need joining.
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  int count = static_cast<int>(owned_vcpus_.size());
  if (count == 0) return Error::state("the VM has no vCPUs");
  stop_.store(false);
  pause_.store(false);
  parked_.store(0);
  threads_live_.store(count);
  handler_ = &handler;
  running_.store(true, std::memory_order_release);
  for (auto& v : owned_vcpus_) {
    Vcpu* vp = v.get();
    threads_.emplace_back([vp, &handler] { vp->run_loop(handler); });
  }
  return Error::ok();
}

void Vm::vcpu_thread_done() {
  if (threads_live_.fetch_sub(1) == 1) running_.store(false, std::memory_order_release);
}

void Vm::stop() {
  stop_.store(true, std::memory_order_release);
  for (int i = 0; i < config_.max_vcpus; ++i) {
    if (Vcpu* v = vcpu(i)) v->kick();
  }
}

void Vm::join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

void Vm::suspend(SuspendHow how) {
  if (how == SuspendHow::kNone) return;
  SuspendHow expected = SuspendHow::kNone;
  suspend_.compare_exchange_strong(expected, how);
  for (int i = 0; i < config_.max_vcpus; ++i) {
    if (Vcpu* v = vcpu(i)) v->kick();
  }
}

void Vm::pause() {
  pause_.store(true, std::memory_order_release);
  for (int i = 0; i < config_.max_vcpus; ++i) {
    if (Vcpu* v = vcpu(i)) v->kick();
  }
}

bool Vm::paused() const {
  if (!pause_.load()) return false;
  if (!running_.load()) return true;
  return parked_.load() >= threads_live_.load();
}

void Vm::resume() {
  pause_.store(false, std::memory_order_release);
  for (int i = 0; i < config_.max_vcpus; ++i) {
    if (Vcpu* v = vcpu(i)) v->kick();
  }
}

void Vm::vcpu_parked(bool parked) {
  if (!parked) {
    parked_.fetch_sub(1);
    return;
  }
  if (parked_.fetch_add(1) + 1 == threads_live_.load() && handler_) handler_->on_paused();
}

void Vm::vcpu_active(int id, bool active) {
  std::lock_guard<std::mutex> lock(halt_mu_);
  if (active) active_mask_ |= 1ull << id; else active_mask_ &= ~(1ull << id);
  halted_if0_mask_ &= active_mask_;
}

void Vm::vcpu_halted(int id, bool halted) {
  bool all = false;
  {
    std::lock_guard<std::mutex> lock(halt_mu_);
    if (halted) halted_if0_mask_ |= 1ull << id; else halted_if0_mask_ &= ~(1ull << id);
    all = halted && active_mask_ != 0 && (halted_if0_mask_ & active_mask_) == active_mask_;
  }
  // vmm.ko: every active vCPU halted with interrupts disabled -> VM_SUSPEND_HALT.
  if (all) suspend(SuspendHow::kHalt);
}

Vm::DeviceStats Vm::device_stats() const {
  DeviceStats d;
  d.pit_irqs = pit_->irqs();
  d.pit_periods = pit_->periods();
  d.rtc_irqs = rtc_->interrupts();
  d.hpet_irqs = hpet_->interrupts();
  d.hpet_matches = hpet_->matches();
  d.ioapic_deliveries = ioapic_->delivered();
  d.timer_callbacks = timers_.fired();
  return d;
}

// ---- interrupt injection API ------------------------------------------------------------

Error Vm::lapic_irq(int vcpu_id, int vector) {
  Vcpu* v = vcpu(vcpu_id);
  if (!v) return Error::invalid("no vCPU " + std::to_string(vcpu_id));
  if (vector < 16 || vector > 255) {
    return Error::invalid("interrupt vector " + std::to_string(vector) + " is outside 16..255");
  }
  v->lapic().accept_fixed(static_cast<uint8_t>(vector), false);
  return Error::ok();
}

Error Vm::lapic_local_irq(int vcpu_id, int lvt) {
  if (lvt < 0 || lvt >= Vlapic::kLvtCount) {
    return Error::invalid("LVT index " + std::to_string(lvt) + " is outside 0..6");
  }
  if (vcpu_id == -1) {
    for (int i = 0; i < config_.max_vcpus; ++i) {
      if (Vcpu* v = vcpu(i)) v->lapic().local_irq(lvt);
    }
    return Error::ok();
  }
  Vcpu* v = vcpu(vcpu_id);
  if (!v) return Error::invalid("no vCPU " + std::to_string(vcpu_id));
  v->lapic().local_irq(lvt);
  return Error::ok();
}

Error Vm::lapic_msi(uint64_t addr, uint64_t data) {
  if ((addr >> 20) != 0xFEE) {
    return Error::invalid("MSI address must be in 0xFEE00000-0xFEEFFFFF");
  }
  msi(addr, data);
  return Error::ok();
}

Error Vm::ioapic_irq_op(int pin, IrqOp op) {
  if (pin < 0 || pin >= Vioapic::kPins) {
    return Error::invalid("I/O APIC pin " + std::to_string(pin) + " is outside 0..31");
  }
  ioapic_->pin(pin, op);
  return Error::ok();
}

Error Vm::isa_irq_op(int atpic_irq, int ioapic_irq, IrqOp op) {
  if (atpic_irq < -1 || atpic_irq > 15) {
    return Error::invalid("ISA IRQ " + std::to_string(atpic_irq) + " is outside 0..15");
  }
  if (ioapic_irq < -1 || ioapic_irq >= Vioapic::kPins) {
    return Error::invalid("I/O APIC pin " + std::to_string(ioapic_irq) + " is outside 0..31");
  }
  isa_irq(atpic_irq, ioapic_irq, op);
  return Error::ok();
}

Error Vm::isa_set_irq_trigger(int atpic_irq, bool level) {
  if (!pic_->set_trigger(atpic_irq, level)) {
    return Error::invalid("ISA IRQ " + std::to_string(atpic_irq) +
                          (level ? " cannot be level-triggered" : " is outside 0..15"));
  }
  return Error::ok();
}

Error Vm::inject_nmi(int vcpu_id) {
  Vcpu* v = vcpu(vcpu_id);
  if (!v) return Error::invalid("no vCPU " + std::to_string(vcpu_id));
  v->inject_nmi();
  return Error::ok();
}

Error Vm::inject_exception(int vcpu_id, int vector, bool has_error_code, uint32_t error_code) {
  Vcpu* v = vcpu(vcpu_id);
  if (!v) return Error::invalid("no vCPU " + std::to_string(vcpu_id));
  return v->inject_exception(vector, has_error_code, error_code);
}

// ---- InterruptRouter -------------------------------------------------------------------

void Vm::deliver_to(Vcpu& v, const ApicMessage& msg) {
  switch (msg.mode) {
    case kDmFixed:
    case kDmLowestPriority:
      v.lapic().accept_fixed(msg.vector, msg.level_trigger);
      break;
    case kDmNmi: v.on_nmi(); break;
    case kDmInit:
      // INIT level de-assert (level trigger, level 0) is the old synchronisation message.
      if (msg.level_trigger && !msg.level_assert) break;
      v.on_init();
      break;
    case kDmStartup: v.on_sipi(msg.vector); break;
    case kDmExtInt: v.on_extint(); break;
    default: break;  // SMI, reserved
  }
}

void Vm::apic_deliver(const ApicMessage& msg) {
  const int n = config_.max_vcpus;
  switch (msg.shorthand) {
    case kShSelf:
      if (Vcpu* v = vcpu(msg.source_vcpu)) deliver_to(*v, msg);
      return;
    case kShAllIncludingSelf:
    case kShAllExcludingSelf:
      for (int i = 0; i < n; ++i) {
        Vcpu* v = vcpu(i);
        if (!v) continue;
        if (msg.shorthand == kShAllExcludingSelf && i == msg.source_vcpu) continue;
        if (!v->lapic().hw_enabled()) continue;
        deliver_to(*v, msg);
      }
      return;
    default: break;
  }
  uint32_t broadcast = msg.dest_x2apic ? 0xFFFFFFFFu : 0xFFu;
  // Lowest priority: one target among the matches, rotating (no TPR arbitration).
  Vcpu* matches[kMaxVcpus];
  int count = 0;
  for (int i = 0; i < n; ++i) {
    Vcpu* v = vcpu(i);
    if (!v) continue;
    Vlapic& l = v->lapic();
    bool match;
    if (msg.dest == broadcast) {
      match = l.hw_enabled();
    } else if (msg.dest_logical) {
      match = l.match_logical(msg.dest, msg.dest_x2apic);
    } else {
      match = l.match_physical(msg.dest, msg.dest_x2apic);
    }
    if (match) matches[count++] = v;
  }
  if (count == 0) return;
  if (msg.mode == kDmLowestPriority) {
    uint32_t pick = lowest_rr_.fetch_add(1, std::memory_order_relaxed) % count;
    deliver_to(*matches[pick], msg);
    return;
  }
  for (int k = 0; k < count; ++k) deliver_to(*matches[k], msg);
}

void Vm::ioapic_eoi(int vector) { ioapic_->eoi(vector); }

void Vm::isa_irq(int atpic_irq, int ioapic_pin, IrqOp op) {
  if (atpic_irq >= 0) pic_->irq(atpic_irq, op);
  if (ioapic_pin >= 0) ioapic_->pin(ioapic_pin, op);
}

void Vm::ioapic_irq(int pin, IrqOp op) { ioapic_->pin(pin, op); }

void Vm::msi(uint64_t addr, uint64_t data) {
  if ((addr >> 20) != 0xFEE) return;  // not an interrupt message
  // bhyve lapic_intr_msi: logical only with both RH and DM set; always edge.
  constexpr uint64_t kRh = 1u << 3, kDm = 1u << 2;
  ApicMessage m;
  m.dest = static_cast<uint32_t>((addr >> 12) & 0xFF);
  m.dest_logical = (addr & (kRh | kDm)) == (kRh | kDm);
  m.mode = (data >> 8) & 7;
  m.vector = data & 0xFF;
  m.level_trigger = false;
  if ((m.mode == kDmFixed || m.mode == kDmLowestPriority) && m.vector < 16) return;
  apic_deliver(m);
}

void Vm::pic_output(bool asserted) {
  if (!asserted) return;
  // The 8259 INT line is wired to LINT0 of every local APIC and to I/O APIC pin 0.
  for (int i = 0; i < config_.max_vcpus; ++i) {
    if (Vcpu* v = vcpu(i)) v->lapic().local_irq(Vlapic::kLint0);
  }
  ioapic_->pin(0, IrqOp::kPulse);
}

}  // namespace tsvirt::vmm
