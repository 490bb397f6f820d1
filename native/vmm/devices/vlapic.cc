// vlapic: see vlapic.h. Register semantics follow Intel SDM vol. 3 chapter 11.
#include "vmm/devices/vlapic.h"

#include "vmm/clock.h"
#include "vmm/devices/vlapic_regs.h"
#include "vmm/layout.h"
#include "vmm/x86_state.h"

namespace tsvirt::vmm {

using namespace apic;

namespace {

// LVT register offsets by bhyve LVT index.
constexpr uint32_t kLvtOffset[Vlapic::kLvtCount] = {kLvtLint0, kLvtLint1, kLvtTimer, kLvtError,
                                                    kLvtPmc,   kLvtThermal, kLvtCmci};

int lvt_index_of(uint32_t offset) {
  for (int i = 0; i < Vlapic::kLvtCount; ++i) {
    if (kLvtOffset[i] == offset) return i;
  }
  return -1;
}

// Bits software may write in each LVT (SDM figure 11-8).
uint32_t lvt_writable(int lvt, bool tsc_deadline) {
  switch (lvt) {
    case Vlapic::kTimer:
      return kLvtVector | kLvtMasked | (1u << kLvtTimerModeShift) |
             (tsc_deadline ? (1u << (kLvtTimerModeShift + 1)) : 0);
    case Vlapic::kLint0:
    case Vlapic::kLint1:
      return kLvtVector | kLvtDelMode | kLvtPolarity | kLvtTrigger | kLvtMasked;
    case Vlapic::kError:
      return kLvtVector | kLvtMasked;
    default:  // CMCI, thermal, PMC
      return kLvtVector | kLvtDelMode | kLvtMasked;
  }
}

bool test_bit(const uint32_t* bits, int v) { return (bits[v >> 5] >> (v & 31)) & 1; }
void set_bit(uint32_t* bits, int v) { bits[v >> 5] |= 1u << (v & 31); }
void clear_bit(uint32_t* bits, int v) { bits[v >> 5] &= ~(1u << (v & 31)); }

}  // namespace

Vlapic::Vlapic(uint32_t apic_id, bool bsp, bool x2apic_allowed, bool tsc_deadline_allowed,
               InterruptRouter& router, TimerService& timers, VcpuEvents& events)
    : id_(apic_id),
      bsp_(bsp),
      x2apic_allowed_(x2apic_allowed),
      tsc_deadline_allowed_(tsc_deadline_allowed),
      router_(router),
      timers_(timers),
      events_(events) {
  timer_id_ = timers_.create([this](uint64_t now) { timer_callback(now); });
  reset(true);
}

void Vlapic::reset(bool power_on) {
  std::lock_guard<std::mutex> lock(mu_);
  if (power_on) base_ = layout::kLapicBase | kBaseEnable | (bsp_ ? kBaseBsp : 0);
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xFFFFFFFF;
  svr_ = 0xFF;
  esr_ = esr_pending_ = 0;
  for (int i = 0; i < 8; ++i) isr_[i] = tmr_[i] = irr_[i] = 0;
  for (auto& l : lvt_) l = kLvtMasked;
  // The BSP's LINT0 starts in ExtINT mode, unmasked, as QEMU's and KVM's local APICs reset
  // it (what firmware sets up on hardware): 8259 interrupts reach a guest that never
  // programs its local APIC (Multiboot kernels, DOS, the legacy-PIC tests).
  if (bsp_) lvt_[kLint0] = static_cast<uint32_t>(kDmExtInt) << kLvtDelModeShift;
  icr_lo_ = icr_hi_ = 0;
  timer_icr_ = timer_dcr_ = 0;
  timer_stop_locked();
  tsc_deadline_ = 0;
  update_pending_hint_locked();
}

// ---- state queries ---------------------------------------------------------------------

bool Vlapic::hw_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_ & kBaseEnable;
}

bool Vlapic::sw_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return svr_ & kSvrEnable;
}

bool Vlapic::x2apic_mode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return (base_ & (kBaseEnable | kBaseX2apic)) == (kBaseEnable | kBaseX2apic);
}

uint64_t Vlapic::apic_base() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_;
}

