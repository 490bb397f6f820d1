// The x87 FPU instruction family: decoding of the escape opcodes D8..DF and FWAIT (9B),
// validity of every encoding, and the general handlers that run an instruction on the host
// FPU (x87.h explains the approach; ops_x87_host.cc holds the host code thunks).
//
// Intel SDM vol. 1, chapter 8 and vol. 2 (FADD ... FYL2XP1), opcode map appendix A.4.
// The decoder picks, per encoding, a specialised fast handler when one exists
// (ops_x87_arith.cc, ops_x87_move.cc), the control-instruction handlers
// (ops_x87_env.cc), or the general register/load/store handler below. Undefined encodings
// (D9 D1-D7, D9 E2/E3/E6/E7/EF, DA outside FCMOVcc/FUCOMPP, DB E5-E7/F8-FF, DD F0-FF,
// DE D8/DA-DF, DF E1-E7/F8-FF, and the undefined memory forms D9 /1, DB /4 /6, DD /5)
// raise #UD; the documented aliases (FSTP1 D9 D8+i, FXCH4 DD C8+i, FXCH7 DF C8+i, FCOM2
// DC D0+i, FCOMP3 DC D8+i, FCOMP5 DE D0+i, FSTP8 DF D0+i, FSTP9 DF D8+i, FFREEP DF C0+i)
// execute as on hardware. FISTTP needs SSE3 in CPUID.
#include "soft/fp_mem.h"
#include "soft/x87.h"

