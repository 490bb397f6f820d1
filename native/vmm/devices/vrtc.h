// vrtc: the MC146818 real-time clock and CMOS NVRAM (MC146818A datasheet; bhyve
// vmm/io/vrtc.c and usr.sbin/bhyve/rtc.c, reference 4.7 and 5.3).
//
// Ports 0x70 (index, bit 7 = NMI disable) and 0x71 (data) over 128 bytes: time and alarm
// registers 0x00-0x09, register A (UIP, divider, periodic rate), B (SET, PIE, AIE, UIE,
// DM binary/BCD, 24/12 hour), C (IRQF/PF/AF/UF, read clears), D (valid RAM), NVRAM
// 0x0E-0x7F with the century at 0x32 and bhyve's memory-size cells filled at creation
// (0x15/0x16 base 640 KiB, 0x17/0x18 and 0x30/0x31 extended KiB above 1 MiB capped at
// 0xFFFF, 0x34/0x35 64 KiB units above 16 MiB below 4 GiB, 0x5B-0x5D 64 KiB units above
// 4 GiB).
//
// Time is the host's date at creation (UTC, or local time with rtc.use_localtime)
// advanced by the host monotonic clock; a guest that sets the clock (SET bit, or writes
// a time register while running, as OpenBSD does) moves the offset. UIP is high during
// the last 244 us of every second. Periodic (2 Hz - 8192 Hz), alarm and update-ended
// interrupts raise IRQ8 (8259 input 8 and I/O APIC pin 8, pulsed) on a rising IRQF.
// Flags whose interrupt is disabled are computed on demand when register C is read.
// A guest-written date that does not exist (month 13, hour 25) is ignored: the clock keeps
// running from the previous time.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "vmm/irq.h"
#include "vmm/timer.h"

namespace tsvirt::vmm {

class Vrtc {
 public:
  Vrtc(InterruptRouter& router, TimerService& timers, bool localtime);
  Vrtc(const Vrtc&) = delete;
  Vrtc& operator=(const Vrtc&) = delete;

  static bool claims_port(uint16_t port) { return port == 0x70 || port == 0x71; }
  uint32_t port_in(uint16_t port, int size);
  void port_out(uint16_t port, int size, uint32_t value);

  // Fills the memory-size cells as bhyve's rtc_init() does.
  void set_memory_cells(uint64_t lowmem, uint64_t highmem);

  // vm_rtc_read / vm_rtc_write / vm_rtc_settime / vm_rtc_gettime. Offsets 0-127.
  bool nvram_read(int offset, uint8_t* value);
  bool nvram_write(int offset, uint8_t value);
  void set_time(int64_t secs);  // seconds since the epoch, in the RTC's own time zone
  int64_t get_time();
  uint64_t interrupts() const { return irqs_.load(std::memory_order_relaxed); }

 private:
  int64_t now_secs_locked(uint64_t now_ns, uint64_t* frac_ns) const;
  bool halted_locked() const;
  void materialize_locked(uint64_t now_ns);  // current time -> registers 0x00-0x09, 0x32
  bool parse_locked(int64_t* secs) const;    // registers -> time, false if invalid
  uint8_t encode(int value) const;
  int decode(uint8_t value) const;
  uint64_t periodic_ns_locked() const;
  void reschedule_locked(uint64_t now_ns);
  void timer_callback(uint64_t now_ns);
  void raise_flags_locked(uint8_t flags);
  void lazy_flags_locked(uint64_t now_ns);
  bool alarm_matches_locked(int64_t secs) const;
  uint8_t read_reg_locked(int index, uint64_t now_ns);
  void write_reg_locked(int index, uint8_t value, uint64_t now_ns);

  InterruptRouter& router_;
  TimerService& timers_;
  TimerService::TimerId timer_id_;

  std::mutex mu_;
  uint8_t addr_ = 0;
  uint8_t nvram_[128] = {};
  // RTC seconds = base_secs_ + (now - base_ns_) while running; frozen_secs_ while halted.
  int64_t base_secs_ = 0;
  uint64_t base_ns_ = 0;
  bool was_halted_ = false;
  uint64_t last_flags_ns_ = 0;  // time flags were last brought up to date
  uint64_t next_update_ns_ = 0;
  uint64_t next_periodic_ns_ = 0;
  std::atomic<uint64_t> irqs_{0};
};

}  // namespace tsvirt::vmm
