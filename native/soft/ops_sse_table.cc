// The mandatory-prefix dispatch table of the MMX/SSE families and the SIMD floating-point
// exception (sse.h describes both).
#include <cstdio>
#include <cstdlib>

#include "soft/sse.h"

namespace tsvirt::soft {

namespace {

struct Slot {
  DecodeFn fn = nullptr;
  SseFeature need = kFeatMmx;
};

// [map][opcode][prefix class]; filled once while the opcode tables are built.
Slot g_slots[4][256][4];

bool has_feature(const Core* c, SseFeature f) {
  switch (f) {
    case kFeatMmx: return c->feat.l1_edx & feat::kMmx;
    case kFeatSse: return c->feat.l1_edx & feat::kSse;
    case kFeatSse2: return c->feat.l1_edx & feat::kSse2;
    case kFeatSse3: return c->feat.l1_ecx & feat::kSse3;
    case kFeatSsse3: return c->feat.l1_ecx & feat::kSsse3;
    case kFeatSse41: return c->feat.l1_ecx & feat::kSse41;
    case kFeatSse42: return c->feat.l1_ecx & feat::kSse42;
  }
  return false;
}

bool dec_sse(DecodeCtx& d, Insn* i) {
  const Slot& s = g_slots[d.map][d.opcode][i->mprefix];
  if (s.fn == nullptr || d.lock || !has_feature(d.c, s.need)) return false;
  return s.fn(d, i);
}

}  // namespace

void sse_register(OpTables& t, int map, unsigned op, unsigned pfx, SseFeature need, DecodeFn fn,
                  uint32_t opflags) {
  Slot& s = g_slots[map][op & 0xFF][pfx & 3];
  const OpDesc& desc = t.map[map][op & 0xFF];
  if (s.fn != nullptr || (desc.decode == dec_sse && desc.flags != opflags)) {
    std::fprintf(stderr, "soft cpu: SSE opcode map %d byte %02x prefix %u registered twice or with "
                 "different flags\n", map, op & 0xFF, pfx);
    std::abort();
  }
  s.fn = fn;
  s.need = need;
  if (desc.decode != dec_sse) register_op(t, map, op, dec_sse, opflags, "sse");
}

// The MMX/SSE families. CPUID advertises an extension once every instruction of it is
// implemented and the host processor has the instructions its floating-point operations
// run on (sse.h); otherwise its opcodes decode to #UD through the feature check above.
void register_sse(OpTables& t) {
  register_sse_move(t);
  register_sse_int(t);
  register_sse_shuffle(t);
  register_sse_fp(t);
  register_sse_cvt(t);
  register_ssse3(t);
  register_sse41(t);
  register_sse41_fp(t);
  register_sse42(t);
  __builtin_cpu_init();
  t.features.l1_edx |= feat::kMmx | feat::kSse | feat::kSse2;
  if (__builtin_cpu_supports("sse3")) t.features.l1_ecx |= feat::kSse3 | feat::kSsse3;
  if (__builtin_cpu_supports("sse4.1")) t.features.l1_ecx |= feat::kSse41 | feat::kSse42;
}

[[noreturn]] void sse_raise_xm_flags(Core* c, uint32_t set) {
  c->fpu.mxcsr |= set;
  if (c->cr4 & cr4::OSXMMEXCPT) c->raise_fault(vec::XM);
  c->ud();
}

[[noreturn]] void sse_raise_xm(Core* c, uint32_t flags) {
  constexpr uint32_t kPre = mxcsr::IE | mxcsr::DE | mxcsr::ZE;
  const uint32_t unmasked = flags & ~(c->fpu.mxcsr >> mxcsr::kMaskShift) & mxcsr::kFlags;
  c->fpu.mxcsr |= (unmasked & kPre) ? (flags & kPre) : flags;
  if (c->cr4 & cr4::OSXMMEXCPT) c->raise_fault(vec::XM);
  c->ud();
}

}  // namespace tsvirt::soft
