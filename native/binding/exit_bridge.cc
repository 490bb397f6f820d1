// ExitBridge: see exit_bridge.h.
#include "binding/exit_bridge.h"

#include "vmm/clock.h"
#include "vmm/vm.h"

namespace tsvirt::binding {

using vmm::ExitCode;

namespace {

constexpr uintptr_t encode(uint32_t kind, int vcpu) {
  return (static_cast<uintptr_t>(kind) << 16) | static_cast<uint16_t>(vcpu);
}

void put64(uint32_t* w, int index, uint64_t v) {
  w[index] = static_cast<uint32_t>(v);
  w[index + 1] = static_cast<uint32_t>(v >> 32);
}

uint64_t get64(const uint32_t* w, int index) {
  return static_cast<uint64_t>(w[index]) | (static_cast<uint64_t>(w[index + 1]) << 32);
}

}  // namespace

ExitBridge::ExitBridge(vmm::Vm* vm, uint32_t* words, int max_vcpus, uint32_t spin_us,
                       uint32_t ring_capacity)
    : vm_(vm),
      words_(words),
      notify_words_(new uint32_t[static_cast<size_t>(kNotifyBatch) * kNotifyEntryWords]()),
      spin_ns_(static_cast<uint64_t>(spin_us) * 1000) {
  for (int i = 0; i < max_vcpus; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    rings_.push_back(std::make_unique<PostedRing>(ring_capacity));
  }
}

ExitBridge::~ExitBridge() = default;

napi_status ExitBridge::start(napi_env env, napi_value on_exit, napi_value on_event,
                              napi_value on_notify, int vcpus) {
  napi_value name;
  napi_status st = napi_create_string_utf8(env, "tsvirt-vcpu-exit", NAPI_AUTO_LENGTH, &name);
  if (st != napi_ok) return st;
  st = napi_create_reference(env, on_event, 1, &on_event_);
  if (st != napi_ok) return st;
  if (on_notify) {
    st = napi_create_reference(env, on_notify, 1, &on_notify_);
    if (st != napi_ok) {
      napi_delete_reference(env, on_event_);
      on_event_ = nullptr;
      return st;
    }
  }
  st = napi_create_threadsafe_function(env, on_exit, nullptr, name, 0, 1, nullptr, nullptr, this,
                                       call_js, &tsfn_);
  if (st != napi_ok) {
    napi_delete_reference(env, on_event_);
    on_event_ = nullptr;
    if (on_notify_) napi_delete_reference(env, on_notify_);
    on_notify_ = nullptr;
    return st;
  }
  for (auto& r : rings_) r->clear();
  notify_wake_.store(false);
  notify_enabled_.store(on_notify_ != nullptr, std::memory_order_release);
  cancelled_.store(false);
  live_.store(vcpus);
  active_.store(true, std::memory_order_release);
  return napi_ok;
}

bool ExitBridge::post(uint32_t kind, int vcpu) {
  void* data = reinterpret_cast<void*>(encode(kind, vcpu));
  return napi_call_threadsafe_function(tsfn_, data, napi_tsfn_nonblocking) == napi_ok;
}

void ExitBridge::write_exit(const vmm::VmExit& e, uint32_t* w) {
  w[0] = static_cast<uint32_t>(e.code);
  w[1] = 0;
  put64(w, 2, e.rip);
  switch (e.code) {
    case ExitCode::kInout:
      w[4] = e.u.inout.port;
      w[5] = e.u.inout.bytes;
      w[6] = (e.u.inout.in ? 1u : 0u) | (e.u.inout.string ? 2u : 0u) | (e.u.inout.rep ? 4u : 0u);
      w[7] = e.u.inout.eax;
      break;
    case ExitCode::kMmio:
      put64(w, 4, e.u.mmio.gpa);
      w[6] = e.u.mmio.bytes;
      w[7] = e.u.mmio.write ? 1u : 0u;
      put64(w, 8, e.u.mmio.value);
      break;
    case ExitCode::kRdmsr:
    case ExitCode::kWrmsr:
      w[4] = e.u.msr.index;
      w[6] = e.code == ExitCode::kWrmsr ? 1u : 0u;
      put64(w, 8, e.u.msr.value);
      w[10] = 0;
      break;
    case ExitCode::kHlt:
      put64(w, 8, e.u.hlt.rflags);
      break;
    case ExitCode::kSuspended:
      w[4] = static_cast<uint32_t>(e.u.suspended.how);
      break;
    case ExitCode::kBpt:
      w[4] = e.u.bpt.inst_length;
      w[5] = 0;
      break;
    default:
      break;
  }
}

void ExitBridge::read_answer(vmm::VmExit& e, const uint32_t* w) {
  switch (e.code) {
    case ExitCode::kInout:
      if (e.u.inout.in) e.u.inout.eax = w[7];
      break;
    case ExitCode::kMmio:
      if (!e.u.mmio.write) e.u.mmio.value = get64(w, 8);
      break;
    case ExitCode::kRdmsr:
      e.u.msr.value = get64(w, 8);
      e.u.msr.ok = w[10] != 0;
      break;
    case ExitCode::kWrmsr:
      e.u.msr.ok = w[10] != 0;
      break;
    case ExitCode::kBpt:
      e.u.bpt.pass = w[5] != 0;
      break;
    default:
      break;
  }
}

vmm::ExitAction ExitBridge::on_exit(vmm::VmExit& exit) {
  int vcpu = exit.vcpu;
  if (cancelled_.load(std::memory_order_acquire) || vcpu < 0 ||
      vcpu >= static_cast<int>(slots_.size())) {
    return vmm::ExitAction::kStop;
  }
  Slot& slot = *slots_[vcpu];
  uint32_t* w = words_ + vcpu * kWordsPerVcpu;
  write_exit(exit, w);
  slot.message = exit.error && (exit.code == ExitCode::kError || exit.code == ExitCode::kDebug)
                     ? exit.error
                     : "";
  slot.state.store(kPosted, std::memory_order_seq_cst);
  // A polling JS thread picks the exit up itself; otherwise wake it through the queue.
  if (!polling_.load(std::memory_order_seq_cst) && !post(kEventExit, vcpu)) {
    slot.state.store(kIdle);
    return vmm::ExitAction::kStop;
  }
  // Sleep right away: a vCPU spinning for its answer competes for the core the JS thread
  // needs to produce it (measured: 2-8x slower on a loaded two-core host).
  {
    std::unique_lock<std::mutex> lock(slot.mu);
    while (slot.state.load(std::memory_order_acquire) != kAnswered &&
           !cancelled_.load(std::memory_order_acquire)) {
      slot.cv.wait(lock);
    }
  }
  if (slot.state.load(std::memory_order_acquire) != kAnswered) {
    slot.state.store(kIdle);
    return vmm::ExitAction::kStop;  // cancelled: defaults stand
  }
  read_answer(exit, w);
  slot.state.store(kIdle, std::memory_order_release);
  return w[1] == 1 ? vmm::ExitAction::kStop : vmm::ExitAction::kContinue;
}

void ExitBridge::answer(int vcpu) {
  Slot& slot = *slots_[vcpu];
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    slot.state.store(kAnswered, std::memory_order_release);
  }
  slot.cv.notify_one();
}

