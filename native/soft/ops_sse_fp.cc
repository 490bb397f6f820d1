// SSE/SSE2/SSE3 floating-point arithmetic: ADD SUB MUL DIV MIN MAX SQRT (PS, PD, SS, SD),
// RCPPS/RCPSS/RSQRTPS/RSQRTSS, AND/ANDN/OR/XOR (PS, PD), CMPPS/PD/SS/SD, COMISS/COMISD/
// UCOMISS/UCOMISD, ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD.
//
// Intel SDM vol. 1, 10.4 / 11.4 / 12.3 and vol. 2 per instruction. Every operation is the
// host processor's own instruction run under the guest MXCSR (sse.h), so rounding, NaN
// propagation, DAZ/FTZ, the approximations of RCP/RSQRT and every flag are the hardware's.
// Packed memory operands are 16 bytes and must be aligned (#GP(0)); scalar ones are 4 or
// 8 bytes with no alignment requirement. The compare predicate is imm8[2:0].
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

#define FP_OP(NAME, INSN)                                                    \
  struct NAME {                                                              \
    static void f(__m128i& a, __m128i b) { asm volatile(INSN " %1, %0" : "+x"(a) : "x"(b)); } \
  };

FP_OP(AddPS, "addps") FP_OP(AddPD, "addpd") FP_OP(AddSS, "addss") FP_OP(AddSD, "addsd")
FP_OP(SubPS, "subps") FP_OP(SubPD, "subpd") FP_OP(SubSS, "subss") FP_OP(SubSD, "subsd")
FP_OP(MulPS, "mulps") FP_OP(MulPD, "mulpd") FP_OP(MulSS, "mulss") FP_OP(MulSD, "mulsd")
FP_OP(DivPS, "divps") FP_OP(DivPD, "divpd") FP_OP(DivSS, "divss") FP_OP(DivSD, "divsd")
FP_OP(MinPS, "minps") FP_OP(MinPD, "minpd") FP_OP(MinSS, "minss") FP_OP(MinSD, "minsd")
FP_OP(MaxPS, "maxps") FP_OP(MaxPD, "maxpd") FP_OP(MaxSS, "maxss") FP_OP(MaxSD, "maxsd")
FP_OP(SqrtPS, "sqrtps") FP_OP(SqrtPD, "sqrtpd") FP_OP(SqrtSS, "sqrtss") FP_OP(SqrtSD, "sqrtsd")
FP_OP(RcpPS, "rcpps") FP_OP(RcpSS, "rcpss") FP_OP(RsqrtPS, "rsqrtps") FP_OP(RsqrtSS, "rsqrtss")
FP_OP(AddsubPS, "addsubps") FP_OP(AddsubPD, "addsubpd")
FP_OP(HaddPS, "haddps") FP_OP(HaddPD, "haddpd") FP_OP(HsubPS, "hsubps") FP_OP(HsubPD, "hsubpd")
#undef FP_OP

template <int PRED> struct CmpPS {
  static void f(__m128i& a, __m128i b) { asm volatile("cmpps %2, %1, %0" : "+x"(a) : "x"(b), "i"(PRED)); }
};
template <int PRED> struct CmpPD {
  static void f(__m128i& a, __m128i b) { asm volatile("cmppd %2, %1, %0" : "+x"(a) : "x"(b), "i"(PRED)); }
};
template <int PRED> struct CmpSS {
  static void f(__m128i& a, __m128i b) { asm volatile("cmpss %2, %1, %0" : "+x"(a) : "x"(b), "i"(PRED)); }
};
template <int PRED> struct CmpSD {
  static void f(__m128i& a, __m128i b) { asm volatile("cmpsd %2, %1, %0" : "+x"(a) : "x"(b), "i"(PRED)); }
};

template <class OP, int S> inline const Insn* fp_bin(Core* c, const Insn* i) { return sse_fp_op<OP, S>(c, i); }

