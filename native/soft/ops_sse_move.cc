// Data movement of the MMX and SSE families: MOVD/MOVQ (MMX, XMM, general registers),
// MOVAPS/MOVAPD/MOVDQA, MOVUPS/MOVUPD/MOVDQU/LDDQU, MOVSS/MOVSD, MOVLPS/MOVHPS/MOVLPD/
// MOVHPD/MOVHLPS/MOVLHPS, MOVSLDUP/MOVSHDUP/MOVDDUP, MOVQ2DQ/MOVDQ2Q, the non-temporal
// stores (MOVNTPS/PD, MOVNTDQ, MOVNTQ, MOVNTI, MOVNTDQA load), MASKMOVQ/MASKMOVDQU,
// MOVMSKPS/PD, PMOVMSKB, EMMS.
//
// Intel SDM vol. 2 per instruction. Aligned forms (MOVAPS/PD, MOVDQA, MOVNT*, MOVNTDQA)
// raise #GP(0) on a misaligned 16-byte operand; MOVD/MOVQ with a general register use
// 32 bits, or 64 with REX.W. Every instruction naming an MMX register (MASKMOVQ, MOVNTQ,
// MOVQ2DQ, PMOVMSKB mm included) makes the x87 transition (TOP=0, all tags valid); EMMS
// empties every tag. Non-temporal hints and MASKMOV* ordering are plain stores here.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

// SSE instruction that also names an MMX register: SSE checks plus a pending x87 error.
inline void mixed_check(Core* c) {
  check_sse(c);
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
}

// ---- MMX moves ----

// MOVD/MOVQ mm, r/m32/64 (0F 6E)
template <class T, bool M> const Insn* movd_mm_rm(Core* c, const Insn* i) {
  mmx_check(c);
  const T v = read_rm<T, M>(c, i);
  mmx_enter(c);
  mmx_set(c, i->reg, uint64_t(v));
  return next(c, i);
}

// MOVD/MOVQ r/m32/64, mm (0F 7E)
template <class T, bool M> const Insn* movd_rm_mm(Core* c, const Insn* i) {
  mmx_check(c);
  write_rm<T, M>(c, i, T(mmx_reg(c, i->reg)));
  mmx_enter(c);
  return next(c, i);
}

// MOVQ mm, mm/m64 (0F 6F)
template <bool M> const Insn* movq_mm_load(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t v = msrc<M>(c, i);
  mmx_enter(c);
  mmx_set(c, i->reg, v);
  return next(c, i);
}

// MOVQ mm/m64, mm (0F 7F), MOVNTQ m64, mm (0F E7)
template <bool M> const Insn* movq_mm_store(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t v = mmx_reg(c, i->reg);
  if constexpr (M) c->wr<uint64_t>(i->seg, ea(c, i), v);
  mmx_enter(c);
  if constexpr (!M) mmx_set(c, i->rm, v);
  return next(c, i);
}

const Insn* emms(Core* c, const Insn* i) {
  if (SOFT_UNLIKELY(c->cr0 & (cr0::EM | cr0::TS))) {
    if (c->cr0 & cr0::EM) c->ud();
    c->raise_fault(vec::NM);
  }
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
  mmx_enter(c);  // TOP = 0 (as processors do), then every register empty
  c->fpu.ftw = 0xFFFF;
  return next(c, i);
}

// ---- XMM <-> general register / memory ----

// MOVD/MOVQ xmm, r/m32/64 (66 0F 6E): zero-extends into the register.
template <class T, bool M> const Insn* movd_x_rm(Core* c, const Insn* i) {
  check_sse(c);
  const T v = read_rm<T, M>(c, i);
  Xmm& d = xreg(c, i->reg);
  d.q[0] = uint64_t(v);
  d.q[1] = 0;
  return next(c, i);
}

// MOVD/MOVQ r/m32/64, xmm (66 0F 7E)
template <class T, bool M> const Insn* movd_rm_x(Core* c, const Insn* i) {
  check_sse(c);
  write_rm<T, M>(c, i, T(xreg(c, i->reg).q[0]));
  return next(c, i);
}

// Full 128-bit loads: MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU/LDDQU/MOVNTDQA.
template <int S> const Insn* mov128_load(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm v = xsrc<S>(c, i);
  xreg(c, i->reg) = v;
  return next(c, i);
}

