// Internals shared by the MMX and SSE instruction families (ops_mmx*.cc, ops_sse*.cc):
// availability checks, the MMX/x87 aliasing, operand access, the per-prefix opcode
// dispatch, and host execution of floating-point operations under the guest MXCSR.
//
// Dispatch: SSE opcodes select the instruction by their mandatory prefix (none, 66, F3,
// F2; Insn::mprefix). Families register one decoder per (map, opcode, prefix) with
// sse_register(); the first registration of an opcode installs the shared decoder in the
// OpTables, which looks the prefix up in this table, checks the CPUID feature the
// instruction needs (a guest whose CPUID hides SSE4.1 gets #UD for it, SDM vol. 2, 2.x
// "#UD if CPUID.xx = 0"), and calls the family's decoder. An empty slot is #UD.
//
// Floating point (SDM vol. 1, 11.5): arithmetic runs on the host's own SSE unit with the
// guest's rounding control, DAZ and FTZ loaded into the host MXCSR and every exception
// masked, so results and flags are the hardware's. The flags raised are then merged into
// the guest MXCSR; when one of them is unmasked in the guest, the destination is left
// unchanged and #XM (CR4.OSXMMEXCPT=1) or #UD (=0) is raised, with the flags set as the
// processor sets them for an unmasked exception: only the pre-computation flags (IE, DE,
// ZE) when one of those is unmasked, else all flags detected.
#pragma once

#include <emmintrin.h>

#include "soft/fp_mem.h"
#include "soft/ops.h"

namespace tsvirt::soft {

// ---- checks (SDM vol. 3, 2.5 table 2-2; vol. 2 per instruction) ----

// MMX: #UD when CR0.EM, #NM when CR0.TS, #MF for a pending x87 exception (CR0.NE=1).
inline void mmx_check(Core* c) {
  if (SOFT_UNLIKELY(c->cr0 & (cr0::EM | cr0::TS))) {
    if (c->cr0 & cr0::EM) c->ud();
    c->raise_fault(vec::NM);
  }
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) c->raise_fault(vec::MF);
}

// An MMX instruction puts the x87 unit in MMX state: TOP = 0, every register valid
// (SDM vol. 1, 9.5.1). Writing MMX register n sets the exponent field to all ones.
inline void mmx_enter(Core* c) {
  c->fpu.fsw &= uint16_t(~fsw::kTopMask);
  c->fpu.ftw = 0;
}
inline uint64_t mmx_reg(const Core* c, unsigned n) { return c->fpu.st[n & 7].mant; }
inline void mmx_set(Core* c, unsigned n, uint64_t v) {
  c->fpu.st[n & 7].mant = v;
  c->fpu.st[n & 7].exp = 0xFFFF;
}

// ---- operands ----

inline Xmm& xreg(Core* c, unsigned n) { return c->fpu.xmm[n]; }

// Source operand forms of an XMM instruction (register, or memory of a given width).
enum SrcForm : int { kSrcReg = 0, kSrcM128A, kSrcM128U, kSrcM64, kSrcM32, kSrcM16, kSrcM8 };

template <int S> inline Xmm xsrc(Core* c, const Insn* i) {
  if constexpr (S == kSrcReg) {
    return c->fpu.xmm[i->rm];
  } else {
    const uint64_t e = ea(c, i);
    Xmm v;
    if constexpr (S == kSrcM128A) {
      fp_check_align(c, i->seg, e, 16);
      return fp_ld128(c, i->seg, e, i->amask);
    } else if constexpr (S == kSrcM128U) {
      return fp_ld128(c, i->seg, e, i->amask);
    } else if constexpr (S == kSrcM64) {
      v.q[0] = c->rd<uint64_t>(i->seg, e);
    } else if constexpr (S == kSrcM32) {
      v.q[0] = c->rd<uint32_t>(i->seg, e);
    } else if constexpr (S == kSrcM16) {
      v.q[0] = c->rd<uint16_t>(i->seg, e);
    } else {
      v.q[0] = c->rd<uint8_t>(i->seg, e);
    }
    return v;
  }
}

// MMX source: register ModRM.rm (REX.B ignored) or m64.
template <bool M> inline uint64_t msrc(Core* c, const Insn* i) {
  if constexpr (M) return c->rd<uint64_t>(i->seg, ea(c, i));
  else return mmx_reg(c, i->rm);
}

inline __m128i ld(const Xmm& x) { return _mm_load_si128(reinterpret_cast<const __m128i*>(x.q)); }
inline void st(Xmm& x, __m128i v) { _mm_store_si128(reinterpret_cast<__m128i*>(x.q), v); }
inline __m128i ld64(uint64_t v) { return _mm_cvtsi64_si128(int64_t(v)); }
inline uint64_t lo64(__m128i v) { return uint64_t(_mm_cvtsi128_si64(v)); }