bool Vlapic::claims(uint64_t gpa) const {
  std::lock_guard<std::mutex> lock(mu_);
  if ((base_ & (kBaseEnable | kBaseX2apic)) != kBaseEnable) return false;
  uint64_t base = base_ & ~0xFFFull & ((1ull << 52) - 1);
  return gpa >= base && gpa < base + layout::kLapicSize;
}

bool Vlapic::accepts_extint() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!(base_ & kBaseEnable)) return true;  // LINT0 acts as INTR
  uint32_t l = lvt_[kLint0];
  return !(l & kLvtMasked) && ((l & kLvtDelMode) >> kLvtDelModeShift) == kDmExtInt;
}

uint32_t Vlapic::ldr_locked() const {
  if ((base_ & kBaseX2apic) && (base_ & kBaseEnable)) {
    return ((id_ >> 4) << 16) | (1u << (id_ & 0xF));
  }
  return ldr_;
}

bool Vlapic::match_physical(uint32_t dest, bool dest_x2apic) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!(base_ & kBaseEnable)) return false;
  bool x2 = base_ & kBaseX2apic;
  if (dest_x2apic || x2) return dest == id_;
  return (dest & 0xFF) == (id_ & 0xFF);
}

bool Vlapic::match_logical(uint32_t dest, bool dest_x2apic) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!(base_ & kBaseEnable)) return false;
  if (base_ & kBaseX2apic) {
    uint32_t ldr = ldr_locked();
    if (!dest_x2apic) dest &= 0xFF;
    return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF) != 0;
  }
  uint32_t d = dest & 0xFF;
  uint32_t l = ldr_ >> 24;
  if ((dfr_ >> 28) == 0xF) return (d & l) != 0;                  // flat model
  return (d >> 4) == (l >> 4) && (d & l & 0xF) != 0;              // cluster model
}

// ---- priority -------------------------------------------------------------------------

int Vlapic::highest(const uint32_t* bits) const {
  for (int i = 7; i >= 0; --i) {
    if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
  }
  return -1;
}

uint32_t Vlapic::ppr_locked() const {
  int isrv = highest(isr_);
  uint32_t isr_class = isrv < 0 ? 0 : (static_cast<uint32_t>(isrv) & 0xF0);
  if ((tpr_ & 0xF0) >= isr_class) return tpr_ & 0xFF;
  return isr_class;
}

void Vlapic::update_pending_hint_locked() {
  int v = highest(irr_);
  bool deliverable = v >= 0 && (static_cast<uint32_t>(v) & 0xF0) > (ppr_locked() & 0xF0);
  pending_hint_.store(deliverable, std::memory_order_release);
}

int Vlapic::pending_vector() {
  if (!pending_hint_.load(std::memory_order_acquire)) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  int v = highest(irr_);
  if (v < 0) return -1;
  if ((static_cast<uint32_t>(v) & 0xF0) <= (ppr_locked() & 0xF0)) return -1;
  return v;
}

void Vlapic::ack(int vector) {
  if (vector < 16 || vector > 255) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!test_bit(irr_, vector)) return;
  clear_bit(irr_, vector);
  set_bit(isr_, vector);
  update_pending_hint_locked();
}

uint64_t Vlapic::read_cr8() {
  std::lock_guard<std::mutex> lock(mu_);
  return (tpr_ >> 4) & 0xF;
}

void Vlapic::write_cr8(uint64_t value) {
  bool notify;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tpr_ = static_cast<uint32_t>((value & 0xF) << 4);
    update_pending_hint_locked();
    notify = pending_hint_.load(std::memory_order_relaxed);
  }
  if (notify) events_.on_interrupt_pending();
}

// ---- acceptance -----------------------------------------------------------------------

void Vlapic::set_error_locked(uint32_t bits, bool* notify) {
  uint32_t before = esr_pending_;
  esr_pending_ |= bits;
  if (before == esr_pending_) return;
  uint32_t l = lvt_[kError];
  uint8_t v = l & kLvtVector;
  if (!(l & kLvtMasked) && v >= 16) {
    set_bit(irr_, v);
    clear_bit(tmr_, v);
    *notify = true;
    update_pending_hint_locked();
  }
}