// Bitwise logic (no exceptions, no MXCSR).
template <int OP, int S> const Insn* fp_logic(Core* c, const Insn* i) {
  check_sse(c);
  const __m128i b = ld(xsrc<S>(c, i));
  Xmm& d = xreg(c, i->reg);
  const __m128i a = ld(d);
  __m128i r;
  switch (OP) {
    case 0: r = _mm_and_si128(a, b); break;
    case 1: r = _mm_andnot_si128(a, b); break;
    case 2: r = _mm_or_si128(a, b); break;
    default: r = _mm_xor_si128(a, b); break;
  }
  st(d, r);
  return next(c, i);
}

// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the compare; OF, SF, AF cleared.
template <int KIND, int S> const Insn* comis(Core* c, const Insn* i) {
  check_sse(c);
  const __m128i b = ld(xsrc<S>(c, i));
  const __m128i a = ld(xreg(c, i->reg));
  bool zf = false, pf = false, cf = false;
  const uint32_t flags = mx_run(c, [&] {
    switch (KIND) {
      case 0: asm volatile("comiss %3, %4" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : "x"(b), "x"(a)); break;
      case 1: asm volatile("ucomiss %3, %4" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : "x"(b), "x"(a)); break;
      case 2: asm volatile("comisd %3, %4" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : "x"(b), "x"(a)); break;
      default: asm volatile("ucomisd %3, %4" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : "x"(b), "x"(a)); break;
    }
  });
  sse_flags(c, flags);
  materialize_flags(c);
  c->rfl = (c->rfl & ~fl::kArith) | (zf ? fl::ZF : 0) | (pf ? fl::PF : 0) | (cf ? fl::CF : 0);
  return next(c, i);
}

// The four prefix forms of one arithmetic opcode.
template <class PS, class PD, class SS, class SD> struct Arith {
  static bool dec(DecodeCtx& d, Insn* i) {
    const bool m = d.mod != 3;
    switch (i->mprefix) {
      case kPfxNone: i->fn = m ? &fp_bin<PS, kSrcM128A> : &fp_bin<PS, kSrcReg>; return true;
      case kPfx66: i->fn = m ? &fp_bin<PD, kSrcM128A> : &fp_bin<PD, kSrcReg>; return true;
      case kPfxF3: i->fn = m ? &fp_bin<SS, kSrcM32> : &fp_bin<SS, kSrcReg>; return true;
      default: i->fn = m ? &fp_bin<SD, kSrcM64> : &fp_bin<SD, kSrcReg>; return true;
    }
  }
  static void reg(OpTables& t, unsigned op) {
    sse_register(t, 1, op, kPfxNone, kFeatSse, dec);
    sse_register(t, 1, op, kPfx66, kFeatSse2, dec);
    sse_register(t, 1, op, kPfxF3, kFeatSse, dec);
    sse_register(t, 1, op, kPfxF2, kFeatSse2, dec);
  }
};

// Packed-only (ADDSUB, HADD, HSUB: 66 = PD, F2 = PS).
template <class OP> bool dec_packed(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &fp_bin<OP, kSrcM128A> : &fp_bin<OP, kSrcReg>;
  return true;
}
template <class OP> bool dec_scalar32(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &fp_bin<OP, kSrcM32> : &fp_bin<OP, kSrcReg>;
  return true;
}

template <int OP> bool dec_logic(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &fp_logic<OP, kSrcM128A> : &fp_logic<OP, kSrcReg>;
  return true;
}

template <int KIND> bool dec_comis(DecodeCtx& d, Insn* i) {
  const bool dbl = KIND >= 2;
  i->fn = d.mod != 3 ? (dbl ? &comis<KIND, kSrcM64> : &comis<KIND, kSrcM32>) : &comis<KIND, kSrcReg>;
  return true;
}

template <template <int> class CMP, int S> Handler pick_cmp(unsigned pred) {
  switch (pred & 7) {
    case 0: return &fp_bin<CMP<0>, S>;
    case 1: return &fp_bin<CMP<1>, S>;
    case 2: return &fp_bin<CMP<2>, S>;
    case 3: return &fp_bin<CMP<3>, S>;
    case 4: return &fp_bin<CMP<4>, S>;
    case 5: return &fp_bin<CMP<5>, S>;
    case 6: return &fp_bin<CMP<6>, S>;
    default: return &fp_bin<CMP<7>, S>;
  }
}