// ---- dispatch ----

// CPUID features an instruction requires.
enum SseFeature : uint8_t { kFeatMmx = 0, kFeatSse, kFeatSse2, kFeatSse3, kFeatSsse3, kFeatSse41, kFeatSse42 };

// Prefix classes (Insn::mprefix).
enum SsePrefix : unsigned { kPfxNone = 0, kPfx66 = 1, kPfxF3 = 2, kPfxF2 = 3 };

// Registers `fn` for opcode `op` of `map` (1 = 0F, 2 = 0F38, 3 = 0F3A) under mandatory
// prefix `pfx`. `opflags` (opf::*) must be the same for every prefix of one opcode.
void sse_register(OpTables& t, int map, unsigned op, unsigned pfx, SseFeature need, DecodeFn fn,
                  uint32_t opflags = opf::kModrm);

// Registration of the MMX/SSE files (called by register_sse, ops_sse_table.cc).
void register_sse_move(OpTables& t);     // ops_sse_move.cc
void register_sse_int(OpTables& t);      // ops_sse_int.cc
void register_sse_shuffle(OpTables& t);  // ops_sse_shuffle.cc
void register_sse_fp(OpTables& t);       // ops_sse_fp.cc
void register_sse_cvt(OpTables& t);      // ops_sse_cvt.cc
void register_ssse3(OpTables& t);        // ops_ssse3.cc
void register_sse41(OpTables& t);        // ops_sse41.cc
void register_sse41_fp(OpTables& t);     // ops_sse41_fp.cc
void register_sse42(OpTables& t);        // ops_sse42.cc

// ---- floating point on the host ----

inline uint32_t host_getcsr() {
  uint32_t v;
  asm volatile("stmxcsr %0" : "=m"(v));
  return v;
}
inline void host_setcsr(uint32_t v) { asm volatile("ldmxcsr %0" : : "m"(v)); }

// Runs f() once on the host under control word `ctl` (exceptions masked, flags cleared) and
// returns the flags it raised, then puts the host MXCSR back to the ABI default (1F80h:
// round to nearest, all masked, no DAZ/FTZ), the state vCPU threads run in; the flags of
// the host's own code are not kept (nothing on a vCPU thread reads them).
template <class F> inline uint32_t mx_exec(uint32_t ctl, F& f) {
  host_setcsr(ctl);
  f();
  const uint32_t flags = host_getcsr() & mxcsr::kFlags;
  host_setcsr(mxcsr::kDefault);
  return flags;
}

// Runs f() with the guest's RC/DAZ/FZ and all exceptions masked; returns the flags raised.
// With underflow unmasked in the guest, tininess alone signals UE (SDM vol. 1, 11.5.2.2),
// while the masked host reports it only for an inexact tiny result: f() then runs a second
// time with FTZ set, which raises UE for every tiny result, exact or not. f() must compute
// its outputs from its inputs only (it may run twice).
template <class F> inline uint32_t mx_run(const Core* c, F f) {
  const uint32_t g = c->fpu.mxcsr;
  uint32_t ctl = (g & (mxcsr::DAZ | mxcsr::RC | mxcsr::FZ)) | mxcsr::kMasks;
  if (SOFT_LIKELY(g & mxcsr::UM)) return mx_exec(ctl, f);
  ctl &= ~mxcsr::FZ;  // FTZ applies only while underflow is masked
  const uint32_t flags = mx_exec(ctl, f);
  return flags | (mx_exec(ctl | mxcsr::FZ, f) & mxcsr::UE);
}

[[noreturn]] void sse_raise_xm(Core* c, uint32_t flags);
// The same with the flags to set already decided (multi-step operations such as DPPS).
[[noreturn]] void sse_raise_xm_flags(Core* c, uint32_t set);

// Merge the flags an operation raised; raises #XM/#UD (before the destination is written)
// when one is unmasked.
inline void sse_flags(Core* c, uint32_t flags) {
  if (SOFT_UNLIKELY(flags & ~(c->fpu.mxcsr >> mxcsr::kMaskShift) & mxcsr::kFlags)) sse_raise_xm(c, flags);
  c->fpu.mxcsr |= flags;
}

// A floating-point operation xmm = OP(xmm, src) on the host: OP::f(__m128i& dst, __m128i src)
// is one host instruction. Source form S (sse.h SrcForm).
template <class OP, int S> const Insn* sse_fp_op(Core* c, const Insn* i) {
  check_sse(c);
  const Xmm bx = xsrc<S>(c, i);
  const __m128i a0 = ld(xreg(c, i->reg));
  const __m128i b = ld(bx);
  __m128i a;
  const uint32_t flags = mx_run(c, [&] {
    a = a0;
    OP::f(a, b);
  });
  sse_flags(c, flags);
  st(xreg(c, i->reg), a);
  return next(c, i);
}

}  // namespace tsvirt::soft
