// Unpacks, packs and shuffles of MMX, SSE and SSE2: PUNPCKL/H (BW, WD, DQ, QDQ),
// PACKSSWB/PACKUSWB/PACKSSDW, PSHUFW/PSHUFD/PSHUFHW/PSHUFLW, PINSRW/PEXTRW,
// SHUFPS/SHUFPD, UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD.
//
// Intel SDM vol. 2 per instruction. The MMX forms interleave or pack the 64-bit operands
// (the high-half unpacks take bytes 4-7 of each). XMM memory operands are 16 bytes and must
// be aligned (#GP(0)); PINSRW reads 16 bits from memory or a general register.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

#define UNPACK_LO(NAME, EXPR)                                                       \
  struct NAME {                                                                     \
    static __m128i x(__m128i a, __m128i b) { return EXPR; }                         \
    static uint64_t m(uint64_t a, uint64_t b) { return lo64(x(ld64(a), ld64(b))); } \
  };
// High unpacks on MMX: the low unpack of the upper 32-bit halves.
#define UNPACK_HI(NAME, EXPR, LO)                                                                 \
  struct NAME {                                                                                   \
    static __m128i x(__m128i a, __m128i b) { return EXPR; }                                       \
    static uint64_t m(uint64_t a, uint64_t b) { return lo64(LO::x(ld64(a >> 32), ld64(b >> 32))); } \
  };
// Packs on MMX: both 64-bit sources packed together.
#define PACK(NAME, INTRIN)                                                          \
  struct NAME {                                                                     \
    static __m128i x(__m128i a, __m128i b) { return INTRIN(a, b); }                 \
    static uint64_t m(uint64_t a, uint64_t b) {                                     \
      const __m128i v = _mm_set_epi64x(int64_t(b), int64_t(a));                     \
      return lo64(INTRIN(v, v));                                                    \
    }                                                                               \
  };

UNPACK_LO(PunpcklBW, _mm_unpacklo_epi8(a, b))
UNPACK_LO(PunpcklWD, _mm_unpacklo_epi16(a, b))
UNPACK_LO(PunpcklDQ, _mm_unpacklo_epi32(a, b))
UNPACK_LO(PunpcklQDQ, _mm_unpacklo_epi64(a, b))
UNPACK_HI(PunpckhBW, _mm_unpackhi_epi8(a, b), PunpcklBW)
UNPACK_HI(PunpckhWD, _mm_unpackhi_epi16(a, b), PunpcklWD)
UNPACK_HI(PunpckhDQ, _mm_unpackhi_epi32(a, b), PunpcklDQ)
UNPACK_LO(PunpckhQDQ, _mm_unpackhi_epi64(a, b))
PACK(PacksSWB, _mm_packs_epi16)
PACK(PackusWB, _mm_packus_epi16)
PACK(PacksSDW, _mm_packs_epi32)
// Float unpacks are the same bit moves.
UNPACK_LO(UnpcklPS, _mm_unpacklo_epi32(a, b))
UNPACK_LO(UnpckhPS, _mm_unpackhi_epi32(a, b))
#undef UNPACK_LO
#undef UNPACK_HI
#undef PACK

template <class OP, int S> const Insn* xbin(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& a = xreg(c, i->reg);
  st(a, OP::x(ld(a), ld(b)));
  return next(c, i);
}

template <class OP, bool M> const Insn* mbin(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t b = msrc<M>(c, i);
  const uint64_t a = mmx_reg(c, i->reg);
  mmx_enter(c);
  mmx_set(c, i->reg, OP::m(a, b));
  return next(c, i);
}

template <class OP> bool dec_bin(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  if (i->mprefix == kPfx66) i->fn = m ? &xbin<OP, kSrcM128A> : &xbin<OP, kSrcReg>;
  else i->fn = m ? &mbin<OP, true> : &mbin<OP, false>;
  return true;
}

// Float unpacks (0F 14/15 and 66 forms) take only XMM operands.
template <class OP> bool dec_xbin(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &xbin<OP, kSrcM128A> : &xbin<OP, kSrcReg>;
  return true;
}

