// Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP (00-3D, group 1 80-83),
// TEST (84, 85, A8, A9, F6/F7 /0 /1), INC/DEC (40-4F outside 64-bit mode, FE /0 /1,
// FF /0 /1 via pickers), NOT/NEG (F6/F7 /2 /3 via pickers).
//
// Intel SDM vol. 2 for each instruction; flags are recorded lazily (flags.h) and are exact
// for all of them (AF included). LOCK is honoured on memory destinations with a host
// compare-and-swap (mem.h Rmw::locked), so these are atomic across vCPUs.
#include <unordered_map>

#include "soft/flagopt.h"
#include "soft/ops.h"
#include "soft/pickers.h"

namespace tsvirt::soft {

namespace {

enum AluOp { kOpAdd = 0, kOpOr, kOpAdc, kOpSbb, kOpAnd, kOpSub, kOpXor, kOpCmp };

template <class T, int OP> inline T alu_val(T a, T b, T cin) {
  switch (OP) {
    case kOpAdd: return T(a + b);
    case kOpOr: return T(a | b);
    case kOpAdc: return T(a + b + cin);
    case kOpSbb: return T(a - b - cin);
    case kOpAnd: return T(a & b);
    case kOpSub: case kOpCmp: return T(a - b);
    default: return T(a ^ b);
  }
}

template <class T, int OP> inline void alu_flags(Core* c, T a, T b, T r) {
  switch (OP) {
    case kOpAdd: case kOpAdc: set_lf<T>(c, kAdd, r, a, b); break;
    case kOpSub: case kOpSbb: case kOpCmp: set_lf<T>(c, kSub, r, a, b); break;
    default: set_lf<T>(c, kLogic, r, a, b); break;
  }
}

template <class T, int OP> inline T carry_in(Core* c) {
  return (OP == kOpAdc || OP == kOpSbb) ? T(get_cf(c) ? 1 : 0) : T(0);
}

template <class T, int OP> inline T alu(Core* c, T a, T b) {
  const T r = alu_val<T, OP>(a, b, carry_in<T, OP>(c));
  alu_flags<T, OP>(c, a, b, r);
  return r;
}

// op r/m, reg
template <class T, int OP, bool M> const Insn* alu_rm_r(Core* c, const Insn* i) {
  const T b = get_reg<T>(c, i->ro);
  if constexpr (M) {
    if constexpr (OP == kOpCmp) {
      alu<T, OP>(c, c->rd<T>(i->seg, ea(c, i)), b);
    } else {
      Rmw<T> m(c, i->seg, ea(c, i));
      m.store(alu<T, OP>(c, m.load(), b));
    }
  } else {
    const T r = alu<T, OP>(c, get_reg<T>(c, i->mo), b);
    if constexpr (OP != kOpCmp) set_reg<T>(c, i->mo, r);
  }
  return next(c, i);
}

template <class T, int OP> const Insn* alu_rm_r_lock(Core* c, const Insn* i) {
  const T b = get_reg<T>(c, i->ro);
  const T cin = carry_in<T, OP>(c);
  Rmw<T> m(c, i->seg, ea(c, i));
  const T old = m.locked([&](T a) { return alu_val<T, OP>(a, b, cin); });
  alu_flags<T, OP>(c, old, b, alu_val<T, OP>(old, b, cin));
  return next(c, i);
}

// op reg, r/m
template <class T, int OP, bool M> const Insn* alu_r_rm(Core* c, const Insn* i) {
  const T b = read_rm<T, M>(c, i);
  const T r = alu<T, OP>(c, get_reg<T>(c, i->ro), b);
  if constexpr (OP != kOpCmp) set_reg<T>(c, i->ro, r);
  return next(c, i);
}

// op r/m, imm (also AL/eAX, imm with mo = 0)
template <class T, int OP, bool M> const Insn* alu_rm_i(Core* c, const Insn* i) {
  const T b = T(i->imm);
  if constexpr (M) {
    if constexpr (OP == kOpCmp) {
      alu<T, OP>(c, c->rd<T>(i->seg, ea(c, i)), b);
    } else {
      Rmw<T> m(c, i->seg, ea(c, i));
      m.store(alu<T, OP>(c, m.load(), b));
    }
  } else {
    const T r = alu<T, OP>(c, get_reg<T>(c, i->mo), b);
    if constexpr (OP != kOpCmp) set_reg<T>(c, i->mo, r);
  }
  return next(c, i);
}

template <class T, int OP> const Insn* alu_rm_i_lock(Core* c, const Insn* i) {
  const T b = T(i->imm);
  const T cin = carry_in<T, OP>(c);
  Rmw<T> m(c, i->seg, ea(c, i));
  const T old = m.locked([&](T a) { return alu_val<T, OP>(a, b, cin); });
  alu_flags<T, OP>(c, old, b, alu_val<T, OP>(old, b, cin));
  return next(c, i);
}

template <class T, bool M> const Insn* test_rm_r(Core* c, const Insn* i) {
  const T r = T(read_rm<T, M>(c, i) & get_reg<T>(c, i->ro));
  set_lf<T>(c, kLogic, r, r, r);
  return next(c, i);
}

template <class T, bool M> const Insn* test_rm_i(Core* c, const Insn* i) {
  const T r = T(read_rm<T, M>(c, i) & T(i->imm));
  set_lf<T>(c, kLogic, r, r, r);
  return next(c, i);
}

template <class T, bool DEC, bool M> const Insn* incdec_rm(Core* c, const Insn* i) {
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    const T a = m.load();
    const T r = DEC ? T(a - 1) : T(a + 1);
    m.store(r);
    set_lf_incdec<T>(c, DEC ? kDec : kInc, r, a);
  } else {
    const T a = get_reg<T>(c, i->mo);
    const T r = DEC ? T(a - 1) : T(a + 1);
    set_reg<T>(c, i->mo, r);
    set_lf_incdec<T>(c, DEC ? kDec : kInc, r, a);
  }
  return next(c, i);
}

template <class T, bool DEC> const Insn* incdec_lock(Core* c, const Insn* i) {
  Rmw<T> m(c, i->seg, ea(c, i));
  const T a = m.locked([](T v) { return DEC ? T(v - 1) : T(v + 1); });
  set_lf_incdec<T>(c, DEC ? kDec : kInc, DEC ? T(a - 1) : T(a + 1), a);
  return next(c, i);
}

template <class T, bool M> const Insn* not_rm(Core* c, const Insn* i) {
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    m.store(T(~m.load()));
  } else {
    set_reg<T>(c, i->mo, T(~get_reg<T>(c, i->mo)));
  }
  return next(c, i);
}

