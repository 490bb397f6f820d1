// Packed-integer arithmetic, logic, compares and shifts of MMX and SSE2 (the 0F 60-FE
// block, with 66 for the XMM forms): PADD/PSUB (B/W/D/Q, signed and unsigned saturating),
// PMULLW/PMULHW/PMULHUW/PMULUDQ/PMADDWD, PAND/PANDN/POR/PXOR, PCMPEQ/PCMPGT (B/W/D),
// PMINUB/PMAXUB/PMINSW/PMAXSW, PAVGB/PAVGW, PSADBW, PSRL/PSRA/PSLL by register, memory and
// immediate (groups 0F 71-73, including PSRLDQ/PSLLDQ).
//
// Intel SDM vol. 2 per instruction. Each operation is one SSE2 intrinsic; the MMX form runs
// the same operation on the low 64 bits. Shift counts are the full 64-bit (register/memory)
// or 8-bit (immediate) value: counts beyond the lane width give 0 (or the sign for PSRA).
// XMM memory operands are 16 bytes and must be aligned (#GP(0)).
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

#define LANE_OP(NAME, EXPR)                                                         \
  struct NAME {                                                                     \
    static __m128i x(__m128i a, __m128i b) { return EXPR; }                         \
    static uint64_t m(uint64_t a, uint64_t b) { return lo64(x(ld64(a), ld64(b))); } \
  };

LANE_OP(PaddB, _mm_add_epi8(a, b))
LANE_OP(PaddW, _mm_add_epi16(a, b))
LANE_OP(PaddD, _mm_add_epi32(a, b))
LANE_OP(PaddQ, _mm_add_epi64(a, b))
LANE_OP(PsubB, _mm_sub_epi8(a, b))
LANE_OP(PsubW, _mm_sub_epi16(a, b))
LANE_OP(PsubD, _mm_sub_epi32(a, b))
LANE_OP(PsubQ, _mm_sub_epi64(a, b))
LANE_OP(PaddsB, _mm_adds_epi8(a, b))
LANE_OP(PaddsW, _mm_adds_epi16(a, b))
LANE_OP(PaddusB, _mm_adds_epu8(a, b))
LANE_OP(PaddusW, _mm_adds_epu16(a, b))
LANE_OP(PsubsB, _mm_subs_epi8(a, b))
LANE_OP(PsubsW, _mm_subs_epi16(a, b))
LANE_OP(PsubusB, _mm_subs_epu8(a, b))
LANE_OP(PsubusW, _mm_subs_epu16(a, b))
LANE_OP(PmullW, _mm_mullo_epi16(a, b))
LANE_OP(PmulhW, _mm_mulhi_epi16(a, b))
LANE_OP(PmulhuW, _mm_mulhi_epu16(a, b))
LANE_OP(PmuludQ, _mm_mul_epu32(a, b))
LANE_OP(PmaddWD, _mm_madd_epi16(a, b))
LANE_OP(Pand, _mm_and_si128(a, b))
LANE_OP(Pandn, _mm_andnot_si128(a, b))
LANE_OP(Por, _mm_or_si128(a, b))
LANE_OP(Pxor, _mm_xor_si128(a, b))
LANE_OP(PcmpeqB, _mm_cmpeq_epi8(a, b))
LANE_OP(PcmpeqW, _mm_cmpeq_epi16(a, b))
LANE_OP(PcmpeqD, _mm_cmpeq_epi32(a, b))
LANE_OP(PcmpgtB, _mm_cmpgt_epi8(a, b))
LANE_OP(PcmpgtW, _mm_cmpgt_epi16(a, b))
LANE_OP(PcmpgtD, _mm_cmpgt_epi32(a, b))
LANE_OP(PminUB, _mm_min_epu8(a, b))
LANE_OP(PmaxUB, _mm_max_epu8(a, b))
LANE_OP(PminSW, _mm_min_epi16(a, b))
LANE_OP(PmaxSW, _mm_max_epi16(a, b))
LANE_OP(PavgB, _mm_avg_epu8(a, b))
LANE_OP(PavgW, _mm_avg_epu16(a, b))
LANE_OP(PsadBW, _mm_sad_epu8(a, b))
// Shifts by the low 64 bits of the second operand.
LANE_OP(PsrlW, _mm_srl_epi16(a, b))
LANE_OP(PsrlD, _mm_srl_epi32(a, b))
LANE_OP(PsrlQ, _mm_srl_epi64(a, b))
LANE_OP(PsraW, _mm_sra_epi16(a, b))
LANE_OP(PsraD, _mm_sra_epi32(a, b))
LANE_OP(PsllW, _mm_sll_epi16(a, b))
LANE_OP(PsllD, _mm_sll_epi32(a, b))
LANE_OP(PsllQ, _mm_sll_epi64(a, b))
#undef LANE_OP