namespace tsvirt::soft {

void x87_exec_reg(Core* c, const Insn* i) {
  X87Host h;
  x87_host_run(c, i->op & 0xFF, unsigned(i->imm), nullptr, &h);
  x87_host_commit(c, h);
  // Only FCOMI/FUCOMI(P) change arithmetic flags; for everything else the host returns
  // the flags it was given.
  c->rfl = (c->rfl & ~fl::kArith) | (h.rflags & fl::kArith);
  x87_note_insn(c, i);
}

template <unsigned N> void x87_exec_load(Core* c, const Insn* i, uint64_t e) {
  uint8_t buf[16];
  fp_read(c, i->seg, e, i->amask, buf, N);
  X87Host h;
  x87_host_run(c, i->op & 0xFF, unsigned(i->imm), buf, &h);
  x87_host_commit(c, h);
  x87_note_mem(c, i, e);
}

template <unsigned N> void x87_exec_store(Core* c, const Insn* i, uint64_t e) {
  uint8_t buf[16] = {};
  X87Host h;
  x87_host_run(c, i->op & 0xFF, unsigned(i->imm), buf, &h);
  if (x87_store_ok(c->fpu, h.sw)) fp_write(c, i->seg, e, i->amask, buf, N);
  x87_host_commit(c, h);
  x87_note_mem(c, i, e);
}

template void x87_exec_load<2>(Core*, const Insn*, uint64_t);
template void x87_exec_load<4>(Core*, const Insn*, uint64_t);
template void x87_exec_load<8>(Core*, const Insn*, uint64_t);
template void x87_exec_load<10>(Core*, const Insn*, uint64_t);
template void x87_exec_store<2>(Core*, const Insn*, uint64_t);
template void x87_exec_store<4>(Core*, const Insn*, uint64_t);
template void x87_exec_store<8>(Core*, const Insn*, uint64_t);
template void x87_exec_store<10>(Core*, const Insn*, uint64_t);

namespace {

const Insn* x87_gen_reg(Core* c, const Insn* i) {
  x87_check(c);
  x87_exec_reg(c, i);
  return next(c, i);
}

template <unsigned N> const Insn* x87_gen_load(Core* c, const Insn* i) {
  x87_check(c);
  x87_exec_load<N>(c, i, ea(c, i));
  return next(c, i);
}

template <unsigned N> const Insn* x87_gen_store(Core* c, const Insn* i) {
  x87_check(c);
  x87_exec_store<N>(c, i, ea(c, i));
  return next(c, i);
}

// Memory forms by (opcode - D8, ModRM.reg): operand size in bytes, negative for stores,
// 0 for undefined, 1 for control instructions (ops_x87_env.cc).
constexpr int8_t kMemForm[8][8] = {
    {4, 4, 4, 4, 4, 4, 4, 4},          // D8: arithmetic m32fp
    {4, 0, -4, -4, 1, 1, 1, 1},        // D9: FLD, -, FST, FSTP m32fp; FLDENV FLDCW FNSTENV FNSTCW
    {4, 4, 4, 4, 4, 4, 4, 4},          // DA: arithmetic m32int
    {4, -4, -4, -4, 0, 10, 0, -10},    // DB: FILD, FISTTP, FIST, FISTP m32int; FLD/FSTP m80fp
    {8, 8, 8, 8, 8, 8, 8, 8},          // DC: arithmetic m64fp
    {8, -8, -8, -8, 1, 0, 1, 1},       // DD: FLD, FISTTP, FST, FSTP m64; FRSTOR FNSAVE FNSTSW
    {2, 2, 2, 2, 2, 2, 2, 2},          // DE: arithmetic m16int
    {2, -2, -2, -2, 10, 8, -10, -8},   // DF: FILD FISTTP FIST FISTP m16; FBLD FILD64 FBSTP FISTP64
};

bool reg_form_valid(unsigned op, unsigned modrm) {
  const unsigned r = (modrm >> 3) & 7, m = modrm & 7;
  switch (op) {
    case 0xD8: case 0xDC: return true;
    case 0xD9:
      switch (r) {
        case 2: return m == 0;                     // FNOP
        case 4: return m == 0 || m == 1 || m == 4 || m == 5;
        case 5: return m != 7;                     // constants
        default: return true;                      // FLD, FXCH, FSTP1, F2XM1..FCOS
      }
    case 0xDA: return r < 4 || modrm == 0xE9;      // FCMOVcc, FUCOMPP
    case 0xDB: return r < 4 || (r == 4 && m <= 4) || r == 5 || r == 6;
    case 0xDD: return r != 6 && r != 7;
    case 0xDE: return r != 3 || m == 1;            // FCOMPP is DE D9
    case 0xDF: return r < 4 || modrm == 0xE0 || r == 5 || r == 6;
    default: return false;
  }
}

bool dec_x87(DecodeCtx& d, Insn* i) {
  const unsigned op = d.opcode;
  i->imm2 = ((op & 7u) << 8) | d.modrm;  // FOP
  if (d.mod != 3) {
    const unsigned r = d.reg & 7;
    const int form = kMemForm[op - 0xD8][r];
    if (form == 0) return false;
    if (r == 1 && (op == 0xDB || op == 0xDD || op == 0xDF) && !(d.c->feat.l1_ecx & feat::kSse3)) {
      return false;  // FISTTP is SSE3
    }
    i->imm = (r << 3) | 6;  // ModRM of the host thunk: this reg field in its memory form, [rsi]
    if (form == 1) {
      i->fn = x87_env_mem(op, r, d.osz);
      return i->fn != nullptr;
    }
    Handler fast = x87_move_fast_mem(op, r);
    if (fast == nullptr) fast = x87_arith_fast_mem(op, r);
    if (fast != nullptr) {
      i->fn = fast;
      return true;
    }
    switch (form) {
      case 2: i->fn = &x87_gen_load<2>; break;
      case 4: i->fn = &x87_gen_load<4>; break;
      case 8: i->fn = &x87_gen_load<8>; break;
      case 10: i->fn = &x87_gen_load<10>; break;
      case -2: i->fn = &x87_gen_store<2>; break;
      case -4: i->fn = &x87_gen_store<4>; break;
      case -8: i->fn = &x87_gen_store<8>; break;
      default: i->fn = &x87_gen_store<10>; break;
    }
    return true;
  }
  const unsigned modrm = d.modrm;
  if (!reg_form_valid(op, modrm)) return false;
  i->imm = modrm;
  Handler h = x87_env_reg(op, modrm);
  if (h == nullptr) h = x87_move_fast_reg(op, modrm);
  if (h == nullptr) h = x87_arith_fast_reg(op, modrm);
  i->fn = h != nullptr ? h : x87_gen_reg;
  return true;
}

}  // namespace

void register_x87(OpTables& t) {
  const char* fam = "x87";
  for (unsigned op = 0xD8; op <= 0xDF; op++) register_op(t, 0, op, dec_x87, opf::kModrm, fam);
  register_op(t, 0, 0x9B, dec_fwait, 0, fam);
  t.features.l1_edx |= feat::kFpu;
}

}  // namespace tsvirt::soft