template <class T> const Insn* not_lock(Core* c, const Insn* i) {
  Rmw<T> m(c, i->seg, ea(c, i));
  m.locked([](T v) { return T(~v); });
  return next(c, i);
}

template <class T, bool M> const Insn* neg_rm(Core* c, const Insn* i) {
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    const T a = m.load();
    const T r = T(0 - a);
    m.store(r);
    set_lf<T>(c, kSub, r, T(0), a);
  } else {
    const T a = get_reg<T>(c, i->mo);
    const T r = T(0 - a);
    set_reg<T>(c, i->mo, r);
    set_lf<T>(c, kSub, r, T(0), a);
  }
  return next(c, i);
}

template <class T> const Insn* neg_lock(Core* c, const Insn* i) {
  Rmw<T> m(c, i->seg, ea(c, i));
  const T a = m.locked([](T v) { return T(0 - v); });
  set_lf<T>(c, kSub, T(0 - a), T(0), a);
  return next(c, i);
}

// Variants for instructions whose flags a later instruction of the same block overwrites
// before anything can observe them (flagopt.cc decides; the exact handler stays in
// Insn::exact for single-stepping and partial blocks). Register operands only.
template <class T, int OP> const Insn* alu_rm_r_nf(Core* c, const Insn* i) {
  if constexpr (OP != kOpCmp) {
    const T b = get_reg<T>(c, i->ro);
    set_reg<T>(c, i->mo, alu_val<T, OP>(get_reg<T>(c, i->mo), b, carry_in<T, OP>(c)));
  }
  return next(c, i);
}

