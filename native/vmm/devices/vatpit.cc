// vatpit: see vatpit.h.
#include "vmm/devices/vatpit.h"

#include "vmm/clock.h"

namespace tsvirt::vmm {

namespace {
constexpr uint16_t kCounter0 = 0x40;
constexpr uint16_t kControl = 0x43;
constexpr uint16_t kNmisc = 0x61;

constexpr uint8_t kNmiscGate2 = 0x01;
constexpr uint8_t kNmiscSpeaker = 0x02;
constexpr uint8_t kNmiscRefresh = 0x10;
constexpr uint8_t kNmiscOut2 = 0x20;
constexpr uint64_t kRefreshHalfPeriodNs = 15085;  // DRAM refresh toggle, ~15 us

uint32_t bcd_to_bin(uint32_t v) {
  return ((v >> 12) & 0xF) * 1000 + ((v >> 8) & 0xF) * 100 + ((v >> 4) & 0xF) * 10 + (v & 0xF);
}
uint16_t bin_to_bcd(uint32_t v) {
  v %= 10000;
  return static_cast<uint16_t>(((v / 1000) << 12) | (((v / 100) % 10) << 8) |
                               (((v / 10) % 10) << 4) | (v % 10));
}
}  // namespace

Vatpit::Vatpit(InterruptRouter& router, TimerService& timers) : router_(router), timers_(timers) {
  timer_id_ = timers_.create([this](uint64_t now) { timer_callback(now); });
  reset();
}

void Vatpit::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : c_) c = Counter{};
  c_[2].gate = false;
  nmisc_ = 0;
  irq_armed_ = false;
  timers_.cancel(timer_id_);
}

bool Vatpit::claims_port(uint16_t port) {
  return (port >= kCounter0 && port <= kControl) || port == kNmisc;
}

uint64_t Vatpit::irqs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return irqs_;
}

uint64_t Vatpit::periods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return periods_;
}

uint64_t Vatpit::ticks_locked(const Counter& c, uint64_t now) const {
  if (!c.loaded) return 0;
  if (c.mode == 1 || c.mode == 5) return 0;  // never triggered
  uint64_t t = c.base_ticks;
  if (c.gate && now > c.running_since_ns) t += ns_to_ticks(now - c.running_since_ns, kFreqHz);
  return t;
}

uint16_t Vatpit::count_locked(const Counter& c, uint64_t now) const {
  uint64_t t = ticks_locked(c, now);
  uint64_t n = c.initial;
  uint64_t value;
  switch (c.mode) {
    case 2:
    case 3: value = n - (t % n); break;
    default: {
      // Modes 0, 4 (and untriggered 1, 5): count down once, then wrap.
      uint64_t modulus = c.bcd ? 10000 : 0x10000;
      value = (n + modulus - (t % modulus)) % modulus;
      break;
    }
  }
  if (value == n && n == (c.bcd ? 10000u : 0x10000u)) value = 0;
  return c.bcd ? bin_to_bcd(static_cast<uint32_t>(value)) : static_cast<uint16_t>(value);
}

bool Vatpit::out_locked(const Counter& c, uint64_t now) const {
  if (!c.loaded) return c.mode != 0;  // mode 0 output starts low after the control word
  uint64_t t = ticks_locked(c, now);
  uint64_t n = c.initial;
  switch (c.mode) {
    case 0: return t >= n;
    case 2: return !c.gate || (t % n) != n - 1;
    case 3: return !c.gate || (t % n) < (n + 1) / 2;
    case 4: return t != n;
    default: return true;
  }
}

