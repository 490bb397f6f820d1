// Interfaces between the in-vmm interrupt sources and controllers.
//
// The Vm implements InterruptRouter: it owns the one vatpic, vioapic and the vlapics and
// wires them as bhyve's vmm.ko does (reference/bhyve-userland.md 4.7, 5.4): ISA IRQ n goes
// to 8259 input n and I/O APIC pin n (IRQ0 -> pin 2 is the caller's choice, as with
// vm_isa_*_irq(atpic_irq, ioapic_irq)); the 8259 output goes to LINT0 of every local APIC
// and pulses I/O APIC pin 0; I/O APIC redirection entries and MSIs become APIC messages;
// level-triggered EOIs are broadcast from a vlapic back to the I/O APIC.
//
// Lock order (each device holds its own mutex): timer devices (vatpit, vrtc, vhpet) ->
// vatpic -> vioapic -> vlapic -> vCPU wake lock. A vlapic never calls the router while
// holding its own lock (EOI broadcasts and IPIs are issued after unlocking).
#pragma once

#include <cstdint>

namespace tsvirt::vmm {

enum class IrqOp { kAssert, kDeassert, kPulse };

// APIC delivery modes (ICR / redirection entry / MSI data bits 10:8).
enum ApicDeliveryMode : uint8_t {
  kDmFixed = 0,
  kDmLowestPriority = 1,
  kDmSmi = 2,
  kDmNmi = 4,
  kDmInit = 5,
  kDmStartup = 6,
  kDmExtInt = 7,
};

enum ApicShorthand : uint8_t {
  kShNone = 0,
  kShSelf = 1,
  kShAllIncludingSelf = 2,
  kShAllExcludingSelf = 3,
};

// One interrupt message on the (virtual) APIC bus.
struct ApicMessage {
  uint32_t dest = 0;          // destination field (8 bits unless dest_x2apic)
  bool dest_logical = false;  // destination mode
  bool dest_x2apic = false;   // dest is a 32-bit x2APIC destination (ICR in x2APIC mode)
  uint8_t shorthand = kShNone;
  uint8_t mode = kDmFixed;
  uint8_t vector = 0;
  bool level_trigger = false;  // trigger mode
  bool level_assert = true;    // level bit (INIT level de-assert is ignored)
  int source_vcpu = -1;        // sender for IPIs (shorthands need it), -1 otherwise
};

class InterruptRouter {
 public:
  virtual ~InterruptRouter() = default;
  virtual void apic_deliver(const ApicMessage& msg) = 0;
  // A vlapic EOIed a level-triggered vector: the I/O APIC clears remote IRR.
  virtual void ioapic_eoi(int vector) = 0;
  // ISA interrupt through the 8259 pair and/or the I/O APIC (-1 skips that controller).
  virtual void isa_irq(int atpic_irq, int ioapic_pin, IrqOp op) = 0;
  virtual void ioapic_irq(int pin, IrqOp op) = 0;
  // Message-signalled interrupt (HPET FSB delivery, and the TypeScript MSI path).
  virtual void msi(uint64_t addr, uint64_t data) = 0;
  // The 8259 master's INT output changed.
  virtual void pic_output(bool asserted) = 0;
};

// What a vlapic tells its vCPU (implemented by Vcpu). Methods may be called from any
// thread and must not block; they only set flags and kick.
class VcpuEvents {
 public:
  virtual ~VcpuEvents() = default;
  virtual void on_interrupt_pending() = 0;  // IRR gained a vector (or PPR dropped)
  virtual void on_nmi() = 0;
  virtual void on_extint() = 0;             // ExtINT message: fetch the vector from the 8259
  virtual void on_init() = 0;
  virtual void on_sipi(uint8_t vector) = 0;
  // Guest TSC now and its rate, for the TSC-deadline timer; called on the vCPU thread.
  virtual uint64_t guest_tsc() = 0;
  virtual uint64_t tsc_hz() = 0;
};

}  // namespace tsvirt::vmm
