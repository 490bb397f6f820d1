// Shifts and rotates: group 2 (C0/C1 imm8, D0/D1 by 1, D2/D3 by CL: ROL ROR RCL RCR SHL
// SHR SAL SAR) and the double shifts SHLD/SHRD (0F A4/A5/AC/AD).
//
// Intel SDM vol. 2, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD". The count is
// masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes no flags. Shifts
// set CF/OF/SF/ZF/PF (OF as the SDM defines it for a count of 1 and by the same formula for
// larger counts, where the SDM leaves it undefined; AF is left 0, also undefined). Rotates
// change only CF and OF. RCL/RCR rotate through CF modulo 9/17 for 8/16-bit operands.
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

enum ShiftOp { kRol = 0, kRor, kRcl, kRcr, kShl, kShr, kSal, kSar };

template <class T> constexpr unsigned bits() { return sizeof(T) * 8; }

// Computes the result and sets the flags; returns the new value. cnt is already masked.
template <class T, int OP> T shift(Core* c, T a, unsigned cnt) {
  constexpr unsigned B = bits<T>();
  if (cnt == 0) return a;
  switch (OP) {
    case kShl: case kSal: {
      const uint64_t wide = uint64_t(a);
      const T r = cnt >= B ? T(0) : T(wide << cnt);
      const bool cf = cnt > B ? false : ((wide << (cnt - 1)) >> (B - 1)) & 1;
      const bool of = ((r >> (B - 1)) & 1) ^ cf;
      set_lf_resco<T>(c, r, cf, of);
      return r;
    }
    case kShr: {
      const T r = cnt >= B ? T(0) : T(a >> cnt);
      const bool cf = cnt > B ? false : (uint64_t(a) >> (cnt - 1)) & 1;
      const bool of = (a >> (B - 1)) & 1;
      set_lf_resco<T>(c, r, cf, of);
      return r;
    }
    case kSar: {
      using S = std::make_signed_t<T>;
      const int64_t sa = int64_t(S(a));
      const T r = T(sa >> (cnt >= B ? B - 1 : cnt));
      const bool cf = (sa >> (cnt - 1 >= B ? B - 1 : cnt - 1)) & 1;
      set_lf_resco<T>(c, r, cf, false);
      return r;
    }
    case kRol: {
      const unsigned n = cnt % B;
      const T r = n == 0 ? a : T((a << n) | (a >> (B - n)));
      const bool cf = r & 1;
      const bool of = ((r >> (B - 1)) & 1) ^ cf;
      materialize_flags(c);
      c->rfl = (c->rfl & ~(fl::CF | fl::OF)) | (cf ? fl::CF : 0) | (of ? fl::OF : 0);
      return r;
    }
    case kRor: {
      const unsigned n = cnt % B;
      const T r = n == 0 ? a : T((a >> n) | (a << (B - n)));
      const bool cf = (r >> (B - 1)) & 1;
      const bool of = cf ^ ((r >> (B - 2)) & 1);
      materialize_flags(c);
      c->rfl = (c->rfl & ~(fl::CF | fl::OF)) | (cf ? fl::CF : 0) | (of ? fl::OF : 0);
      return r;
    }
    case kRcl: {
      const unsigned n = B == 8 ? cnt % 9 : B == 16 ? cnt % 17 : cnt;
      bool cf = get_cf(c);
      T r = a;
      for (unsigned k = 0; k < n; k++) {
        const bool out = (r >> (B - 1)) & 1;
        r = T((r << 1) | (cf ? 1 : 0));
        cf = out;
      }
      const bool of = ((r >> (B - 1)) & 1) ^ cf;
      materialize_flags(c);
      c->rfl = (c->rfl & ~(fl::CF | fl::OF)) | (cf ? fl::CF : 0) | (of ? fl::OF : 0);
      return r;
    }
    default: {  // kRcr
      const unsigned n = B == 8 ? cnt % 9 : B == 16 ? cnt % 17 : cnt;
      bool cf = get_cf(c);
      const bool of = ((a >> (B - 1)) & 1) ^ cf;
      T r = a;
      for (unsigned k = 0; k < n; k++) {
        const bool out = r & 1;
        r = T((r >> 1) | (T(cf ? 1 : 0) << (B - 1)));
        cf = out;
      }
      materialize_flags(c);
      c->rfl = (c->rfl & ~(fl::CF | fl::OF)) | (cf ? fl::CF : 0) | (of ? fl::OF : 0);
      return r;
    }
  }
}

// SRC: 0 = imm8, 1 = constant 1, 2 = CL.
template <class T, int OP, int SRC, bool M> const Insn* shift_rm(Core* c, const Insn* i) {
  const unsigned raw = SRC == 0 ? unsigned(i->imm) : SRC == 1 ? 1u : unsigned(c->r[RCX]);
  const unsigned cnt = raw & (sizeof(T) == 8 ? 0x3F : 0x1F);
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    m.store(shift<T, OP>(c, m.load(), cnt));
  } else {
    set_reg<T>(c, i->mo, shift<T, OP>(c, get_reg<T>(c, i->mo), cnt));
  }
  return next(c, i);
}

