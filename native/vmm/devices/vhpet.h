// vhpet: the High Precision Event Timer (IA-PC HPET specification 1.0a; bhyve
// vmm/io/vhpet.c, reference 4.7).
//
// MMIO 0xFED00000, 1 KiB, aligned 32- and 64-bit accesses (others read 0 / are dropped).
// General capabilities (revision 1, 8 timers, 64-bit counter, legacy replacement capable,
// vendor 0x8086, 2^24 Hz), general configuration (enable, legacy replacement), general
// interrupt status (write 1 to clear), main counter, and 8 timers each with configuration
// (level/edge, enable, periodic, value-set, 32-bit mode, I/O APIC route, FSB enable),
// comparator and FSB route registers. Timers support one-shot and periodic modes and FSB
// (MSI) delivery; I/O APIC routes are limited to pins 24-31 as bhyve advertises with a
// 32-pin I/O APIC (a route outside the capability mask disconnects the timer, as bhyve).
// Legacy replacement sends timer 0 to IRQ0 (8259 input 0, I/O APIC pin 2) and timer 1 to
// IRQ8. Level-triggered timers hold their pin asserted until the status bit is cleared.
// Periodic timers fire at most every kMinPeriodicNs.
#pragma once

#include <cstdint>
#include <mutex>

#include "vmm/irq.h"
#include "vmm/timer.h"

namespace tsvirt::vmm {

class Vhpet {
 public:
  static constexpr int kTimers = 8;                // VHPET_NUM_TIMERS
  static constexpr uint64_t kFreqHz = 1ull << 24;  // HPET_FREQ
  static constexpr uint32_t kRouteCap = 0xFF000000u;

  Vhpet(InterruptRouter& router, TimerService& timers);
  Vhpet(const Vhpet&) = delete;
  Vhpet& operator=(const Vhpet&) = delete;

  uint64_t mmio_read(uint64_t offset, int size);
  void mmio_write(uint64_t offset, int size, uint64_t value);
  // Low 32 bits of the capabilities register (vm_get_hpet_capabilities, ACPI HPET table).
  static uint32_t capabilities_low();
  uint64_t interrupts() const;
  // Comparator matches that fell due, including periods a late timer thread coalesced.
  uint64_t matches() const;

 private:
  struct Timer {
    uint64_t config = 0;
    uint64_t comparator = 0;
    uint64_t period = 0;
    uint64_t fsb = 0;
    bool armed = false;
    uint64_t deadline_ns = 0;
    TimerService::TimerId id = -1;
  };

  uint64_t counter_locked(uint64_t now) const;
  uint64_t read64_locked(uint64_t reg, uint64_t now);
  void write64_locked(uint64_t reg, uint64_t value, uint64_t mask, uint64_t now);
  void schedule_locked(int n, uint64_t now);
  void fire_locked(int n);
  void clear_status_locked(uint32_t bits);
  int pin_locked(int n) const;
  void timer_callback(int n, uint64_t now);

  InterruptRouter& router_;
  TimerService& timers_;
  mutable std::mutex mu_;
  uint64_t config_ = 0;
  uint64_t status_ = 0;
  uint64_t counter_base_ = 0;  // counter value at enabled_ns_ (or frozen value)
  uint64_t enabled_ns_ = 0;
  Timer t_[kTimers];
  uint64_t interrupts_ = 0;
  uint64_t matches_ = 0;
};

}  // namespace tsvirt::vmm