template <class T, int OP> const Insn* alu_r_rm_nf(Core* c, const Insn* i) {
  if constexpr (OP != kOpCmp) {
    const T b = get_reg<T>(c, i->mo);
    set_reg<T>(c, i->ro, alu_val<T, OP>(get_reg<T>(c, i->ro), b, carry_in<T, OP>(c)));
  }
  return next(c, i);
}

template <class T, int OP> const Insn* alu_rm_i_nf(Core* c, const Insn* i) {
  if constexpr (OP != kOpCmp) {
    set_reg<T>(c, i->mo, alu_val<T, OP>(get_reg<T>(c, i->mo), T(i->imm), carry_in<T, OP>(c)));
  }
  return next(c, i);
}

// TEST/CMP with dead flags change nothing.
const Insn* flags_only_nf(Core* c, const Insn* i) { return next(c, i); }

// INC/DEC whose flags are all dead.
template <class T, bool DEC> const Insn* incdec_r_nf(Core* c, const Insn* i) {
  const T a = get_reg<T>(c, i->mo);
  set_reg<T>(c, i->mo, DEC ? T(a - 1) : T(a + 1));
  return next(c, i);
}

// INC/DEC whose CF (the one it carries over from the previous operation) is dead: the
// other flags are recorded as usual, CF as 0.
template <class T, bool DEC> const Insn* incdec_r_nocf(Core* c, const Insn* i) {
  const T a = get_reg<T>(c, i->mo);
  const T r = DEC ? T(a - 1) : T(a + 1);
  set_reg<T>(c, i->mo, r);
  set_lf<T>(c, DEC ? kDec : kInc, r, a, T(0));
  return next(c, i);
}

