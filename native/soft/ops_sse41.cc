// SSE4.1 integer and data-movement instructions: PBLENDVB/BLENDVPS/BLENDVPD (XMM0 mask),
// BLENDPS/BLENDPD/PBLENDW, PTEST, PMOVSX/PMOVZX (all widths), PMULDQ, PMULLD, PCMPEQQ,
// PACKUSDW, PMIN/PMAX (SB, SD, UW, UD), PHMINPOSUW, MPSADBW, PEXTRB/W/D/Q, EXTRACTPS,
// PINSRB/D/Q, INSERTPS; plus PCMPGTQ (SSE4.2).
//
// Intel SDM vol. 2 per instruction. All are exact integer/bit operations (no MXCSR). XMM
// memory operands of full width are 16 bytes and must be aligned (#GP(0)); PMOVSX/ZX read
// 2, 4 or 8 bytes, PINSR*/INSERTPS 1-8 bytes and PEXTR*/EXTRACTPS write 1-8 bytes without
// alignment checks. A general-register destination is zero-extended.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

template <class T> struct Lanes {
  static constexpr unsigned kN = 16 / sizeof(T);
  T e[kN];
};
template <class T> inline Lanes<T> lanes(const Xmm& x) {
  Lanes<T> l;
  std::memcpy(l.e, x.q, 16);
  return l;
}
template <class T> inline void put(Xmm& x, const Lanes<T>& l) { std::memcpy(x.q, l.e, 16); }

// ---- two-operand lane operations: d = f(d, s) ----

template <class T, int OP> Xmm lane_op(const Xmm& a, const Xmm& b) {
  const auto la = lanes<T>(a), lb = lanes<T>(b);
  Lanes<T> r;
  for (unsigned k = 0; k < Lanes<T>::kN; k++) {
    switch (OP) {
      case 0: r.e[k] = la.e[k] < lb.e[k] ? la.e[k] : lb.e[k]; break;       // min
      case 1: r.e[k] = la.e[k] > lb.e[k] ? la.e[k] : lb.e[k]; break;       // max
      case 2: r.e[k] = T(la.e[k] == lb.e[k] ? ~T(0) : T(0)); break;        // cmpeq
      case 3: r.e[k] = T(la.e[k] > lb.e[k] ? ~T(0) : T(0)); break;         // cmpgt (signed T)
      default: r.e[k] = T(uint32_t(la.e[k]) * uint32_t(lb.e[k])); break;   // mullo (32-bit)
    }
  }
  Xmm o;
  put(o, r);
  return o;
}

Xmm pmuldq(const Xmm& a, const Xmm& b) {
  Xmm o;
  for (int k = 0; k < 2; k++) o.q[k] = uint64_t(int64_t(int32_t(a.q[k])) * int64_t(int32_t(b.q[k])));
  return o;
}

Xmm packusdw(const Xmm& a, const Xmm& b) {
  const auto la = lanes<int32_t>(a), lb = lanes<int32_t>(b);
  Lanes<uint16_t> r;
  auto sat = [](int32_t v) { return uint16_t(v < 0 ? 0 : v > 65535 ? 65535 : v); };
  for (int k = 0; k < 4; k++) {
    r.e[k] = sat(la.e[k]);
    r.e[4 + k] = sat(lb.e[k]);
  }
  Xmm o;
  put(o, r);
  return o;
}

Xmm phminposuw(const Xmm&, const Xmm& b) {
  const auto lb = lanes<uint16_t>(b);
  unsigned idx = 0;
  for (unsigned k = 1; k < 8; k++) {
    if (lb.e[k] < lb.e[idx]) idx = k;
  }
  Xmm o;
  o.q[0] = lb.e[idx] | (uint64_t(idx) << 16);
  return o;
}

template <Xmm (*F)(const Xmm&, const Xmm&), int S> const Insn* xop(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  d = F(d, b);
  return next(c, i);
}
template <Xmm (*F)(const Xmm&, const Xmm&)> bool dec_op(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &xop<F, kSrcM128A> : &xop<F, kSrcReg>;
  return true;
}

// ---- blends ----

// Variable blends select by the sign bit of each XMM0 element (T = element size).
template <class T> Xmm blendv(const Xmm& a, const Xmm& b, const Xmm& mask) {
  const auto la = lanes<T>(a), lb = lanes<T>(b), lm = lanes<std::make_signed_t<T>>(mask);
  Lanes<T> r;
  for (unsigned k = 0; k < Lanes<T>::kN; k++) r.e[k] = lm.e[k] < 0 ? lb.e[k] : la.e[k];
  Xmm o;
  put(o, r);
  return o;
}
template <class T, int S> const Insn* blendv_op(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  d = blendv<T>(d, b, xreg(c, 0));
  return next(c, i);
}
template <class T> bool dec_blendv(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &blendv_op<T, kSrcM128A> : &blendv_op<T, kSrcReg>;
  return true;
}

