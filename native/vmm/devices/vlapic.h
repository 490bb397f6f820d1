// vlapic: one virtual local APIC per vCPU (Intel SDM vol. 3, chapter 11 "Advanced
// Programmable Interrupt Controller"; bhyve vmm/io/vlapic.c behaviour, reference 4.7).
//
// Implements: xAPIC registers through MMIO at the APIC base (default 0xFEE00000, movable
// through IA32_APIC_BASE), x2APIC registers through MSRs 0x800-0x8FF (when x2APIC is
// allowed), the APIC base MSR state machine (enable/disable, xAPIC -> x2APIC), TPR/PPR,
// IRR/ISR/TMR, EOI with broadcast to the I/O APIC for level-triggered vectors, the 7 LVTs
// (CMCI, timer, thermal, PMC, LINT0, LINT1, error), ESR, IPIs through the ICR (fixed,
// lowest priority, NMI, INIT, SIPI; physical/logical destinations, flat and cluster
// models, shorthands), SELF IPI, and the timer in one-shot, periodic and TSC-deadline
// modes on the host monotonic clock at bhyve's bus frequency (128 MiHz).
//
// Reset state follows QEMU and KVM where bhyve relies on firmware: the BSP's LINT0 resets
// to ExtINT (unmasked), so the 8259 reaches a guest that never touches its local APIC; an
// ExtINT LINT0 passes the 8259 even while the APIC is software-disabled, as in KVM.
//
// Not implemented: SMI delivery (dropped), directed EOI / EOI-broadcast suppression (VER
// bit 24 is 0), CMCI/thermal/PMC sources (their LVTs are plain registers), focus
// processor checking. Every guest value is validated: reserved bits are ignored or raise
// #GP exactly where the SDM says, vectors 0-15 set ESR illegal-vector bits, and a periodic
// timer cannot fire more often than kMinPeriodicNs (a hostile guest cannot flood the timer
// thread; real guests program periods of 1 ms or more). Periodic ticks are never lost: ticks
// that fall due while the host is late, or while the previous one is still pending, are
// delivered one per EOI (at most kMaxBacklog are kept).
//
// Threading: all state is under one mutex. Register accesses run on the vCPU thread;
// accept_*() and the timer callback come from any thread. The vlapic never calls the
// InterruptRouter with its lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "vmm/irq.h"
#include "vmm/timer.h"

namespace tsvirt::vmm {

class Vlapic {
 public:
  static constexpr uint64_t kBusFreqHz = 128ull * 1024 * 1024;  // VLAPIC_BUS_FREQ
  static constexpr uint32_t kVersion = 0x14;
  static constexpr int kMaxLvt = 6;
  static constexpr uint32_t kMaxBacklog = 1000;  // index of the last LVT (CMCI) -> 7 LVTs

  // LVT indices as bhyve's vm_lapic_local_irq numbers them (APIC_LVT_*).
  enum Lvt : int { kLint0 = 0, kLint1, kTimer, kError, kPmc, kThermal, kCmci, kLvtCount };

  // APIC base MSR bits.
  static constexpr uint64_t kBaseBsp = 1ull << 8;
  static constexpr uint64_t kBaseX2apic = 1ull << 10;
  static constexpr uint64_t kBaseEnable = 1ull << 11;

  Vlapic(uint32_t apic_id, bool bsp, bool x2apic_allowed, bool tsc_deadline_allowed,
         InterruptRouter& router, TimerService& timers, VcpuEvents& events);
  Vlapic(const Vlapic&) = delete;
  Vlapic& operator=(const Vlapic&) = delete;

  // Power-on (apic base reset too) or INIT (keeps the APIC base and x2APIC mode per SDM
  // 10.4.7.3: INIT leaves the base MSR alone).
  void reset(bool power_on);

  uint32_t apic_id() const { return id_; }

  // xAPIC MMIO. claims() says whether this vlapic decodes gpa (xAPIC mode, enabled).
  bool claims(uint64_t gpa) const;
  uint64_t mmio_read(uint64_t gpa, int size);
  void mmio_write(uint64_t gpa, int size, uint64_t value);

  // MSRs owned by the local APIC: APIC base, TSC deadline, x2APIC range.
  static bool owns_msr(uint32_t index);
  // false -> #GP(0).
  bool rdmsr(uint32_t index, uint64_t* value);
  bool wrmsr(uint32_t index, uint64_t value);
  uint64_t apic_base() const;

