// One timer thread per VM for the in-vmm devices (vlapic, vatpit, vrtc, vhpet).
//
// Devices create their timers once, then arm/cancel them with absolute CLOCK_MONOTONIC
// deadlines from any thread. When a deadline passes, the timer thread calls the timer's
// callback with the current time, holding no lock of its own; the device takes its own
// lock there. A callback may run for a deadline that was re-armed or cancelled a moment
// before (the race is inherent), so every device re-checks its own notion of "due" in the
// callback; the service guarantees only that a callback never runs before its deadline and
// that no callback runs after stop() returns.
//
// Lock order: device lock -> service lock (arm/cancel under a device lock are fine);
// the service never calls a callback while holding its own lock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace tsvirt::vmm {

// Shortest period any in-vmm periodic timer (LAPIC, PIT, RTC, HPET) fires at: 10 kHz. A
// guest that programs a faster periodic rate gets its interrupts at this rate instead, so
// a hostile guest cannot turn the timer thread into a busy loop; real guests use 1 ms or
// longer (Linux HZ), and counter reads still show the programmed rate.
constexpr uint64_t kMinPeriodicNs = 100000;

class TimerService {
 public:
  using Callback = std::function<void(uint64_t now_ns)>;
  using TimerId = int;

  TimerService() = default;
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Registers a timer (not armed). Allowed at any time; timers are never destroyed.
  TimerId create(Callback callback);
  // Arms (or re-arms) a timer to fire at deadline_ns (CLOCK_MONOTONIC).
  void arm(TimerId id, uint64_t deadline_ns);
  void cancel(TimerId id);

  void start();
  void stop();  // joins the thread; idempotent

  // Number of callbacks run so far (statistics, benches).
  uint64_t fired() const;

 private:
  struct Entry {
    Callback callback;
    uint64_t deadline = 0;
    bool armed = false;
  };
  void loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Entry> entries_;  // deque: callbacks stay addressable while others are added
  std::thread thread_;
  bool running_ = false;
  bool stopping_ = false;
  uint64_t fired_ = 0;
};

}  // namespace tsvirt::vmm