#define SOFT_SIZES(NAME, ...)                                                      \
  { &NAME<uint8_t, ##__VA_ARGS__>, &NAME<uint16_t, ##__VA_ARGS__>,                   \
    &NAME<uint32_t, ##__VA_ARGS__>, &NAME<uint64_t, ##__VA_ARGS__> }
#define SOFT_ALU_OPS(NAME, ...)                                                   \
  {SOFT_SIZES(NAME, kOpAdd, ##__VA_ARGS__), SOFT_SIZES(NAME, kOpOr, ##__VA_ARGS__),   \
   SOFT_SIZES(NAME, kOpAdc, ##__VA_ARGS__), SOFT_SIZES(NAME, kOpSbb, ##__VA_ARGS__),  \
   SOFT_SIZES(NAME, kOpAnd, ##__VA_ARGS__), SOFT_SIZES(NAME, kOpSub, ##__VA_ARGS__),  \
   SOFT_SIZES(NAME, kOpXor, ##__VA_ARGS__), SOFT_SIZES(NAME, kOpCmp, ##__VA_ARGS__)}

const Handler kRmR[2][8][4] = {SOFT_ALU_OPS(alu_rm_r, false), SOFT_ALU_OPS(alu_rm_r, true)};
const Handler kRRm[2][8][4] = {SOFT_ALU_OPS(alu_r_rm, false), SOFT_ALU_OPS(alu_r_rm, true)};
const Handler kRmI[2][8][4] = {SOFT_ALU_OPS(alu_rm_i, false), SOFT_ALU_OPS(alu_rm_i, true)};
const Handler kRmRLock[8][4] = SOFT_ALU_OPS(alu_rm_r_lock);
const Handler kRmILock[8][4] = SOFT_ALU_OPS(alu_rm_i_lock);
const Handler kRmRNf[8][4] = SOFT_ALU_OPS(alu_rm_r_nf);
const Handler kRRmNf[8][4] = SOFT_ALU_OPS(alu_r_rm_nf);
const Handler kRmINf[8][4] = SOFT_ALU_OPS(alu_rm_i_nf);

bool dec_alu(DecodeCtx& d, Insn* i) {
  const int op = (d.opcode >> 3) & 7;
  const int sz = size_index_of(d.osz);
  const bool mem = is_mem(i);
  const bool lock = i->flags & insnf::kLock;
  if (lock && op == kOpCmp) return false;
  switch (d.opcode & 7) {
    case 0: case 1:
      i->fn = lock ? kRmRLock[op][sz] : kRmR[mem][op][sz];
      return true;
    case 2: case 3:
      i->fn = kRRm[mem][op][sz];
      return true;
    default:  // AL/eAX, imm
      i->mo = 0;
      i->fn = kRmI[0][op][sz];
      return true;
  }
}

bool dec_group1(DecodeCtx& d, Insn* i) {
  const int op = d.reg & 7;
  const int sz = size_index_of(d.osz);
  const bool lock = i->flags & insnf::kLock;
  if (lock && op == kOpCmp) return false;
  i->fn = lock ? kRmILock[op][sz] : kRmI[is_mem(i)][op][sz];
  return true;
}

bool dec_test(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  if (d.opcode == 0x84 || d.opcode == 0x85) {
    i->fn = mem ? SOFT_PICK(d.osz, test_rm_r, true) : SOFT_PICK(d.osz, test_rm_r, false);
  } else {  // A8/A9: AL/eAX, imm
    i->mo = 0;
    i->fn = SOFT_PICK(d.osz, test_rm_i, false);
  }
  return true;
}

// 40-47 INC r, 48-4F DEC r (16/32-bit modes only).
bool dec_incdec_reg(DecodeCtx& d, Insn* i) {
  i->mo = uint8_t((d.opcode & 7) * 8);
  i->fn = pick_incdec(d.osz, d.opcode >= 0x48, false, false);
  return true;
}

// FE: INC/DEC r/m8.
bool dec_group4(DecodeCtx& d, Insn* i) {
  if ((d.reg & 7) > 1) return false;
  i->fn = pick_incdec(1, (d.reg & 7) == 1, is_mem(i), i->flags & insnf::kLock);
  return true;
}

}  // namespace

Handler pick_test_imm(int osz, bool mem) {
  return mem ? SOFT_PICK(osz, test_rm_i, true) : SOFT_PICK(osz, test_rm_i, false);
}

Handler pick_not(int osz, bool mem, bool lock) {
  if (lock) return SOFT_PICK(osz, not_lock);
  return mem ? SOFT_PICK(osz, not_rm, true) : SOFT_PICK(osz, not_rm, false);
}

Handler pick_neg(int osz, bool mem, bool lock) {
  if (lock) return SOFT_PICK(osz, neg_lock);
  return mem ? SOFT_PICK(osz, neg_rm, true) : SOFT_PICK(osz, neg_rm, false);
}

Handler pick_incdec(int osz, bool dec, bool mem, bool lock) {
  if (lock) return dec ? SOFT_PICK(osz, incdec_lock, true) : SOFT_PICK(osz, incdec_lock, false);
  if (dec) return mem ? SOFT_PICK(osz, incdec_rm, true, true) : SOFT_PICK(osz, incdec_rm, true, false);
  return mem ? SOFT_PICK(osz, incdec_rm, false, true) : SOFT_PICK(osz, incdec_rm, false, false);
}

namespace {

// Exact register-form handler -> what flagopt.cc may replace it with.
std::unordered_map<Handler, FlagVariants> build_flag_variants() {
  std::unordered_map<Handler, FlagVariants> m;
  for (int op = 0; op < 8; op++) {
    const bool reads_cf = op == kOpAdc || op == kOpSbb;
    const bool logic = op == kOpOr || op == kOpAnd || op == kOpXor;
    for (int sz = 0; sz < 4; sz++) {
      m[kRmR[0][op][sz]] = {FlagVariants::kWritesAll, reads_cf, logic, kRmRNf[op][sz], nullptr};
      m[kRRm[0][op][sz]] = {FlagVariants::kWritesAll, reads_cf, logic, kRRmNf[op][sz], nullptr};
      m[kRmI[0][op][sz]] = {FlagVariants::kWritesAll, reads_cf, logic, kRmINf[op][sz], nullptr};
    }
  }
  const Handler test_r[4] = SOFT_SIZES(test_rm_r, false);
  const Handler test_i[4] = SOFT_SIZES(test_rm_i, false);
  const Handler inc[4] = SOFT_SIZES(incdec_rm, false, false);
  const Handler dec[4] = SOFT_SIZES(incdec_rm, true, false);
  const Handler inc_nf[4] = SOFT_SIZES(incdec_r_nf, false);
  const Handler dec_nf[4] = SOFT_SIZES(incdec_r_nf, true);
  const Handler inc_nocf[4] = SOFT_SIZES(incdec_r_nocf, false);
  const Handler dec_nocf[4] = SOFT_SIZES(incdec_r_nocf, true);
  for (int sz = 0; sz < 4; sz++) {
    m[test_r[sz]] = {FlagVariants::kWritesAll, false, true, flags_only_nf, nullptr};
    m[test_i[sz]] = {FlagVariants::kWritesAll, false, true, flags_only_nf, nullptr};
    m[inc[sz]] = {FlagVariants::kWritesAllButCf, false, false, inc_nf[sz], inc_nocf[sz]};
    m[dec[sz]] = {FlagVariants::kWritesAllButCf, false, false, dec_nf[sz], dec_nocf[sz]};
  }
  return m;
}

}  // namespace

const FlagVariants* flag_variants(Handler exact) {
  static const std::unordered_map<Handler, FlagVariants> table = build_flag_variants();
  auto it = table.find(exact);
  return it == table.end() ? nullptr : &it->second;
}

void register_alu(OpTables& t) {
  const char* fam = "alu";
  for (unsigned base = 0; base < 0x40; base += 8) {
    const bool cmp = base == 0x38;
    const uint32_t lk = cmp ? 0 : opf::kLockable;
    register_op(t, 0, base + 0, dec_alu, opf::kModrm | opf::kByteOp | lk, fam);
    register_op(t, 0, base + 1, dec_alu, opf::kModrm | lk, fam);
    register_op(t, 0, base + 2, dec_alu, opf::kModrm | opf::kByteOp, fam);
    register_op(t, 0, base + 3, dec_alu, opf::kModrm, fam);
    register_op(t, 0, base + 4, dec_alu, opf::kImm8 | opf::kByteOp, fam);
    register_op(t, 0, base + 5, dec_alu, opf::kImmZ, fam);
  }
  register_op(t, 0, 0x80, dec_group1, opf::kModrm | opf::kByteOp | opf::kImm8 | opf::kLockable, fam);
  register_op(t, 0, 0x81, dec_group1, opf::kModrm | opf::kImmZ | opf::kLockable, fam);
  register_op(t, 0, 0x82, dec_group1,
              opf::kModrm | opf::kByteOp | opf::kImm8 | opf::kLockable | opf::kInvalid64, fam);
  register_op(t, 0, 0x83, dec_group1, opf::kModrm | opf::kImm8 | opf::kLockable, fam);
  register_op(t, 0, 0x84, dec_test, opf::kModrm | opf::kByteOp, fam);
  register_op(t, 0, 0x85, dec_test, opf::kModrm, fam);
  register_op(t, 0, 0xA8, dec_test, opf::kImm8 | opf::kByteOp, fam);
  register_op(t, 0, 0xA9, dec_test, opf::kImmZ, fam);
  for (unsigned op = 0x40; op < 0x50; op++) {
    register_op(t, 0, op, dec_incdec_reg, opf::kInvalid64, fam);
  }
  register_op(t, 0, 0xFE, dec_group4, opf::kModrm | opf::kByteOp | opf::kLockable, fam);
}

}  // namespace tsvirt::soft
