// Bit instructions: BT/BTS/BTR/BTC (0F A3/AB/B3/BB with a register bit offset, 0F BA /4-/7
// with an immediate), BSF/BSR (0F BC/BD), TZCNT/LZCNT (F3 0F BC/BD, when CPUID advertises
// BMI1/ABM; otherwise those encodings are BSF/BSR as on older processors), POPCNT
// (F3 0F B8).
//
// Intel SDM vol. 2 per instruction. A register bit offset addresses memory beyond the
// operand (signed, in operand-size units). BT* set CF and leave ZF; OF/SF/AF/PF (undefined)
// are left unchanged. BSF/BSR with a zero source set ZF and leave the destination
// unchanged (as hardware does; the SDM says undefined). LOCK BTS/BTR/BTC are atomic.
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

enum BitOp { kBt = 0, kBts, kBtr, kBtc };

inline void set_cf_only(Core* c, bool cf) {
  materialize_flags(c);
  c->rfl = (c->rfl & ~fl::CF) | (cf ? fl::CF : 0);
}

template <class T, int OP> inline T bit_apply(T v, unsigned bit) {
  const T m = T(T(1) << bit);
  switch (OP) {
    case kBts: return T(v | m);
    case kBtr: return T(v & ~m);
    case kBtc: return T(v ^ m);
    default: return v;
  }
}

// IMM: bit offset from imm8 (modulo the size); else from the reg operand (signed).
template <class T, int OP, bool IMM, bool M, bool LOCK> const Insn* bt(Core* c, const Insn* i) {
  constexpr unsigned B = sizeof(T) * 8;
  if constexpr (!M) {
    const unsigned bit = unsigned(IMM ? i->imm : get_reg<T>(c, i->ro)) & (B - 1);
    const T v = get_reg<T>(c, i->mo);
    set_cf_only(c, (v >> bit) & 1);
    if (OP != kBt) set_reg<T>(c, i->mo, bit_apply<T, OP>(v, bit));
  } else {
    uint64_t e = ea(c, i);
    unsigned bit;
    if (IMM) {
      bit = unsigned(i->imm) & (B - 1);
    } else {
      using ST = std::make_signed_t<T>;
      const int64_t off = int64_t(ST(get_reg<T>(c, i->ro)));
      e = (e + uint64_t((off >> (sizeof(T) == 8 ? 6 : sizeof(T) == 4 ? 5 : 4)) * int64_t(sizeof(T)))) & i->amask;
      bit = unsigned(off) & (B - 1);
    }
    if (OP == kBt) {
      set_cf_only(c, (c->rd<T>(i->seg, e) >> bit) & 1);
    } else {
      Rmw<T> m(c, i->seg, e);
      T old;
      if (LOCK) {
        old = m.locked([bit](T v) { return bit_apply<T, OP>(v, bit); });
      } else {
        old = m.load();
        m.store(bit_apply<T, OP>(old, bit));
      }
      set_cf_only(c, (old >> bit) & 1);
    }
  }
  return next(c, i);
}

template <class T, bool REV, bool M> const Insn* bsf(Core* c, const Insn* i) {
  const T v = read_rm<T, M>(c, i);
  materialize_flags(c);
  if (v == 0) {
    c->rfl |= fl::ZF;
  } else {
    c->rfl &= ~fl::ZF;
    const unsigned r = REV ? unsigned(63 - __builtin_clzll(uint64_t(v))) : unsigned(__builtin_ctzll(uint64_t(v)));
    set_reg<T>(c, i->ro, T(r));
  }
  return next(c, i);
}

// TZCNT (LEAD=false) / LZCNT (LEAD=true): CF = source zero, ZF = result zero.
template <class T, bool LEAD, bool M> const Insn* zcnt(Core* c, const Insn* i) {
  constexpr unsigned B = sizeof(T) * 8;
  const T v = read_rm<T, M>(c, i);
  unsigned r;
  if (v == 0) r = B;
  else if (LEAD) r = unsigned(__builtin_clzll(uint64_t(v))) - (64 - B);
  else r = unsigned(__builtin_ctzll(uint64_t(v)));
  set_reg<T>(c, i->ro, T(r));
  materialize_flags(c);
  c->rfl &= ~(fl::CF | fl::ZF);
  if (v == 0) c->rfl |= fl::CF;
  if (r == 0) c->rfl |= fl::ZF;
  return next(c, i);
}

