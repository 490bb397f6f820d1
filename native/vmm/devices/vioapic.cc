// vioapic: see vioapic.h.
#include "vmm/devices/vioapic.h"

namespace tsvirt::vmm {

namespace {
constexpr uint64_t kIoregsel = 0x00;
constexpr uint64_t kIowin = 0x10;
constexpr uint64_t kIoeoi = 0x40;

constexpr uint32_t kRegId = 0x00;
constexpr uint32_t kRegVer = 0x01;
constexpr uint32_t kRegArb = 0x02;
constexpr uint32_t kRegRedtbl = 0x10;

constexpr uint64_t kRteVector = 0xFF;
constexpr uint64_t kRteDelMode = 7ull << 8;
constexpr uint64_t kRteDestLogical = 1ull << 11;
constexpr uint64_t kRteDelivStatus = 1ull << 12;
constexpr uint64_t kRtePolarity = 1ull << 13;
constexpr uint64_t kRteRemoteIrr = 1ull << 14;
constexpr uint64_t kRteLevel = 1ull << 15;
constexpr uint64_t kRteMasked = 1ull << 16;
constexpr uint64_t kRteDest = 0xFFull << 56;
constexpr uint64_t kRteWritable =
    kRteVector | kRteDelMode | kRteDestLogical | kRtePolarity | kRteLevel | kRteMasked | kRteDest;
}  // namespace

Vioapic::Vioapic(InterruptRouter& router) : router_(router) { reset(); }

void Vioapic::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  id_ = 0;
  ioregsel_ = 0;
  for (int i = 0; i < kPins; ++i) {
    rte_[i] = kRteMasked;
    acnt_[i] = 0;
  }
}

void Vioapic::deliver_locked(int pin) {
  uint64_t rte = rte_[pin];
  if (rte & kRteMasked) return;
  bool level = rte & kRteLevel;
  if (level) {
    if (rte & kRteRemoteIrr) return;
    rte_[pin] |= kRteRemoteIrr;
  }
  ApicMessage m;
  m.vector = rte & kRteVector;
  m.mode = (rte & kRteDelMode) >> 8;
  m.dest_logical = rte & kRteDestLogical;
  m.dest = static_cast<uint32_t>(rte >> 56);
  m.level_trigger = level;
  stat_delivered_.fetch_add(1, std::memory_order_relaxed);
  router_.apic_deliver(m);
}

void Vioapic::set_level_locked(int pin, bool assert) {
  if (assert) {
    // Bound the count: a caller that only ever asserts must not overflow it.
    if (acnt_[pin] < (1 << 20)) ++acnt_[pin];
    if (acnt_[pin] == 1) deliver_locked(pin);  // rising edge (edge pins) / newly high (level)
  } else {
    if (acnt_[pin] > 0) --acnt_[pin];
  }
}

bool Vioapic::pin(int pin, IrqOp op) {
  if (pin < 0 || pin >= kPins) return false;
  std::lock_guard<std::mutex> lock(mu_);
  switch (op) {
    case IrqOp::kAssert: set_level_locked(pin, true); break;
    case IrqOp::kDeassert: set_level_locked(pin, false); break;
    case IrqOp::kPulse:
      set_level_locked(pin, true);
      set_level_locked(pin, false);
      break;
  }
  return true;
}

void Vioapic::eoi(int vector) {
  if (vector < 16 || vector > 255) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < kPins; ++i) {
    if ((rte_[i] & kRteVector) != static_cast<uint64_t>(vector)) continue;
    if (!(rte_[i] & kRteRemoteIrr)) continue;
    rte_[i] &= ~kRteRemoteIrr;
    if ((rte_[i] & kRteLevel) && acnt_[i] > 0) deliver_locked(i);
  }
}

uint32_t Vioapic::read_indirect_locked(uint32_t index) const {
  switch (index) {
    case kRegId:
    case kRegArb: return id_;
    case kRegVer: return kVersion | ((kPins - 1) << 16);
    default: break;
  }
  if (index >= kRegRedtbl && index < kRegRedtbl + 2 * kPins) {
    int pin = (index - kRegRedtbl) / 2;
    uint64_t rte = rte_[pin];
    return (index & 1) ? static_cast<uint32_t>(rte >> 32) : static_cast<uint32_t>(rte);
  }
  return 0;
}

void Vioapic::write_indirect_locked(uint32_t index, uint32_t value) {
  if (index == kRegId) {
    id_ = value & 0x0F000000u;
    return;
  }
  if (index < kRegRedtbl || index >= kRegRedtbl + 2 * kPins) return;  // read-only / none
  int pin = (index - kRegRedtbl) / 2;
  uint64_t old = rte_[pin];
  uint64_t nv;
  if (index & 1) {
    nv = (old & 0xFFFFFFFFull) | (static_cast<uint64_t>(value) << 32);
  } else {
    nv = (old & ~0xFFFFFFFFull) | value;
  }
  nv = (nv & kRteWritable) | (old & kRteRemoteIrr);
  if (!(nv & kRteLevel)) nv &= ~kRteRemoteIrr;  // edge pins have no remote IRR
  rte_[pin] = nv & ~kRteDelivStatus;
  // Unmasking (or re-programming) a still-asserted level pin delivers it now.
  if ((nv & kRteLevel) && !(nv & kRteMasked) && acnt_[pin] > 0) deliver_locked(pin);
}

uint64_t Vioapic::mmio_read(uint64_t offset, int size) {
  if (size != 4) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  switch (offset) {
    case kIoregsel: return ioregsel_;
    case kIowin: return read_indirect_locked(ioregsel_);
    default: return 0;
  }
}

void Vioapic::mmio_write(uint64_t offset, int size, uint64_t value) {
  if (size != 4) return;
  uint32_t v = static_cast<uint32_t>(value);
  if (offset == kIoeoi) {
    eoi(v & 0xFF);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  switch (offset) {
    case kIoregsel: ioregsel_ = v & 0xFF; break;
    case kIowin: write_indirect_locked(ioregsel_, v); break;
    default: break;
  }
}

}  // namespace tsvirt::vmm