void Vlapic::accept_locked(uint8_t vector, bool level, bool* notify) {
  if (vector < 16) {
    set_error_locked(kEsrRecvIllegalVector, notify);
    return;
  }
  // A software-disabled APIC drops fixed interrupts (bhyve vlapic_set_intr_ready).
  if (!(svr_ & kSvrEnable)) return;
  bool already = test_bit(irr_, vector);
  set_bit(irr_, vector);
  if (level) set_bit(tmr_, vector); else clear_bit(tmr_, vector);
  stat_accepted_.fetch_add(1, std::memory_order_relaxed);
  update_pending_hint_locked();
  // A vector already in the IRR coalesces: nothing new for the vCPU, so no kick (on KVM a
  // kick is a signal that interrupts KVM_RUN).
  if (!already) *notify = true;
}

void Vlapic::accept_fixed(uint8_t vector, bool level) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!(base_ & kBaseEnable)) return;
    accept_locked(vector, level, &notify);
  }
  if (notify) events_.on_interrupt_pending();
}

void Vlapic::deliver_lvt_locked(int lvt, bool* notify, bool* nmi, bool* extint, bool* init) {
  uint32_t l = lvt_[lvt];
  if (l & kLvtMasked) return;
  uint32_t mode = (l & kLvtDelMode) >> kLvtDelModeShift;
  if (lvt == kTimer || lvt == kError) mode = kDmFixed;
  switch (mode) {
    case kDmFixed:
      accept_locked(l & kLvtVector, (lvt == kLint0 || lvt == kLint1) && (l & kLvtTrigger),
                    notify);
      break;
    case kDmNmi: *nmi = true; break;
    case kDmExtInt: *extint = true; break;
    case kDmInit: *init = true; break;
    default: break;  // SMI and reserved modes: dropped
  }
}

void Vlapic::local_irq(int lvt) {
  if (lvt < 0 || lvt >= kLvtCount) return;
  bool notify = false, nmi = false, extint = false, init = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!(base_ & kBaseEnable)) {
      // Globally disabled APIC: LINT0/LINT1 are the CPU's INTR and NMI pins.
      if (lvt == kLint0) extint = true;
      if (lvt == kLint1) nmi = true;
    } else {
      deliver_lvt_locked(lvt, &notify, &nmi, &extint, &init);
    }
  }
  if (notify) events_.on_interrupt_pending();
  if (nmi) events_.on_nmi();
  if (extint) events_.on_extint();
  if (init) events_.on_init();
}

int Vlapic::eoi_locked(bool* notify) {
  int v = highest(isr_);
  if (v < 0) return -1;
  clear_bit(isr_, v);
  uint32_t tl = lvt_[kTimer];
  if (timer_backlog_ > 0 && timer_running_ && timer_mode_locked() == kTimerPeriodic &&
      !(tl & kLvtMasked) && static_cast<uint32_t>(v) == (tl & kLvtVector) && (svr_ & kSvrEnable)) {
    // Deliver one owed periodic tick now that the guest finished the previous one.
    --timer_backlog_;
    set_bit(irr_, v);
    clear_bit(tmr_, v);
    stat_accepted_.fetch_add(1, std::memory_order_relaxed);
  }
  update_pending_hint_locked();
  if (pending_hint_.load(std::memory_order_relaxed)) *notify = true;
  return test_bit(tmr_, v) ? v : -1;
}

void Vlapic::mask_all_lvts_locked() {
  for (auto& l : lvt_) l |= kLvtMasked;
}

// ---- IPIs -----------------------------------------------------------------------------

ApicMessage Vlapic::icr_message_locked(uint64_t icr) const {
  ApicMessage m;
  bool x2 = (base_ & kBaseX2apic) != 0;
  m.vector = icr & 0xFF;
  m.mode = (icr >> 8) & 7;
  m.dest_logical = (icr & kIcrDestLogical) != 0;
  m.level_assert = (icr & kIcrLevelAssert) != 0;
  m.level_trigger = (icr & kIcrTriggerLevel) != 0;
  m.shorthand = (icr >> kIcrShorthandShift) & 3;
  m.dest_x2apic = x2;
  m.dest = x2 ? static_cast<uint32_t>(icr >> 32) : static_cast<uint32_t>(icr >> 56);
  m.source_vcpu = static_cast<int>(id_);
  return m;
}

