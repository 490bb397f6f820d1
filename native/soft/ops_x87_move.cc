// Fast paths of the x87 data-movement instructions: FLD m32fp/m64fp/m80fp/ST(i), FILD
// m16/m32/m64, FST/FSTP m32fp/m64fp/ST(i), FSTP m80fp, FIST/FISTP m16/m32, FISTP m64,
// FISTTP m16/m32/m64, FXCH, FCHS, FABS, and the constants FLD1 FLDL2T FLDL2E FLDPI FLDLG2
// FLDLN2 FLDZ.
//
// Conversions that can round or raise (FLD m32/m64, FST m32/m64, FIST*) run on the host FPU
// under the guest control word (x87.h); the exact ones (80-bit moves, FILD, sign changes)
// are plain copies. They apply when every exception is masked and no stack fault can
// happen (the source is not empty, a push finds ST(7) empty); otherwise the general path
// runs. All of them clear C1 (or set it to the round-up indication for stores) and leave
// C0/C2/C3 unchanged, as the host does (SDM vol. 2: "undefined").
#include <cstring>

#include "soft/fp_mem.h"
#include "soft/x87.h"

namespace tsvirt::soft {

namespace {

constexpr uint16_t kHostDefaultCw = 0x037F;

#define X87_LOAD_FN(NAME, INSN, T)                                                  \
  inline uint16_t NAME(Reg80* r, const T* m) {                                      \
    uint16_t sw;                                                                    \
    asm volatile(INSN " %[m]\n\tfstpt %[r]\n\tfnstsw %[sw]"                          \
                 : [r] "=m"(*r), [sw] "=m"(sw)                                      \
                 : [m] "m"(*m)                                                      \
                 : "st", "memory");                                                 \
    return sw;                                                                      \
  }
// The control word is loaded only when it differs from the host's (037F).
#define X87_STORE_FN(NAME, INSN, T)                                                     \
  inline uint16_t NAME(T* m, const Reg80* a, uint16_t cw) {                             \
    uint16_t sw;                                                                        \
    if (SOFT_LIKELY(cw == kHostDefaultCw)) {                                            \
      asm volatile("fldt %[a]\n\t" INSN " %[m]\n\tfnstsw %[sw]"                          \
                   : [m] "=m"(*m), [sw] "=m"(sw) : [a] "m"(*a) : "st", "memory");        \
    } else {                                                                            \
      asm volatile("fldcw %[cw]\n\tfldt %[a]\n\t" INSN " %[m]\n\tfnstsw %[sw]\n\tfldcw %[dcw]" \
                   : [m] "=m"(*m), [sw] "=m"(sw)                                        \
                   : [a] "m"(*a), [cw] "m"(cw), [dcw] "m"(kHostDefaultCw)               \
                   : "st", "memory");                                                   \
    }                                                                                   \
    return sw;                                                                          \
  }

// FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2 (D9 E9..ED): rounded per FCW.RC; raise nothing.
#define X87_CONST_FN(NAME, INSN)                                                        \
  inline void NAME(Reg80* r, uint16_t cw) {                                             \
    if (SOFT_LIKELY(cw == kHostDefaultCw)) {                                            \
      asm volatile(INSN "\n\tfstpt %[r]" : [r] "=m"(*r) : : "st", "memory");            \
    } else {                                                                            \
      asm volatile("fldcw %[cw]\n\t" INSN "\n\tfstpt %[r]\n\tfldcw %[dcw]"               \
                   : [r] "=m"(*r) : [cw] "m"(cw), [dcw] "m"(kHostDefaultCw) : "st", "memory"); \
    }                                                                                   \
  }
X87_CONST_FN(host_fldl2t, "fldl2t")
X87_CONST_FN(host_fldl2e, "fldl2e")
X87_CONST_FN(host_fldpi, "fldpi")
X87_CONST_FN(host_fldlg2, "fldlg2")
X87_CONST_FN(host_fldln2, "fldln2")
#undef X87_CONST_FN

X87_LOAD_FN(host_ld_f32, "flds", uint32_t)
X87_LOAD_FN(host_ld_f64, "fldl", uint64_t)
X87_STORE_FN(host_st_f32, "fstps", uint32_t)
X87_STORE_FN(host_st_f64, "fstpl", uint64_t)
X87_STORE_FN(host_ist_i16, "fistps", uint16_t)
X87_STORE_FN(host_ist_i32, "fistpl", uint32_t)
X87_STORE_FN(host_ist_i64, "fistpll", uint64_t)
X87_STORE_FN(host_istt_i16, "fisttps", uint16_t)
X87_STORE_FN(host_istt_i32, "fisttpl", uint32_t)
X87_STORE_FN(host_istt_i64, "fisttpll", uint64_t)

#undef X87_LOAD_FN
#undef X87_STORE_FN

inline bool can_push(const FpuState& f) { return x87_empty_phys(f, (x87_top(f) - 1) & 7); }

inline void clear_c1(FpuState& f) { f.fsw &= uint16_t(~fsw::C1); }

// The exact value of an integer as an 80-bit real.
template <class T> Reg80 int_to_r80(T v) {
  const int64_t s = int64_t(v);
  if (s == 0) return r80(0, 0);
  const bool neg = s < 0;
  const uint64_t m = neg ? uint64_t(0) - uint64_t(s) : uint64_t(s);
  const int lz = __builtin_clzll(m);
  return r80(m << lz, uint16_t((neg ? 0x8000 : 0) | (16383 + 63 - lz)));
}

enum LoadKind { kLdF32, kLdF64, kLdF80, kLdI16, kLdI32, kLdI64 };

template <int K> const Insn* fld_mem(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const uint64_t e = ea(c, i);
  constexpr unsigned kSize = K == kLdF32 || K == kLdI32 ? 4 : K == kLdF80 ? 10 : K == kLdI16 ? 2 : 8;
  if (SOFT_UNLIKELY(!x87_all_masked(f) || !can_push(f))) {
    x87_exec_load<kSize>(c, i, e);
    return next(c, i);
  }
  Reg80 v;
  uint16_t sw = 0;
  if constexpr (K == kLdF32 || K == kLdF64) x87_host_enter(f);
  if constexpr (K == kLdF32) {
    const uint32_t m = c->rd<uint32_t>(i->seg, e);
    sw = host_ld_f32(&v, &m);
  } else if constexpr (K == kLdF64) {
    const uint64_t m = c->rd<uint64_t>(i->seg, e);
    sw = host_ld_f64(&v, &m);
  } else if constexpr (K == kLdF80) {
    v = fp_ld80(c, i->seg, e, i->amask);
  } else if constexpr (K == kLdI16) {
    v = int_to_r80(int16_t(c->rd<uint16_t>(i->seg, e)));
  } else if constexpr (K == kLdI32) {
    v = int_to_r80(int32_t(c->rd<uint32_t>(i->seg, e)));
  } else {
    v = int_to_r80(int64_t(c->rd<uint64_t>(i->seg, e)));
  }
  if constexpr (K == kLdF32 || K == kLdF64) x87_host_leave(sw);
  x87_push(f, v);
  f.fsw = uint16_t((f.fsw & ~fsw::C1) | (sw & fsw::kExc));
  x87_note_mem(c, i, e);
  return next(c, i);
}

enum StoreKind { kStF32, kStF64, kStF80, kStI16, kStI32, kStI64, kSttI16, kSttI32, kSttI64 };

template <int K, bool POP> const Insn* fst_mem(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const uint64_t e = ea(c, i);
  constexpr unsigned kSize = K == kStF32 || K == kStI32 || K == kSttI32 ? 4
                             : K == kStF80                              ? 10
                             : K == kStI16 || K == kSttI16              ? 2
                                                                        : 8;
  if (SOFT_UNLIKELY(!x87_all_masked(f) || x87_empty(f, 0))) {
    x87_exec_store<kSize>(c, i, e);
    return next(c, i);
  }
  const Reg80& st0 = x87_st(f, 0);
  const uint16_t cw = x87_host_cw(f.fcw);
  uint16_t sw = 0;
  if constexpr (K != kStF80) x87_host_enter(f);
  if constexpr (K == kStF80) {
    fp_st80(c, i->seg, e, i->amask, st0);
  } else if constexpr (kSize == 2) {
    uint16_t m;
    sw = K == kStI16 ? host_ist_i16(&m, &st0, cw) : host_istt_i16(&m, &st0, cw);
    x87_host_leave(sw);  // before the store, which may fault
    c->wr<uint16_t>(i->seg, e, m);
  } else if constexpr (kSize == 4) {
    uint32_t m;
    sw = K == kStF32 ? host_st_f32(&m, &st0, cw) : K == kStI32 ? host_ist_i32(&m, &st0, cw) : host_istt_i32(&m, &st0, cw);
    x87_host_leave(sw);  // before the store, which may fault
    c->wr<uint32_t>(i->seg, e, m);
  } else {
    uint64_t m;
    sw = K == kStF64 ? host_st_f64(&m, &st0, cw) : K == kStI64 ? host_ist_i64(&m, &st0, cw) : host_istt_i64(&m, &st0, cw);
    x87_host_leave(sw);  // before the store, which may fault
    c->wr<uint64_t>(i->seg, e, m);
  }
  f.fsw = uint16_t((f.fsw & ~fsw::C1) | (sw & (fsw::C1 | fsw::kExc)));
  if (POP) x87_pop(f);
  x87_note_mem(c, i, e);
  return next(c, i);
}

// FLD ST(i)
const Insn* fld_sti(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const unsigned sti = i->rm & 7;
  if (SOFT_UNLIKELY(x87_empty(f, sti) || !can_push(f))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  const Reg80 v = x87_st(f, sti);
  x87_push(f, v);
  clear_c1(f);
  x87_note_insn(c, i);
  return next(c, i);
}

// FST/FSTP ST(i) (DD D0/D8, and the aliases FSTP1 D9 D8, FSTP8 DF D0, FSTP9 DF D8)
template <bool POP> const Insn* fst_sti(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  if (SOFT_UNLIKELY(x87_empty(f, 0))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  const unsigned p = x87_phys(f, i->rm & 7);
  f.st[p].mant = x87_st(f, 0).mant;
  f.st[p].exp = x87_st(f, 0).exp;
  x87_set_empty_phys(f, p, false);
  clear_c1(f);
  if (POP) x87_pop(f);
  x87_note_insn(c, i);
  return next(c, i);
}

// FXCH (D9 C8, and the aliases DD C8, DF C8)
const Insn* fxch(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const unsigned sti = i->rm & 7;
  if (SOFT_UNLIKELY(x87_empty(f, 0) || x87_empty(f, sti))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  Reg80& a = x87_st(f, 0);
  Reg80& b = x87_st(f, sti);
  const Reg80 t = a;
  a.mant = b.mant;
  a.exp = b.exp;
  b.mant = t.mant;
  b.exp = t.exp;
  clear_c1(f);
  x87_note_insn(c, i);
  return next(c, i);
}

template <bool ABS> const Insn* fsign(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  if (SOFT_UNLIKELY(x87_empty(f, 0))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  Reg80& a = x87_st(f, 0);
  a.exp = ABS ? uint16_t(a.exp & 0x7FFF) : uint16_t(a.exp ^ 0x8000);
  clear_c1(f);
  x87_note_insn(c, i);
  return next(c, i);
}

// FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8 + K)
template <int K> const Insn* fldconst(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  if (SOFT_UNLIKELY(!can_push(f))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  Reg80 v;
  const uint16_t cw = x87_host_cw(f.fcw);
  switch (K) {
    case 0: v = r80(0x8000000000000000ull, 0x3FFF); break;
    case 1: host_fldl2t(&v, cw); break;
    case 2: host_fldl2e(&v, cw); break;
    case 3: host_fldpi(&v, cw); break;
    case 4: host_fldlg2(&v, cw); break;
    case 5: host_fldln2(&v, cw); break;
    default: v = r80(0, 0); break;
  }
  x87_push(f, v);
  clear_c1(f);
  x87_note_insn(c, i);
  return next(c, i);
}

}  // namespace

Handler x87_move_fast_mem(unsigned op, unsigned reg) {
  switch (op) {
    case 0xD9:
      if (reg == 0) return &fld_mem<kLdF32>;
      if (reg == 2) return &fst_mem<kStF32, false>;
      if (reg == 3) return &fst_mem<kStF32, true>;
      return nullptr;
    case 0xDB:
      switch (reg) {
        case 0: return &fld_mem<kLdI32>;
        case 1: return &fst_mem<kSttI32, true>;
        case 2: return &fst_mem<kStI32, false>;
        case 3: return &fst_mem<kStI32, true>;
        case 5: return &fld_mem<kLdF80>;
        case 7: return &fst_mem<kStF80, true>;
        default: return nullptr;
      }
    case 0xDD:
      switch (reg) {
        case 0: return &fld_mem<kLdF64>;
        case 1: return &fst_mem<kSttI64, true>;
        case 2: return &fst_mem<kStF64, false>;
        case 3: return &fst_mem<kStF64, true>;
        default: return nullptr;
      }
    case 0xDF:
      switch (reg) {
        case 0: return &fld_mem<kLdI16>;
        case 1: return &fst_mem<kSttI16, true>;
        case 2: return &fst_mem<kStI16, false>;
        case 3: return &fst_mem<kStI16, true>;
        case 5: return &fld_mem<kLdI64>;
        case 7: return &fst_mem<kStI64, true>;
        default: return nullptr;
      }
    default: return nullptr;
  }
}

Handler x87_move_fast_reg(unsigned op, unsigned modrm) {
  const unsigned reg = (modrm >> 3) & 7;
  switch (op) {
    case 0xD9:
      if (reg == 0) return fld_sti;
      if (reg == 1) return fxch;
      if (reg == 3) return &fst_sti<true>;
      switch (modrm) {
        case 0xE0: return &fsign<false>;
        case 0xE1: return &fsign<true>;
        case 0xE8: return &fldconst<0>;
        case 0xE9: return &fldconst<1>;
        case 0xEA: return &fldconst<2>;
        case 0xEB: return &fldconst<3>;
        case 0xEC: return &fldconst<4>;
        case 0xED: return &fldconst<5>;
        case 0xEE: return &fldconst<6>;
        default: return nullptr;
      }
    case 0xDD:
      if (reg == 1) return fxch;
      if (reg == 2) return &fst_sti<false>;
      if (reg == 3) return &fst_sti<true>;
      return nullptr;
    case 0xDF:
      if (reg == 1) return fxch;
      if (reg == 2 || reg == 3) return &fst_sti<true>;
      return nullptr;
    default: return nullptr;
  }
}

}  // namespace tsvirt::soft
