// vhpet: see vhpet.h.
#include "vmm/devices/vhpet.h"

#include "vmm/clock.h"

namespace tsvirt::vmm {

namespace {
constexpr uint64_t kRegCap = 0x000;
constexpr uint64_t kRegConfig = 0x010;
constexpr uint64_t kRegStatus = 0x020;
constexpr uint64_t kRegCounter = 0x0F0;
constexpr uint64_t kRegTimer0 = 0x100;
constexpr uint64_t kTimerStride = 0x20;

constexpr uint64_t kCnfEnable = 1;
constexpr uint64_t kCnfLegacy = 2;

constexpr uint64_t kTnLevel = 1ull << 1;
constexpr uint64_t kTnEnable = 1ull << 2;
constexpr uint64_t kTnPeriodic = 1ull << 3;
constexpr uint64_t kTnPerCap = 1ull << 4;
constexpr uint64_t kTnSizeCap = 1ull << 5;
constexpr uint64_t kTnValSet = 1ull << 6;
constexpr uint64_t kTn32Bit = 1ull << 8;
constexpr uint64_t kTnRouteShift = 9;
constexpr uint64_t kTnRoute = 0x1Full << 9;
constexpr uint64_t kTnFsbEnable = 1ull << 14;
constexpr uint64_t kTnFsbCap = 1ull << 15;
constexpr uint64_t kTnWritable =
    kTnLevel | kTnEnable | kTnPeriodic | kTnValSet | kTn32Bit | kTnRoute | kTnFsbEnable;
constexpr uint64_t kTnReadOnly =
    kTnPerCap | kTnSizeCap | kTnFsbCap | (static_cast<uint64_t>(Vhpet::kRouteCap) << 32);

constexpr uint64_t kFsPerS = 1000000000000000ull;
constexpr uint64_t kPeriodFs = kFsPerS / Vhpet::kFreqHz;
}  // namespace

uint32_t Vhpet::capabilities_low() {
  // REV_ID 1, NUM_TIM_CAP = timers - 1, COUNT_SIZE_CAP, LEG_RT_CAP, vendor 0x8086.
  return 0x01u | ((kTimers - 1u) << 8) | (1u << 13) | (1u << 15) | (0x8086u << 16);
}

Vhpet::Vhpet(InterruptRouter& router, TimerService& timers) : router_(router), timers_(timers) {
  for (int n = 0; n < kTimers; ++n) {
    t_[n].config = kTnReadOnly;
    t_[n].comparator = 0xFFFFFFFFull;  // reset value per bhyve
    t_[n].id = timers_.create([this, n](uint64_t now) { timer_callback(n, now); });
  }
}

uint64_t Vhpet::interrupts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return interrupts_;
}

uint64_t Vhpet::matches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return matches_;
}

uint64_t Vhpet::counter_locked(uint64_t now) const {
  if (!(config_ & kCnfEnable)) return counter_base_;
  return counter_base_ + ns_to_ticks(now - enabled_ns_, kFreqHz);
}

int Vhpet::pin_locked(int n) const {
  if ((config_ & kCnfLegacy) && n < 2) return n == 0 ? 2 : 8;
  int route = static_cast<int>((t_[n].config & kTnRoute) >> kTnRouteShift);
  if (!((kRouteCap >> route) & 1)) return -1;
  return route;
}

void Vhpet::fire_locked(int n) {
  Timer& t = t_[n];
  if (!(t.config & kTnEnable)) return;
  ++interrupts_;
  if (t.config & kTnFsbEnable) {
    router_.msi(t.fsb >> 32, t.fsb & 0xFFFFFFFFull);
    return;
  }
  int pin = pin_locked(n);
  if (pin < 0) return;
  bool legacy = (config_ & kCnfLegacy) && n < 2;
  if (t.config & kTnLevel) {
    if (status_ & (1ull << n)) return;  // already asserted
    status_ |= 1ull << n;
    if (legacy) router_.isa_irq(n == 0 ? 0 : 8, pin, IrqOp::kAssert);
    else router_.ioapic_irq(pin, IrqOp::kAssert);
  } else {
    if (legacy) router_.isa_irq(n == 0 ? 0 : 8, pin, IrqOp::kPulse);
    else router_.ioapic_irq(pin, IrqOp::kPulse);
  }
}

