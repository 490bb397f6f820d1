// vlapic timer: one-shot, periodic (with owed ticks delivered on EOI) and TSC-deadline
// modes of the local APIC timer (Intel SDM vol. 3, 11.5.4), on the host monotonic clock.
// Part of the Vlapic class (vlapic.h); split from vlapic.cc to keep each file to one job.
#include "vmm/clock.h"
#include "vmm/devices/vlapic.h"
#include "vmm/devices/vlapic_regs.h"

namespace tsvirt::vmm {

using namespace apic;

namespace {
bool test_bit(const uint32_t* bits, int v) { return (bits[v >> 5] >> (v & 31)) & 1; }
}  // namespace

// ---- timer ----------------------------------------------------------------------------

uint32_t Vlapic::timer_mode_locked() const {
  uint32_t mode = (lvt_[kTimer] >> kLvtTimerModeShift) & 3;
  if (mode == kTimerTscDeadline && !tsc_deadline_allowed_) return kTimerOneShot;
  return mode == 3 ? kTimerOneShot : mode;
}

uint64_t Vlapic::timer_freq_locked() const {
  uint32_t d = ((timer_dcr_ & 8) >> 1) | (timer_dcr_ & 3);
  uint32_t shift = d == 7 ? 0 : d + 1;  // 0->/2 ... 6->/128, 7->/1
  return kBusFreqHz >> shift;
}

void Vlapic::timer_stop_locked() {
  timer_running_ = false;
  timer_backlog_ = 0;
  timers_.cancel(timer_id_);
}

void Vlapic::timer_start_locked(uint64_t now) {
  if (timer_icr_ == 0) {
    timer_stop_locked();
    return;
  }
  uint64_t period = ticks_to_ns(timer_icr_, timer_freq_locked());
  if (period == 0) period = 1;
  if (timer_mode_locked() == kTimerPeriodic && period < kMinPeriodicNs) period = kMinPeriodicNs;
  timer_running_ = true;
  timer_backlog_ = 0;
  timer_start_ns_ = now;
  timer_period_ns_ = period;
  timer_deadline_ns_ = now + period;
  timers_.arm(timer_id_, timer_deadline_ns_);
}

uint32_t Vlapic::timer_ccr_locked(uint64_t now) const {
  if (!timer_running_ || timer_mode_locked() == kTimerTscDeadline) return 0;
  uint64_t elapsed = now > timer_start_ns_ ? now - timer_start_ns_ : 0;
  if (timer_mode_locked() == kTimerPeriodic) {
    elapsed %= timer_period_ns_;
  } else if (elapsed >= timer_period_ns_) {
    return 0;
  }
  // Scale elapsed time in the (possibly clamped) period back to counter ticks.
  uint64_t done = static_cast<uint64_t>(static_cast<unsigned __int128>(elapsed) * timer_icr_ /
                                        timer_period_ns_);
  return done >= timer_icr_ ? 0 : static_cast<uint32_t>(timer_icr_ - done);
}

void Vlapic::timer_callback(uint64_t now) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (timer_mode_locked() == kTimerTscDeadline) {
      if (!timer_running_) return;
      if (now < timer_deadline_ns_) {
        timers_.arm(timer_id_, timer_deadline_ns_);
        return;
      }
      timer_running_ = false;
      tsc_deadline_ = 0;
    } else {
      if (!timer_running_) return;
      if (now < timer_deadline_ns_) {
        timers_.arm(timer_id_, timer_deadline_ns_);
        return;
      }
      if (timer_mode_locked() == kTimerPeriodic) {
        // Stay phase-locked: periods that passed while the host was late are owed.
        uint64_t late = (now - timer_deadline_ns_) / timer_period_ns_;
        uint64_t next = timer_deadline_ns_ + (late + 1) * timer_period_ns_;
        uint32_t l = lvt_[kTimer];
        uint8_t v = l & kLvtVector;
        if (!(l & kLvtMasked)) {
          timer_backlog_ = static_cast<uint32_t>(
              timer_backlog_ + late > kMaxBacklog ? kMaxBacklog : timer_backlog_ + late);
        }
        timer_start_ns_ = next - timer_period_ns_;
        timer_deadline_ns_ = next;
        timers_.arm(timer_id_, next);
        if (!(l & kLvtMasked) && v >= 16 && (test_bit(irr_, v) || test_bit(isr_, v))) {
          // The previous tick is still pending or in service: owe this one too.
          if (timer_backlog_ < kMaxBacklog) ++timer_backlog_;
          stat_timer_.fetch_add(1, std::memory_order_relaxed);
          return;
        }
      } else {
        timer_running_ = false;
      }
    }
    stat_timer_.fetch_add(1, std::memory_order_relaxed);
    bool nmi = false, extint = false, init = false;
    deliver_lvt_locked(kTimer, &notify, &nmi, &extint, &init);
  }
  if (notify) events_.on_interrupt_pending();
}

void Vlapic::arm_tsc_deadline(uint64_t value) {
  // Reads the guest TSC before locking (on KVM an ioctl on this vCPU), right next to the
  // host clock so the two describe the same instant.
  uint64_t hz = value ? events_.tsc_hz() : 0;
  uint64_t tsc_now = value ? events_.guest_tsc() : 0;
  uint64_t now = monotonic_ns();
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (timer_mode_locked() != kTimerTscDeadline) return;  // ignored in other modes
    tsc_deadline_ = value;
    if (value == 0) {
      timer_stop_locked();
      return;
    }
    uint64_t delay = value > tsc_now ? ticks_to_ns(value - tsc_now, hz) : 0;
    timer_running_ = true;
    timer_deadline_ns_ = delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
    if (delay == 0) {
      timer_running_ = false;
      tsc_deadline_ = 0;
      stat_timer_.fetch_add(1, std::memory_order_relaxed);
      bool nmi = false, extint = false, init = false;
      deliver_lvt_locked(kTimer, &notify, &nmi, &extint, &init);
    } else {
      timers_.arm(timer_id_, timer_deadline_ns_);
    }
  }
  if (notify) events_.on_interrupt_pending();
}

}  // namespace tsvirt::vmm