bool dec_cmp(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  const unsigned p = unsigned(i->imm);
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? pick_cmp<CmpPS, kSrcM128A>(p) : pick_cmp<CmpPS, kSrcReg>(p); return true;
    case kPfx66: i->fn = m ? pick_cmp<CmpPD, kSrcM128A>(p) : pick_cmp<CmpPD, kSrcReg>(p); return true;
    case kPfxF3: i->fn = m ? pick_cmp<CmpSS, kSrcM32>(p) : pick_cmp<CmpSS, kSrcReg>(p); return true;
    default: i->fn = m ? pick_cmp<CmpSD, kSrcM64>(p) : pick_cmp<CmpSD, kSrcReg>(p); return true;
  }
}

}  // namespace

void register_sse_fp(OpTables& t) {
  Arith<AddPS, AddPD, AddSS, AddSD>::reg(t, 0x58);
  Arith<MulPS, MulPD, MulSS, MulSD>::reg(t, 0x59);
  Arith<SubPS, SubPD, SubSS, SubSD>::reg(t, 0x5C);
  Arith<MinPS, MinPD, MinSS, MinSD>::reg(t, 0x5D);
  Arith<DivPS, DivPD, DivSS, DivSD>::reg(t, 0x5E);
  Arith<MaxPS, MaxPD, MaxSS, MaxSD>::reg(t, 0x5F);
  Arith<SqrtPS, SqrtPD, SqrtSS, SqrtSD>::reg(t, 0x51);
  sse_register(t, 1, 0x52, kPfxNone, kFeatSse, dec_packed<RsqrtPS>);
  sse_register(t, 1, 0x52, kPfxF3, kFeatSse, dec_scalar32<RsqrtSS>);
  sse_register(t, 1, 0x53, kPfxNone, kFeatSse, dec_packed<RcpPS>);
  sse_register(t, 1, 0x53, kPfxF3, kFeatSse, dec_scalar32<RcpSS>);
  for (unsigned op = 0x54; op <= 0x57; op++) {
    const DecodeFn f = op == 0x54 ? dec_logic<0> : op == 0x55 ? dec_logic<1> : op == 0x56 ? dec_logic<2> : dec_logic<3>;
    sse_register(t, 1, op, kPfxNone, kFeatSse, f);
    sse_register(t, 1, op, kPfx66, kFeatSse2, f);
  }
  sse_register(t, 1, 0x2E, kPfxNone, kFeatSse, dec_comis<1>);
  sse_register(t, 1, 0x2E, kPfx66, kFeatSse2, dec_comis<3>);
  sse_register(t, 1, 0x2F, kPfxNone, kFeatSse, dec_comis<0>);
  sse_register(t, 1, 0x2F, kPfx66, kFeatSse2, dec_comis<2>);
  const uint32_t imm = opf::kModrm | opf::kImm8;
  sse_register(t, 1, 0xC2, kPfxNone, kFeatSse, dec_cmp, imm);
  sse_register(t, 1, 0xC2, kPfx66, kFeatSse2, dec_cmp, imm);
  sse_register(t, 1, 0xC2, kPfxF3, kFeatSse, dec_cmp, imm);
  sse_register(t, 1, 0xC2, kPfxF2, kFeatSse2, dec_cmp, imm);
  sse_register(t, 1, 0xD0, kPfx66, kFeatSse3, dec_packed<AddsubPD>);
  sse_register(t, 1, 0xD0, kPfxF2, kFeatSse3, dec_packed<AddsubPS>);
  sse_register(t, 1, 0x7C, kPfx66, kFeatSse3, dec_packed<HaddPD>);
  sse_register(t, 1, 0x7C, kPfxF2, kFeatSse3, dec_packed<HaddPS>);
  sse_register(t, 1, 0x7D, kPfx66, kFeatSse3, dec_packed<HsubPD>);
  sse_register(t, 1, 0x7D, kPfxF2, kFeatSse3, dec_packed<HsubPS>);
}

}  // namespace tsvirt::soft
