// ExitBridge: hands vCPU exits to JavaScript and blocks the vCPU until JS answers.
//
// Threading choice (measured in bench/vmm): every vCPU runs on its own native thread; an
// exit no in-vmm device claims is written into that vCPU's slot of a shared exit buffer
// (one external ArrayBuffer, kWordsPerVcpu 32-bit words per vCPU, layout below), the vCPU
// posts its index through one thread-safe function and waits on its own condition
// variable; the JS thread calls onExit(vcpu) synchronously, the handler reads the slot and
// writes its answer in place, and the bridge wakes the vCPU. No object is allocated per
// exit on either side. Several vCPUs queue their exits on the same function, so JS sees
// them one at a time. Rare events (a vCPU thread ended, all vCPUs parked, the run ended)
// go through the same function to onEvent(kind, vcpu, detail).
//
// Slot layout (Uint32 words; 64-bit values as lo, hi):
//   0 exit code (vmm::ExitCode)      1 action written by JS: 0 continue, 1 stop
//   2,3 rip
//   inout:     4 port  5 bytes  6 flags (1 in, 2 string, 4 rep)  7 value (JS writes IN)
//   mmio:      4,5 gpa  6 bytes  7 flags (1 write)  8,9 value (JS writes for reads)
//   rdmsr/wrmsr: 4 index  6 flags (1 write)  8,9 value (JS writes RDMSR)  10 ok (JS writes)
//   hlt:       8,9 rflags
//   suspended: 4 how (vmm::SuspendHow)
//   bpt:       4 instruction length  5 pass (JS writes 1: deliver #BP to the guest)
//   mtrap, pause: rip only
//   error/debug: the message is passed as onExit's second argument.
//
// Polling (the measured part of the choice, bench/vmm): a thread-safe-function hop costs a
// wake-up of the JS thread and another of the vCPU thread, tens of microseconds on a busy
// host, while exits often come in bursts (a UART line, a virtio kick sequence). So after JS
// answers, the JS thread keeps polling the slots for up to spin_us for the next posted
// exit and handles it inline (bounded to kMaxInlineNs per turn so the event loop keeps
// running). A vCPU posts through the thread-safe function only when the JS thread is not
// polling; a slot's state (idle, posted, taken, answered) is claimed by compare-and-swap,
// so an exit seen both by the poller and through the queue is handled exactly once. The
// vCPU itself never spins for its answer: on a two-core host that starved the JS thread
// (2-8x slower). spin_us = 0 (the default) disables polling: on the loaded two-core host
// it was measured on, polling was within noise of the plain hop (median ratio ~1.1).
//
// Posted writes (native/vmm/posted_writes.h, the ioeventfd-style notify ranges): a guest
// write matching a range does not stop its vCPU. post_write() appends (range id, offset,
// value) to that vCPU's PostedRing and returns; the first entry since the JS thread last
// looked posts one kEventNotify through the same thread-safe function (a flag keeps it to
// one wake-up per batch). On the JS thread the bridge drains the rings into the notify
// buffer (kNotifyBatch entries of kNotifyEntryWords words: id, offset, value lo, value hi)
// and calls onNotify(count, false) per batch. A full ring (or no onNotify) answers false
// and the write takes the normal synchronous exit: a write is never dropped.
//
// Ordering rule: before the JS thread handles any synchronous exit or event (exit, vCPU
// done, paused, run done) it drains every ring of every entry queued at that moment. A
// vCPU appends its posted writes before it posts its next synchronous exit (program order
// on its thread, release/acquire through the ring and the slot state), so the device sees
// one vCPU's writes, posted or not, in the order the vCPU made them, and a synchronous
// exit after posted writes finds them handled. Posted writes of different vCPUs are
// ordered only by those points (as with KVM_IOEVENTFD, where the kernel signals and the
// vCPU runs on). A ring-full fallback keeps the order too: the fallback is a synchronous
// exit, so the entries before it are drained first.
//
// Removal: once Vm's table removes a range no vCPU posts for it again, but entries already
// queued stay and are delivered (QEMU likewise reads an ioeventfd one last time when it
// unhooks it): the wrapper keeps the handler of a removed range until a drain ends with
// onNotify(0, true), which the bridge sends at the end of the first drain that started
// after a removal (note_range_removed()); every entry of the removed range was queued
// before that drain took its quota, so it has been delivered. (A removal made by a posted
// write handler itself, during a drain, is settled by the following drain.)
//
// Cancellation: cancel() (VM destroyed, environment torn down) wakes every waiting vCPU
// with the default answer (IN/MMIO read all-ones, MSR #GP) and makes later exits return
// at once, so no vCPU thread can block forever on a JS thread that is gone.
#pragma once