// Immediate blends: bit k of imm8 selects element k from the source.
template <class T, int S> const Insn* blendi(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  const auto la = lanes<T>(d), lb = lanes<T>(b);
  Lanes<T> r;
  for (unsigned k = 0; k < Lanes<T>::kN; k++) r.e[k] = ((i->imm >> k) & 1) ? lb.e[k] : la.e[k];
  put(d, r);
  return next(c, i);
}
template <class T> bool dec_blendi(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &blendi<T, kSrcM128A> : &blendi<T, kSrcReg>;
  return true;
}

// PTEST: ZF = (a AND b) == 0, CF = (NOT a AND b) == 0; AF OF PF SF cleared.
template <int S> const Insn* ptest(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  const Xmm& a = xreg(c, i->reg);
  const bool zf = ((a.q[0] & b.q[0]) | (a.q[1] & b.q[1])) == 0;
  const bool cf = ((~a.q[0] & b.q[0]) | (~a.q[1] & b.q[1])) == 0;
  materialize_flags(c);
  c->rfl = (c->rfl & ~fl::kArith) | (zf ? fl::ZF : 0) | (cf ? fl::CF : 0);
  return next(c, i);
}
bool dec_ptest(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &ptest<kSrcM128A> : &ptest<kSrcReg>;
  return true;
}

// PMOVSX / PMOVZX: FROM-sized elements of the low bytes of the source, extended to TO.
template <class FROM, class TO, int S> const Insn* pmovx(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  constexpr unsigned n = 16 / sizeof(TO);
  FROM in[n];
  std::memcpy(in, b.q, sizeof(in));
  TO out[n];
  for (unsigned k = 0; k < n; k++) out[k] = TO(in[k]);
  std::memcpy(xreg(c, i->reg).q, out, 16);
  return next(c, i);
}
template <class FROM, class TO> bool dec_pmovx(DecodeCtx& d, Insn* i) {
  constexpr unsigned bytes = sizeof(FROM) * (16 / sizeof(TO));
  constexpr int kMem = bytes == 8 ? kSrcM64 : bytes == 4 ? kSrcM32 : kSrcM16;
  i->fn = d.mod != 3 ? &pmovx<FROM, TO, kMem> : &pmovx<FROM, TO, kSrcReg>;
  return true;
}

// MPSADBW xmm1, xmm2/m128, imm8
template <int S> const Insn* mpsadbw(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm bx = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  uint8_t a[16], b[16];
  std::memcpy(a, d.q, 16);
  std::memcpy(b, bx.q, 16);
  const unsigned ao = ((i->imm >> 2) & 1) * 4, bo = (i->imm & 3) * 4;
  uint16_t r[8];
  for (unsigned k = 0; k < 8; k++) {
    unsigned sum = 0;
    for (unsigned j = 0; j < 4; j++) {
      const int diff = int(a[ao + k + j]) - int(b[bo + j]);
      sum += unsigned(diff < 0 ? -diff : diff);
    }
    r[k] = uint16_t(sum);
  }
  std::memcpy(d.q, r, 16);
  return next(c, i);
}
bool dec_mpsadbw(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &mpsadbw<kSrcM128A> : &mpsadbw<kSrcReg>;
  return true;
}

// ---- extract / insert ----

// PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS r/m, xmm, imm8 (T = element size).
template <class T, bool M> const Insn* pextr(Core* c, const Insn* i) {
  check_sse(c);
  constexpr unsigned n = 16 / sizeof(T);
  T e[n];
  std::memcpy(e, xreg(c, i->reg).q, 16);
  const T v = e[i->imm & (n - 1)];
  if constexpr (M) c->wr<T>(i->seg, ea(c, i), v);
  else c->r[i->rm] = uint64_t(v);
  return next(c, i);
}
template <class T> bool dec_pextr(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &pextr<T, true> : &pextr<T, false>;
  return true;
}
bool dec_pextrdq(DecodeCtx& d, Insn* i) {
  if (d.rex_w) i->fn = d.mod != 3 ? &pextr<uint64_t, true> : &pextr<uint64_t, false>;
  else i->fn = d.mod != 3 ? &pextr<uint32_t, true> : &pextr<uint32_t, false>;
  return true;
}