// op xmm, xmm/m128
template <class OP, int S> const Insn* xbin(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& a = xreg(c, i->reg);
  st(a, OP::x(ld(a), ld(b)));
  return next(c, i);
}

// op mm, mm/m64
template <class OP, bool M> const Insn* mbin(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t b = msrc<M>(c, i);
  const uint64_t a = mmx_reg(c, i->reg);
  mmx_enter(c);
  mmx_set(c, i->reg, OP::m(a, b));
  return next(c, i);
}

// Shift by immediate (groups 0F 71-73, register operand ModRM.rm).
template <class OP> const Insn* xshift_imm(Core* c, const Insn* i) {
  check_sse(c);
  Xmm& a = xreg(c, i->rm);
  st(a, OP::x(ld(a), _mm_cvtsi32_si128(int(i->imm & 0xFF))));
  return next(c, i);
}
template <class OP> const Insn* mshift_imm(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t a = mmx_reg(c, i->rm);
  mmx_enter(c);
  mmx_set(c, i->rm, OP::m(a, i->imm & 0xFF));
  return next(c, i);
}

// PSRLDQ / PSLLDQ xmm, imm8: whole-register byte shifts.
template <bool LEFT> const Insn* xshift_bytes(Core* c, const Insn* i) {
  check_sse(c);
  Xmm& a = xreg(c, i->rm);
  const unsigned n = (i->imm & 0xFF) > 16 ? 16 : unsigned(i->imm & 0xFF);
  uint8_t buf[48] = {};
  std::memcpy(buf + 16, a.q, 16);
  std::memcpy(a.q, buf + (LEFT ? 16 - n : 16 + n), 16);
  return next(c, i);
}

template <class OP> bool dec_bin(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  if (i->mprefix == kPfx66) i->fn = m ? &xbin<OP, kSrcM128A> : &xbin<OP, kSrcReg>;
  else i->fn = m ? &mbin<OP, true> : &mbin<OP, false>;
  return true;
}

// Groups 0F 71 (W), 72 (D), 73 (Q, and the byte shifts with 66).
template <class SRL, class SRA, class SLL> bool dec_shift_group(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  const bool x = i->mprefix == kPfx66;
  switch (d.reg & 7) {
    case 2: i->fn = x ? &xshift_imm<SRL> : &mshift_imm<SRL>; return true;
    case 4: i->fn = x ? &xshift_imm<SRA> : &mshift_imm<SRA>; return true;
    case 6: i->fn = x ? &xshift_imm<SLL> : &mshift_imm<SLL>; return true;
    default: return false;
  }
}
bool dec_0f73(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  const bool x = i->mprefix == kPfx66;
  switch (d.reg & 7) {
    case 2: i->fn = x ? &xshift_imm<PsrlQ> : &mshift_imm<PsrlQ>; return true;
    case 3: if (!x) return false; i->fn = &xshift_bytes<false>; return true;
    case 6: i->fn = x ? &xshift_imm<PsllQ> : &mshift_imm<PsllQ>; return true;
    case 7: if (!x) return false; i->fn = &xshift_bytes<true>; return true;
    default: return false;
  }
}

// Registers the MMX form (feature `mmx_feat`) and the 66 XMM form (SSE2) of one opcode.
template <class OP> void both(OpTables& t, unsigned op, SseFeature mmx_feat) {
  sse_register(t, 1, op, kPfxNone, mmx_feat, dec_bin<OP>);
  sse_register(t, 1, op, kPfx66, kFeatSse2, dec_bin<OP>);
}

}  // namespace