void Vhpet::clear_status_locked(uint32_t bits) {
  for (int n = 0; n < kTimers; ++n) {
    if (!((bits >> n) & 1) || !((status_ >> n) & 1)) continue;
    status_ &= ~(1ull << n);
    int pin = pin_locked(n);
    if (pin < 0) continue;
    bool legacy = (config_ & kCnfLegacy) && n < 2;
    if (legacy) router_.isa_irq(n == 0 ? 0 : 8, pin, IrqOp::kDeassert);
    else router_.ioapic_irq(pin, IrqOp::kDeassert);
  }
}

void Vhpet::schedule_locked(int n, uint64_t now) {
  Timer& t = t_[n];
  t.armed = false;
  timers_.cancel(t.id);
  if (!(config_ & kCnfEnable) || !(t.config & kTnEnable)) return;
  uint64_t counter = counter_locked(now);
  bool bits32 = t.config & kTn32Bit;
  uint64_t delta;
  if (bits32) {
    delta = (static_cast<uint32_t>(t.comparator) - static_cast<uint32_t>(counter)) & 0xFFFFFFFFull;
    if (delta == 0) delta = 1ull << 32;
  } else {
    if (t.comparator <= counter) {
      // Past comparators of a periodic timer catch up by whole periods; a one-shot
      // 64-bit comparator in the past never matches again.
      if (!(t.config & kTnPeriodic) || t.period == 0) return;
      uint64_t behind = counter - t.comparator;
      t.comparator += (behind / t.period + 1) * t.period;
    }
    delta = t.comparator - counter;
  }
  uint64_t ns = ticks_to_ns(delta, kFreqHz);
  t.armed = true;
  t.deadline_ns = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
  timers_.arm(t.id, t.deadline_ns);
}

void Vhpet::timer_callback(int n, uint64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  Timer& t = t_[n];
  if (!t.armed) return;
  if (now < t.deadline_ns) {
    timers_.arm(t.id, t.deadline_ns);
    return;
  }
  t.armed = false;
  if (t.config & kTnEnable) ++matches_;
  fire_locked(n);
  if ((t.config & kTnPeriodic) && t.period != 0) {
    // Phase-locked: the comparator advances by whole periods past the counter (periods
    // the host was late for coalesce), and never closer than kMinPeriodicNs ahead.
    uint64_t counter = counter_locked(now);
    uint64_t min_ticks = ns_to_ticks(kMinPeriodicNs, kFreqHz);
    bool bits32 = t.config & kTn32Bit;
    uint64_t mask = bits32 ? 0xFFFFFFFFull : ~0ull;
    uint64_t next = (t.comparator + t.period) & mask;
    uint64_t target = (counter + min_ticks) & mask;
    // How far next lags behind counter+min (modulo the counter width), if it does.
    uint64_t behind = (target - next) & mask;
    if (behind != 0 && behind < (mask >> 1)) {
      uint64_t skipped = behind / t.period + 1;
      next = (next + skipped * t.period) & mask;
      // Periods that fell due before now (not merely inside the minimum interval).
      uint64_t overdue = (counter - ((t.comparator + t.period) & mask)) & mask;
      if (overdue < (mask >> 1)) matches_ += overdue / t.period + (overdue % t.period ? 1 : 0);
    }
    t.comparator = next;
  }
  schedule_locked(n, now);
}

uint64_t Vhpet::read64_locked(uint64_t reg, uint64_t now) {
  switch (reg) {
    case kRegCap: return (kPeriodFs << 32) | capabilities_low();
    case kRegConfig: return config_;
    case kRegStatus: return status_;
    case kRegCounter: return counter_locked(now);
    default: break;
  }
  if (reg >= kRegTimer0 && reg < kRegTimer0 + kTimers * kTimerStride) {
    const Timer& t = t_[(reg - kRegTimer0) / kTimerStride];
    switch ((reg - kRegTimer0) % kTimerStride) {
      case 0x00: return t.config & ~kTnValSet;
      case 0x08: return (t.config & kTn32Bit) ? (t.comparator & 0xFFFFFFFFull) : t.comparator;
      case 0x10: return t.fsb;
      default: return 0;
    }
  }
  return 0;
}

