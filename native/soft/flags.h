// Lazy arithmetic flags (CF, PF, AF, ZF, SF, OF) of the soft CPU.
//
// An arithmetic instruction records its result, its operands and an operation code
// (kind × size) instead of computing six flags; consumers (Jcc, SETcc, CMOVcc, PUSHF,
// ADC...) evaluate only what they need. The encoding:
//   kAdd (ADD, ADC)        carry/overflow/adjust from a, b, res (the carry-in is implied)
//   kSub (SUB, SBB, CMP, NEG)
//   kLogic                 CF=OF=0, AF=0
//   kInc / kDec            CF is kept in lf_b bit 0 (INC/DEC preserve CF)
//   kResCO                 ZF/SF/PF from res; CF, AF, OF given explicitly in lf_b
//                          (shifts, multiplies, BSF... whose C/O come from elsewhere)
//   kLfNone                the flags are materialized in Core::rfl
// Formulas: carry-out of the top bit = top bit of (a&b) | ((a|b)&~res) for addition,
// (~a&b) | ((~a|b)&res) for subtraction (these hold for any carry-in, so ADC/SBB reuse them);
// overflow = top bit of (a^res)&(b^res) for addition, (a^b)&(a^res) for subtraction;
// AF = bit 4 of a^b^res. Intel SDM vol. 1, 3.4.3.1 and appendix A.
#pragma once

#include "soft/core.h"

namespace tsvirt::soft {

enum LfKind : uint32_t { kLfNone = 0, kAdd = 1, kSub = 2, kLogic = 3, kInc = 4, kDec = 5, kResCO = 6 };

// Size index: 0=8, 1=16, 2=32, 3=64 bits.
template <class T> constexpr uint32_t size_index() {
  return sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
}
constexpr uint32_t lf_op(LfKind k, uint32_t szi) { return (uint32_t(k) << 2) | szi; }
constexpr unsigned lf_bits(uint32_t op) { return 8u << (op & 3); }

inline uint64_t lf_top(uint64_t v, uint32_t op) { return (v >> (lf_bits(op) - 1)) & 1; }

extern const uint8_t kParity[256];

template <class T> inline void set_lf(Core* c, LfKind k, T res, T a, T b) {
  c->lf_res = res;
  c->lf_a = a;
  c->lf_b = b;
  c->lf_op = lf_op(k, size_index<T>());
}

// Explicit CF/OF/AF with ZF/SF/PF from the result.
template <class T> inline void set_lf_resco(Core* c, T res, bool cf, bool of, bool af = false) {
  c->lf_res = res;
  c->lf_b = (cf ? fl::CF : 0) | (of ? fl::OF : 0) | (af ? fl::AF : 0);
  c->lf_op = lf_op(kResCO, size_index<T>());
}

SOFT_INLINE bool get_cf(const Core* c) {
  uint32_t op = c->lf_op;
  switch (op >> 2) {
    case kLfNone: return c->rfl & fl::CF;
    case kAdd: return lf_top((c->lf_a & c->lf_b) | ((c->lf_a | c->lf_b) & ~c->lf_res), op);
    case kSub: return lf_top((~c->lf_a & c->lf_b) | ((~c->lf_a | c->lf_b) & c->lf_res), op);
    case kLogic: return false;
    case kInc: case kDec: return c->lf_b & 1;
    default: return c->lf_b & fl::CF;
  }
}

SOFT_INLINE bool get_zf(const Core* c) {
  if (c->lf_op == kLfNone) return c->rfl & fl::ZF;
  return c->lf_res == 0;
}

SOFT_INLINE bool get_sf(const Core* c) {
  if (c->lf_op == kLfNone) return c->rfl & fl::SF;
  return lf_top(c->lf_res, c->lf_op);
}

SOFT_INLINE bool get_of(const Core* c) {
  uint32_t op = c->lf_op;
  switch (op >> 2) {
    case kLfNone: return c->rfl & fl::OF;
    case kAdd: return lf_top((c->lf_a ^ c->lf_res) & (c->lf_b ^ c->lf_res), op);
    case kSub: return lf_top((c->lf_a ^ c->lf_b) & (c->lf_a ^ c->lf_res), op);
    case kLogic: return false;
    case kInc: return c->lf_res == (uint64_t{1} << (lf_bits(op) - 1));
    case kDec: return c->lf_res == ((uint64_t{1} << (lf_bits(op) - 1)) - 1);
    default: return c->lf_b & fl::OF;
  }
}

SOFT_INLINE bool get_af(const Core* c) {
  switch (c->lf_op >> 2) {
    case kLfNone: return c->rfl & fl::AF;
    case kAdd: case kSub: return (c->lf_a ^ c->lf_b ^ c->lf_res) & 0x10;
    case kLogic: return false;
    case kInc: return (c->lf_res & 0xF) == 0;
    case kDec: return (c->lf_res & 0xF) == 0xF;
    default: return c->lf_b & fl::AF;
  }
}

SOFT_INLINE bool get_pf(const Core* c) {
  if (c->lf_op == kLfNone) return c->rfl & fl::PF;
  return kParity[c->lf_res & 0xFF];
}

// Fold the lazy flags into rfl (after which lf_op == kLfNone).
inline void materialize_flags(Core* c) {
  if (c->lf_op == kLfNone) return;
  uint64_t f = c->rfl & ~fl::kArith;
  if (get_cf(c)) f |= fl::CF;
  if (get_pf(c)) f |= fl::PF;
  if (get_af(c)) f |= fl::AF;
  if (get_zf(c)) f |= fl::ZF;
  if (get_sf(c)) f |= fl::SF;
  if (get_of(c)) f |= fl::OF;
  c->rfl = f;
  c->lf_op = kLfNone;
}

inline uint64_t Core::get_rflags() {
  materialize_flags(this);
  return rfl;
}

// Condition codes 0..15 (tttn encoding, SDM vol. 2, appendix B.1.4.7).
SOFT_INLINE bool eval_cond(Core* c, unsigned cc) {
  bool r;
  switch (cc >> 1) {
    case 0: r = get_of(c); break;
    case 1: r = get_cf(c); break;
    case 2: r = get_zf(c); break;
    case 3: r = get_cf(c) || get_zf(c); break;
    case 4: r = get_sf(c); break;
    case 5: r = get_pf(c); break;
    case 6: r = get_sf(c) != get_of(c); break;
    default: r = get_zf(c) || (get_sf(c) != get_of(c)); break;
  }
  return r ^ (cc & 1);
}

// INC/DEC keep CF: capture it before recording the new operation.
template <class T> SOFT_INLINE void set_lf_incdec(Core* c, LfKind k, T res, T a) {
  uint64_t cf = get_cf(c) ? 1 : 0;
  c->lf_res = res;
  c->lf_a = a;
  c->lf_b = cf;
  c->lf_op = lf_op(k, size_index<T>());
}

}  // namespace tsvirt::soft