// PINSRB/PINSRD/PINSRQ xmm, r/m, imm8
template <class T, bool M> const Insn* pinsr(Core* c, const Insn* i) {
  check_sse(c);
  const T v = M ? c->rd<T>(i->seg, ea(c, i)) : T(c->r[i->rm]);
  constexpr unsigned n = 16 / sizeof(T);
  Xmm& d = xreg(c, i->reg);
  T e[n];
  std::memcpy(e, d.q, 16);
  e[i->imm & (n - 1)] = v;
  std::memcpy(d.q, e, 16);
  return next(c, i);
}
bool dec_pinsrb(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &pinsr<uint8_t, true> : &pinsr<uint8_t, false>;
  return true;
}
bool dec_pinsrdq(DecodeCtx& d, Insn* i) {
  if (d.rex_w) i->fn = d.mod != 3 ? &pinsr<uint64_t, true> : &pinsr<uint64_t, false>;
  else i->fn = d.mod != 3 ? &pinsr<uint32_t, true> : &pinsr<uint32_t, false>;
  return true;
}

// INSERTPS xmm1, xmm2/m32, imm8: element imm[7:6] of the source (the m32 itself for
// memory) into element imm[5:4], then zero the elements set in imm[3:0].
template <bool M> const Insn* insertps(Core* c, const Insn* i) {
  check_sse(c);
  uint32_t v;
  if constexpr (M) {
    v = c->rd<uint32_t>(i->seg, ea(c, i));
  } else {
    uint32_t s[4];
    std::memcpy(s, xreg(c, i->rm).q, 16);
    v = s[(i->imm >> 6) & 3];
  }
  Xmm& d = xreg(c, i->reg);
  uint32_t e[4];
  std::memcpy(e, d.q, 16);
  e[(i->imm >> 4) & 3] = v;
  for (unsigned k = 0; k < 4; k++) {
    if ((i->imm >> k) & 1) e[k] = 0;
  }
  std::memcpy(d.q, e, 16);
  return next(c, i);
}
bool dec_insertps(DecodeCtx& d, Insn* i) {
  i->fn = d.mod != 3 ? &insertps<true> : &insertps<false>;
  return true;
}

}  // namespace

void register_sse41(OpTables& t) {
  auto r2 = [&](unsigned op, DecodeFn f, SseFeature need = kFeatSse41) { sse_register(t, 2, op, kPfx66, need, f); };
  auto r3 = [&](unsigned op, DecodeFn f) { sse_register(t, 3, op, kPfx66, kFeatSse41, f, opf::kModrm | opf::kImm8); };
  r2(0x10, dec_blendv<uint8_t>);
  r2(0x14, dec_blendv<uint32_t>);
  r2(0x15, dec_blendv<uint64_t>);
  r2(0x17, dec_ptest);
  r2(0x20, dec_pmovx<int8_t, int16_t>);
  r2(0x21, dec_pmovx<int8_t, int32_t>);
  r2(0x22, dec_pmovx<int8_t, int64_t>);
  r2(0x23, dec_pmovx<int16_t, int32_t>);
  r2(0x24, dec_pmovx<int16_t, int64_t>);
  r2(0x25, dec_pmovx<int32_t, int64_t>);
  r2(0x28, dec_op<pmuldq>);
  r2(0x29, dec_op<lane_op<uint64_t, 2>>);
  r2(0x2B, dec_op<packusdw>);
  r2(0x30, dec_pmovx<uint8_t, uint16_t>);
  r2(0x31, dec_pmovx<uint8_t, uint32_t>);
  r2(0x32, dec_pmovx<uint8_t, uint64_t>);
  r2(0x33, dec_pmovx<uint16_t, uint32_t>);
  r2(0x34, dec_pmovx<uint16_t, uint64_t>);
  r2(0x35, dec_pmovx<uint32_t, uint64_t>);
  r2(0x37, dec_op<lane_op<int64_t, 3>>, kFeatSse42);  // PCMPGTQ
  r2(0x38, dec_op<lane_op<int8_t, 0>>);
  r2(0x39, dec_op<lane_op<int32_t, 0>>);
  r2(0x3A, dec_op<lane_op<uint16_t, 0>>);
  r2(0x3B, dec_op<lane_op<uint32_t, 0>>);
  r2(0x3C, dec_op<lane_op<int8_t, 1>>);
  r2(0x3D, dec_op<lane_op<int32_t, 1>>);
  r2(0x3E, dec_op<lane_op<uint16_t, 1>>);
  r2(0x3F, dec_op<lane_op<uint32_t, 1>>);
  r2(0x40, dec_op<lane_op<uint32_t, 4>>);
  r2(0x41, dec_op<phminposuw>);
  r3(0x0C, dec_blendi<uint32_t>);
  r3(0x0D, dec_blendi<uint64_t>);
  r3(0x0E, dec_blendi<uint16_t>);
  r3(0x14, dec_pextr<uint8_t>);
  r3(0x15, dec_pextr<uint16_t>);
  r3(0x16, dec_pextrdq);
  r3(0x17, dec_pextr<uint32_t>);  // EXTRACTPS
  r3(0x20, dec_pinsrb);
  r3(0x21, dec_insertps);
  r3(0x22, dec_pinsrdq);
  r3(0x42, dec_mpsadbw);
}

}  // namespace tsvirt::soft