void Vlapic::send_ipi(const ApicMessage& msg, bool* notify) {
  // Fixed and lowest-priority IPIs with an illegal vector are refused at the sender
  // (SDM 11.5.3 "Send Illegal Vector").
  if ((msg.mode == kDmFixed || msg.mode == kDmLowestPriority) && msg.vector < 16) {
    std::lock_guard<std::mutex> lock(mu_);
    set_error_locked(kEsrSendIllegalVector, notify);
    return;
  }
  router_.apic_deliver(msg);
}

// ---- registers ------------------------------------------------------------------------

Vlapic::RegStatus Vlapic::read_reg(uint32_t offset, bool x2, uint64_t* value) {
  std::lock_guard<std::mutex> lock(mu_);
  *value = 0;
  if (offset >= kIsr0 && offset < kIsr0 + 0x80) {
    *value = isr_[(offset - kIsr0) >> 4];
    return RegStatus::kOk;
  }
  if (offset >= kTmr0 && offset < kTmr0 + 0x80) {
    *value = tmr_[(offset - kTmr0) >> 4];
    return RegStatus::kOk;
  }
  if (offset >= kIrr0 && offset < kIrr0 + 0x80) {
    *value = irr_[(offset - kIrr0) >> 4];
    return RegStatus::kOk;
  }
  int lvt = lvt_index_of(offset);
  if (lvt >= 0) {
    *value = lvt_[lvt];
    return RegStatus::kOk;
  }
  switch (offset) {
    case kId: *value = x2 ? id_ : (id_ & 0xFF) << 24; return RegStatus::kOk;
    case kVer: *value = kVersion | (kMaxLvt << 16); return RegStatus::kOk;
    case kTpr: *value = tpr_; return RegStatus::kOk;
    case kApr:
      if (x2) return RegStatus::kGp;
      *value = 0;
      return RegStatus::kOk;
    case kPpr: *value = ppr_locked(); return RegStatus::kOk;
    case kEoi: return x2 ? RegStatus::kGp : RegStatus::kOk;
    case kRrd: return x2 ? RegStatus::kGp : RegStatus::kOk;
    case kLdr: *value = ldr_locked(); return RegStatus::kOk;
    case kDfr:
      if (x2) return RegStatus::kGp;
      *value = dfr_;
      return RegStatus::kOk;
    case kSvr: *value = svr_; return RegStatus::kOk;
    case kEsr: *value = esr_; return RegStatus::kOk;
    case kIcrLo:
      *value = x2 ? (static_cast<uint64_t>(icr_hi_) << 32) | icr_lo_ : icr_lo_;
      return RegStatus::kOk;
    case kIcrHi:
      if (x2) return RegStatus::kGp;
      *value = icr_hi_;
      return RegStatus::kOk;
    case kTimerIcr: *value = timer_icr_; return RegStatus::kOk;
    case kTimerCcr: *value = timer_ccr_locked(monotonic_ns()); return RegStatus::kOk;
    case kTimerDcr: *value = timer_dcr_; return RegStatus::kOk;
    case kSelfIpi: return RegStatus::kGp;  // write-only (x2APIC), reserved in xAPIC
    default:
      if (!x2) {
        bool notify = false;
        set_error_locked(kEsrIllegalRegister, &notify);
        if (notify) events_.on_interrupt_pending();
      }
      return RegStatus::kGp;
  }
}

