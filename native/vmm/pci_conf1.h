// PCI configuration mechanism #1's address register (CONFIG_ADDRESS, port 0xCF8) kept in
// the vmm, so that a configuration access costs one exit (the 0xCFC-0xCFF data access)
// instead of two: a guest reads a register as "OUT 0xCF8, address; IN 0xCFC", and the
// address write no longer stops the vCPU.
//
// Behaviour is the emulator's (src/emulator/pci/host.ts, PciHost.conf1), which enables
// this latch and then reads and writes the address through it: a 32-bit, non-string
// write to port 0xCF8 latches the value with the bits the emulator keeps (enable bit 31,
// bus 23:16, device 15:11, function 10:8, register 7:2: mask 0x80FFFFFC); a 32-bit,
// non-string read of 0xCF8 returns the latch. Every other access in the 0xCF8-0xCFF
// block still exits: narrower accesses of 0xCF8 (the emulator ignores writes and answers
// all-ones), the reset-control byte 0xCF9, 0xCFA-0xCFB, the data window 0xCFC-0xCFF (the
// emulator reads the latch there), string I/O. Disabled (the default), nothing is
// answered here and the emulator keeps the address itself.
//
// What it does not do: decode the address or touch configuration space; validate
// anything beyond the mask (the data access does that on the JavaScript side).
//
// Threading: one latch per VM, shared by its vCPUs as the chipset register is (guests
// serialise configuration accesses with a lock). Atomics: vCPU threads read and write it,
// the JavaScript thread reads it while handling a vCPU's data-port exit (that vCPU's
// earlier write is visible: it happened before its exit was posted) and writes it for
// accesses that still reach JavaScript.
#pragma once

#include <atomic>
#include <cstdint>

namespace tsvirt::vmm {

class PciConf1Latch {
 public:
  static constexpr uint16_t kAddressPort = 0xCF8;
  static constexpr uint32_t kMask = 0x80FFFFFCu;

  void set_enabled(bool on) { enabled_.store(on, std::memory_order_release); }
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

  uint32_t address() const { return address_.load(std::memory_order_acquire); }
  void set_address(uint32_t value) { address_.store(value & kMask, std::memory_order_release); }

  // vCPU thread: handles a port write here when it is the latch's (true), else false.
  bool port_out(uint16_t port, int size, bool string, uint32_t value) {
    if (port != kAddressPort || size != 4 || string || !enabled()) return false;
    set_address(value);
    return true;
  }

  // vCPU thread: answers a port read here when it is the latch's (true, *value set).
  bool port_in(uint16_t port, int size, bool string, uint32_t* value) const {
    if (port != kAddressPort || size != 4 || string || !enabled()) return false;
    *value = address();
    return true;
  }

 private:
  std::atomic<bool> enabled_{false};
  std::atomic<uint32_t> address_{0};
};

}  // namespace tsvirt::vmm