// Full 128-bit stores; ALIGN for MOVAPS/MOVAPD/MOVDQA/MOVNT*.
template <bool M, bool ALIGN> const Insn* mov128_store(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm v = xreg(c, i->reg);
  if constexpr (M) {
    const uint64_t e = ea(c, i);
    if (ALIGN) fp_check_align(c, i->seg, e, 16);
    fp_st128(c, i->seg, e, i->amask, v);
  } else {
    xreg(c, i->rm) = v;
  }
  return next(c, i);
}

// MOVSS xmm, xmm/m32 (F3 0F 10): a register source merges the low dword, memory zeroes.
template <bool M> const Insn* movss_load(Core* c, const Insn* i) {
  check_sse(c);
  Xmm& d = xreg(c, i->reg);
  if constexpr (M) {
    const uint32_t v = c->rd<uint32_t>(i->seg, ea(c, i));
    d.q[0] = v;
    d.q[1] = 0;
  } else {
    d.q[0] = (d.q[0] & 0xFFFFFFFF00000000ull) | (xreg(c, i->rm).q[0] & 0xFFFFFFFFull);
  }
  return next(c, i);
}

// MOVSS xmm/m32, xmm (F3 0F 11)
template <bool M> const Insn* movss_store(Core* c, const Insn* i) {
  check_sse(c);
  const uint32_t v = uint32_t(xreg(c, i->reg).q[0]);
  if constexpr (M) {
    c->wr<uint32_t>(i->seg, ea(c, i), v);
  } else {
    Xmm& d = xreg(c, i->rm);
    d.q[0] = (d.q[0] & 0xFFFFFFFF00000000ull) | v;
  }
  return next(c, i);
}

// MOVSD xmm, xmm/m64 (F2 0F 10); MOVQ xmm, xmm/m64 (F3 0F 7E) zeroes the upper half for
// both forms (ZERO_REG).
template <bool M, bool ZERO_REG> const Insn* movsd_load(Core* c, const Insn* i) {
  check_sse(c);
  const uint64_t v = M ? c->rd<uint64_t>(i->seg, ea(c, i)) : xreg(c, i->rm).q[0];
  Xmm& d = xreg(c, i->reg);
  d.q[0] = v;
  if (M || ZERO_REG) d.q[1] = 0;
  return next(c, i);
}

// MOVSD xmm/m64, xmm (F2 0F 11); MOVQ xmm/m64, xmm (66 0F D6) zeroes a register
// destination's upper half (ZERO_REG).
template <bool M, bool ZERO_REG> const Insn* movsd_store(Core* c, const Insn* i) {
  check_sse(c);
  const uint64_t v = xreg(c, i->reg).q[0];
  if constexpr (M) {
    c->wr<uint64_t>(i->seg, ea(c, i), v);
  } else {
    Xmm& d = xreg(c, i->rm);
    d.q[0] = v;
    if (ZERO_REG) d.q[1] = 0;
  }
  return next(c, i);
}

// Half moves. HALF: which 64-bit half of the destination register receives the data.
// MOVLPS/MOVLPD xmm, m64 (HALF 0), MOVHPS/MOVHPD xmm, m64 (HALF 1).
template <int HALF> const Insn* movhalf_load(Core* c, const Insn* i) {
  check_sse(c);
  const uint64_t v = c->rd<uint64_t>(i->seg, ea(c, i));
  xreg(c, i->reg).q[HALF] = v;
  return next(c, i);
}
// MOVLPS/MOVLPD m64, xmm (HALF 0), MOVHPS/MOVHPD m64, xmm (HALF 1).
template <int HALF> const Insn* movhalf_store(Core* c, const Insn* i) {
  check_sse(c);
  c->wr<uint64_t>(i->seg, ea(c, i), xreg(c, i->reg).q[HALF]);
  return next(c, i);
}
// MOVHLPS xmm1, xmm2: low(xmm1) = high(xmm2); MOVLHPS: high(xmm1) = low(xmm2).
template <bool HL> const Insn* movhl_lh(Core* c, const Insn* i) {
  check_sse(c);
  Xmm& d = xreg(c, i->reg);
  const Xmm& s = xreg(c, i->rm);
  if (HL) d.q[0] = s.q[1];
  else d.q[1] = s.q[0];
  return next(c, i);
}