#include <node_api.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "binding/posted_ring.h"
#include "vmm/exit.h"

namespace tsvirt::vmm {
class Vm;
}

namespace tsvirt::binding {

constexpr int kWordsPerVcpu = 16;
constexpr int kNotifyBatch = 128;
constexpr int kNotifyEntryWords = 4;
constexpr uint32_t kDefaultPostedRing = 256;
constexpr uint32_t kMaxPostedRing = 65536;

enum EventKind : uint32_t {
  kEventExit = 1,
  kEventVcpuDone = 2,
  kEventPaused = 3,
  kEventRunDone = 4,
  kEventNotify = 5,
};

class ExitBridge final : public vmm::ExitHandler {
 public:
  // words: the exit buffer (owned by the caller, max_vcpus * kWordsPerVcpu words).
  // ring_capacity: posted writes queued per vCPU (a power of two, 1..kMaxPostedRing).
  ExitBridge(vmm::Vm* vm, uint32_t* words, int max_vcpus, uint32_t spin_us,
             uint32_t ring_capacity);
  ~ExitBridge() override;

  // Creates the thread-safe function; on_exit(vcpu, message?), on_event(kind, vcpu,
  // detail?) and on_notify(count, drained) (may be null: no posted writes) stay referenced
  // until the run ends. Returns a napi status.
  napi_status start(napi_env env, napi_value on_exit, napi_value on_event,
                    napi_value on_notify, int vcpus);
  bool active() const { return active_.load(std::memory_order_acquire); }

  // vmm::ExitHandler, on vCPU threads.
  vmm::ExitAction on_exit(vmm::VmExit& exit) override;
  void on_vcpu_done(int vcpu) override;
  void on_paused() override;
  bool post_write(int vcpu, uint32_t range_id, uint32_t offset, uint64_t value) override;

  // The notify buffer onNotify reads (kNotifyBatch * kNotifyEntryWords words).
  uint32_t* notify_words() { return notify_words_.get(); }
  // JS thread: a posted write range was removed (see "Removal" above).
  void note_range_removed() { retire_pending_ = true; }

  void cancel();
  // Undoes start() when the run could not begin (JS thread).
  void abandon(napi_env env);
  // Called on the JS thread after a run ended (all vCPU threads joined).
  void set_run_done_hook(std::function<void()> hook) { run_done_hook_ = std::move(hook); }

 private:
  enum SlotState : int { kIdle = 0, kPosted, kTaken, kAnswered };
  struct Slot {
    std::atomic<int> state{kIdle};
    std::mutex mu;
    std::condition_variable cv;
    std::string message;  // error/debug text for the current exit
  };
  static constexpr uint64_t kMaxInlineNs = 500000;

  static void call_js(napi_env env, napi_value js_cb, void* context, void* data);
  void dispatch(napi_env env, napi_value on_exit, uint32_t kind, int vcpu);
  // Runs the JS handler for a posted exit of vcpu if this caller wins the slot.
  bool take_and_handle(napi_env env, napi_value on_exit, int vcpu);
  void handle_exit(napi_env env, napi_value on_exit, int vcpu);
  void poll_exits(napi_env env, napi_value on_exit);
  // Drains the posted write rings into onNotify; returns the entries delivered.
  size_t drain_posted(napi_env env);
  void answer(int vcpu);
  bool post(uint32_t kind, int vcpu);
  void write_exit(const vmm::VmExit& exit, uint32_t* w);
  void read_answer(vmm::VmExit& exit, const uint32_t* w);

  vmm::Vm* vm_;
  uint32_t* words_;
  std::vector<std::unique_ptr<Slot>> slots_;
  napi_threadsafe_function tsfn_ = nullptr;
  napi_ref on_event_ = nullptr;
  napi_ref on_notify_ = nullptr;
  std::atomic<bool> notify_enabled_{false};
  std::atomic<bool> notify_wake_{false};
  std::vector<std::unique_ptr<PostedRing>> rings_;
  std::unique_ptr<uint32_t[]> notify_words_;
  bool retire_pending_ = false;  // JS thread only
  bool draining_ = false;        // JS thread only
  std::vector<uint32_t> drain_quota_;  // JS thread only (kept to avoid allocating per drain)
  std::atomic<bool> active_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<int> live_{0};
  std::atomic<bool> polling_{false};
  const uint64_t spin_ns_;
  std::function<void()> run_done_hook_;
};

}  // namespace tsvirt::binding