Vlapic::RegStatus Vlapic::write_reg(uint32_t offset, bool x2, uint64_t value) {
  bool notify = false;
  int eoi_vector = -1;
  bool send = false;
  ApicMessage msg;
  RegStatus status = RegStatus::kOk;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint32_t v32 = static_cast<uint32_t>(value);
    // x2APIC: only the ICR is 64 bits wide; reserved upper bits raise #GP.
    if (x2 && offset != kIcrLo && (value >> 32) != 0) return RegStatus::kGp;
    int lvt = lvt_index_of(offset);
    if (lvt >= 0) {
      uint32_t writable = lvt_writable(lvt, tsc_deadline_allowed_);
      if (x2 && (v32 & ~writable & ~kLvtDelivStatus & ~kLvtRemoteIrr)) return RegStatus::kGp;
      uint32_t old = lvt_[lvt];
      uint32_t nv = (old & ~writable) | (v32 & writable);
      if (!(svr_ & kSvrEnable)) nv |= kLvtMasked;
      lvt_[lvt] = nv;
      if (lvt == kTimer && ((old ^ nv) >> kLvtTimerModeShift) & 3) {
        // A mode change disarms the timer (SDM 11.5.4.1).
        timer_stop_locked();
        tsc_deadline_ = 0;
      }
    } else {
      switch (offset) {
        case kTpr:
          if (x2 && (v32 & ~0xFFu)) return RegStatus::kGp;
          tpr_ = v32 & 0xFF;
          update_pending_hint_locked();
          notify = pending_hint_.load(std::memory_order_relaxed);
          break;
        case kEoi:
          if (x2 && value != 0) return RegStatus::kGp;
          eoi_vector = eoi_locked(&notify);
          break;
        case kLdr:
          if (x2) return RegStatus::kGp;
          ldr_ = v32 & 0xFF000000u;
          break;
        case kDfr:
          if (x2) return RegStatus::kGp;
          dfr_ = (v32 & 0xF0000000u) | 0x0FFFFFFFu;
          break;
        case kSvr: {
          uint32_t writable = 0xFF | kSvrEnable | kSvrFocus;
          if (x2 && (v32 & ~(writable | (1u << 12)))) return RegStatus::kGp;
          bool was_enabled = svr_ & kSvrEnable;
          svr_ = v32 & writable;
          if (was_enabled && !(svr_ & kSvrEnable)) {
            mask_all_lvts_locked();
            timer_stop_locked();
          }
          break;
        }
        case kEsr:
          if (x2 && value != 0) return RegStatus::kGp;
          esr_ = esr_pending_;
          esr_pending_ = 0;
          break;
        case kIcrLo:
          if (x2) {
            icr_hi_ = static_cast<uint32_t>(value >> 32);
            icr_lo_ = v32 & ~kLvtDelivStatus;
          } else {
            icr_lo_ = v32 & ~kLvtDelivStatus;
          }
          msg = icr_message_locked((static_cast<uint64_t>(icr_hi_) << 32) | icr_lo_);
          send = true;
          break;
        case kIcrHi:
          if (x2) return RegStatus::kGp;
          icr_hi_ = v32 & 0xFF000000u;
          break;
        case kTimerIcr:
          if (timer_mode_locked() == kTimerTscDeadline) break;  // ignored in deadline mode
          timer_icr_ = v32;
          timer_start_locked(monotonic_ns());
          break;
        case kTimerDcr:
          if (x2 && (v32 & ~0xBu)) return RegStatus::kGp;
          timer_dcr_ = v32 & 0xB;
          break;
        case kSelfIpi:
          if (!x2) return RegStatus::kGp;
          if (v32 & ~0xFFu) return RegStatus::kGp;
          msg = ApicMessage{};
          msg.vector = v32 & 0xFF;
          msg.shorthand = kShSelf;
          msg.source_vcpu = static_cast<int>(id_);
          msg.dest_x2apic = true;
          send = true;
          break;
        case kId:
        case kVer:
        case kPpr:
        case kTimerCcr:
        case kApr:
        case kRrd:
          // Read-only (the xAPIC ID is read-only in this model, as in bhyve).
          if (x2) return RegStatus::kGp;
          break;
        default:
          if (offset >= kIsr0 && offset < kIrr0 + 0x80) {
            if (x2) return RegStatus::kGp;
            break;
          }
          if (!x2) set_error_locked(kEsrIllegalRegister, &notify);
          status = RegStatus::kGp;
          break;
      }
    }
  }
  if (notify) events_.on_interrupt_pending();
  if (eoi_vector >= 0) router_.ioapic_eoi(eoi_vector);
  if (send) {
    bool n2 = false;
    send_ipi(msg, &n2);
    if (n2) events_.on_interrupt_pending();
  }
  return status;
}

