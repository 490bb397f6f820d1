// vpmtmr: see vpmtmr.h.
#include "vmm/devices/vpmtmr.h"

#include "vmm/clock.h"

namespace tsvirt::vmm {

Vpmtmr::Vpmtmr() : start_ns_(monotonic_ns()) {}

uint32_t Vpmtmr::counter() const {
  return static_cast<uint32_t>(ns_to_ticks(monotonic_ns() - start_ns_, kFreqHz));
}

uint32_t Vpmtmr::port_in(uint16_t port, int size) const {
  if (!claims_port(port)) return 0xFFFFFFFFu;
  uint32_t shift = (port - kPort) * 8;
  uint32_t v = counter() >> shift;
  if (size == 1) return v & 0xFF;
  if (size == 2) return v & 0xFFFF;
  return v;
}

}  // namespace tsvirt::vmm