void register_sse_int(OpTables& t) {
  both<PcmpgtB>(t, 0x64, kFeatMmx);
  both<PcmpgtW>(t, 0x65, kFeatMmx);
  both<PcmpgtD>(t, 0x66, kFeatMmx);
  both<PcmpeqB>(t, 0x74, kFeatMmx);
  both<PcmpeqW>(t, 0x75, kFeatMmx);
  both<PcmpeqD>(t, 0x76, kFeatMmx);
  both<PsrlW>(t, 0xD1, kFeatMmx);
  both<PsrlD>(t, 0xD2, kFeatMmx);
  both<PsrlQ>(t, 0xD3, kFeatMmx);
  both<PaddQ>(t, 0xD4, kFeatSse2);
  both<PmullW>(t, 0xD5, kFeatMmx);
  both<PsubusB>(t, 0xD8, kFeatMmx);
  both<PsubusW>(t, 0xD9, kFeatMmx);
  both<PminUB>(t, 0xDA, kFeatSse);
  both<Pand>(t, 0xDB, kFeatMmx);
  both<PaddusB>(t, 0xDC, kFeatMmx);
  both<PaddusW>(t, 0xDD, kFeatMmx);
  both<PmaxUB>(t, 0xDE, kFeatSse);
  both<Pandn>(t, 0xDF, kFeatMmx);
  both<PavgB>(t, 0xE0, kFeatSse);
  both<PsraW>(t, 0xE1, kFeatMmx);
  both<PsraD>(t, 0xE2, kFeatMmx);
  both<PavgW>(t, 0xE3, kFeatSse);
  both<PmulhuW>(t, 0xE4, kFeatSse);
  both<PmulhW>(t, 0xE5, kFeatMmx);
  both<PsubsB>(t, 0xE8, kFeatMmx);
  both<PsubsW>(t, 0xE9, kFeatMmx);
  both<PminSW>(t, 0xEA, kFeatSse);
  both<Por>(t, 0xEB, kFeatMmx);
  both<PaddsB>(t, 0xEC, kFeatMmx);
  both<PaddsW>(t, 0xED, kFeatMmx);
  both<PmaxSW>(t, 0xEE, kFeatSse);
  both<Pxor>(t, 0xEF, kFeatMmx);
  both<PsllW>(t, 0xF1, kFeatMmx);
  both<PsllD>(t, 0xF2, kFeatMmx);
  both<PsllQ>(t, 0xF3, kFeatMmx);
  both<PmuludQ>(t, 0xF4, kFeatSse2);
  both<PmaddWD>(t, 0xF5, kFeatMmx);
  both<PsadBW>(t, 0xF6, kFeatSse);
  both<PsubB>(t, 0xF8, kFeatMmx);
  both<PsubW>(t, 0xF9, kFeatMmx);
  both<PsubD>(t, 0xFA, kFeatMmx);
  both<PsubQ>(t, 0xFB, kFeatSse2);
  both<PaddB>(t, 0xFC, kFeatMmx);
  both<PaddW>(t, 0xFD, kFeatMmx);
  both<PaddD>(t, 0xFE, kFeatMmx);
  const uint32_t imm = opf::kModrm | opf::kImm8;
  sse_register(t, 1, 0x71, kPfxNone, kFeatMmx, dec_shift_group<PsrlW, PsraW, PsllW>, imm);
  sse_register(t, 1, 0x71, kPfx66, kFeatSse2, dec_shift_group<PsrlW, PsraW, PsllW>, imm);
  sse_register(t, 1, 0x72, kPfxNone, kFeatMmx, dec_shift_group<PsrlD, PsraD, PsllD>, imm);
  sse_register(t, 1, 0x72, kPfx66, kFeatSse2, dec_shift_group<PsrlD, PsraD, PsllD>, imm);
  sse_register(t, 1, 0x73, kPfxNone, kFeatMmx, dec_0f73, imm);
  sse_register(t, 1, 0x73, kPfx66, kFeatSse2, dec_0f73, imm);
  t.features.l1_edx |= feat::kMmx;
}

}  // namespace tsvirt::soft