void ExitBridge::on_vcpu_done(int vcpu) {
  post(kEventVcpuDone, vcpu);
  if (live_.fetch_sub(1) == 1) post(kEventRunDone, -1);
}

void ExitBridge::on_paused() { post(kEventPaused, -1); }

bool ExitBridge::post_write(int vcpu, uint32_t range_id, uint32_t offset, uint64_t value) {
  if (!notify_enabled_.load(std::memory_order_acquire) ||
      cancelled_.load(std::memory_order_acquire) || vcpu < 0 ||
      vcpu >= static_cast<int>(rings_.size())) {
    return false;
  }
  if (!rings_[vcpu]->push(PostedEntry{range_id, offset, value})) return false;
  // One wake-up per batch: whoever finds the flag clear posts; the JS thread clears it
  // before it drains, so an entry pushed after that either is drained or posts again.
  if (!notify_wake_.exchange(true, std::memory_order_acq_rel) && !post(kEventNotify, vcpu)) {
    // The thread-safe function is closing (the run is ending): the run-done drain or
    // nobody will see the entry; let the next one try again.
    notify_wake_.store(false, std::memory_order_release);
  }
  return true;
}

size_t ExitBridge::drain_posted(napi_env env) {
  if (!on_notify_ || draining_) return 0;
  draining_ = true;
  // Removals before this drain: their entries were queued before the quota below is taken,
  // so this drain delivers the last of them. A removal during the drain counts for the next.
  bool retire = retire_pending_;
  retire_pending_ = false;
  napi_value cb = nullptr;
  napi_get_reference_value(env, on_notify_, &cb);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  auto call = [&](uint32_t count, bool drained) {
    napi_value args[2];
    napi_create_uint32(env, count, &args[0]);
    napi_get_boolean(env, drained, &args[1]);
    if (napi_call_function(env, undefined, cb, 2, args, nullptr) != napi_ok) {
      // The wrapper catches handler errors itself (and stops the VM).
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  };
  // Take what each ring holds now, no more: a vCPU posting without pause cannot keep the
  // JS thread here (what it adds later posts its own wake-up).
  std::vector<uint32_t>& quota = drain_quota_;
  quota.resize(rings_.size());
  for (size_t v = 0; v < rings_.size(); ++v) quota[v] = rings_[v]->available();
  size_t total = 0;
  uint32_t* w = notify_words_.get();
  for (;;) {
    uint32_t n = 0;
    for (size_t v = 0; v < rings_.size() && n < kNotifyBatch; ++v) {
      PostedEntry e;
      while (quota[v] > 0 && n < kNotifyBatch && rings_[v]->pop(&e)) {
        --quota[v];
        uint32_t* o = w + static_cast<size_t>(n) * kNotifyEntryWords;
        o[0] = e.range_id;
        o[1] = e.offset;
        put64(o, 2, e.value);
        ++n;
      }
    }
    if (n == 0) break;
    total += n;
    if (cb) call(n, false);
  }
  if (retire && cb) call(0, true);
  draining_ = false;
  return total;
}

void ExitBridge::cancel() {
  cancelled_.store(true, std::memory_order_release);
  for (auto& slot : slots_) {
    { std::lock_guard<std::mutex> lock(slot->mu); }
    slot->cv.notify_all();
  }
}

void ExitBridge::abandon(napi_env env) {
  if (on_event_) napi_delete_reference(env, on_event_);
  on_event_ = nullptr;
  notify_enabled_.store(false, std::memory_order_release);
  if (on_notify_) napi_delete_reference(env, on_notify_);
  on_notify_ = nullptr;
  if (tsfn_) napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  tsfn_ = nullptr;
  active_.store(false, std::memory_order_release);
}

void ExitBridge::call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  auto* self = static_cast<ExitBridge*>(context);
  uintptr_t code = reinterpret_cast<uintptr_t>(data);
  uint32_t kind = static_cast<uint32_t>(code >> 16);
  int vcpu = static_cast<int16_t>(code & 0xFFFF);
  if (env == nullptr) {
    // The environment is going away: release whoever waits.
    if (kind == kEventExit) self->cancel();
    return;
  }
  self->dispatch(env, js_cb, kind, vcpu);
}

