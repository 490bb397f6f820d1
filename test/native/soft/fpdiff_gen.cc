// Case-construction helpers of the fpdiff tester: initial state and interesting operands
// (signed zeros, denormals and pseudo-denormals, infinities, quiet and signalling NaNs,
// unsupported 80-bit encodings, extreme exponents, integer boundaries).
#include "fpdiff.h"

namespace fpdiff {

void emit(Case& k, std::initializer_list<uint8_t> bytes) { k.code.insert(k.code.end(), bytes); }

void init_case(Case& k, Rng& rng, const std::string& family, const std::string& name) {
  k = Case();
  k.family = family;
  k.name = name;
  for (int r = 0; r < 16; r++) k.gpr[r] = rng();
  k.rflags = rng() & 0x8D5;
  for (unsigned b = 0; b < kDataSize; b += 8) {
    const uint64_t v = rng();
    std::memcpy(k.data + b, &v, 8);
  }
  k.data_off = 0x800;
  Fx fx(k.fx);
  fx.fcw(0x037F);
  fx.fsw(0);
  fx.ftw(0);
  fx.mxcsr(0x1F80);
  for (unsigned p = 0; p < 8; p++) fx.st(p, rng(), uint16_t(rng()));
  for (unsigned n = 0; n < 16; n++) fx.xmm(n, rng(), rng());
}

uint32_t pick_f32(Rng& rng) {
  const uint32_t sign = (rng() & 1) ? 0x80000000u : 0;
  const uint32_t frac = uint32_t(rng()) & 0x7FFFFF;
  switch (rng() % 16) {
    case 0: return sign;                                   // zero
    case 1: return sign | 0x7F800000;                      // infinity
    case 2: return sign | 0x7FC00000 | (frac & 0x3FFFFF);  // QNaN
    case 3: return sign | 0x7F800000 | ((frac & 0x3FFFFF) | 1);  // SNaN
    case 4: return sign | (frac | 1);                      // denormal
    case 5: return sign | 0x00800000 | (rng() % 4 == 0 ? 0 : frac);  // smallest exponent
    case 6: return sign | 0x7F7FFFFF;                      // largest
    case 7: return sign | (uint32_t(0xFE - rng() % 3) << 23) | frac;
    case 8: return sign | 0x3F800000;                      // 1
    case 9: {                                               // small integers
      const float f = float(int(rng() % 2000) - 1000);
      uint32_t v;
      std::memcpy(&v, &f, 4);
      return v;
    }
    default: return sign | (uint32_t(0x70 + rng() % 32) << 23) | frac;
  }
}

uint64_t pick_f64(Rng& rng) {
  const uint64_t sign = (rng() & 1) ? 0x8000000000000000ull : 0;
  const uint64_t frac = rng() & 0xFFFFFFFFFFFFFull;
  switch (rng() % 16) {
    case 0: return sign;
    case 1: return sign | 0x7FF0000000000000ull;
    case 2: return sign | 0x7FF8000000000000ull | (frac & 0x7FFFFFFFFFFFFull);
    case 3: return sign | 0x7FF0000000000000ull | ((frac & 0x7FFFFFFFFFFFFull) | 1);
    case 4: return sign | (frac | 1);
    case 5: return sign | 0x0010000000000000ull | (rng() % 4 == 0 ? 0 : frac);
    case 6: return sign | 0x7FEFFFFFFFFFFFFFull;
    case 7: return sign | (uint64_t(0x7FE - rng() % 3) << 52) | frac;
    case 8: return sign | 0x3FF0000000000000ull;
    case 9: {
      const double f = double(int64_t(rng() % 200000) - 100000) / ((rng() & 1) ? 1 : 8);
      uint64_t v;
      std::memcpy(&v, &f, 8);
      return v;
    }
    case 10: return sign | (uint64_t(0x380 + rng() % 0x100) << 52) | frac;  // float-ish range
    case 11: return sign | (uint64_t(0x43E - rng() % 8) << 52) | frac;      // near 2^63
    default: return sign | (uint64_t(0x3F0 + rng() % 32) << 52) | frac;
  }
}

void pick_f80(Rng& rng, uint64_t* mant, uint16_t* exp, bool supported) {
  const uint16_t sign = (rng() & 1) ? 0x8000 : 0;
  const uint64_t frac = rng() & 0x7FFFFFFFFFFFFFFFull;
  const uint64_t j = 0x8000000000000000ull;
  unsigned sel = unsigned(rng() % 20);
  if (supported && (sel >= 6 && sel <= 8)) sel = 17;
  if (!supported && sel >= 17 && rng() % 2) sel = 6 + unsigned(rng() % 3);  // more edge cases
  switch (sel) {
    case 0: *mant = 0; *exp = sign; return;                              // zero
    case 1: *mant = j; *exp = sign | 0x7FFF; return;                     // infinity
    case 2: *mant = j | 0x4000000000000000ull | frac; *exp = sign | 0x7FFF; return;  // QNaN
    case 3: *mant = j | ((frac & 0x3FFFFFFFFFFFFFFFull) | 1); *exp = sign | 0x7FFF; return;  // SNaN
    case 4: *mant = 0xC000000000000000ull; *exp = 0xFFFF; return;        // indefinite
    case 5: *mant = frac | 1; *exp = sign; return;                       // denormal
    case 6: *mant = j | frac; *exp = sign; return;                       // pseudo-denormal
    case 7: *mant = frac; *exp = uint16_t(sign | (1 + rng() % 0x7FFE)); return;  // unnormal
    case 8: *mant = frac; *exp = sign | 0x7FFF; return;                  // pseudo-NaN/inf
    case 9: *mant = j | frac; *exp = uint16_t(sign | (1 + rng() % 3)); return;  // tiny normal
    case 10: *mant = j | frac; *exp = uint16_t(sign | (0x7FFE - rng() % 3)); return;  // huge
    case 11: {                                                           // small integer
      const int64_t v = int64_t(rng() % 2000) - 1000;
      if (v == 0) { *mant = 0; *exp = 0; return; }
      const uint64_t m = uint64_t(v < 0 ? -v : v);
      const int lz = __builtin_clzll(m);
      *mant = m << lz;
      *exp = uint16_t((v < 0 ? 0x8000 : 0) | (16383 + 63 - lz));
      return;
    }
    case 12: *mant = j | (frac & ~0x7FFull); *exp = uint16_t(sign | (0x3FFF + rng() % 64)); return;  // double-exact
    case 13: *mant = j | frac; *exp = uint16_t(sign | (0x3C01 - 2 + rng() % 5)); return;  // double range edge
    case 14: *mant = j | frac; *exp = uint16_t(sign | (0x3F81 - 2 + rng() % 5)); return;  // float range edge
    case 15: *mant = j | frac; *exp = uint16_t(sign | (0x43FE - 2 + rng() % 5)); return;  // double max edge
    case 16: *mant = j | frac; *exp = uint16_t(sign | (0x403D + rng() % 4)); return;      // near 2^63
    default: *mant = j | frac; *exp = uint16_t(sign | (0x3FFF - 40 + rng() % 80)); return;
  }
}

uint64_t pick_int(Rng& rng, unsigned bits) {
  const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const uint64_t min = uint64_t{1} << (bits - 1);
  uint64_t v;
  switch (rng() % 10) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = mask; break;            // -1
    case 3: v = min; break;             // most negative
    case 4: v = min - 1; break;         // most positive
    case 5: v = min + 1; break;
    case 6: v = (uint64_t{1} << (rng() % bits)) + (rng() % 3) - 1; break;
    case 7: v = rng() % 1000; break;
    case 8: v = uint64_t(0) - (rng() % 1000); break;
    default: v = rng(); break;
  }
  v &= mask;
  if (bits < 64 && (v & min)) v |= ~mask;  // sign-extend
  return v;
}

}  // namespace fpdiff
