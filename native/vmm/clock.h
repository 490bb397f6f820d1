// Host clocks used by the in-vmm timers.
//
// All device timing (LAPIC timer, PIT, RTC periodic/update, PM timer, HPET) is derived
// from CLOCK_MONOTONIC in nanoseconds so that host wall-clock steps never reach a guest
// timer; only the RTC reads CLOCK_REALTIME, once, to know the date at VM creation.
#pragma once

#include <time.h>

#include <cstdint>

namespace tsvirt::vmm {

inline uint64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t realtime_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ticks of a clock running at hz after ns nanoseconds (no overflow for any uint64 ns).
inline uint64_t ns_to_ticks(uint64_t ns, uint64_t hz) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * hz / 1000000000u);
}

// nanoseconds needed for ticks of a clock at hz, rounded up, saturating.
inline uint64_t ticks_to_ns(uint64_t ticks, uint64_t hz) {
  if (hz == 0) return UINT64_MAX;
  unsigned __int128 ns = (static_cast<unsigned __int128>(ticks) * 1000000000u + hz - 1) / hz;
  return ns > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(ns);
}

}  // namespace tsvirt::vmm
