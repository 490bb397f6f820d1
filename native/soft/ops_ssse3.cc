// SSSE3: PSHUFB, PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW, PMADDUBSW, PMULHRSW, PSIGNB/W/D,
// PABSB/W/D (0F 38 00-0B, 1C-1E) and PALIGNR (0F 3A 0F), each on MMX (no prefix) and XMM
// (66) registers.
//
// Intel SDM vol. 2 per instruction. Lane-wise integer operations written once for 8- and
// 16-byte operands; the XMM memory operand is 16 bytes and must be aligned (#GP(0)), the
// MMX one is 8 bytes. MMX forms make the x87 transition.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

template <class T, unsigned N> struct V {
  T e[N / sizeof(T)];
  static constexpr unsigned kCount = N / sizeof(T);
};

template <class T, unsigned N> inline V<T, N> as(const uint8_t* p) {
  V<T, N> v;
  std::memcpy(v.e, p, N);
  return v;
}

template <class T> inline T sat16(int32_t v) {
  return T(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

// Each operation: r (N bytes) from a = destination operand, b = source operand.
template <unsigned N> void pshufb(uint8_t* r, const uint8_t* a, const uint8_t* b) {
  for (unsigned k = 0; k < N; k++) r[k] = (b[k] & 0x80) ? 0 : a[b[k] & (N - 1)];
}

// Horizontal add/sub: pairs of the destination, then pairs of the source.
template <class T, int KIND, unsigned N> void phorz(uint8_t* r, const uint8_t* a, const uint8_t* b) {
  const auto va = as<T, N>(a), vb = as<T, N>(b);
  constexpr unsigned h = V<T, N>::kCount / 2;
  V<T, N> o;
  for (unsigned k = 0; k < h; k++) {
    const T* src = nullptr;
    for (int half = 0; half < 2; half++) {
      src = half == 0 ? va.e : vb.e;
      const int64_t x = int64_t(src[2 * k]), y = int64_t(src[2 * k + 1]);
      int64_t v = KIND == 0 || KIND == 2 ? x + y : x - y;
      T out;
      if (KIND >= 2) out = sat16<T>(int32_t(v));  // PHADDSW / PHSUBSW
      else out = T(v);
      o.e[half * h + k] = out;
    }
  }
  std::memcpy(r, o.e, N);
}

template <unsigned N> void pmaddubsw(uint8_t* r, const uint8_t* a, const uint8_t* b) {
  V<int16_t, N> o;
  for (unsigned k = 0; k < N / 2; k++) {
    const int32_t v = int32_t(a[2 * k]) * int32_t(int8_t(b[2 * k])) + int32_t(a[2 * k + 1]) * int32_t(int8_t(b[2 * k + 1]));
    o.e[k] = sat16<int16_t>(v);
  }
  std::memcpy(r, o.e, N);
}

template <unsigned N> void pmulhrsw(uint8_t* r, const uint8_t* a, const uint8_t* b) {
  const auto va = as<int16_t, N>(a), vb = as<int16_t, N>(b);
  V<int16_t, N> o;
  for (unsigned k = 0; k < N / 2; k++) o.e[k] = int16_t((((int32_t(va.e[k]) * vb.e[k]) >> 14) + 1) >> 1);
  std::memcpy(r, o.e, N);
}

template <class T, unsigned N> void psign(uint8_t* r, const uint8_t* a, const uint8_t* b) {
  const auto va = as<T, N>(a), vb = as<T, N>(b);
  V<T, N> o;
  for (unsigned k = 0; k < V<T, N>::kCount; k++) {
    o.e[k] = vb.e[k] < 0 ? T(-static_cast<std::make_unsigned_t<T>>(va.e[k])) : vb.e[k] == 0 ? T(0) : va.e[k];
  }
  std::memcpy(r, o.e, N);
}

template <class T, unsigned N> void pabs(uint8_t* r, const uint8_t*, const uint8_t* b) {
  const auto vb = as<T, N>(b);
  V<T, N> o;
  for (unsigned k = 0; k < V<T, N>::kCount; k++) {
    o.e[k] = vb.e[k] < 0 ? T(-static_cast<std::make_unsigned_t<T>>(vb.e[k])) : vb.e[k];
  }
  std::memcpy(r, o.e, N);
}

template <void (*F16)(uint8_t*, const uint8_t*, const uint8_t*), int S> const Insn* xop(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  uint8_t a8[16], b8[16], r8[16];
  std::memcpy(a8, d.q, 16);
  std::memcpy(b8, b.q, 16);
  F16(r8, a8, b8);
  std::memcpy(d.q, r8, 16);
  return next(c, i);
}

template <void (*F8)(uint8_t*, const uint8_t*, const uint8_t*), bool M> const Insn* mop(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t b = msrc<M>(c, i);
  const uint64_t a = mmx_reg(c, i->reg);
  uint8_t a8[8], b8[8], r8[8];
  std::memcpy(a8, &a, 8);
  std::memcpy(b8, &b, 8);
  F8(r8, a8, b8);
  uint64_t r;
  std::memcpy(&r, r8, 8);
  mmx_enter(c);
  mmx_set(c, i->reg, r);
  return next(c, i);
}

template <void (*F8)(uint8_t*, const uint8_t*, const uint8_t*), void (*F16)(uint8_t*, const uint8_t*, const uint8_t*)>
bool dec_op(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  if (i->mprefix == kPfx66) i->fn = m ? &xop<F16, kSrcM128A> : &xop<F16, kSrcReg>;
  else i->fn = m ? &mop<F8, true> : &mop<F8, false>;
  return true;
}

// PALIGNR: (destination:source) shifted right by imm8 bytes.
template <int S> const Insn* palignr_x(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm b = xsrc<S>(c, i);
  Xmm& d = xreg(c, i->reg);
  uint8_t t[48] = {};
  std::memcpy(t, b.q, 16);
  std::memcpy(t + 16, d.q, 16);
  const unsigned n = (i->imm & 0xFF) > 32 ? 32 : unsigned(i->imm & 0xFF);
  std::memcpy(d.q, t + n, 16);
  return next(c, i);
}
template <bool M> const Insn* palignr_m(Core* c, const Insn* i) {
  mmx_check(c);
  const uint64_t b = msrc<M>(c, i);
  const uint64_t a = mmx_reg(c, i->reg);
  uint8_t t[24] = {};
  std::memcpy(t, &b, 8);
  std::memcpy(t + 8, &a, 8);
  const unsigned n = (i->imm & 0xFF) > 16 ? 16 : unsigned(i->imm & 0xFF);
  uint64_t r;
  std::memcpy(&r, t + n, 8);
  mmx_enter(c);
  mmx_set(c, i->reg, r);
  return next(c, i);
}
bool dec_palignr(DecodeCtx& d, Insn* i) {
  const bool m = d.mod != 3;
  if (i->mprefix == kPfx66) i->fn = m ? &palignr_x<kSrcM128A> : &palignr_x<kSrcReg>;
  else i->fn = m ? &palignr_m<true> : &palignr_m<false>;
  return true;
}

template <void (*F8)(uint8_t*, const uint8_t*, const uint8_t*), void (*F16)(uint8_t*, const uint8_t*, const uint8_t*)>
void both(OpTables& t, unsigned op) {
  sse_register(t, 2, op, kPfxNone, kFeatSsse3, dec_op<F8, F16>);
  sse_register(t, 2, op, kPfx66, kFeatSsse3, dec_op<F8, F16>);
}

}  // namespace

void register_ssse3(OpTables& t) {
  both<pshufb<8>, pshufb<16>>(t, 0x00);
  both<phorz<int16_t, 0, 8>, phorz<int16_t, 0, 16>>(t, 0x01);
  both<phorz<int32_t, 0, 8>, phorz<int32_t, 0, 16>>(t, 0x02);
  both<phorz<int16_t, 2, 8>, phorz<int16_t, 2, 16>>(t, 0x03);
  both<pmaddubsw<8>, pmaddubsw<16>>(t, 0x04);
  both<phorz<int16_t, 1, 8>, phorz<int16_t, 1, 16>>(t, 0x05);
  both<phorz<int32_t, 1, 8>, phorz<int32_t, 1, 16>>(t, 0x06);
  both<phorz<int16_t, 3, 8>, phorz<int16_t, 3, 16>>(t, 0x07);
  both<psign<int8_t, 8>, psign<int8_t, 16>>(t, 0x08);
  both<psign<int16_t, 8>, psign<int16_t, 16>>(t, 0x09);
  both<psign<int32_t, 8>, psign<int32_t, 16>>(t, 0x0A);
  both<pmulhrsw<8>, pmulhrsw<16>>(t, 0x0B);
  both<pabs<int8_t, 8>, pabs<int8_t, 16>>(t, 0x1C);
  both<pabs<int16_t, 8>, pabs<int16_t, 16>>(t, 0x1D);
  both<pabs<int32_t, 8>, pabs<int32_t, 16>>(t, 0x1E);
  sse_register(t, 3, 0x0F, kPfxNone, kFeatSsse3, dec_palignr, opf::kModrm | opf::kImm8);
  sse_register(t, 3, 0x0F, kPfx66, kFeatSsse3, dec_palignr, opf::kModrm | opf::kImm8);
}

}  // namespace tsvirt::soft