uint8_t Vatpit::status_locked(const Counter& c, uint64_t now) const {
  uint8_t s = static_cast<uint8_t>((c.rw << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
  if (out_locked(c, now)) s |= 0x80;
  if (!c.loaded) s |= 0x40;  // null count
  return s;
}

void Vatpit::schedule_irq_locked(uint64_t now) {
  const Counter& c = c_[0];
  irq_armed_ = false;
  timers_.cancel(timer_id_);
  if (!c.loaded || !c.gate) return;
  uint64_t t = ticks_locked(c, now);
  uint64_t n = c.initial;
  uint64_t period = ticks_to_ns(n, kFreqHz);
  switch (c.mode) {
    case 0:
    case 4:
      if (t >= n) return;  // terminal count already passed
      next_irq_ns_ = c.running_since_ns + ticks_to_ns(n - c.base_ticks, kFreqHz);
      break;
    case 2:
    case 3:
      if (period < kMinPeriodicNs) period = kMinPeriodicNs;
      next_irq_ns_ = now + period - (now - c.running_since_ns) % period;
      break;
    default:
      return;
  }
  irq_armed_ = true;
  timers_.arm(timer_id_, next_irq_ns_);
}

void Vatpit::timer_callback(uint64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!irq_armed_) return;
  if (now < next_irq_ns_) {
    timers_.arm(timer_id_, next_irq_ns_);
    return;
  }
  const Counter& c = c_[0];
  ++irqs_;
  ++periods_;
  router_.isa_irq(0, 2, IrqOp::kPulse);
  if (c.mode == 2 || c.mode == 3) {
    uint64_t period = ticks_to_ns(c.initial, kFreqHz);
    if (period < kMinPeriodicNs) period = kMinPeriodicNs;
    // Stay phase-locked; periods the host was too late for coalesce into this one (bhyve
    // behaves the same; the local APIC timer is the one that owes ticks).
    uint64_t late = (now - next_irq_ns_) / period;
    periods_ += late;
    next_irq_ns_ += (late + 1) * period;
    uint64_t next = next_irq_ns_;
    timers_.arm(timer_id_, next);
  } else {
    irq_armed_ = false;
  }
}

void Vatpit::load_locked(int idx, uint32_t value, uint64_t now) {
  Counter& c = c_[idx];
  uint32_t n = c.bcd ? bcd_to_bin(value & 0xFFFF) : (value & 0xFFFF);
  if (n == 0) n = c.bcd ? 10000 : 0x10000;
  if (n == 1 && (c.mode == 2 || c.mode == 3)) n = 2;  // count 1 is illegal there
  c.initial = n;
  c.loaded = true;
  c.base_ticks = 0;
  c.running_since_ns = now;
  if (idx == 0) schedule_irq_locked(now);
}

void Vatpit::control_locked(uint8_t v, uint64_t now) {
  int sel = v >> 6;
  if (sel == 3) {
    // Read-back: bit 5 clear latches counts, bit 4 clear latches status; bits 1-3 select.
    for (int i = 0; i < 3; ++i) {
      if (!(v & (2u << i))) continue;
      Counter& c = c_[i];
      if (!(v & 0x20) && !c.count_latched) {
        c.count_latched = true;
        c.latched_count = count_locked(c, now);
        c.read_msb_next = false;
      }
      if (!(v & 0x10) && !c.status_latched) {
        c.status_latched = true;
        c.latched_status = status_locked(c, now);
      }
    }
    return;
  }
  Counter& c = c_[sel];
  int rw = (v >> 4) & 3;
  if (rw == 0) {  // counter latch command
    if (!c.count_latched) {
      c.count_latched = true;
      c.latched_count = count_locked(c, now);
      c.read_msb_next = false;
    }
    return;
  }
  c.rw = static_cast<uint8_t>(rw);
  uint8_t mode = (v >> 1) & 7;
  if (mode > 5) mode -= 4;  // 6 and 7 alias modes 2 and 3
  c.mode = mode;
  c.bcd = v & 1;
  c.loaded = false;
  c.write_msb_next = false;
  c.read_msb_next = false;
  c.count_latched = false;
  c.status_latched = false;
  if (sel == 0) schedule_irq_locked(now);
}

uint8_t Vatpit::read_counter_locked(int idx, uint64_t now) {
  Counter& c = c_[idx];
  if (c.status_latched) {
    c.status_latched = false;
    return c.latched_status;
  }
  uint16_t value = c.count_latched ? c.latched_count : count_locked(c, now);
  uint8_t byte;
  switch (c.rw) {
    case 1: byte = value & 0xFF; c.count_latched = false; break;
    case 2: byte = value >> 8; c.count_latched = false; break;
    default:
      if (!c.read_msb_next) {
        byte = value & 0xFF;
        c.read_msb_next = true;
        if (c.count_latched) c.latched_count = value;
      } else {
        byte = value >> 8;
        c.read_msb_next = false;
        c.count_latched = false;
      }
      break;
  }
  return byte;
}

void Vatpit::write_counter_locked(int idx, uint8_t value, uint64_t now) {
  Counter& c = c_[idx];
  switch (c.rw) {
    case 1: load_locked(idx, value, now); break;
    case 2: load_locked(idx, static_cast<uint32_t>(value) << 8, now); break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = value;
        c.write_msb_next = true;
      } else {
        c.write_msb_next = false;
        load_locked(idx, c.write_lsb | (static_cast<uint32_t>(value) << 8), now);
      }
      break;
  }
}

void Vatpit::set_gate2_locked(bool gate, uint64_t now) {
  Counter& c = c_[2];
  if (gate == c.gate) return;
  if (!gate) {
    c.base_ticks = ticks_locked(c, now);
    c.gate = false;
    return;
  }
  c.gate = true;
  if (c.mode == 0 || c.mode == 4) {
    c.running_since_ns = now;  // counting resumes
  } else {
    c.base_ticks = 0;          // a rising gate reloads in modes 1, 2, 3, 5
    c.running_since_ns = now;
  }
}

uint32_t Vatpit::port_in(uint16_t port, int size) {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t v;
  if (port == kNmisc) {
    v = nmisc_ & (kNmiscGate2 | kNmiscSpeaker);
    if ((now / kRefreshHalfPeriodNs) & 1) v |= kNmiscRefresh;
    if (out_locked(c_[2], now)) v |= kNmiscOut2;
  } else if (port == kControl) {
    v = 0xFF;  // the control register is write-only
  } else {
    v = read_counter_locked(port - kCounter0, now);
  }
  if (size == 2) v |= 0xFF00;
  if (size == 4) v |= 0xFFFFFF00;
  return v;
}

void Vatpit::port_out(uint16_t port, int /*size*/, uint32_t value) {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  uint8_t v = static_cast<uint8_t>(value);
  if (port == kNmisc) {
    nmisc_ = v & (kNmiscGate2 | kNmiscSpeaker);
    set_gate2_locked(v & kNmiscGate2, now);
  } else if (port == kControl) {
    control_locked(v, now);
  } else {
    write_counter_locked(port - kCounter0, v, now);
  }
}

}  // namespace tsvirt::vmm