// MOVSLDUP (ODD=false) / MOVSHDUP (ODD=true), SSE3.
template <int S, bool ODD> const Insn* movsdup(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm s = xsrc<S>(c, i);
  uint32_t w[4];
  std::memcpy(w, s.q, 16);
  const uint32_t r[4] = {w[ODD ? 1 : 0], w[ODD ? 1 : 0], w[ODD ? 3 : 2], w[ODD ? 3 : 2]};
  std::memcpy(xreg(c, i->reg).q, r, 16);
  return next(c, i);
}

// MOVDDUP xmm, xmm/m64 (SSE3)
template <bool M> const Insn* movddup(Core* c, const Insn* i) {
  check_sse(c);
  const uint64_t v = M ? c->rd<uint64_t>(i->seg, ea(c, i)) : xreg(c, i->rm).q[0];
  Xmm& d = xreg(c, i->reg);
  d.q[0] = d.q[1] = v;
  return next(c, i);
}

// MOVQ2DQ xmm, mm (F3 0F D6) / MOVDQ2Q mm, xmm (F2 0F D6)
const Insn* movq2dq(Core* c, const Insn* i) {
  mixed_check(c);
  Xmm& d = xreg(c, i->reg);
  d.q[0] = mmx_reg(c, i->rm);
  d.q[1] = 0;
  mmx_enter(c);
  return next(c, i);
}
const Insn* movdq2q(Core* c, const Insn* i) {
  mixed_check(c);
  const uint64_t v = xreg(c, i->rm).q[0];
  mmx_enter(c);
  mmx_set(c, i->reg, v);
  return next(c, i);
}

// MOVNTI m32/m64, r32/r64 (0F C3)
template <class T> const Insn* movnti(Core* c, const Insn* i) {
  c->wr<T>(i->seg, ea(c, i), get_reg<T>(c, i->ro));
  return next(c, i);
}

// MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2: bytes of the first operand whose mask byte
// (second operand) has its top bit set go to DS:rDI (segment overridable). Every selected
// byte is checked before any is written.
template <bool XMM> const Insn* maskmov(Core* c, const Insn* i) {
  constexpr unsigned kN = XMM ? 16 : 8;
  uint8_t data[16], mask[16];
  if constexpr (XMM) {
    check_sse(c);
    std::memcpy(data, xreg(c, i->reg).q, 16);
    std::memcpy(mask, xreg(c, i->rm).q, 16);
  } else {
    mmx_check(c);
    const uint64_t dv = mmx_reg(c, i->reg), mv = mmx_reg(c, i->rm);
    std::memcpy(data, &dv, 8);
    std::memcpy(mask, &mv, 8);
  }
  const uint64_t base = c->r[RDI] & i->amask;
  unsigned first = kN, last = 0;
  for (unsigned k = 0; k < kN; k++) {
    if (mask[k] & 0x80) {
      if (first == kN) first = k;
      last = k;
    }
  }
  if (first < kN) {
    fp_probe_write(c, i->seg, (base + first) & i->amask, i->amask, last - first + 1);
    for (unsigned k = first; k <= last; k++) {
      if (mask[k] & 0x80) c->wr<uint8_t>(i->seg, (base + k) & i->amask, data[k]);
    }
  }
  if (!XMM) mmx_enter(c);
  return next(c, i);
}

// MOVMSKPS/MOVMSKPD r32, xmm (sign bits), PMOVMSKB r32, xmm/mm (byte sign bits).
template <int KIND> const Insn* movmsk(Core* c, const Insn* i) {
  uint32_t m = 0;
  if constexpr (KIND == 0) {  // PS
    check_sse(c);
    m = uint32_t(_mm_movemask_ps(_mm_castsi128_ps(ld(xreg(c, i->rm)))));
  } else if constexpr (KIND == 1) {  // PD
    check_sse(c);
    m = uint32_t(_mm_movemask_pd(_mm_castsi128_pd(ld(xreg(c, i->rm)))));
  } else if constexpr (KIND == 2) {  // PMOVMSKB xmm
    check_sse(c);
    m = uint32_t(_mm_movemask_epi8(ld(xreg(c, i->rm))));
  } else {  // PMOVMSKB mm
    mmx_check(c);
    m = uint32_t(_mm_movemask_epi8(ld64(mmx_reg(c, i->rm)))) & 0xFF;
    mmx_enter(c);
  }
  c->r[i->reg] = m;
  return next(c, i);
}