template <class T, bool M> const Insn* popcnt(Core* c, const Insn* i) {
  const T v = read_rm<T, M>(c, i);
  set_reg<T>(c, i->ro, T(__builtin_popcountll(uint64_t(v))));
  materialize_flags(c);
  c->rfl &= ~fl::kArith;
  if (v == 0) c->rfl |= fl::ZF;
  return next(c, i);
}

template <int OP, bool IMM> Handler pick_bt(int osz, bool mem, bool lock) {
  if (!mem) return SOFT_PICK_WIDE(osz, bt, OP, IMM, false, false);
  if (lock) return SOFT_PICK_WIDE(osz, bt, OP, IMM, true, true);
  return SOFT_PICK_WIDE(osz, bt, OP, IMM, true, false);
}

template <bool IMM> Handler pick_bt_op(int op, int osz, bool mem, bool lock) {
  switch (op) {
    case kBt: return pick_bt<kBt, IMM>(osz, mem, false);
    case kBts: return pick_bt<kBts, IMM>(osz, mem, lock);
    case kBtr: return pick_bt<kBtr, IMM>(osz, mem, lock);
    default: return pick_bt<kBtc, IMM>(osz, mem, lock);
  }
}

bool dec_bt_reg(DecodeCtx& d, Insn* i) {
  const int op = (d.opcode >> 3) & 3;  // A3: 0, AB: 1, B3: 2, BB: 3
  const bool lock = i->flags & insnf::kLock;
  if (lock && op == kBt) return false;
  i->fn = pick_bt_op<false>(op, d.osz, is_mem(i), lock);
  return true;
}

bool dec_bt_imm(DecodeCtx& d, Insn* i) {
  const unsigned reg = d.reg & 7;
  if (reg < 4) return false;
  const bool lock = i->flags & insnf::kLock;
  if (lock && reg == 4) return false;
  i->fn = pick_bt_op<true>(int(reg - 4), d.osz, is_mem(i), lock);
  return true;
}

bool dec_bsf(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  const bool rev = d.opcode == 0xBD;
  if (d.rep == 0xF3) {
    const bool have = rev ? (d.c->feat.x1_ecx & feat::kAbm) : (d.c->feat.l7_ebx & feat::kBmi1);
    if (have) {
      if (rev) i->fn = mem ? SOFT_PICK_WIDE(d.osz, zcnt, true, true) : SOFT_PICK_WIDE(d.osz, zcnt, true, false);
      else i->fn = mem ? SOFT_PICK_WIDE(d.osz, zcnt, false, true) : SOFT_PICK_WIDE(d.osz, zcnt, false, false);
      return true;
    }
  }
  if (rev) i->fn = mem ? SOFT_PICK_WIDE(d.osz, bsf, true, true) : SOFT_PICK_WIDE(d.osz, bsf, true, false);
  else i->fn = mem ? SOFT_PICK_WIDE(d.osz, bsf, false, true) : SOFT_PICK_WIDE(d.osz, bsf, false, false);
  return true;
}

bool dec_popcnt(DecodeCtx& d, Insn* i) {
  if (d.rep != 0xF3 || !(d.c->feat.l1_ecx & feat::kPopcnt)) return false;
  i->fn = is_mem(i) ? SOFT_PICK_WIDE(d.osz, popcnt, true) : SOFT_PICK_WIDE(d.osz, popcnt, false);
  return true;
}

}  // namespace

void register_bit(OpTables& t) {
  const char* fam = "bit";
  register_op(t, 1, 0xA3, dec_bt_reg, opf::kModrm, fam);
  register_op(t, 1, 0xAB, dec_bt_reg, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xB3, dec_bt_reg, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xBB, dec_bt_reg, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xBA, dec_bt_imm, opf::kModrm | opf::kImm8 | opf::kLockable, fam);
  register_op(t, 1, 0xBC, dec_bsf, opf::kModrm, fam);
  register_op(t, 1, 0xBD, dec_bsf, opf::kModrm, fam);
  register_op(t, 1, 0xB8, dec_popcnt, opf::kModrm, fam);
  t.features.l1_ecx |= feat::kPopcnt;
  t.features.x1_ecx |= feat::kAbm;
}

}  // namespace tsvirt::soft