template <class T, bool LEFT> T dshift(Core* c, T a, T b, unsigned cnt) {
  constexpr unsigned B = bits<T>();
  if (cnt == 0) return a;
  // 16-bit operands with counts above 16 behave as on a 32-bit concatenation (undefined
  // per the SDM); the 64-bit intermediate keeps that well defined.
  T r;
  bool cf;
  if (LEFT) {
    if (B == 64) {
      r = T((uint64_t(a) << cnt) | (uint64_t(b) >> (64 - cnt)));
      cf = (uint64_t(a) >> (64 - cnt)) & 1;
    } else {
      const uint64_t cat = (uint64_t(a) << B) | uint64_t(b);
      const uint64_t sh = cat << cnt;
      r = T(sh >> B);
      cf = (cat >> (2 * B - cnt)) & 1;
    }
  } else {
    if (B == 64) {
      r = T((uint64_t(a) >> cnt) | (uint64_t(b) << (64 - cnt)));
      cf = (uint64_t(a) >> (cnt - 1)) & 1;
    } else {
      const uint64_t cat = (uint64_t(b) << B) | uint64_t(a);
      r = T(cat >> cnt);
      cf = (cat >> (cnt - 1)) & 1;
    }
  }
  const bool of = ((r ^ a) >> (B - 1)) & 1;
  set_lf_resco<T>(c, r, cf, of);
  return r;
}

template <class T, bool LEFT, bool CL, bool M> const Insn* dshift_rm(Core* c, const Insn* i) {
  const unsigned raw = CL ? unsigned(c->r[RCX]) : unsigned(i->imm);
  const unsigned cnt = raw & (sizeof(T) == 8 ? 0x3F : 0x1F);
  const T b = get_reg<T>(c, i->ro);
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    m.store(dshift<T, LEFT>(c, m.load(), b, cnt));
  } else {
    set_reg<T>(c, i->mo, dshift<T, LEFT>(c, get_reg<T>(c, i->mo), b, cnt));
  }
  return next(c, i);
}

template <int SRC, bool M> Handler pick_op(int op, int osz) {
#define SOFT_SH(OP) case OP: return SOFT_PICK(osz, shift_rm, OP, SRC, M);
  switch (op) {
    SOFT_SH(kRol)
    SOFT_SH(kRor)
    SOFT_SH(kRcl)
    SOFT_SH(kRcr)
    SOFT_SH(kShl)
    SOFT_SH(kShr)
    SOFT_SH(kSal)
    default: return SOFT_PICK(osz, shift_rm, kSar, SRC, M);
  }
#undef SOFT_SH
}

bool dec_group2(DecodeCtx& d, Insn* i) {
  const int op = d.reg & 7;
  const int src = (d.opcode == 0xC0 || d.opcode == 0xC1) ? 0 : (d.opcode == 0xD0 || d.opcode == 0xD1) ? 1 : 2;
  const bool mem = is_mem(i);
  if (src == 0) i->fn = mem ? pick_op<0, true>(op, d.osz) : pick_op<0, false>(op, d.osz);
  else if (src == 1) i->fn = mem ? pick_op<1, true>(op, d.osz) : pick_op<1, false>(op, d.osz);
  else i->fn = mem ? pick_op<2, true>(op, d.osz) : pick_op<2, false>(op, d.osz);
  return true;
}

bool dec_dshift(DecodeCtx& d, Insn* i) {
  const bool left = d.opcode < 0xA8;
  const bool cl = d.opcode & 1;
  const bool mem = is_mem(i);
#define SOFT_DS(L, C)                                                                       \
  (mem ? SOFT_PICK_WIDE(d.osz, dshift_rm, L, C, true) : SOFT_PICK_WIDE(d.osz, dshift_rm, L, C, false))
  if (left) i->fn = cl ? SOFT_DS(true, true) : SOFT_DS(true, false);
  else i->fn = cl ? SOFT_DS(false, true) : SOFT_DS(false, false);
#undef SOFT_DS
  return true;
}

}  // namespace

void register_shift(OpTables& t) {
  const char* fam = "shift";
  register_op(t, 0, 0xC0, dec_group2, opf::kModrm | opf::kByteOp | opf::kImm8, fam);
  register_op(t, 0, 0xC1, dec_group2, opf::kModrm | opf::kImm8, fam);
  register_op(t, 0, 0xD0, dec_group2, opf::kModrm | opf::kByteOp, fam);
  register_op(t, 0, 0xD1, dec_group2, opf::kModrm, fam);
  register_op(t, 0, 0xD2, dec_group2, opf::kModrm | opf::kByteOp, fam);
  register_op(t, 0, 0xD3, dec_group2, opf::kModrm, fam);
  register_op(t, 1, 0xA4, dec_dshift, opf::kModrm | opf::kImm8, fam);
  register_op(t, 1, 0xA5, dec_dshift, opf::kModrm, fam);
  register_op(t, 1, 0xAC, dec_dshift, opf::kModrm | opf::kImm8, fam);
  register_op(t, 1, 0xAD, dec_dshift, opf::kModrm, fam);
}

}  // namespace tsvirt::soft
