// vatpic: the cascaded pair of Intel 8259A PICs of a PC (8259A datasheet; bhyve
// vmm/io/vatpic.c, reference 4.7 and 5.3).
//
// Ports: master 0x20/0x21, slave 0xA0/0xA1, ELCR 0x4D0/0x4D1 (edge/level per IRQ; IRQs
// 0, 1, 2, 8 and 13 are forced edge: masks 0xF8 and 0xDE). Implements the ICW1-ICW4
// initialisation sequence (8086 mode, cascade through master IRQ2), OCW1 mask, OCW2 EOI
// variants (non-specific, specific, rotate on EOI, set priority, rotate in AEOI), OCW3
// (read IRR/ISR, poll command, special mask mode), auto-EOI, special fully nested mode,
// spurious IRQ7/IRQ15 on an interrupt acknowledge with nothing pending.
//
// Both chips reset with every input masked (no firmware runs before the guest); ICW1 clears
// the mask as the datasheet says. Inputs count assertions (shared lines); edge inputs latch IRR on the rising edge, level
// inputs (ELCR) follow the line. When the master's INT output rises the router is told
// (LINT0 of the local APICs, I/O APIC pin 0); the vCPU that takes the ExtINT calls
// pending_vector()/ack() (the INTA cycle). Single-chip mode and MCS-80 mode are accepted
// but behave as cascaded 8086 mode (bhyve refuses them; no guest uses them).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "vmm/irq.h"

namespace tsvirt::vmm {

class Vatpic {
 public:
  explicit Vatpic(InterruptRouter& router);
  Vatpic(const Vatpic&) = delete;
  Vatpic& operator=(const Vatpic&) = delete;

  void reset();
  static bool claims_port(uint16_t port);
  uint32_t port_in(uint16_t port, int size);
  void port_out(uint16_t port, int size, uint32_t value);

  // ISA IRQ 0-15 input. Returns false for an invalid irq.
  bool irq(int irq, IrqOp op);
  // Programs the ELCR bit of one IRQ (vm_isa_set_irq_trigger).
  bool set_trigger(int irq, bool level);

  // INTA: the vector the next acknowledge would return, or -1 when the output is low.
  int pending_vector();
  // Performs the acknowledge; returns the vector (spurious IRQ7 vector when nothing pends).
  int ack();
  bool output();
  // Lock-free view of the INT output for the vCPUs' interrupt fast path.
  bool output_hint() const { return output_hint_.load(std::memory_order_acquire); }

 private:
  struct Chip {
    bool ready = false;
    int icw_num = 0;      // 0: not initialising; 2..4: next ICW expected
    bool ic4 = false;
    bool single = false;
    bool aeoi = false;
    bool rotate_aeoi = false;
    bool sfn = false;     // special fully nested
    bool smm = false;     // special mask mode
    bool poll = false;
    bool read_isr = false;
    uint8_t base = 0;     // vector base (ICW2 & 0xF8)
    uint8_t irr = 0;
    uint8_t isr = 0;
    uint8_t imr = 0;
    uint8_t lowprio = 7;
    uint8_t elcr = 0;
    int acnt[8] = {};
  };

  static int highest_irr(const Chip& c, bool master);
  static int highest_isr(const Chip& c);
  void chip_write(int which, bool data_port, uint8_t value);
  uint8_t chip_read(int which, bool data_port);
  void set_pin_locked(int irq, bool level);
  void accept_pin_locked(Chip& c, int pin);
  void update_locked();  // cascade + output edge detection
  int ack_locked();

  InterruptRouter& router_;
  std::mutex mu_;
  Chip chip_[2];  // 0 master, 1 slave
  bool output_ = false;
  bool signalled_ = false;
  std::atomic<bool> output_hint_{false};
};

}  // namespace tsvirt::vmm
