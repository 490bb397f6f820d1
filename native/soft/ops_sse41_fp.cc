// SSE4.1 floating point: ROUNDPS/ROUNDPD/ROUNDSS/ROUNDSD and DPPS/DPPD.
//
// Intel SDM vol. 2 per instruction. Both run the host's own instruction (one instance per
// immediate, selected at decode time) under the guest MXCSR (sse.h), so the rounding
// modes, precision suppression (ROUND imm8[3]), the dot products' order of operations and
// every flag are the hardware's. Registered only when the host implements SSE4.1.
// Packed memory operands are 16 bytes and must be aligned (#GP(0)).
#include <array>
#include <utility>

#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

#define IMM_OP(NAME, INSN)                                                                   \
  template <int IMM> struct NAME {                                                           \
    static void f(__m128i& a, __m128i b) { asm volatile(INSN " %2, %1, %0" : "+x"(a) : "x"(b), "i"(IMM)); } \
  };
IMM_OP(RoundPS, "roundps")
IMM_OP(RoundPD, "roundpd")
IMM_OP(RoundSS, "roundss")
IMM_OP(RoundSD, "roundsd")
#undef IMM_OP

// DPPS/DPPD: multiplies, then additions, each step with the SIMD exception rules. With an
// unmasked exception the processor reports: the products' invalid/denormal flags when one
// of those is unmasked (nothing of the sums); else, when the sums raised an unmasked
// invalid/denormal, everything the products raised plus the sums' invalid/denormal flags;
// else everything. The product flags are recomputed on the selected lanes (other lanes
// zero, which raise nothing) to tell the steps apart.
template <int IMM, bool PS> struct Dp {
  static void f(__m128i& a, __m128i b) {
    if (PS) asm volatile("dpps %2, %1, %0" : "+x"(a) : "x"(b), "i"(IMM));
    else asm volatile("dppd %2, %1, %0" : "+x"(a) : "x"(b), "i"(IMM));
  }
};
template <int IMM> using DpPS = Dp<IMM, true>;
template <int IMM> using DpPD = Dp<IMM, false>;

template <int IMM, bool PS, int S> const Insn* dp_op(Core* c, const Insn* i) {
  check_sse(c);
  const __m128i b = ld(xsrc<S>(c, i));
  const __m128i a0 = ld(xreg(c, i->reg));
  __m128i a;
  uint32_t flags = mx_run(c, [&] {
    a = a0;
    Dp<IMM, PS>::f(a, b);
  });
  if (SOFT_UNLIKELY(flags & ~(c->fpu.mxcsr >> mxcsr::kMaskShift) & mxcsr::kFlags)) {
    const __m128i sel = PS ? _mm_set_epi32(IMM & 0x80 ? -1 : 0, IMM & 0x40 ? -1 : 0, IMM & 0x20 ? -1 : 0, IMM & 0x10 ? -1 : 0)
                           : _mm_set_epi64x(IMM & 0x20 ? -1 : 0, IMM & 0x10 ? -1 : 0);
    const __m128i pa = _mm_and_si128(a0, sel), pb = _mm_and_si128(b, sel);
    __m128i p;
    const uint32_t products = mx_run(c, [&] {
      p = pa;
      if (PS) asm volatile("mulps %1, %0" : "+x"(p) : "x"(pb));
      else asm volatile("mulpd %1, %0" : "+x"(p) : "x"(pb));
    });
    constexpr uint32_t kPre = mxcsr::IE | mxcsr::DE | mxcsr::ZE;
    const uint32_t unmasked = ~(c->fpu.mxcsr >> mxcsr::kMaskShift) & mxcsr::kFlags;
    if (products & unmasked & kPre) sse_raise_xm_flags(c, products & kPre);
    if (flags & unmasked & kPre) sse_raise_xm_flags(c, products | (flags & kPre));
    sse_raise_xm_flags(c, flags);
  }
  c->fpu.mxcsr |= flags;
  st(xreg(c, i->reg), a);
  return next(c, i);
}

template <template <int> class OP, int S, size_t... I>
constexpr std::array<Handler, sizeof...(I)> table(std::index_sequence<I...>) {
  return {{&sse_fp_op<OP<int(I)>, S>...}};
}
template <bool PS, int S, size_t... I>
constexpr std::array<Handler, sizeof...(I)> dp_table(std::index_sequence<I...>) {
  return {{&dp_op<int(I), PS, S>...}};
}
template <bool PS> struct DpTable {
  static constexpr std::array<Handler, 256> reg = dp_table<PS, kSrcReg>(std::make_index_sequence<256>());
  static constexpr std::array<Handler, 256> mem = dp_table<PS, kSrcM128A>(std::make_index_sequence<256>());
  static bool dec(DecodeCtx& d, Insn* i) {
    const size_t k = size_t(i->imm & 0xFF);
    i->fn = d.mod != 3 ? mem[k] : reg[k];
    return true;
  }
};

template <template <int> class OP, int SMEM, size_t N> struct ImmTable {
  static constexpr std::array<Handler, N> reg = table<OP, kSrcReg>(std::make_index_sequence<N>());
  static constexpr std::array<Handler, N> mem = table<OP, SMEM>(std::make_index_sequence<N>());
  static bool dec(DecodeCtx& d, Insn* i) {
    const size_t k = size_t(i->imm & 0xFF) & (N - 1);
    i->fn = d.mod != 3 ? mem[k] : reg[k];
    return true;
  }
};

}  // namespace

void register_sse41_fp(OpTables& t) {
  const uint32_t imm = opf::kModrm | opf::kImm8;
  // ROUND* use imm8[3:0]; DPPD uses imm8[5:4] and [1:0] (all 8 bits are passed through).
  sse_register(t, 3, 0x08, kPfx66, kFeatSse41, ImmTable<RoundPS, kSrcM128A, 16>::dec, imm);
  sse_register(t, 3, 0x09, kPfx66, kFeatSse41, ImmTable<RoundPD, kSrcM128A, 16>::dec, imm);
  sse_register(t, 3, 0x0A, kPfx66, kFeatSse41, ImmTable<RoundSS, kSrcM32, 16>::dec, imm);
  sse_register(t, 3, 0x0B, kPfx66, kFeatSse41, ImmTable<RoundSD, kSrcM64, 16>::dec, imm);
  sse_register(t, 3, 0x40, kPfx66, kFeatSse41, DpTable<true>::dec, imm);
  sse_register(t, 3, 0x41, kPfx66, kFeatSse41, DpTable<false>::dec, imm);
}

}  // namespace tsvirt::soft
