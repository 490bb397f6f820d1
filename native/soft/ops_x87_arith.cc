// Fast paths of the x87 arithmetic instructions: FADD FMUL FSUB FSUBR FDIV FDIVR with an
// m32fp/m64fp/m16int/m32int operand (D8, DC, DE, DA /0 /1 /4-/7), their register forms
// ST(0) op ST(i) (D8), ST(i) op ST(0) (DC) and the popping forms (DE), and the compares
// FCOM/FCOMP/FUCOM/FUCOMP/FCOMPP/FUCOMPP, FCOMI/FUCOMI(P) and FTST.
//
// Each runs the instruction's own host form (e.g. `fadds (mem)` for FADD m32fp) on the
// host FPU under the guest's precision and rounding control, so results and flags are the
// hardware's (x87.h). They apply when every exception is masked and no operand register
// is empty (and a popping form cannot underflow); otherwise they fall back to the general
// path, which also handles stack faults and unmasked exceptions exactly. Arithmetic sets
// C1 to the round-up indication and leaves C0/C2/C3 as they were (as the host does).
#include "soft/x87.h"

namespace tsvirt::soft {

namespace {

enum ArithOp { kAdd = 0, kMul = 1, kCom = 2, kComp = 3, kSub = 4, kSubr = 5, kDiv = 6, kDivr = 7 };
enum Kind { kReg = 0, kF32 = 1, kF64 = 2, kI16 = 3, kI32 = 4 };

constexpr uint16_t kHostDefaultCw = 0x037F;

// a OP b on the host: st0 = a, then the instruction with operand b (memory or ST(1)).
// Returns the host status word; *r receives the result.
// The control word is loaded only when it differs from the host's (037F, the ABI default).
#define X87_HOST_FN(NAME, BODY, BTYPE)                                                   \
  inline uint16_t NAME(Reg80* r, const Reg80* a, const BTYPE* b, uint16_t cw) {         \
    uint16_t sw;                                                                         \
    if (SOFT_LIKELY(cw == kHostDefaultCw)) {                                             \
      asm volatile(BODY : [r] "=m"(*r), [sw] "=m"(sw) : [a] "m"(*a), [b] "m"(*b)         \
                   : "st", "st(1)", "memory");                                           \
    } else {                                                                             \
      asm volatile("fldcw %[cw]\n\t" BODY "\n\tfldcw %[dcw]"                             \
                   : [r] "=m"(*r), [sw] "=m"(sw)                                         \
                   : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw), [dcw] "m"(kHostDefaultCw)   \
                   : "st", "st(1)", "memory");                                           \
    }                                                                                    \
    return sw;                                                                           \
  }

// The status word is read right after the operation: the store that follows resets C1.
#define X87_REG_BODY(INSN) \
  "fldt %[b]\n\tfldt %[a]\n\t" INSN " %%st(1), %%st\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfstp %%st(0)"
#define X87_MEM_BODY(INSN) "fldt %[a]\n\t" INSN " %[b]\n\tfnstsw %[sw]\n\tfstpt %[r]"

// Register, m32fp, m64fp, m16int and m32int forms of one operation (AT&T mnemonics:
// fadd/fadds/faddl, fiadds/fiaddl).
#define X87_HOST_SET2(OPN, M, IM)                                         \
  X87_HOST_FN(host_##OPN##_reg, X87_REG_BODY("f" M), Reg80)               \
  X87_HOST_FN(host_##OPN##_f32, X87_MEM_BODY("f" M "s"), uint32_t)        \
  X87_HOST_FN(host_##OPN##_f64, X87_MEM_BODY("f" M "l"), uint64_t)        \
  X87_HOST_FN(host_##OPN##_i16, X87_MEM_BODY("fi" IM "s"), uint16_t)      \
  X87_HOST_FN(host_##OPN##_i32, X87_MEM_BODY("fi" IM "l"), uint32_t)

X87_HOST_SET2(add, "add", "add")
X87_HOST_SET2(mul, "mul", "mul")
X87_HOST_SET2(sub, "sub", "sub")
X87_HOST_SET2(subr, "subr", "subr")
X87_HOST_SET2(div, "div", "div")
X87_HOST_SET2(divr, "divr", "divr")

#undef X87_HOST_SET2
#undef X87_REG_BODY
#undef X87_MEM_BODY
#undef X87_HOST_FN

template <int OP, int K, class B> inline uint16_t host_arith(Reg80* r, const Reg80* a, const B* b, uint16_t cw) {
#define X87_SEL(OPN)                                                   \
  if constexpr (K == kReg) return host_##OPN##_reg(r, a, reinterpret_cast<const Reg80*>(b), cw);     \
  else if constexpr (K == kF32) return host_##OPN##_f32(r, a, reinterpret_cast<const uint32_t*>(b), cw); \
  else if constexpr (K == kF64) return host_##OPN##_f64(r, a, reinterpret_cast<const uint64_t*>(b), cw); \
  else if constexpr (K == kI16) return host_##OPN##_i16(r, a, reinterpret_cast<const uint16_t*>(b), cw); \
  else return host_##OPN##_i32(r, a, reinterpret_cast<const uint32_t*>(b), cw);
  if constexpr (OP == kAdd) { X87_SEL(add) }
  else if constexpr (OP == kMul) { X87_SEL(mul) }
  else if constexpr (OP == kSub) { X87_SEL(sub) }
  else if constexpr (OP == kSubr) { X87_SEL(subr) }
  else if constexpr (OP == kDiv) { X87_SEL(div) }
  else { X87_SEL(divr) }
#undef X87_SEL
}

inline void merge_arith_sw(FpuState& f, uint16_t sw) {
  f.fsw = uint16_t((f.fsw & ~fsw::C1) | (sw & (fsw::C1 | fsw::kExc)));
}

// ST(0) = ST(0) op m (D8/DC/DA/DE memory forms).
template <int OP, int K> const Insn* arith_mem(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const uint64_t e = ea(c, i);
  constexpr unsigned kSize = K == kF32 ? 4 : K == kF64 ? 8 : K == kI16 ? 2 : 4;
  if (SOFT_UNLIKELY(!x87_all_masked(f) || x87_empty(f, 0))) {
    x87_exec_load<kSize>(c, i, e);
    return next(c, i);
  }
  Reg80& st0 = x87_st(f, 0);
  Reg80 res;
  uint16_t sw;
  x87_host_enter(f);
  if constexpr (K == kF64) {
    const uint64_t m = c->rd<uint64_t>(i->seg, e);
    sw = host_arith<OP, K>(&res, &st0, &m, x87_host_cw(f.fcw));
  } else if constexpr (K == kI16) {
    const uint16_t m = c->rd<uint16_t>(i->seg, e);
    sw = host_arith<OP, K>(&res, &st0, &m, x87_host_cw(f.fcw));
  } else {
    const uint32_t m = c->rd<uint32_t>(i->seg, e);
    sw = host_arith<OP, K>(&res, &st0, &m, x87_host_cw(f.fcw));
  }
  x87_host_leave(sw);
  st0.mant = res.mant;
  st0.exp = res.exp;
  merge_arith_sw(f, sw);
  x87_note_mem(c, i, e);
  return next(c, i);
}

// D8: ST(0) = ST(0) op ST(i); DC: ST(i) = ST(i) op ST(0); DE: the same, then pop.
// `OP` is already in the destination-first sense (DC/DE swap SUB/SUBR and DIV/DIVR).
template <int OP, int FORM> const Insn* arith_reg(Core* c, const Insn* i) {
  x87_check(c);
  FpuState& f = c->fpu;
  const unsigned sti = i->rm & 7;
  if (SOFT_UNLIKELY(!x87_all_masked(f) || x87_empty(f, 0) || x87_empty(f, sti))) {
    x87_exec_reg(c, i);
    return next(c, i);
  }
  Reg80& dst = FORM == 0 ? x87_st(f, 0) : x87_st(f, sti);
  const Reg80& src = FORM == 0 ? x87_st(f, sti) : x87_st(f, 0);
  Reg80 res;
  x87_host_enter(f);
  const uint16_t sw = host_arith<OP, kReg>(&res, &dst, &src, x87_host_cw(f.fcw));
  x87_host_leave(sw);
  dst.mant = res.mant;
  dst.exp = res.exp;
  merge_arith_sw(f, sw);
  if (FORM == 2) x87_pop(f);
  x87_note_insn(c, i);
  return next(c, i);
}

template <int K> Handler pick_mem(unsigned reg) {
  switch (reg) {
    case kAdd: return &arith_mem<kAdd, K>;
    case kMul: return &arith_mem<kMul, K>;
    case kSub: return &arith_mem<kSub, K>;
    case kSubr: return &arith_mem<kSubr, K>;
    case kDiv: return &arith_mem<kDiv, K>;
    case kDivr: return &arith_mem<kDivr, K>;
    default: return nullptr;
  }
}

template <int FORM> Handler pick_reg(unsigned reg) {
  // Register forms of DC/DE encode SUBR/SUB and DIVR/DIV the other way round from D8.
  const bool swap = FORM != 0;
  switch (reg) {
    case 0: return &arith_reg<kAdd, FORM>;
    case 1: return &arith_reg<kMul, FORM>;
    case 4: return swap ? &arith_reg<kSubr, FORM> : &arith_reg<kSub, FORM>;
    case 5: return swap ? &arith_reg<kSub, FORM> : &arith_reg<kSubr, FORM>;
    case 6: return swap ? &arith_reg<kDivr, FORM> : &arith_reg<kDiv, FORM>;
    case 7: return swap ? &arith_reg<kDiv, FORM> : &arith_reg<kDivr, FORM>;
    default: return nullptr;
  }
}

}  // namespace

Handler x87_arith_fast_mem(unsigned op, unsigned reg) {
  switch (op) {
    case 0xD8: return pick_mem<kF32>(reg);
    case 0xDC: return pick_mem<kF64>(reg);
    case 0xDA: return pick_mem<kI32>(reg);
    case 0xDE: return pick_mem<kI16>(reg);
    default: return nullptr;
  }
}

Handler x87_arith_fast_reg(unsigned op, unsigned modrm) {
  const unsigned reg = (modrm >> 3) & 7;
  switch (op) {
    case 0xD8: return pick_reg<0>(reg);
    case 0xDC: return pick_reg<1>(reg);
    case 0xDE: return pick_reg<2>(reg);
    default: return nullptr;
  }
}

}  // namespace tsvirt::soft