  // CR8 (TPR bits 7:4).
  uint64_t read_cr8();
  void write_cr8(uint64_t value);

  // Message acceptance (any thread).
  void accept_fixed(uint8_t vector, bool level);
  // A LINT pin / LVT source fired (vm_lapic_local_irq).
  void local_irq(int lvt);

  // CPU side (vCPU thread): the highest vector deliverable past the PPR, or -1; then
  // ack() moves it from IRR to ISR.
  int pending_vector();
  bool has_pending_hint() const { return pending_hint_.load(std::memory_order_acquire); }
  void ack(int vector);

  // Destination matching for the APIC bus (any thread).
  bool match_physical(uint32_t dest, bool dest_x2apic) const;
  bool match_logical(uint32_t dest, bool dest_x2apic) const;
  bool x2apic_mode() const;
  bool hw_enabled() const;
  bool sw_enabled() const;
  // LINT0 programmed for ExtINT and unmasked, or the APIC globally disabled (then LINT0 is
  // the CPU's INTR pin): the 8259 may interrupt this vCPU.
  bool accepts_extint() const;

  // Statistics.
  uint64_t accepted() const { return stat_accepted_.load(std::memory_order_relaxed); }
  uint64_t timer_fires() const { return stat_timer_.load(std::memory_order_relaxed); }

 private:
  enum class RegStatus { kOk, kGp };

  // Register file access by xAPIC offset; x2apic selects x2APIC semantics.
  RegStatus read_reg(uint32_t offset, bool x2apic, uint64_t* value);
  RegStatus write_reg(uint32_t offset, bool x2apic, uint64_t value);

  // Locked helpers.
  uint32_t ppr_locked() const;
  int highest(const uint32_t* bits) const;
  void accept_locked(uint8_t vector, bool level, bool* notify);
  void set_error_locked(uint32_t bits, bool* notify);
  void deliver_lvt_locked(int lvt, bool* notify, bool* nmi, bool* extint, bool* init);
  void update_pending_hint_locked();
  uint32_t ldr_locked() const;
  void mask_all_lvts_locked();
  int eoi_locked(bool* notify);  // returns the vector to broadcast, or -1
  ApicMessage icr_message_locked(uint64_t icr) const;
  void send_ipi(const ApicMessage& msg, bool* notify);

  // Timer.
  uint32_t timer_mode_locked() const;
  uint64_t timer_freq_locked() const;
  void timer_start_locked(uint64_t now);
  void timer_stop_locked();
  uint32_t timer_ccr_locked(uint64_t now) const;
  void timer_callback(uint64_t now);
  void arm_tsc_deadline(uint64_t value);

  const uint32_t id_;
  const bool bsp_;
  const bool x2apic_allowed_;
  const bool tsc_deadline_allowed_;
  InterruptRouter& router_;
  TimerService& timers_;
  VcpuEvents& events_;
  TimerService::TimerId timer_id_;

  mutable std::mutex mu_;
  uint64_t base_ = 0;
  uint32_t tpr_ = 0;
  uint32_t ldr_ = 0;
  uint32_t dfr_ = 0xFFFFFFFF;
  uint32_t svr_ = 0xFF;
  uint32_t esr_ = 0;          // latched (what the guest reads)
  uint32_t esr_pending_ = 0;  // accumulating
  uint32_t isr_[8] = {};
  uint32_t tmr_[8] = {};
  uint32_t irr_[8] = {};
  uint32_t lvt_[kLvtCount] = {};
  uint32_t icr_lo_ = 0;
  uint32_t icr_hi_ = 0;
  uint32_t timer_icr_ = 0;
  uint32_t timer_dcr_ = 0;
  // one-shot / periodic: running_ with start and period in ns; TSC-deadline: tsc_deadline_
  bool timer_running_ = false;
  uint64_t timer_start_ns_ = 0;
  uint64_t timer_period_ns_ = 0;
  uint64_t timer_deadline_ns_ = 0;
  uint64_t tsc_deadline_ = 0;
  // Periodic ticks owed to the guest: periods that passed while the host was late, or
  // while the previous tick was still in the IRR. Delivered one per EOI of the timer
  // vector, so a loaded host delays ticks but does not lose them (KVM's "reinject").
  uint32_t timer_backlog_ = 0;

  std::atomic<bool> pending_hint_{false};
  std::atomic<uint64_t> stat_accepted_{0};
  std::atomic<uint64_t> stat_timer_{0};
};

}  // namespace tsvirt::vmm