void ExitBridge::handle_exit(napi_env env, napi_value on_exit, int vcpu) {
  // The ordering rule (exit_bridge.h): posted writes queued before this exit first.
  drain_posted(env);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_value args[2];
  napi_create_uint32(env, static_cast<uint32_t>(vcpu), &args[0]);
  size_t argc = 1;
  Slot& slot = *slots_[vcpu];
  if (!slot.message.empty()) {
    napi_create_string_utf8(env, slot.message.c_str(), slot.message.size(), &args[1]);
    argc = 2;
  }
  napi_status st = napi_call_function(env, undefined, on_exit, argc, args, nullptr);
  if (st != napi_ok) {
    // The TypeScript wrapper catches handler errors itself; anything escaping here
    // stops the VM rather than leaving an exception pending on the event loop.
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    words_[vcpu * kWordsPerVcpu + 1] = 1;
  }
  answer(vcpu);
}

bool ExitBridge::take_and_handle(napi_env env, napi_value on_exit, int vcpu) {
  int expected = kPosted;
  if (!slots_[vcpu]->state.compare_exchange_strong(expected, kTaken, std::memory_order_acq_rel)) {
    return false;
  }
  handle_exit(env, on_exit, vcpu);
  return true;
}

void ExitBridge::poll_exits(napi_env env, napi_value on_exit) {
  // Keep taking exits while they come within spin_ns_ of each other, for at most
  // kMaxInlineNs, then give the event loop back.
  polling_.store(true, std::memory_order_seq_cst);
  uint64_t start = vmm::monotonic_ns();
  uint64_t quiet_until = start + spin_ns_;
  int n = static_cast<int>(slots_.size());
  for (;;) {
    uint64_t now = vmm::monotonic_ns();
    if (now >= quiet_until || now - start >= kMaxInlineNs || cancelled_.load()) break;
    bool any = false;
    for (int v = 0; v < n; ++v) any |= take_and_handle(env, on_exit, v);
    any |= drain_posted(env) > 0;
    if (any) quiet_until = vmm::monotonic_ns() + spin_ns_;
    else __builtin_ia32_pause();
  }
  polling_.store(false, std::memory_order_seq_cst);
  // A vCPU that saw polling_ set did not post: sweep once more after clearing it.
  for (int v = 0; v < n; ++v) take_and_handle(env, on_exit, v);
}