// ---- decoders ----

#define PICK_GPR(M, NAME) (d.rex_w ? &NAME<uint64_t, M> : &NAME<uint32_t, M>)

bool dec_0f6e(DecodeCtx& d, Insn* i) {  // MOVD/MOVQ mm|xmm, r/m
  const bool m = d.mod != 3;
  if (i->mprefix == kPfxNone) i->fn = m ? PICK_GPR(true, movd_mm_rm) : PICK_GPR(false, movd_mm_rm);
  else i->fn = m ? PICK_GPR(true, movd_x_rm) : PICK_GPR(false, movd_x_rm);
  return true;
}

bool dec_0f7e(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? PICK_GPR(true, movd_rm_mm) : PICK_GPR(false, movd_rm_mm); return true;
    case kPfx66: i->fn = m ? PICK_GPR(true, movd_rm_x) : PICK_GPR(false, movd_rm_x); return true;
    default: i->fn = m ? &movsd_load<true, true> : &movsd_load<false, true>; return true;  // F3: MOVQ
  }
}
#undef PICK_GPR

bool dec_0f6f(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? &movq_mm_load<true> : &movq_mm_load<false>; return true;
    case kPfx66: i->fn = m ? &mov128_load<kSrcM128A> : &mov128_load<kSrcReg>; return true;
    default: i->fn = m ? &mov128_load<kSrcM128U> : &mov128_load<kSrcReg>; return true;  // F3
  }
}

bool dec_0f7f(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  switch (i->mprefix) {
    case kPfxNone: i->fn = m ? &movq_mm_store<true> : &movq_mm_store<false>; return true;
    case kPfx66: i->fn = m ? &mov128_store<true, true> : &mov128_store<false, true>; return true;
    default: i->fn = m ? &mov128_store<true, false> : &mov128_store<false, false>; return true;
  }
}

