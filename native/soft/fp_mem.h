// Guest memory accesses wider than 8 bytes, for the x87, MMX and SSE families: 16-byte
// vector operands, 10-byte extended reals, FSTENV/FSAVE/FXSAVE images.
//
// Loads read piecewise (a fault leaves no trace: nothing is written before the last read).
// Stores first check that every byte can be written (segment limit, then a write probe of
// each page, which also raises #PF and sets accessed/dirty as the store would), and only
// then write, so a faulting store never leaves a partial result (SDM vol. 3, 6.6: faults
// are restartable). The 16-byte forms take a fast path when the operand lies in one page
// whose TLB entry allows the access (and, for stores, holds no decoded code), as mem.h does
// for the integer sizes. Alignment checks (#GP(0) for the aligned SSE forms and FXSAVE,
// SDM vol. 1, 11.4.1) are on the linear address.
#pragma once

#include "soft/mem.h"
#include "soft/ops.h"

namespace tsvirt::soft {

inline uint64_t fp_linear(const Core* c, int s, uint64_t e) { return c->seg_base[s] + e; }

// #GP(0) unless seg:e is aligned to `align` bytes.
inline void fp_check_align(Core* c, int s, uint64_t e, unsigned align) {
  if (SOFT_UNLIKELY(fp_linear(c, s, e) & (align - 1))) c->gp(0);
}

// Byte-granular helpers (any n up to 512).
inline void fp_read(Core* c, int s, uint64_t e, uint64_t amask, void* out, unsigned n) {
  uint8_t* o = static_cast<uint8_t*>(out);
  unsigned k = 0;
  for (; k + 8 <= n; k += 8) {
    const uint64_t v = c->rd<uint64_t>(s, (e + k) & amask);
    std::memcpy(o + k, &v, 8);
  }
  for (; k < n; k++) o[k] = c->rd<uint8_t>(s, (e + k) & amask);
}

// Checks that n bytes at seg:e can be written, raising the fault the store would.
inline void fp_probe_write(Core* c, int s, uint64_t e, uint64_t amask, unsigned n) {
  if (c->segcheck) c->lin(s, e, n, true);
  Rmw<uint8_t> first(c, s, e);
  const uint64_t last_e = (e + n - 1) & amask;
  if (((fp_linear(c, s, e) ^ fp_linear(c, s, last_e)) & kPageMask) != 0 || last_e < e) {
    Rmw<uint8_t> last(c, s, last_e);
  }
}

inline void fp_write(Core* c, int s, uint64_t e, uint64_t amask, const void* in, unsigned n) {
  fp_probe_write(c, s, e, amask, n);
  const uint8_t* p = static_cast<const uint8_t*>(in);
  unsigned k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t v;
    std::memcpy(&v, p + k, 8);
    c->wr<uint64_t>(s, (e + k) & amask, v);
  }
  for (; k < n; k++) c->wr<uint8_t>(s, (e + k) & amask, p[k]);
}

// 16-byte operands.
inline Xmm fp_ld128(Core* c, int s, uint64_t e, uint64_t amask) {
  const uint64_t la = c->lin(s, e, 16, false);
  const TlbEntry& t = c->tlb[tlb_index(la)];
  Xmm v;
  if (SOFT_LIKELY(t.tag_r == ((la + 15) & kPageMask))) {  // also fails when crossing a page
    std::memcpy(v.q, reinterpret_cast<const void*>(la + t.addend), 16);
    return v;
  }
  v.q[0] = c->rd<uint64_t>(s, e);
  v.q[1] = c->rd<uint64_t>(s, (e + 8) & amask);
  return v;
}

inline void fp_st128(Core* c, int s, uint64_t e, uint64_t amask, const Xmm& v) {
  const uint64_t la = c->lin(s, e, 16, true);
  const TlbEntry& t = c->tlb[tlb_index(la)];
  if (SOFT_LIKELY(t.tag_w == ((la + 15) & kPageMask)) && SOFT_LIKELY(!t.code->load(std::memory_order_relaxed))) {
    std::memcpy(reinterpret_cast<void*>(la + t.addend), v.q, 16);
    return;
  }
  fp_probe_write(c, s, e, amask, 16);
  c->wr<uint64_t>(s, e, v.q[0]);
  c->wr<uint64_t>(s, (e + 8) & amask, v.q[1]);
}

// 10-byte extended real.
inline Reg80 fp_ld80(Core* c, int s, uint64_t e, uint64_t amask) {
  Reg80 r;
  r.mant = c->rd<uint64_t>(s, e);
  r.exp = c->rd<uint16_t>(s, (e + 8) & amask);
  return r;
}
inline void fp_st80(Core* c, int s, uint64_t e, uint64_t amask, const Reg80& r) {
  uint8_t b[10];
  std::memcpy(b, &r.mant, 8);
  std::memcpy(b + 8, &r.exp, 2);
  fp_write(c, s, e, amask, b, 10);
}

}  // namespace tsvirt::soft
