// FXSAVE, FXRSTOR, LDMXCSR, STMXCSR: the memory forms /0-/3 of 0F AE, handed over by the
// system family through OpTables::group_0fae_mem.
//
// Intel SDM vol. 1, 10.5.1 (FXSAVE area, tables 10-2 and 10-3) and vol. 2 per instruction.
// The image: FCW, FSW, abridged FTW (bit per physical register, 1 = not empty), FOP, then
// FIP/FDP as 64-bit offsets with REX.W (FXSAVE64) or as 32-bit offsets with their selectors
// otherwise, MXCSR and MXCSR_MASK (0xFFFF: DAZ supported, no misaligned-SSE mode), ST0-ST7
// in stack order in 16-byte slots, then XMM0-XMM15 (XMM0-XMM7 outside 64-bit mode).
// Reserved bytes inside the defined fields are written as zero; bytes 416-511 are never
// written (464-511 are software's). FXSAVE always stores the last-instruction pointers (as
// Intel processors do; AMD processors store them only while an exception is pending).
// With CR4.OSFXSR clear, XMM registers are neither saved nor restored (implementation-
// dependent per the SDM); MXCSR still is.
//
// Exceptions: #NM when CR0.EM or CR0.TS (FXSAVE/FXRSTOR do not raise #UD for EM), #GP(0)
// for an operand not 16-byte aligned, #GP(0) when FXRSTOR or LDMXCSR would set a reserved
// MXCSR bit; LDMXCSR/STMXCSR follow the SSE rules (#UD for EM or !OSFXSR, #NM for TS).
#include "soft/fp_mem.h"
#include "soft/x87.h"

namespace tsvirt::soft {

namespace {

constexpr uint32_t kMxcsrMask = mxcsr::kWritable;

inline void fx_check(Core* c) {
  if (SOFT_UNLIKELY(c->cr0 & (cr0::EM | cr0::TS))) c->raise_fault(vec::NM);
}

template <bool W64> const Insn* fxsave(Core* c, const Insn* i) {
  fx_check(c);
  const uint64_t e = ea(c, i);
  fp_check_align(c, i->seg, e, 16);
  const FpuState& f = c->fpu;
  alignas(16) uint8_t img[416];
  std::memset(img, 0, sizeof(img));
  auto put16 = [&](unsigned o, uint16_t v) { std::memcpy(img + o, &v, 2); };
  auto put32 = [&](unsigned o, uint32_t v) { std::memcpy(img + o, &v, 4); };
  auto put64 = [&](unsigned o, uint64_t v) { std::memcpy(img + o, &v, 8); };
  put16(0, f.fcw);
  put16(2, f.fsw);
  img[4] = x87_abridged_tag(f);
  put16(6, uint16_t(f.fop & 0x7FF));
  if (W64) {
    put64(8, f.fip);
    put64(16, f.fdp);
  } else {
    put32(8, uint32_t(f.fip));
    put16(12, f.fcs);
    put32(16, uint32_t(f.fdp));
    put16(20, f.fds);
  }
  put32(24, f.mxcsr);
  put32(28, kMxcsrMask);
  const unsigned top = x87_top(f);
  for (unsigned k = 0; k < 8; k++) r80_to_bytes(img + 32 + 16 * k, f.st[(top + k) & 7]);
  unsigned n = 160;
  if (c->cr4 & cr4::OSFXSR) {
    const unsigned nx = c->mode64() ? 16 : 8;
    std::memcpy(img + 160, f.xmm, 16 * nx);
    n = 160 + 16 * nx;
  }
  fp_write(c, i->seg, e, i->amask, img, n);
  return next(c, i);
}

template <bool W64> const Insn* fxrstor(Core* c, const Insn* i) {
  fx_check(c);
  const uint64_t e = ea(c, i);
  fp_check_align(c, i->seg, e, 16);
  alignas(16) uint8_t img[416];
  const bool sse = (c->cr4 & cr4::OSFXSR) != 0;
  const unsigned nx = c->mode64() ? 16 : 8;
  fp_read(c, i->seg, e, i->amask, img, sse ? 160 + 16 * nx : 160);
  auto get16 = [&](unsigned o) { uint16_t v; std::memcpy(&v, img + o, 2); return v; };
  auto get32 = [&](unsigned o) { uint32_t v; std::memcpy(&v, img + o, 4); return v; };
  auto get64 = [&](unsigned o) { uint64_t v; std::memcpy(&v, img + o, 8); return v; };
  const uint32_t mx = get32(24);
  if (mx & ~kMxcsrMask) c->gp(0);
  FpuState& f = c->fpu;
  f.fcw = x87_fcw_value(get16(0));
  f.fsw = get16(2);
  f.ftw = x87_tag_from_abridged(img[4]);
  f.fop = uint16_t(get16(6) & 0x7FF);
  if (W64) {
    f.fip = get64(8);
    f.fdp = get64(16);
    f.fcs = f.fds = 0;  // the 64-bit image has no selectors
  } else {
    f.fip = get32(8);
    f.fcs = get16(12);
    f.fdp = get32(16);
    f.fds = get16(20);
  }
  f.mxcsr = mx;
  const unsigned top = x87_top(f);
  for (unsigned k = 0; k < 8; k++) r80_from_bytes(f.st[(top + k) & 7], img + 32 + 16 * k);
  if (sse) std::memcpy(f.xmm, img + 160, 16 * nx);
  x87_sync_es(f);
  return next(c, i);
}

const Insn* ldmxcsr(Core* c, const Insn* i) {
  check_sse(c);
  const uint32_t v = c->rd<uint32_t>(i->seg, ea(c, i));
  if (v & ~kMxcsrMask) c->gp(0);
  c->fpu.mxcsr = v;
  return next(c, i);
}

const Insn* stmxcsr(Core* c, const Insn* i) {
  check_sse(c);
  c->wr<uint32_t>(i->seg, ea(c, i), c->fpu.mxcsr);
  return next(c, i);
}

bool dec_fxsave(DecodeCtx& d, Insn* i) {
  if (d.rep != 0) return false;
  i->fn = d.rex_w ? &fxsave<true> : &fxsave<false>;
  return true;
}
bool dec_fxrstor(DecodeCtx& d, Insn* i) {
  if (d.rep != 0) return false;
  i->fn = d.rex_w ? &fxrstor<true> : &fxrstor<false>;
  return true;
}
bool dec_ldmxcsr(DecodeCtx& d, Insn* i) {
  if (d.rep != 0 || d.opsize_prefix) return false;
  i->fn = ldmxcsr;
  return true;
}
bool dec_stmxcsr(DecodeCtx& d, Insn* i) {
  if (d.rep != 0 || d.opsize_prefix) return false;
  i->fn = stmxcsr;
  return true;
}

}  // namespace

void register_fxsave(OpTables& t) {
  t.group_0fae_mem[0] = dec_fxsave;
  t.group_0fae_mem[1] = dec_fxrstor;
  t.group_0fae_mem[2] = dec_ldmxcsr;
  t.group_0fae_mem[3] = dec_stmxcsr;
  t.features.l1_edx |= feat::kFxsr;
}

}  // namespace tsvirt::soft
