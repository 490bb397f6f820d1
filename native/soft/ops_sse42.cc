// SSE4.2 string comparisons PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM (66 0F 3A 60-63)
// and CRC32 (F2 0F 38 F0/F1). PCMPGTQ is with the SSE4.1 lane operations.
//
// Intel SDM vol. 1, 12.10 and vol. 2, 4.1 ("Imm8 control byte operation for PCMPESTRI /
// PCMPESTRM / PCMPISTRI / PCMPISTRM"): data format imm8[1:0] (unsigned/signed bytes or
// words), aggregation imm8[3:2] (equal any, ranges, equal each, equal ordered) with the
// validity overrides of table 4-7, polarity imm8[5:4], output selection imm8[6]. Explicit
// lengths come from EAX/EDX (RAX/RDX with REX.W), absolute value saturated to the element
// count; implicit lengths end at the first zero element. Flags: CF = result non-zero,
// ZF/SF = the second/first operand is shorter than a full register, OF = result bit 0,
// AF = PF = 0. The memory operand is 16 bytes with no alignment requirement.
//
// CRC32 (reached through OpTables::crc32_f2, since 0F 38 F0/F1 are MOVBE's) accumulates CRC-32C (polynomial 11EDC6F41h, bit-reflected as the SDM specifies) of
// an 8/16/32/64-bit source into a 32-bit destination (zero-extended to 64 with REX.W). It
// is a general-purpose instruction: no CR0/CR4 checks, only CPUID.SSE4_2.
#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

// ---- PCMPxSTRx ----

struct StrOperands {
  int32_t a[16], b[16];  // elements sign- or zero-extended
  unsigned n;            // elements per register (16 or 8)
};

void load_elems(const Xmm& x, unsigned fmt, int32_t* out) {
  uint8_t bytes[16];
  std::memcpy(bytes, x.q, 16);
  switch (fmt) {
    case 0: for (int k = 0; k < 16; k++) out[k] = bytes[k]; break;
    case 1: for (int k = 0; k < 8; k++) out[k] = uint16_t(bytes[2 * k] | (bytes[2 * k + 1] << 8)); break;
    case 2: for (int k = 0; k < 16; k++) out[k] = int8_t(bytes[k]); break;
    default: for (int k = 0; k < 8; k++) out[k] = int16_t(uint16_t(bytes[2 * k] | (bytes[2 * k + 1] << 8))); break;
  }
}

unsigned implicit_len(const int32_t* e, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    if (e[k] == 0) return k;
  }
  return n;
}

unsigned explicit_len(uint64_t reg, bool w, unsigned n) {
  int64_t v = w ? int64_t(reg) : int64_t(int32_t(uint32_t(reg)));
  const uint64_t mag = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  return mag > n ? n : unsigned(mag);
}

// IntRes2 of the comparison (bit per element of the second operand).
uint32_t pcmpstr(const StrOperands& o, unsigned la, unsigned lb, unsigned imm) {
  const unsigned n = o.n;
  auto eq = [&](unsigned j, unsigned i) { return o.a[j] == o.b[i]; };
  uint32_t r1 = 0;
  switch ((imm >> 2) & 3) {
    case 0:  // equal any
      for (unsigned i = 0; i < lb; i++) {
        for (unsigned j = 0; j < la; j++) {
          if (eq(j, i)) {
            r1 |= 1u << i;
            break;
          }
        }
      }
      break;
    case 1:  // ranges: a[2k] <= b[i] <= a[2k+1]
      for (unsigned i = 0; i < lb; i++) {
        for (unsigned j = 0; j + 1 < la; j += 2) {
          if (o.a[j] <= o.b[i] && o.b[i] <= o.a[j + 1]) {
            r1 |= 1u << i;
            break;
          }
        }
      }
      break;
    case 2:  // equal each: both invalid -> true, one invalid -> false
      for (unsigned i = 0; i < n; i++) {
        const bool va = i < la, vb = i < lb;
        const bool r = (va && vb) ? eq(i, i) : (!va && !vb);
        if (r) r1 |= 1u << i;
      }
      break;
    default:  // equal ordered: substring a starting at b[i]
      for (unsigned i = 0; i < n; i++) {
        bool r = true;
        for (unsigned k = 0; i + k < n && r; k++) {
          if (k >= la) break;            // a invalid: true
          if (i + k >= lb) r = false;    // a valid, b invalid: false
          else r = eq(k, i + k);
        }
        if (r) r1 |= 1u << i;
      }
      break;
  }
  const uint32_t all = (1u << n) - 1;
  switch ((imm >> 4) & 3) {
    case 1: return ~r1 & all;
    case 3: return (r1 ^ ((1u << lb) - 1)) & all;  // negate only valid elements of b
    default: return r1;
  }
}

