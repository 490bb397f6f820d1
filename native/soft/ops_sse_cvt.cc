// SSE/SSE2 conversions: CVTPI2PS/PD, CVTSI2SS/SD, CVT(T)PS2PI, CVT(T)PD2PI, CVT(T)SS2SI,
// CVT(T)SD2SI, CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS, CVTDQ2PS, CVT(T)PS2DQ, CVTDQ2PD,
// CVT(T)PD2DQ.
//
// Intel SDM vol. 2 per instruction. Each runs the host's SSE conversion under the guest
// MXCSR (sse.h): rounding, the integer indefinite (0x80000000...) for NaN and out-of-range
// values, and the IE/PE/OE/UE/DE flags are the hardware's. The MMX forms run the XMM
// instruction on the two elements with zeros in the other lanes (a zero converts without
// raising anything); a register MMX operand makes the x87 transition (TOP=0, all tags
// valid), a memory one does not. General-register operands are 32-bit, or 64 with REX.W.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

#define CVT_OP(NAME, INSN)                                                   \
  struct NAME {                                                              \
    static void f(__m128i& a, __m128i b) { asm volatile(INSN " %1, %0" : "+x"(a) : "x"(b)); } \
  };
CVT_OP(CvtDQ2PS, "cvtdq2ps")
CVT_OP(CvtPS2DQ, "cvtps2dq")
CVT_OP(CvttPS2DQ, "cvttps2dq")
CVT_OP(CvtDQ2PD, "cvtdq2pd")
CVT_OP(CvtPD2DQ, "cvtpd2dq")
CVT_OP(CvttPD2DQ, "cvttpd2dq")
CVT_OP(CvtPS2PD, "cvtps2pd")
CVT_OP(CvtPD2PS, "cvtpd2ps")
CVT_OP(CvtSS2SD, "cvtss2sd")
CVT_OP(CvtSD2SS, "cvtsd2ss")
#undef CVT_OP

// xmm, xmm/mem conversions.
template <class OP, int S> const Insn* cvt_xx(Core* c, const Insn* i) {
  check_sse(c);
  const __m128i b = ld(xsrc<S>(c, i));
  const __m128i a0 = ld(xreg(c, i->reg));
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = a0;
    OP::f(a, b);
  });
  sse_flags(c, flags);
  st(xreg(c, i->reg), a);
  return next(c, i);
}

// CVTSI2SS / CVTSI2SD xmm, r/m32/64
template <bool DBL, class T, bool M> const Insn* cvtsi2s(Core* c, const Insn* i) {
  check_sse(c);
  const T v = read_rm<T, M>(c, i);
  const __m128i a0 = ld(xreg(c, i->reg));
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = a0;
    if constexpr (DBL && sizeof(T) == 8) asm volatile("cvtsi2sdq %1, %0" : "+x"(a) : "r"(v));
    else if constexpr (DBL) asm volatile("cvtsi2sdl %1, %0" : "+x"(a) : "r"(v));
    else if constexpr (sizeof(T) == 8) asm volatile("cvtsi2ssq %1, %0" : "+x"(a) : "r"(v));
    else asm volatile("cvtsi2ssl %1, %0" : "+x"(a) : "r"(v));
  });
  sse_flags(c, flags);
  st(xreg(c, i->reg), a);
  return next(c, i);
}

// CVT(T)SS2SI / CVT(T)SD2SI r32/64, xmm/m32/64
template <bool DBL, bool TRUNC, class T, int S> const Insn* cvts2si(Core* c, const Insn* i) {
  check_sse(c);
  const __m128i b = ld(xsrc<S>(c, i));
  T r = 0;
  const uint32_t flags = mx_run(c, [&] {
    if constexpr (DBL && TRUNC) asm volatile("cvttsd2si %1, %0" : "=r"(r) : "x"(b));
    else if constexpr (DBL) asm volatile("cvtsd2si %1, %0" : "=r"(r) : "x"(b));
    else if constexpr (TRUNC) asm volatile("cvttss2si %1, %0" : "=r"(r) : "x"(b));
    else asm volatile("cvtss2si %1, %0" : "=r"(r) : "x"(b));
  });
  sse_flags(c, flags);
  set_reg<T>(c, i->ro, r);
  return next(c, i);
}

// CVTPI2PS xmm, mm/m64: two int32 -> two floats in the low half; the high half is kept.
template <bool M> const Insn* cvtpi2ps(Core* c, const Insn* i) {
  uint64_t v;
  if constexpr (M) {
    check_sse(c);
    v = c->rd<uint64_t>(i->seg, ea(c, i));
  } else {
    check_sse(c);
    if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
    v = mmx_reg(c, i->rm);
  }
  const __m128i b = ld64(v);
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = _mm_setzero_si128();
    CvtDQ2PS::f(a, b);
  });
  if (!M) mmx_enter(c);  // the transition happens even when the conversion faults
  sse_flags(c, flags);
  xreg(c, i->reg).q[0] = lo64(a);
  return next(c, i);
}

// CVTPI2PD xmm, mm/m64 (exact)
template <bool M> const Insn* cvtpi2pd(Core* c, const Insn* i) {
  uint64_t v;
  check_sse(c);
  if constexpr (M) {
    v = c->rd<uint64_t>(i->seg, ea(c, i));
  } else {
    if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
    v = mmx_reg(c, i->rm);
  }
  const __m128i b = ld64(v);
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = _mm_setzero_si128();
    CvtDQ2PD::f(a, b);
  });
  if (!M) mmx_enter(c);
  sse_flags(c, flags);
  st(xreg(c, i->reg), a);
  return next(c, i);
}

// CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128
template <class OP, bool PS, int S> const Insn* cvt2pi(Core* c, const Insn* i) {
  check_sse(c);
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
  Xmm s = xsrc<S>(c, i);
  if (PS) s.q[1] = 0;  // only the low two floats take part
  const __m128i b = ld(s);
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = _mm_setzero_si128();
    OP::f(a, b);
  });
  mmx_enter(c);  // the transition happens even when the conversion faults (as the host does)
  sse_flags(c, flags);
  mmx_set(c, i->reg, lo64(a));
  return next(c, i);
}

bool dec_0f2a(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? &cvtpi2ps<true> : &cvtpi2ps<false>; return true;
    case kPfx66: i->fn = m ? &cvtpi2pd<true> : &cvtpi2pd<false>; return true;
    case kPfxF3:
      i->fn = d.rex_w ? (m ? &cvtsi2s<false, uint64_t, true> : &cvtsi2s<false, uint64_t, false>)
                      : (m ? &cvtsi2s<false, uint32_t, true> : &cvtsi2s<false, uint32_t, false>);
      return true;
    default:
      i->fn = d.rex_w ? (m ? &cvtsi2s<true, uint64_t, true> : &cvtsi2s<true, uint64_t, false>)
                      : (m ? &cvtsi2s<true, uint32_t, true> : &cvtsi2s<true, uint32_t, false>);
      return true;
  }
}

template <bool TRUNC> bool dec_0f2c_2d(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  using PS = std::conditional_t<TRUNC, CvttPS2DQ, CvtPS2DQ>;
  using PD = std::conditional_t<TRUNC, CvttPD2DQ, CvtPD2DQ>;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? &cvt2pi<PS, true, kSrcM64> : &cvt2pi<PS, true, kSrcReg>; return true;
    case kPfx66: i->fn = m ? &cvt2pi<PD, false, kSrcM128A> : &cvt2pi<PD, false, kSrcReg>; return true;
    case kPfxF3:
      i->fn = d.rex_w ? (m ? &cvts2si<false, TRUNC, uint64_t, kSrcM32> : &cvts2si<false, TRUNC, uint64_t, kSrcReg>)
                      : (m ? &cvts2si<false, TRUNC, uint32_t, kSrcM32> : &cvts2si<false, TRUNC, uint32_t, kSrcReg>);
      return true;
    default:
      i->fn = d.rex_w ? (m ? &cvts2si<true, TRUNC, uint64_t, kSrcM64> : &cvts2si<true, TRUNC, uint64_t, kSrcReg>)
                      : (m ? &cvts2si<true, TRUNC, uint32_t, kSrcM64> : &cvts2si<true, TRUNC, uint32_t, kSrcReg>);
      return true;
  }
}

template <class OP, int SMEM> bool dec_xx(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &cvt_xx<OP, SMEM> : &cvt_xx<OP, kSrcReg>;
  return true;
}

}  // namespace

void register_sse_cvt(OpTables& t) {
  sse_register(t, 1, 0x2A, kPfxNone, kFeatSse, dec_0f2a);
  sse_register(t, 1, 0x2A, kPfx66, kFeatSse2, dec_0f2a);
  sse_register(t, 1, 0x2A, kPfxF3, kFeatSse, dec_0f2a);
  sse_register(t, 1, 0x2A, kPfxF2, kFeatSse2, dec_0f2a);
  for (unsigned op : {0x2Cu, 0x2Du}) {
    const DecodeFn f = op == 0x2C ? dec_0f2c_2d<true> : dec_0f2c_2d<false>;
    sse_register(t, 1, op, kPfxNone, kFeatSse, f);
    sse_register(t, 1, op, kPfx66, kFeatSse2, f);
    sse_register(t, 1, op, kPfxF3, kFeatSse, f);
    sse_register(t, 1, op, kPfxF2, kFeatSse2, f);
  }
  sse_register(t, 1, 0x5A, kPfxNone, kFeatSse2, dec_xx<CvtPS2PD, kSrcM64>);
  sse_register(t, 1, 0x5A, kPfx66, kFeatSse2, dec_xx<CvtPD2PS, kSrcM128A>);
  sse_register(t, 1, 0x5A, kPfxF3, kFeatSse2, dec_xx<CvtSS2SD, kSrcM32>);
  sse_register(t, 1, 0x5A, kPfxF2, kFeatSse2, dec_xx<CvtSD2SS, kSrcM64>);
  sse_register(t, 1, 0x5B, kPfxNone, kFeatSse2, dec_xx<CvtDQ2PS, kSrcM128A>);
  sse_register(t, 1, 0x5B, kPfx66, kFeatSse2, dec_xx<CvtPS2DQ, kSrcM128A>);
  sse_register(t, 1, 0x5B, kPfxF3, kFeatSse2, dec_xx<CvttPS2DQ, kSrcM128A>);
  sse_register(t, 1, 0xE6, kPfx66, kFeatSse2, dec_xx<CvttPD2DQ, kSrcM128A>);
  sse_register(t, 1, 0xE6, kPfxF3, kFeatSse2, dec_xx<CvtDQ2PD, kSrcM64>);
  sse_register(t, 1, 0xE6, kPfxF2, kFeatSse2, dec_xx<CvtPD2DQ, kSrcM128A>);
}

}  // namespace tsvirt::soft
