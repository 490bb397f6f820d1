// vioapic: the I/O APIC (Intel 82093AA datasheet; bhyve vmm/io/vioapic.c, reference 4.7).
//
// MMIO window 0xFEC00000 (4 KiB): IOREGSEL at +0x00, IOWIN at +0x10, EOI at +0x40, all
// 32-bit accesses only (anything else reads 0 and is dropped, as in bhyve). Registers: ID
// (bits 27:24), version 0x11 with 32 redirection entries, arbitration, and 32 64-bit
// redirection entries (vector, delivery mode, destination mode, polarity, remote IRR,
// trigger mode, mask, destination).
//
// Pin model as bhyve: each pin counts assertions (shared level lines), "assert" means
// active regardless of the programmed polarity, edge pins deliver on the rising edge,
// level pins deliver while asserted and unmasked with remote IRR clear; an EOI for the
// vector (broadcast by a vlapic or written to the EOI register) clears remote IRR and
// re-delivers a still-asserted level pin. Deliveries become APIC messages through the
// InterruptRouter (this lock is held: the order vioapic -> vlapic is the documented one).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "vmm/irq.h"

namespace tsvirt::vmm {

class Vioapic {
 public:
  static constexpr int kPins = 32;  // REDIR_ENTRIES
  static constexpr uint32_t kVersion = 0x11;

  explicit Vioapic(InterruptRouter& router);
  Vioapic(const Vioapic&) = delete;
  Vioapic& operator=(const Vioapic&) = delete;

  void reset();
  uint64_t mmio_read(uint64_t offset, int size);
  void mmio_write(uint64_t offset, int size, uint64_t value);

  // Pin control; pins outside 0..31 are ignored and reported false.
  bool pin(int pin, IrqOp op);
  void eoi(int vector);

  uint64_t delivered() const { return stat_delivered_.load(std::memory_order_relaxed); }

 private:
  void deliver_locked(int pin);
  void set_level_locked(int pin, bool assert);
  uint32_t read_indirect_locked(uint32_t index) const;
  void write_indirect_locked(uint32_t index, uint32_t value);

  InterruptRouter& router_;
  std::mutex mu_;
  uint32_t id_ = 0;
  uint32_t ioregsel_ = 0;
  uint64_t rte_[kPins] = {};
  int acnt_[kPins] = {};
  std::atomic<uint64_t> stat_delivered_{0};
};

}  // namespace tsvirt::vmm