template <bool EXPLICIT, bool INDEX, int S> const Insn* pcmpxstrx(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm bx = xsrc<S>(c, i);
  const unsigned imm = unsigned(i->imm & 0xFF);
  const unsigned fmt = imm & 3;
  StrOperands o;
  o.n = (fmt & 1) ? 8 : 16;
  load_elems(xreg(c, i->reg), fmt, o.a);
  load_elems(bx, fmt, o.b);
  unsigned la, lb;
  if (EXPLICIT) {
    const bool w = i->osz == 8;
    la = explicit_len(c->r[RAX], w, o.n);
    lb = explicit_len(c->r[RDX], w, o.n);
  } else {
    la = implicit_len(o.a, o.n);
    lb = implicit_len(o.b, o.n);
  }
  const uint32_t r2 = pcmpstr(o, la, lb, imm);
  if (INDEX) {
    unsigned idx = o.n;
    if (r2 != 0) idx = (imm & 0x40) ? unsigned(31 - __builtin_clz(r2)) : unsigned(__builtin_ctz(r2));
    c->r[RCX] = idx;
  } else {
    Xmm m;
    if (imm & 0x40) {  // expanded byte/word mask
      const unsigned w = o.n == 16 ? 1 : 2;
      uint8_t b[16];
      for (unsigned k = 0; k < o.n; k++) std::memset(b + k * w, ((r2 >> k) & 1) ? 0xFF : 0, w);
      std::memcpy(m.q, b, 16);
    } else {
      m.q[0] = r2;
    }
    xreg(c, 0) = m;
  }
  materialize_flags(c);
  uint64_t f = c->rfl & ~fl::kArith;
  if (r2 != 0) f |= fl::CF;
  if (lb < o.n) f |= fl::ZF;
  if (la < o.n) f |= fl::SF;
  if (r2 & 1) f |= fl::OF;
  c->rfl = f;
  return next(c, i);
}

template <bool EXPLICIT, bool INDEX> bool dec_pcmpstr(DecodeCtx& d, Insn* i) {
  i->osz = uint8_t(d.rex_w ? 8 : 4);
  i->fn = d.mod != 3 ? &pcmpxstrx<EXPLICIT, INDEX, kSrcM128U> : &pcmpxstrx<EXPLICIT, INDEX, kSrcReg>;
  return true;
}

// ---- CRC32 ----

struct CrcTable {
  uint32_t t[256];
  constexpr CrcTable() : t() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[n] = c;
    }
  }
};
constexpr CrcTable kCrc;

template <class T, bool M> const Insn* crc32(Core* c, const Insn* i) {
  const T v = M ? c->rd<T>(i->seg, ea(c, i)) : get_reg<T>(c, i->mo);
  uint32_t crc = uint32_t(c->r[i->reg]);
  for (unsigned k = 0; k < sizeof(T); k++) crc = kCrc.t[(crc ^ uint8_t(uint64_t(v) >> (8 * k))) & 0xFF] ^ (crc >> 8);
  c->r[i->reg] = crc;
  return next(c, i);
}

bool dec_crc32_8(DecodeCtx& d, Insn* i) {
  if (d.lock || !(d.c->feat.l1_ecx & feat::kSse42)) return false;
  // The byte source follows the REX rules of byte registers (AH..BH without REX).
  i->mo = d.breg(d.rm);
  i->fn = d.mod != 3 ? &crc32<uint8_t, true> : &crc32<uint8_t, false>;
  return true;
}
bool dec_crc32_v(DecodeCtx& d, Insn* i) {
  if (d.lock || !(d.c->feat.l1_ecx & feat::kSse42)) return false;
  const bool m = d.mod != 3;
  if (d.rex_w) i->fn = m ? &crc32<uint64_t, true> : &crc32<uint64_t, false>;
  else if (d.opsize_prefix) i->fn = m ? &crc32<uint16_t, true> : &crc32<uint16_t, false>;
  else i->fn = m ? &crc32<uint32_t, true> : &crc32<uint32_t, false>;
  return true;
}

}  // namespace

void register_sse42(OpTables& t) {
  const uint32_t imm = opf::kModrm | opf::kImm8;
  sse_register(t, 3, 0x60, kPfx66, kFeatSse42, dec_pcmpstr<true, false>, imm);
  sse_register(t, 3, 0x61, kPfx66, kFeatSse42, dec_pcmpstr<true, true>, imm);
  sse_register(t, 3, 0x62, kPfx66, kFeatSse42, dec_pcmpstr<false, false>, imm);
  sse_register(t, 3, 0x63, kPfx66, kFeatSse42, dec_pcmpstr<false, true>, imm);
  t.crc32_f2[0] = dec_crc32_8;  // through the MOVBE decoder (OpTables::crc32_f2)
  t.crc32_f2[1] = dec_crc32_v;
}

}  // namespace tsvirt::soft