void ExitBridge::dispatch(napi_env env, napi_value on_exit, uint32_t kind, int vcpu) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (kind == kEventExit) {
    // The exit may already have been handled by a poller (state is no longer posted).
    if (take_and_handle(env, on_exit, vcpu) && spin_ns_) poll_exits(env, on_exit);
    return;
  }
  if (kind == kEventNotify) {
    notify_wake_.store(false, std::memory_order_seq_cst);
    drain_posted(env);
    return;
  }
  napi_value on_event = nullptr;
  if (on_event_) napi_get_reference_value(env, on_event_, &on_event);
  if (kind == kEventRunDone) {
    // Every vCPU thread has returned from its loop: reap them, then end the run.
    vm_->join();
    notify_enabled_.store(false, std::memory_order_release);
  }
  // The ordering rule: posted writes before the event (after the join: all of them).
  drain_posted(env);
  if (kind == kEventRunDone) active_.store(false, std::memory_order_release);
  if (on_event) {
    napi_value args[3];
    napi_create_uint32(env, kind, &args[0]);
    napi_create_int32(env, vcpu, &args[1]);
    napi_create_uint32(env, static_cast<uint32_t>(vm_->suspended()), &args[2]);
    if (napi_call_function(env, undefined, on_event, 3, args, nullptr) != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  if (kind == kEventRunDone) {
    if (on_event_) napi_delete_reference(env, on_event_);
    on_event_ = nullptr;
    if (on_notify_) napi_delete_reference(env, on_notify_);
    on_notify_ = nullptr;
    napi_threadsafe_function t = tsfn_;
    tsfn_ = nullptr;
    napi_release_threadsafe_function(t, napi_tsfn_release);
    if (run_done_hook_) run_done_hook_();
  }
}

}  // namespace tsvirt::binding