bool dec_load_a(DecodeCtx& d, Insn* i) {  // MOVAPS/MOVAPD (0F 28)
  i->fn = d.mod != 3 ? &mov128_load<kSrcM128A> : &mov128_load<kSrcReg>;
  return true;
}
bool dec_load_u(DecodeCtx& d, Insn* i) {  // MOVUPS/MOVUPD (0F 10)
  i->fn = d.mod != 3 ? &mov128_load<kSrcM128U> : &mov128_load<kSrcReg>;
  return true;
}
bool dec_store_a(DecodeCtx& d, Insn* i) {  // MOVAPS/MOVAPD (0F 29)
  i->fn = d.mod != 3 ? &mov128_store<true, true> : &mov128_store<false, true>;
  return true;
}
bool dec_store_u(DecodeCtx& d, Insn* i) {  // MOVUPS/MOVUPD (0F 11)
  i->fn = d.mod != 3 ? &mov128_store<true, false> : &mov128_store<false, false>;
  return true;
}
bool dec_store_nt(DecodeCtx& d, Insn* i) {  // MOVNTPS/PD (0F 2B), MOVNTDQ (66 0F E7)
  if (d.mod == 3) return false;
  i->fn = &mov128_store<true, true>;
  return true;
}
bool dec_movss_load(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movss_load<true> : &movss_load<false>;
  return true;
}
bool dec_movss_store(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movss_store<true> : &movss_store<false>;
  return true;
}
bool dec_movsd_load(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movsd_load<true, false> : &movsd_load<false, false>;
  return true;
}
bool dec_movsd_store(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movsd_store<true, false> : &movsd_store<false, false>;
  return true;
}
bool dec_movq_store(DecodeCtx& d, Insn* i) {  // 66 0F D6
  i->fn = d.mod != 3 ? &movsd_store<true, true> : &movsd_store<false, true>;
  return true;
}
bool dec_0f12_none(DecodeCtx& d, Insn* i) {  // MOVLPS xmm, m64 | MOVHLPS
  i->fn = d.mod != 3 ? &movhalf_load<0> : &movhl_lh<true>;
  return true;
}
bool dec_0f16_none(DecodeCtx& d, Insn* i) {  // MOVHPS xmm, m64 | MOVLHPS
  i->fn = d.mod != 3 ? &movhalf_load<1> : &movhl_lh<false>;
  return true;
}
template <int HALF> bool dec_half_load_mem(DecodeCtx& d, Insn* i) {  // MOVLPD / MOVHPD load
  if (d.mod == 3) return false;
  i->fn = &movhalf_load<HALF>;
  return true;
}
template <int HALF> bool dec_half_store_mem(DecodeCtx& d, Insn* i) {  // MOVLPS/PD, MOVHPS/PD store
  if (d.mod == 3) return false;
  i->fn = &movhalf_store<HALF>;
  return true;
}
template <bool ODD> bool dec_movsdup(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movsdup<kSrcM128A, ODD> : &movsdup<kSrcReg, ODD>;
  return true;
}
bool dec_movddup(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &movddup<true> : &movddup<false>;
  return true;
}
bool dec_lddqu(DecodeCtx& d, Insn* i) {
  if (d.mod == 3) return false;
  i->fn = &mov128_load<kSrcM128U>;
  return true;
}
bool dec_movntdqa(DecodeCtx& d, Insn* i) {
  if (d.mod == 3) return false;
  i->fn = &mov128_load<kSrcM128A>;
  return true;
}
bool dec_movntq(DecodeCtx& d, Insn* i) {
  if (d.mod == 3) return false;
  i->fn = &movq_mm_store<true>;
  return true;
}
bool dec_movq2dq(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  i->fn = movq2dq;
  return true;
}
bool dec_movdq2q(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  i->fn = movdq2q;
  return true;
}
template <bool XMM> bool dec_maskmov(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  // The destination is DS:rDI (segment override allowed).
  i->seg = uint8_t(d.seg_override >= 0 ? d.seg_override : DS);
  i->amask = d.asz == 8 ? ~uint64_t{0} : d.asz == 4 ? 0xFFFFFFFFull : 0xFFFFull;
  i->fn = &maskmov<XMM>;
  return true;
}
template <int KIND> bool dec_movmsk(DecodeCtx& d, Insn* i) {
  if (d.mod != 3) return false;
  i->fn = &movmsk<KIND>;
  return true;
}
bool dec_emms(DecodeCtx&, Insn* i) {
  i->fn = emms;
  return true;
}
bool dec_movnti(DecodeCtx& d, Insn* i) {
  if (d.mod == 3) return false;
  i->fn = d.rex_w ? &movnti<uint64_t> : &movnti<uint32_t>;
  return true;
}

}  // namespace

