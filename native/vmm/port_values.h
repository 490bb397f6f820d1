// Port read values: byte ports whose reads the vmm answers from a value the device model
// keeps current, without a synchronous exit to the model.
//
// A device model that knows a register's read has no side effect in its present state
// (a 16550's LSR while no interrupt is enabled, loopback is off and no error bit is
// latched) publishes the value it would return; a guest byte IN from that port then takes
// the value on the vCPU thread. The model withdraws the value (-1) whenever a read would
// change state or the value stops being known, and updates it whenever it changes, both
// from its own (synchronous) register writes and from host events. Only byte, non-string
// reads are answered; anything else takes the normal exit.
//
// What it does not do: interpret the value, or order a published value against posted
// writes. A model may publish only values that no posted write of its own can change
// (the UART posts THR writes only in the same quiet state, where they leave LSR alone).
//
// Threading: set() runs on the JavaScript thread, lookup() on vCPU threads. A slot's port
// is written once, before the slot is published through count_ (release/acquire); values
// are atomics. At most kMaxPorts ports per VM.
#pragma once

#include <atomic>
#include <cstdint>

#include "vmm/error.h"

namespace tsvirt::vmm {

class PortReadValues {
 public:
  static constexpr int kMaxPorts = 8;

  // value in 0..255, or -1 to withdraw. Invalid-argument when a ninth port is asked for.
  Error set(uint16_t port, int32_t value) {
    if (value < -1 || value > 255) return Error::invalid("port read value must be -1 or 0..255");
    int n = count_.load(std::memory_order_relaxed);
    for (int i = 0; i < n; i++) {
      if (slots_[i].port == port) {
        slots_[i].value.store(value, std::memory_order_release);
        return Error::ok();
      }
    }
    if (value < 0) return Error::ok();  // nothing published for this port
    if (n == kMaxPorts) return Error::invalid("more than 8 port read values");
    slots_[n].port = port;
    slots_[n].value.store(value, std::memory_order_relaxed);
    count_.store(n + 1, std::memory_order_release);
    return Error::ok();
  }

  // vCPU thread: the published value of port, or -1.
  int32_t lookup(uint16_t port) const {
    int n = count_.load(std::memory_order_acquire);
    for (int i = 0; i < n; i++) {
      if (slots_[i].port == port) return slots_[i].value.load(std::memory_order_acquire);
    }
    return -1;
  }

  bool empty() const { return count_.load(std::memory_order_relaxed) == 0; }

 private:
  struct Slot {
    uint16_t port = 0;
    std::atomic<int32_t> value{-1};
  };
  Slot slots_[kMaxPorts];
  std::atomic<int> count_{0};
};

}  // namespace tsvirt::vmm
