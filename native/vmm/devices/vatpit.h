// vatpit: the Intel 8254 programmable interval timer and port 0x61 (8254 datasheet;
// bhyve vmm/io/vatpit.c, reference 4.7 and 5.3).
//
// Ports 0x40-0x42 (counters 0-2), 0x43 (control word: counter select, access mode
// latch/LSB/MSB/LSB-then-MSB, mode 0-5, BCD; counter latch and read-back commands), 0x61
// (NMI status and control: bit 0 counter-2 gate, bit 1 speaker data, bit 4 refresh toggle,
// bit 5 counter-2 output). The input clock is 1.193182 MHz on the host monotonic clock;
// counts are computed from elapsed time, never ticked. Counter 0 drives ISA IRQ0 (8259
// input 0 and I/O APIC pin 2, pulsed): once at terminal count in modes 0 and 4, every
// period in modes 2 and 3 (at most every kMinPeriodicNs). Counter 2's gate follows port
// 0x61 bit 0, so Linux's PIT-based TSC calibration works.
//
// Modes 1 and 5 (hardware-retriggerable) accept the count but never start, since no gate
// input is wired to counters 0 and 1 (bhyve refuses those modes outright).
#pragma once

#include <cstdint>
#include <mutex>

#include "vmm/irq.h"
#include "vmm/timer.h"

namespace tsvirt::vmm {

class Vatpit {
 public:
  static constexpr uint64_t kFreqHz = 1193182;  // PIT_8254_FREQ

  Vatpit(InterruptRouter& router, TimerService& timers);
  Vatpit(const Vatpit&) = delete;
  Vatpit& operator=(const Vatpit&) = delete;

  void reset();
  static bool claims_port(uint16_t port);
  uint32_t port_in(uint16_t port, int size);
  void port_out(uint16_t port, int size, uint32_t value);

  uint64_t irqs() const;
  // Counter-0 periods that elapsed while it was generating interrupts, including those a
  // late timer thread coalesced: the programmed rate, independent of host scheduling.
  uint64_t periods() const;

 private:
  struct Counter {
    uint8_t mode = 0;
    uint8_t rw = 3;
    bool bcd = false;
    uint32_t initial = 0x10000;  // in binary ticks
    bool loaded = false;         // a count was written since the control word
    bool gate = true;
    uint64_t base_ticks = 0;     // ticks counted before running_since_ns
    uint64_t running_since_ns = 0;
    bool write_msb_next = false;
    uint8_t write_lsb = 0;
    bool read_msb_next = false;
    bool count_latched = false;
    uint16_t latched_count = 0;
    bool status_latched = false;
    uint8_t latched_status = 0;
  };

  uint64_t ticks_locked(const Counter& c, uint64_t now) const;
  uint16_t count_locked(const Counter& c, uint64_t now) const;
  bool out_locked(const Counter& c, uint64_t now) const;
  uint8_t status_locked(const Counter& c, uint64_t now) const;
  void load_locked(int idx, uint32_t value, uint64_t now);
  void control_locked(uint8_t value, uint64_t now);
  void schedule_irq_locked(uint64_t now);
  void timer_callback(uint64_t now);
  uint8_t read_counter_locked(int idx, uint64_t now);
  void write_counter_locked(int idx, uint8_t value, uint64_t now);
  void set_gate2_locked(bool gate, uint64_t now);

  InterruptRouter& router_;
  TimerService& timers_;
  TimerService::TimerId timer_id_;

  mutable std::mutex mu_;
  Counter c_[3];
  uint8_t nmisc_ = 0;  // port 0x61 bits 0-1
  bool irq_armed_ = false;
  uint64_t next_irq_ns_ = 0;
  uint64_t irqs_ = 0;
  uint64_t periods_ = 0;
};

}  // namespace tsvirt::vmm