void register_sse_move(OpTables& t) {
  // 0F 10 / 11: MOVUPS MOVUPD MOVSS MOVSD
  sse_register(t, 1, 0x10, kPfxNone, kFeatSse, dec_load_u);
  sse_register(t, 1, 0x10, kPfx66, kFeatSse2, dec_load_u);
  sse_register(t, 1, 0x10, kPfxF3, kFeatSse, dec_movss_load);
  sse_register(t, 1, 0x10, kPfxF2, kFeatSse2, dec_movsd_load);
  sse_register(t, 1, 0x11, kPfxNone, kFeatSse, dec_store_u);
  sse_register(t, 1, 0x11, kPfx66, kFeatSse2, dec_store_u);
  sse_register(t, 1, 0x11, kPfxF3, kFeatSse, dec_movss_store);
  sse_register(t, 1, 0x11, kPfxF2, kFeatSse2, dec_movsd_store);
  // 0F 12 / 13 / 16 / 17: low/high halves, MOVSLDUP MOVDDUP MOVSHDUP
  sse_register(t, 1, 0x12, kPfxNone, kFeatSse, dec_0f12_none);
  sse_register(t, 1, 0x12, kPfx66, kFeatSse2, dec_half_load_mem<0>);
  sse_register(t, 1, 0x12, kPfxF3, kFeatSse3, dec_movsdup<false>);
  sse_register(t, 1, 0x12, kPfxF2, kFeatSse3, dec_movddup);
  sse_register(t, 1, 0x13, kPfxNone, kFeatSse, dec_half_store_mem<0>);
  sse_register(t, 1, 0x13, kPfx66, kFeatSse2, dec_half_store_mem<0>);
  sse_register(t, 1, 0x16, kPfxNone, kFeatSse, dec_0f16_none);
  sse_register(t, 1, 0x16, kPfx66, kFeatSse2, dec_half_load_mem<1>);
  sse_register(t, 1, 0x16, kPfxF3, kFeatSse3, dec_movsdup<true>);
  sse_register(t, 1, 0x17, kPfxNone, kFeatSse, dec_half_store_mem<1>);
  sse_register(t, 1, 0x17, kPfx66, kFeatSse2, dec_half_store_mem<1>);
  // 0F 28 / 29 / 2B: MOVAPS MOVAPD MOVNTPS MOVNTPD
  sse_register(t, 1, 0x28, kPfxNone, kFeatSse, dec_load_a);
  sse_register(t, 1, 0x28, kPfx66, kFeatSse2, dec_load_a);
  sse_register(t, 1, 0x29, kPfxNone, kFeatSse, dec_store_a);
  sse_register(t, 1, 0x29, kPfx66, kFeatSse2, dec_store_a);
  sse_register(t, 1, 0x2B, kPfxNone, kFeatSse, dec_store_nt);
  sse_register(t, 1, 0x2B, kPfx66, kFeatSse2, dec_store_nt);
  // 0F 50: MOVMSKPS / MOVMSKPD; 0F D7: PMOVMSKB
  sse_register(t, 1, 0x50, kPfxNone, kFeatSse, dec_movmsk<0>);
  sse_register(t, 1, 0x50, kPfx66, kFeatSse2, dec_movmsk<1>);
  sse_register(t, 1, 0xD7, kPfxNone, kFeatSse, dec_movmsk<3>);
  sse_register(t, 1, 0xD7, kPfx66, kFeatSse2, dec_movmsk<2>);
  // 0F 6E / 6F / 7E / 7F / D6: MOVD MOVQ MOVDQA MOVDQU MOVQ2DQ MOVDQ2Q
  sse_register(t, 1, 0x6E, kPfxNone, kFeatMmx, dec_0f6e);
  sse_register(t, 1, 0x6E, kPfx66, kFeatSse2, dec_0f6e);
  sse_register(t, 1, 0x6F, kPfxNone, kFeatMmx, dec_0f6f);
  sse_register(t, 1, 0x6F, kPfx66, kFeatSse2, dec_0f6f);
  sse_register(t, 1, 0x6F, kPfxF3, kFeatSse2, dec_0f6f);
  sse_register(t, 1, 0x7E, kPfxNone, kFeatMmx, dec_0f7e);
  sse_register(t, 1, 0x7E, kPfx66, kFeatSse2, dec_0f7e);
  sse_register(t, 1, 0x7E, kPfxF3, kFeatSse2, dec_0f7e);
  sse_register(t, 1, 0x7F, kPfxNone, kFeatMmx, dec_0f7f);
  sse_register(t, 1, 0x7F, kPfx66, kFeatSse2, dec_0f7f);
  sse_register(t, 1, 0x7F, kPfxF3, kFeatSse2, dec_0f7f);
  sse_register(t, 1, 0xD6, kPfx66, kFeatSse2, dec_movq_store);
  sse_register(t, 1, 0xD6, kPfxF3, kFeatSse2, dec_movq2dq);
  sse_register(t, 1, 0xD6, kPfxF2, kFeatSse2, dec_movdq2q);
  // Non-temporal and masked stores, LDDQU, MOVNTDQA, MOVNTI, EMMS.
  sse_register(t, 1, 0xE7, kPfxNone, kFeatSse, dec_movntq);
  sse_register(t, 1, 0xE7, kPfx66, kFeatSse2, dec_store_nt);
  sse_register(t, 1, 0xF7, kPfxNone, kFeatSse, dec_maskmov<false>);
  sse_register(t, 1, 0xF7, kPfx66, kFeatSse2, dec_maskmov<true>);
  sse_register(t, 1, 0xF0, kPfxF2, kFeatSse3, dec_lddqu);
  sse_register(t, 2, 0x2A, kPfx66, kFeatSse41, dec_movntdqa);
  sse_register(t, 1, 0xC3, kPfxNone, kFeatSse2, dec_movnti);
  sse_register(t, 1, 0x77, kPfxNone, kFeatMmx, dec_emms, 0);
}

}  // namespace tsvirt::soft
