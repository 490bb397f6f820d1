// vrtc: see vrtc.h.
#include "vmm/devices/vrtc.h"

#include <time.h>

#include "vmm/clock.h"

namespace tsvirt::vmm {

namespace {
constexpr int kSec = 0x00, kSecAlarm = 0x01, kMin = 0x02, kMinAlarm = 0x03, kHour = 0x04,
              kHourAlarm = 0x05, kDow = 0x06, kDay = 0x07, kMonth = 0x08, kYear = 0x09,
              kRegA = 0x0A, kRegB = 0x0B, kRegC = 0x0C, kRegD = 0x0D, kCentury = 0x32;

constexpr uint8_t kAUip = 0x80;
constexpr uint8_t kADivMask = 0x70;
constexpr uint8_t kADiv32k = 0x20;
constexpr uint8_t kARateMask = 0x0F;
constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBBinary = 0x04,
                  kB24h = 0x02;
constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
constexpr uint8_t kDVrt = 0x80;
constexpr uint64_t kNsPerSec = 1000000000ull;
constexpr uint64_t kUipNs = 244000;  // UIP precedes the update by 244 us

constexpr uint64_t k64K = 64 * 1024, k16M = 16ull << 20, k1M = 1ull << 20;

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int days_in_month(int64_t y, int m) {
  static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}
}  // namespace

Vrtc::Vrtc(InterruptRouter& router, TimerService& timers, bool localtime)
    : router_(router), timers_(timers) {
  timer_id_ = timers_.create([this](uint64_t now) { timer_callback(now); });
  uint64_t real = realtime_ns();
  int64_t secs = static_cast<int64_t>(real / kNsPerSec);
  if (localtime) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm;
    if (localtime_r(&t, &tm)) secs += tm.tm_gmtoff;
  }
  uint64_t now = monotonic_ns();
  base_secs_ = secs;
  // Align the fractional second with the host's, so updates happen on host second edges.
  base_ns_ = now - real % kNsPerSec;
  nvram_[kRegA] = kADiv32k | 0x06;  // 32.768 kHz time base, 1024 Hz periodic rate
  nvram_[kRegB] = kB24h;
  nvram_[kRegD] = kDVrt;
  last_flags_ns_ = now;
}

bool Vrtc::halted_locked() const {
  return (nvram_[kRegB] & kBSet) || (nvram_[kRegA] & kADivMask) != kADiv32k;
}

int64_t Vrtc::now_secs_locked(uint64_t now_ns, uint64_t* frac_ns) const {
  int64_t elapsed = static_cast<int64_t>(now_ns - base_ns_);
  int64_t whole = floor_div(elapsed, static_cast<int64_t>(kNsPerSec));
  if (frac_ns) *frac_ns = static_cast<uint64_t>(elapsed - whole * static_cast<int64_t>(kNsPerSec));
  return base_secs_ + whole;
}