void Vhpet::write64_locked(uint64_t reg, uint64_t value, uint64_t mask, uint64_t now) {
  // mask selects the bytes written (a 32-bit write touches one half).
  auto merge = [&](uint64_t old) { return (old & ~mask) | (value & mask); };
  switch (reg) {
    case kRegCap: return;
    case kRegConfig: {
      uint64_t old = config_;
      uint64_t nv = merge(old) & (kCnfEnable | kCnfLegacy);
      uint64_t counter = counter_locked(now);
      config_ = nv;
      if ((old ^ nv) & kCnfEnable) {
        counter_base_ = counter;
        enabled_ns_ = now;
      }
      for (int n = 0; n < kTimers; ++n) schedule_locked(n, now);
      return;
    }
    case kRegStatus:
      clear_status_locked(static_cast<uint32_t>(value & mask));
      return;
    case kRegCounter:
      counter_base_ = merge(counter_locked(now));
      enabled_ns_ = now;
      for (int n = 0; n < kTimers; ++n) schedule_locked(n, now);
      return;
    default: break;
  }
  if (reg < kRegTimer0 || reg >= kRegTimer0 + kTimers * kTimerStride) return;
  int n = static_cast<int>((reg - kRegTimer0) / kTimerStride);
  Timer& t = t_[n];
  switch ((reg - kRegTimer0) % kTimerStride) {
    case 0x00: {
      uint64_t old = t.config;
      uint64_t nv = (merge(old) & kTnWritable) | kTnReadOnly;
      // A route outside the capability disconnects the timer (bhyve).
      uint64_t route = (nv & kTnRoute) >> kTnRouteShift;
      if (!((kRouteCap >> route) & 1)) nv &= ~kTnRoute;
      if ((old & kTnLevel) && !(nv & kTnLevel)) clear_status_locked(1u << n);
      if ((old & kTnEnable) && !(nv & kTnEnable)) clear_status_locked(1u << n);
      t.config = nv;
      if (nv & kTn32Bit) {
        t.comparator &= 0xFFFFFFFFull;
        t.period &= 0xFFFFFFFFull;
      }
      break;
    }
    case 0x08: {
      uint64_t width = (t.config & kTn32Bit) ? 0xFFFFFFFFull : ~0ull;
      if (t.config & kTnPeriodic) {
        // Periodic: the write sets the period; with VAL_SET it also sets the comparator
        // (Linux writes now+delta with VAL_SET, then delta).
        t.period = merge(t.period) & width;
        if (t.config & kTnValSet) t.comparator = merge(t.comparator) & width;
      } else {
        t.comparator = merge(t.comparator) & width;
        t.period = t.comparator;
      }
      t.config &= ~kTnValSet;
      break;
    }
    case 0x10:
      t.fsb = merge(t.fsb);
      return;
    default: return;
  }
  schedule_locked(n, now);
}

uint64_t Vhpet::mmio_read(uint64_t offset, int size) {
  if (!((size == 4 && (offset & 3) == 0) || (size == 8 && (offset & 7) == 0))) return 0;
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t v = read64_locked(offset & ~7ull, now);
  if (size == 4) v = (offset & 4) ? v >> 32 : v & 0xFFFFFFFFull;
  return v;
}

void Vhpet::mmio_write(uint64_t offset, int size, uint64_t value) {
  if (!((size == 4 && (offset & 3) == 0) || (size == 8 && (offset & 7) == 0))) return;
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t mask = ~0ull;
  if (size == 4) {
    if (offset & 4) {
      mask = 0xFFFFFFFF00000000ull;
      value <<= 32;
    } else {
      mask = 0xFFFFFFFFull;
      value &= 0xFFFFFFFFull;
    }
  }
  write64_locked(offset & ~7ull, value, mask, now);
}

}  // namespace tsvirt::vmm