// ---- shuffles with an immediate ----

// PSHUFW mm, mm/m64, imm8
template <bool M> const Insn* pshufw(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t s = msrc<M>(c, i);
  const unsigned imm = unsigned(i->imm);
  uint64_t r = 0;
  for (unsigned k = 0; k < 4; k++) r |= ((s >> (16 * ((imm >> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
  mmx_enter(c);
  mmx_set(c, i->reg, r);
  return next(c, i);
}

// PSHUFD (KIND 0), PSHUFHW (1), PSHUFLW (2) xmm, xmm/m128, imm8
template <int KIND, int S> const Insn* pshuf_x(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm s = xsrc<S>(c, i);
  const unsigned imm = unsigned(i->imm);
  Xmm r = s;
  if constexpr (KIND == 0) {
    uint32_t w[4], o[4];
    std::memcpy(w, s.q, 16);
    for (unsigned k = 0; k < 4; k++) o[k] = w[(imm >> (2 * k)) & 3];
    std::memcpy(r.q, o, 16);
  } else {
    const unsigned h = KIND == 1 ? 1 : 0;
    uint64_t v = 0;
    for (unsigned k = 0; k < 4; k++) v |= ((s.q[h] >> (16 * ((imm >> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
    r.q[h] = v;
  }
  xreg(c, i->reg) = r;
  return next(c, i);
}

// SHUFPS xmm, xmm/m128, imm8: two lanes from the destination, two from the source.
template <int S> const Insn* shufps(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm s = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  const unsigned imm = unsigned(i->imm);
  uint32_t a[4], b[4], o[4];
  std::memcpy(a, d.q, 16);
  std::memcpy(b, s.q, 16);
  o[0] = a[imm & 3];
  o[1] = a[(imm >> 2) & 3];
  o[2] = b[(imm >> 4) & 3];
  o[3] = b[(imm >> 6) & 3];
  std::memcpy(d.q, o, 16);
  return next(c, i);
}

// SHUFPD xmm, xmm/m128, imm8
template <int S> const Insn* shufpd(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm s = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  const uint64_t lo = d.q[i->imm & 1], hi = s.q[(i->imm >> 1) & 1];
  d.q[0] = lo;
  d.q[1] = hi;
  return next(c, i);
}

// UNPCKLPD / UNPCKHPD
template <bool HI, int S> const Insn* unpckpd(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm s = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  d.q[0] = d.q[HI ? 1 : 0];
  d.q[1] = s.q[HI ? 1 : 0];
  return next(c, i);
}

// PINSRW mm/xmm, r32/m16, imm8
template <bool X, bool M> const Insn* pinsrw(Core* c, const Insn* i) {
  if (X) check_sse(c);
  else mmx_check(c);
  const uint64_t v = M ? c->rd<uint16_t>(i->seg, ea(c, i)) : uint16_t(c->r[i->rm]);
  if constexpr (X) {
    const unsigned k = unsigned(i->imm) & 7;
    uint64_t& q = xreg(c, i->reg).q[k >> 2];
    const unsigned sh = 16 * (k & 3);
    q = (q & ~(uint64_t{0xFFFF} << sh)) | (v << sh);
  } else {
    const unsigned sh = 16 * (unsigned(i->imm) & 3);
    const uint64_t q = (mmx_reg(c, i->reg) & ~(uint64_t{0xFFFF} << sh)) | (v << sh);
    mmx_enter(c);
    mmx_set(c, i->reg, q);
  }
  return next(c, i);
}

// PEXTRW r32, mm/xmm, imm8 (zero-extended into the general register)
template <bool X> const Insn* pextrw(Core* c, const Insn* i) {
  uint64_t v;
  if constexpr (X) {
    check_sse(c);
    const unsigned k = unsigned(i->imm) & 7;
    v = (xreg(c, i->rm).q[k >> 2] >> (16 * (k & 3))) & 0xFFFF;
  } else {
    mmx_check(c);
    v = (mmx_reg(c, i->rm) >> (16 * (unsigned(i->imm) & 3))) & 0xFFFF;
    mmx_enter(c);
  }
  c->r[i->reg] = v;
  return next(c, i);
}

bool dec_0f70(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? &pshufw<true> : &pshufw<false>; return true;
    case kPfx66: i->fn = m ? &pshuf_x<0, kSrcM128A> : &pshuf_x<0, kSrcReg>; return true;
    case kPfxF3: i->fn = m ? &pshuf_x<1, kSrcM128A> : &pshuf_x<1, kSrcReg>; return true;
    default: i->fn = m ? &pshuf_x<2, kSrcM128A> : &pshuf_x<2, kSrcReg>; return true;
  }
}
bool dec_shufps(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &shufps<kSrcM128A> : &shufps<kSrcReg>;
  return true;
}
bool dec_shufpd(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &shufpd<kSrcM128A> : &shufpd<kSrcReg>;
  return true;
}
template <bool HI> bool dec_unpckpd(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &unpckpd<HI, kSrcM128A> : &unpckpd<HI, kSrcReg>;
  return true;
}
bool dec_pinsrw(DecodeCtx& d, Insn* i) {
  const bool x = i->mprefix == kPfx66, m = d.mod != 3;
  i->fn = x ? (m ? &pinsrw<true, true> : &pinsrw<true, false>) : (m ? &pinsrw<false, true> : &pinsrw<false, false>);
  return true;
}
bool dec_pextrw(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  i->fn = i->mprefix == kPfx66 ? &pextrw<true> : &pextrw<false>;
  return true;
}

template <class OP> void both(OpTables& t, unsigned op) {
  sse_register(t, 1, op, kPfxNone, kFeatMmx, dec_bin<OP>);
  sse_register(t, 1, op, kPfx66, kFeatSse2, dec_bin<OP>);
}

}  // namespace

void register_sse_shuffle(OpTables& t) {
  both<PunpcklBW>(t, 0x60);
  both<PunpcklWD>(t, 0x61);
  both<PunpcklDQ>(t, 0x62);
  both<PacksSWB>(t, 0x63);
  both<PackusWB>(t, 0x67);
  both<PunpckhBW>(t, 0x68);
  both<PunpckhWD>(t, 0x69);
  both<PunpckhDQ>(t, 0x6A);
  both<PacksSDW>(t, 0x6B);
  sse_register(t, 1, 0x6C, kPfx66, kFeatSse2, dec_bin<PunpcklQDQ>);
  sse_register(t, 1, 0x6D, kPfx66, kFeatSse2, dec_bin<PunpckhQDQ>);
  sse_register(t, 1, 0x14, kPfxNone, kFeatSse, dec_xbin<UnpcklPS>);
  sse_register(t, 1, 0x15, kPfxNone, kFeatSse, dec_xbin<UnpckhPS>);
  sse_register(t, 1, 0x14, kPfx66, kFeatSse2, dec_unpckpd<false>);
  sse_register(t, 1, 0x15, kPfx66, kFeatSse2, dec_unpckpd<true>);
  const uint32_t imm = opf::kModrm | opf::kImm8;
  sse_register(t, 1, 0x70, kPfxNone, kFeatSse, dec_0f70, imm);
  sse_register(t, 1, 0x70, kPfx66, kFeatSse2, dec_0f70, imm);
  sse_register(t, 1, 0x70, kPfxF3, kFeatSse2, dec_0f70, imm);
  sse_register(t, 1, 0x70, kPfxF2, kFeatSse2, dec_0f70, imm);
  sse_register(t, 1, 0xC6, kPfxNone, kFeatSse, dec_shufps, imm);
  sse_register(t, 1, 0xC6, kPfx66, kFeatSse2, dec_shufpd, imm);
  sse_register(t, 1, 0xC4, kPfxNone, kFeatSse, dec_pinsrw, imm);
  sse_register(t, 1, 0xC4, kPfx66, kFeatSse2, dec_pinsrw, imm);
  sse_register(t, 1, 0xC5, kPfxNone, kFeatSse, dec_pextrw, imm);
  sse_register(t, 1, 0xC5, kPfx66, kFeatSse2, dec_pextrw, imm);
}

}  // namespace tsvirt::soft
