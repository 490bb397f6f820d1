// vpmtmr: the ACPI power-management timer (ACPI 6.x section 4.8.3.3; bhyve
// vmm/io/vpmtmr.c, reference 4.7 and 5.3).
//
// Port 0x408, 32-bit counter (the FADT sets TMR_VAL_EXT) at 3.579545 MHz, derived from
// the host monotonic clock, starting at 0 when the VM is created. Reads of 1, 2 or 4 bytes
// at 0x408-0x40B return the corresponding bytes; writes are ignored (the register is
// read-only). The timer-overflow status bit lives in PM1_STS, which the TypeScript PM
// device owns; no overflow interrupt is generated (bhyve does not either).
#pragma once

#include <cstdint>

namespace tsvirt::vmm {

class Vpmtmr {
 public:
  static constexpr uint64_t kFreqHz = 3579545;
  static constexpr uint16_t kPort = 0x408;

  Vpmtmr();
  static bool claims_port(uint16_t port) { return port >= kPort && port < kPort + 4; }
  uint32_t port_in(uint16_t port, int size) const;
  uint32_t counter() const;

 private:
  uint64_t start_ns_;
};

}  // namespace tsvirt::vmm
