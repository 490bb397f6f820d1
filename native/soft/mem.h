// Inline fast paths of guest memory access: segmentation check, software-TLB hit, host load
// or store. Everything else (TLB miss, page walk, page-crossing, MMIO, stores to pages that
// hold decoded code) is in mmu.cc.
//
// Called on every memory operand of every instruction: no allocation, no locks, one tag
// compare. Faults (segment limit, #PF) longjmp out through Core::raise_fault.
#pragma once

#include <cstring>

#include "soft/core.h"

namespace tsvirt::soft {

inline uint64_t Core::lin(int s, uint64_t ea, unsigned size, bool write) {
  if (SOFT_LIKELY(!segcheck)) return seg_base[s] + ea;
  const uint64_t lo = write ? wr_lo[s] : rd_lo[s];
  const uint64_t hi = write ? wr_hi[s] : rd_hi[s];
  if (SOFT_UNLIKELY(ea < lo || ea + size - 1 > hi)) seg_fault(s);
  return (seg_base[s] + ea) & la_mask;
}

inline size_t tlb_index(uint64_t la) { return (la >> 12) & (kTlbSize - 1); }

template <class T> inline T Core::rd(int s, uint64_t ea) {
  const uint64_t la = lin(s, ea, sizeof(T), false);
  const TlbEntry& e = tlb[tlb_index(la)];
  if (SOFT_LIKELY(e.tag_r == ((la + sizeof(T) - 1) & kPageMask))) {
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(la + e.addend), sizeof(T));
    return v;
  }
  return static_cast<T>(read_slow(la, sizeof(T), s));
}

template <class T> inline void Core::wr(int s, uint64_t ea, T v) {
  const uint64_t la = lin(s, ea, sizeof(T), true);
  const TlbEntry& e = tlb[tlb_index(la)];
  if (SOFT_LIKELY(e.tag_w == ((la + sizeof(T) - 1) & kPageMask)) &&
      SOFT_LIKELY(!e.code->load(std::memory_order_relaxed))) {
    std::memcpy(reinterpret_cast<void*>(la + e.addend), &v, sizeof(T));
    return;
  }
  write_slow(la, sizeof(T), static_cast<uint64_t>(v), s);
}

// Read-modify-write access to one memory operand: the write permission is checked (and
// the page dirtied) before the old value is read, as the hardware does.
template <class T> struct Rmw {
  Core* c;
  uint64_t la;
  int s;
  uint8_t* p;  // host pointer, or nullptr for the slow path

  Rmw(Core* core, int seg, uint64_t ea) : c(core), s(seg) {
    la = c->lin(seg, ea, sizeof(T), true);
    const TlbEntry& e = c->tlb[tlb_index(la)];
    if (SOFT_LIKELY(e.tag_w == ((la + sizeof(T) - 1) & kPageMask)) &&
        SOFT_LIKELY(!e.code->load(std::memory_order_relaxed))) {
      p = reinterpret_cast<uint8_t*>(la + e.addend);
    } else {
      p = c->rmw_ptr(la, sizeof(T), seg);
    }
  }
  T load() const {
    if (SOFT_LIKELY(p != nullptr)) {
      T v;
      std::memcpy(&v, p, sizeof(T));
      return v;
    }
    return static_cast<T>(c->read_slow(la, sizeof(T), s));
  }
  void store(T v) const {
    if (SOFT_LIKELY(p != nullptr)) {
      std::memcpy(p, &v, sizeof(T));
      return;
    }
    c->write_slow(la, sizeof(T), static_cast<uint64_t>(v), s);
  }
  // LOCK-prefixed update: atomic on RAM (host compare-and-swap), plain on MMIO.
  template <class F> T locked(F f) const {
    if (SOFT_LIKELY(p != nullptr)) {
      T old = __atomic_load_n(reinterpret_cast<T*>(p), __ATOMIC_RELAXED);
      while (!__atomic_compare_exchange_n(reinterpret_cast<T*>(p), &old, f(old), false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
      }
      return old;
    }
    T old = load();
    store(f(old));
    return old;
  }
};

}  // namespace tsvirt::soft