uint8_t Vrtc::encode(int value) const {
  if (nvram_[kRegB] & kBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

int Vrtc::decode(uint8_t value) const {
  if (nvram_[kRegB] & kBBinary) return value;
  int hi = value >> 4, lo = value & 0xF;
  if (hi > 9 || lo > 9) return -1;
  return hi * 10 + lo;
}

void Vrtc::materialize_locked(uint64_t now_ns) {
  int64_t secs = now_secs_locked(now_ns, nullptr);
  int64_t days = floor_div(secs, 86400);
  int64_t sod = secs - days * 86400;
  int64_t year;
  int month, day;
  civil_from_days(days, &year, &month, &day);
  int hour = static_cast<int>(sod / 3600);
  nvram_[kSec] = encode(static_cast<int>(sod % 60));
  nvram_[kMin] = encode(static_cast<int>((sod / 60) % 60));
  if (nvram_[kRegB] & kB24h) {
    nvram_[kHour] = encode(hour);
  } else {
    int h12 = hour % 12 == 0 ? 12 : hour % 12;
    nvram_[kHour] = static_cast<uint8_t>(encode(h12) | (hour >= 12 ? 0x80 : 0));
  }
  nvram_[kDow] = encode(static_cast<int>(((days % 7) + 11) % 7) + 1);  // Sunday = 1
  nvram_[kDay] = encode(day);
  nvram_[kMonth] = encode(month);
  int64_t y = year < 0 ? 0 : year;
  nvram_[kYear] = encode(static_cast<int>(y % 100));
  nvram_[kCentury] = encode(static_cast<int>((y / 100) % 100));
}

bool Vrtc::parse_locked(int64_t* secs) const {
  int sec = decode(nvram_[kSec] & 0x7F), min = decode(nvram_[kMin]);
  int hour;
  if (nvram_[kRegB] & kB24h) {
    hour = decode(nvram_[kHour]);
  } else {
    int h = decode(nvram_[kHour] & 0x7F);
    if (h < 1 || h > 12) return false;
    hour = (h % 12) + ((nvram_[kHour] & 0x80) ? 12 : 0);
  }
  int day = decode(nvram_[kDay]), month = decode(nvram_[kMonth]), yy = decode(nvram_[kYear]);
  int century = decode(nvram_[kCentury]);
  if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || hour > 23 || month < 1 ||
      month > 12 || yy < 0 || yy > 99 || century < 0 || century > 99 || day < 1) {
    return false;
  }
  int64_t year = century * 100 + yy;
  if (day > days_in_month(year, month)) return false;
  *secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  return true;
}

uint64_t Vrtc::periodic_ns_locked() const {
  int rs = nvram_[kRegA] & kARateMask;
  if (rs == 0) return 0;
  uint64_t hz = rs <= 2 ? (32768u >> (rs + 6)) : (32768u >> (rs - 1));
  uint64_t period = kNsPerSec / hz;
  return period < kMinPeriodicNs ? kMinPeriodicNs : period;
}

bool Vrtc::alarm_matches_locked(int64_t secs) const {
  int64_t sod = secs - floor_div(secs, 86400) * 86400;
  auto match = [this](uint8_t alarm, int value) {
    if ((alarm & 0xC0) == 0xC0) return true;  // "don't care"
    return decode(alarm) == value;
  };
  int hour = static_cast<int>(sod / 3600);
  bool hour_ok;
  if ((nvram_[kHourAlarm] & 0xC0) == 0xC0) {
    hour_ok = true;
  } else if (nvram_[kRegB] & kB24h) {
    hour_ok = decode(nvram_[kHourAlarm]) == hour;
  } else {
    int h12 = hour % 12 == 0 ? 12 : hour % 12;
    bool pm = hour >= 12;
    hour_ok = decode(nvram_[kHourAlarm] & 0x7F) == h12 && ((nvram_[kHourAlarm] & 0x80) != 0) == pm;
  }
  return match(nvram_[kSecAlarm], static_cast<int>(sod % 60)) &&
         match(nvram_[kMinAlarm], static_cast<int>((sod / 60) % 60)) && hour_ok;
}

void Vrtc::raise_flags_locked(uint8_t flags) {
  uint8_t c = nvram_[kRegC];
  bool was = c & kCIrqf;
  c |= flags & (kCPf | kCAf | kCUf);
  uint8_t b = nvram_[kRegB];
  if (((c & kCPf) && (b & kBPie)) || ((c & kCAf) && (b & kBAie)) || ((c & kCUf) && (b & kBUie))) {
    c |= kCIrqf;
  }
  nvram_[kRegC] = c;
  if (!was && (c & kCIrqf)) {
    irqs_.fetch_add(1, std::memory_order_relaxed);
    router_.isa_irq(8, 8, IrqOp::kPulse);
  }
}

void Vrtc::lazy_flags_locked(uint64_t now_ns) {
  // Bring PF/UF/AF up to date for the interval since the last look, without interrupts
  // having been scheduled for them.
  if (halted_locked()) {
    last_flags_ns_ = now_ns;
    return;
  }
  uint8_t flags = 0;
  uint64_t from = last_flags_ns_ < base_ns_ ? base_ns_ : last_flags_ns_;
  if (now_ns > from) {
    int64_t s0 = now_secs_locked(from, nullptr), s1 = now_secs_locked(now_ns, nullptr);
    if (s1 > s0) {
      flags |= kCUf;
      // Check at most one day of seconds for an alarm match.
      for (int64_t s = s0 + 1; s <= s1 && s <= s0 + 86400; ++s) {
        if (alarm_matches_locked(s)) {
          flags |= kCAf;
          break;
        }
      }
    }
    uint64_t p = periodic_ns_locked();
    if (p && (now_ns - base_ns_) / p != (from - base_ns_) / p) flags |= kCPf;
  }
  last_flags_ns_ = now_ns;
  if (flags) raise_flags_locked(flags);
}

void Vrtc::reschedule_locked(uint64_t now_ns) {
  timers_.cancel(timer_id_);
  next_update_ns_ = next_periodic_ns_ = 0;
  if (halted_locked()) return;
  uint8_t b = nvram_[kRegB];
  uint64_t next = UINT64_MAX;
  if (b & (kBUie | kBAie)) {
    uint64_t frac;
    now_secs_locked(now_ns, &frac);
    next_update_ns_ = now_ns + (kNsPerSec - frac);
    next = next_update_ns_;
  }
  uint64_t p = periodic_ns_locked();
  if ((b & kBPie) && p) {
    next_periodic_ns_ = now_ns + p - (now_ns - base_ns_) % p;
    if (next_periodic_ns_ < next) next = next_periodic_ns_;
  }
  if (next != UINT64_MAX) timers_.arm(timer_id_, next);
}

void Vrtc::timer_callback(uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (halted_locked()) return;
  lazy_flags_locked(now_ns);
  reschedule_locked(now_ns);
}

uint8_t Vrtc::read_reg_locked(int index, uint64_t now_ns) {
  bool halted = halted_locked();
  if (!halted && (index <= kYear || index == kCentury) && index != kSecAlarm &&
      index != kMinAlarm && index != kHourAlarm) {
    materialize_locked(now_ns);
  }
  switch (index) {
    case kRegA: {
      uint8_t a = nvram_[kRegA] & static_cast<uint8_t>(~kAUip);
      uint64_t frac;
      now_secs_locked(now_ns, &frac);
      if (!halted && frac >= kNsPerSec - kUipNs) a |= kAUip;
      return a;
    }
    case kRegC: {
      lazy_flags_locked(now_ns);
      uint8_t c = nvram_[kRegC];
      nvram_[kRegC] = 0;
      return c;
    }
    default: return nvram_[index];
  }
}

void Vrtc::write_reg_locked(int index, uint8_t value, uint64_t now_ns) {
  bool was_halted = halted_locked();
  switch (index) {
    case kRegA: {
      // A running clock is first written back to the registers so a divider reset
      // freezes it at the right time.
      if (!was_halted) materialize_locked(now_ns);
      nvram_[kRegA] = value & static_cast<uint8_t>(~kAUip);
      break;
    }
    case kRegB: {
      if (!was_halted) materialize_locked(now_ns);
      uint8_t b = value;
      if (b & kBSet) b &= static_cast<uint8_t>(~kBUie);
      // A change of data mode or hour format reinterprets nothing: the time registers
      // are re-encoded from the running clock below.
      nvram_[kRegB] = b;
      break;
    }
    case kRegC:
    case kRegD:
      return;  // read-only
    case kSec:
      value &= 0x7F;
      [[fallthrough]];
    default:
      if (!was_halted && (index <= kYear || index == kCentury) && index != kSecAlarm &&
          index != kMinAlarm && index != kHourAlarm) {
        materialize_locked(now_ns);
        nvram_[index] = value;
        int64_t secs;
        if (parse_locked(&secs)) {
          base_secs_ = secs;
          base_ns_ = now_ns;
        }
        return;
      }
      nvram_[index] = value;
      return;
  }
  bool halted = halted_locked();
  if (was_halted && !halted) {
    // Leaving SET / divider reset: the registers are the new time, starting now.
    int64_t secs;
    if (parse_locked(&secs)) base_secs_ = secs;
    else base_secs_ = now_secs_locked(now_ns, nullptr);  // invalid date: keep the old time
    base_ns_ = now_ns;
    last_flags_ns_ = now_ns;
  } else if (!was_halted && halted) {
    // Freeze: the registers were written with the current time in the encoding in force
    // before this write (a DM change converts nothing, as on the chip); the clock stops.
    base_secs_ = now_secs_locked(now_ns, nullptr);
    base_ns_ = now_ns;
  } else if (!halted) {
    materialize_locked(now_ns);  // new encoding (binary/BCD, 12/24 h)
  }
  reschedule_locked(now_ns);
}

uint32_t Vrtc::port_in(uint16_t port, int size) {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t v = port == 0x70 ? addr_ : read_reg_locked(addr_ & 0x7F, now);
  if (size == 2) v |= 0xFF00;
  if (size == 4) v |= 0xFFFFFF00;
  return v;
}

void Vrtc::port_out(uint16_t port, int /*size*/, uint32_t value) {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  if (port == 0x70) {
    addr_ = static_cast<uint8_t>(value);
    return;
  }
  write_reg_locked(addr_ & 0x7F, static_cast<uint8_t>(value), now);
}

void Vrtc::set_memory_cells(uint64_t lowmem, uint64_t highmem) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t base_kib = 640;
  nvram_[0x15] = base_kib & 0xFF;
  nvram_[0x16] = (base_kib >> 8) & 0xFF;
  uint64_t ext_kib = lowmem > k1M ? (lowmem - k1M) / 1024 : 0;
  if (ext_kib > 0xFFFF) ext_kib = 0xFFFF;
  nvram_[0x17] = nvram_[0x30] = ext_kib & 0xFF;
  nvram_[0x18] = nvram_[0x31] = (ext_kib >> 8) & 0xFF;
  uint64_t lo = lowmem > k16M ? (lowmem - k16M) / k64K : 0;
  nvram_[0x34] = lo & 0xFF;
  nvram_[0x35] = (lo >> 8) & 0xFF;
  uint64_t hi = highmem / k64K;
  nvram_[0x5B] = hi & 0xFF;
  nvram_[0x5C] = (hi >> 8) & 0xFF;
  nvram_[0x5D] = (hi >> 16) & 0xFF;
}

bool Vrtc::nvram_read(int offset, uint8_t* value) {
  if (offset < 0 || offset > 127) return false;
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  // Reading register C through the management API must not clear guest flags.
  if (offset == kRegC) {
    *value = nvram_[kRegC];
    return true;
  }
  *value = read_reg_locked(offset, now);
  return true;
}

bool Vrtc::nvram_write(int offset, uint8_t value) {
  if (offset < 0 || offset > 127) return false;
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  write_reg_locked(offset, value, now);
  return true;
}

void Vrtc::set_time(int64_t secs) {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  base_secs_ = secs;
  base_ns_ = now;
  if (halted_locked()) materialize_locked(now);
  reschedule_locked(now);
}

int64_t Vrtc::get_time() {
  uint64_t now = monotonic_ns();
  std::lock_guard<std::mutex> lock(mu_);
  if (halted_locked()) {
    int64_t secs;
    if (parse_locked(&secs)) return secs;
  }
  return now_secs_locked(now, nullptr);
}

}  // namespace tsvirt::vmm