// ---- MMIO and MSR front ends ------------------------------------------------------------

uint64_t Vlapic::mmio_read(uint64_t gpa, int size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) return 0;
  uint32_t off;
  {
    std::lock_guard<std::mutex> lock(mu_);
    off = static_cast<uint32_t>(gpa - (base_ & ~0xFFFull)) & 0xFFF;
  }
  uint32_t reg = off & ~0xFu;
  uint32_t within = off & 0xF;
  if (within >= 4) return 0;  // bytes 4-15 of each 16-byte slot are reserved
  uint64_t value = 0;
  if (read_reg(reg, false, &value) != RegStatus::kOk) value = 0;
  value = (value & 0xFFFFFFFFu) >> (within * 8);
  if (size < 8) value &= (1ull << (size * 8)) - 1;
  return value;
}

void Vlapic::mmio_write(uint64_t gpa, int size, uint64_t value) {
  if (size != 4 && size != 8) return;
  uint32_t off;
  {
    std::lock_guard<std::mutex> lock(mu_);
    off = static_cast<uint32_t>(gpa - (base_ & ~0xFFFull)) & 0xFFF;
  }
  // Registers are written as aligned dwords; anything else is dropped (SDM 11.4.1).
  if ((off & 0xF) != 0 || size < 4) return;
  write_reg(off, false, value & 0xFFFFFFFFu);
}

bool Vlapic::owns_msr(uint32_t index) {
  return index == x86::msr::kApicBase || index == x86::msr::kTscDeadline ||
         (index >= kMsrX2apicFirst && index <= kMsrX2apicLast);
}

bool Vlapic::rdmsr(uint32_t index, uint64_t* value) {
  *value = 0;
  if (index == x86::msr::kApicBase) {
    *value = apic_base();
    return true;
  }
  if (index == x86::msr::kTscDeadline) {
    std::lock_guard<std::mutex> lock(mu_);
    *value = timer_mode_locked() == kTimerTscDeadline ? tsc_deadline_ : 0;
    return true;
  }
  if (!x2apic_mode()) return false;
  uint32_t offset = (index - kMsrX2apicFirst) << 4;
  return read_reg(offset, true, value) == RegStatus::kOk;
}

bool Vlapic::wrmsr(uint32_t index, uint64_t value) {
  if (index == x86::msr::kTscDeadline) {
    arm_tsc_deadline(value);
    return true;
  }
  if (index == x86::msr::kApicBase) {
    std::lock_guard<std::mutex> lock(mu_);
    // Reserved: bits 0-7, 9, and above a 52-bit physical address. BSP is read-only.
    if (value & (0xFFull | (1ull << 9) | ~((1ull << 52) - 1))) return false;
    uint64_t nv = (value & ~kBaseBsp) | (base_ & kBaseBsp);
    bool en = nv & kBaseEnable, x2 = nv & kBaseX2apic;
    bool was_en = base_ & kBaseEnable, was_x2 = base_ & kBaseX2apic;
    if (x2 && !x2apic_allowed_) return false;
    if (x2 && !en) return false;                        // invalid state
    if (was_en && was_x2 && en && !x2) return false;    // x2APIC -> xAPIC is illegal
    if (!was_en && en && x2) return false;              // must pass through xAPIC
    if (was_en && !en) {
      // Disabling resets the APIC to its power-up state, keeping the base MSR.
      tpr_ = 0;
      svr_ = 0xFF;
      for (int i = 0; i < 8; ++i) isr_[i] = tmr_[i] = irr_[i] = 0;
      for (auto& l : lvt_) l = kLvtMasked;
      if (bsp_) lvt_[kLint0] = static_cast<uint32_t>(kDmExtInt) << kLvtDelModeShift;
      timer_stop_locked();
      tsc_deadline_ = 0;
      update_pending_hint_locked();
    }
    base_ = nv;
    return true;
  }
  if (!x2apic_mode()) return false;
  uint32_t offset = (index - kMsrX2apicFirst) << 4;
  return write_reg(offset, true, value) == RegStatus::kOk;
}

}  // namespace tsvirt::vmm
