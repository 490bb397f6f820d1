// Multiply and divide: group 3 (F6/F7: TEST imm, NOT, NEG via pickers; MUL, IMUL, DIV,
// IDIV), IMUL r, r/m (0F AF), IMUL r, r/m, imm (69, 6B).
//
// Intel SDM vol. 2, "MUL", "IMUL", "DIV", "IDIV". MUL/IMUL set CF=OF when the upper half is
// significant; SF/ZF/PF follow the low result (the SDM leaves them undefined). DIV/IDIV
// raise #DE for a zero divisor or a quotient that does not fit, before writing anything;
// they leave the flags unchanged (undefined per the SDM).
#include "soft/ops.h"
#include "soft/pickers.h"

namespace tsvirt::soft {

namespace {

template <class T> using Wide = std::conditional_t<sizeof(T) == 8, unsigned __int128,
                                 std::conditional_t<sizeof(T) == 4, uint64_t, uint32_t>>;
template <class T> using SWide = std::conditional_t<sizeof(T) == 8, __int128,
                                  std::conditional_t<sizeof(T) == 4, int64_t, int32_t>>;
template <class T> using S = std::make_signed_t<T>;
template <class T> constexpr unsigned bits() { return sizeof(T) * 8; }

// Store a double-width result: AX for 8-bit, else rDX:rAX.
template <class T> inline void store_pair(Core* c, Wide<T> v) {
  if constexpr (sizeof(T) == 1) {
    set_reg<uint16_t>(c, 0, uint16_t(v));
  } else {
    set_reg_n<T>(c, RAX, T(v));
    set_reg_n<T>(c, RDX, T(v >> bits<T>()));
  }
}

template <class T> inline Wide<T> load_pair(Core* c) {
  if constexpr (sizeof(T) == 1) {
    return uint16_t(c->r[RAX]);
  } else {
    return (Wide<T>(reg_n<T>(c, RDX)) << bits<T>()) | reg_n<T>(c, RAX);
  }
}

template <class T, bool M> const Insn* mul(Core* c, const Insn* i) {
  const T b = read_rm<T, M>(c, i);
  const Wide<T> r = Wide<T>(reg_n<T>(c, RAX)) * b;
  store_pair<T>(c, r);
  const bool hi = T(r >> bits<T>()) != 0;
  set_lf_resco<T>(c, T(r), hi, hi);
  return next(c, i);
}

template <class T, bool M> const Insn* imul1(Core* c, const Insn* i) {
  const S<T> b = S<T>(read_rm<T, M>(c, i));
  const SWide<T> r = SWide<T>(S<T>(reg_n<T>(c, RAX))) * b;
  store_pair<T>(c, Wide<T>(r));
  const bool ovf = SWide<T>(S<T>(T(r))) != r;
  set_lf_resco<T>(c, T(r), ovf, ovf);
  return next(c, i);
}

template <class T, bool M> const Insn* div(Core* c, const Insn* i) {
  const T b = read_rm<T, M>(c, i);
  if (b == 0) c->raise_fault(vec::DE);
  const Wide<T> a = load_pair<T>(c);
  const Wide<T> q = a / b;
  if (q > Wide<T>(T(~T(0)))) c->raise_fault(vec::DE);
  const T rem = T(a % b);
  if constexpr (sizeof(T) == 1) {
    set_reg<uint16_t>(c, 0, uint16_t((rem << 8) | uint8_t(q)));
  } else {
    set_reg_n<T>(c, RAX, T(q));
    set_reg_n<T>(c, RDX, rem);
  }
  return next(c, i);
}

template <class T, bool M> const Insn* idiv(Core* c, const Insn* i) {
  const S<T> b = S<T>(read_rm<T, M>(c, i));
  if (b == 0) c->raise_fault(vec::DE);
  // The dividend is 2N bits wide: sign-extend it from there.
  SWide<T> a;
  if constexpr (sizeof(T) == 1) a = int16_t(load_pair<T>(c));
  else if constexpr (sizeof(T) == 2) a = int32_t(load_pair<T>(c));
  else a = SWide<T>(load_pair<T>(c));
  // For 32/64-bit operands the dividend fills the wide type, so MIN / -1 would overflow
  // the host division itself: it is a quotient overflow (#DE) either way.
  if constexpr (sizeof(T) >= 4) {
    if (b == -1 && a == SWide<T>(Wide<T>(1) << (2 * bits<T>() - 1))) c->raise_fault(vec::DE);
  }
  const SWide<T> q = a / b;
  const SWide<T> rem = a % b;
  if (q > SWide<T>(std::numeric_limits<S<T>>::max()) || q < SWide<T>(std::numeric_limits<S<T>>::min())) {
    c->raise_fault(vec::DE);
  }
  if constexpr (sizeof(T) == 1) {
    set_reg<uint16_t>(c, 0, uint16_t((uint8_t(rem) << 8) | uint8_t(q)));
  } else {
    set_reg_n<T>(c, RAX, T(q));
    set_reg_n<T>(c, RDX, T(rem));
  }
  return next(c, i);
}

// IMUL r, r/m (IMM=false) and IMUL r, r/m, imm (IMM=true).
template <class T, bool IMM, bool M> const Insn* imul2(Core* c, const Insn* i) {
  const S<T> b = S<T>(read_rm<T, M>(c, i));
  const S<T> a = IMM ? S<T>(T(i->imm)) : S<T>(get_reg<T>(c, i->ro));
  const SWide<T> r = SWide<T>(a) * b;
  const bool ovf = SWide<T>(S<T>(T(r))) != r;
  set_reg<T>(c, i->ro, T(r));
  set_lf_resco<T>(c, T(r), ovf, ovf);
  return next(c, i);
}

bool dec_group3(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  const bool lock = i->flags & insnf::kLock;
  const unsigned op = d.reg & 7;
  if (lock && op != 2 && op != 3) return false;
  switch (op) {
    case 0: case 1:
      i->imm = uint64_t(int64_t(d.fetch_imm(d.osz == 1 ? 1 : d.osz == 2 ? 2 : 4)));
      i->fn = pick_test_imm(d.osz, mem);
      return true;
    case 2: i->fn = pick_not(d.osz, mem, lock); return true;
    case 3: i->fn = pick_neg(d.osz, mem, lock); return true;
    case 4: i->fn = mem ? SOFT_PICK(d.osz, mul, true) : SOFT_PICK(d.osz, mul, false); return true;
    case 5: i->fn = mem ? SOFT_PICK(d.osz, imul1, true) : SOFT_PICK(d.osz, imul1, false); return true;
    case 6: i->fn = mem ? SOFT_PICK(d.osz, div, true) : SOFT_PICK(d.osz, div, false); return true;
    default: i->fn = mem ? SOFT_PICK(d.osz, idiv, true) : SOFT_PICK(d.osz, idiv, false); return true;
  }
}

bool dec_imul(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  if (d.map == 1) {
    i->fn = mem ? SOFT_PICK_WIDE(d.osz, imul2, false, true) : SOFT_PICK_WIDE(d.osz, imul2, false, false);
  } else {
    i->fn = mem ? SOFT_PICK_WIDE(d.osz, imul2, true, true) : SOFT_PICK_WIDE(d.osz, imul2, true, false);
  }
  return true;
}

}  // namespace

void register_muldiv(OpTables& t) {
  const char* fam = "muldiv";
  register_op(t, 0, 0xF6, dec_group3, opf::kModrm | opf::kByteOp | opf::kLockable, fam);
  register_op(t, 0, 0xF7, dec_group3, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xAF, dec_imul, opf::kModrm, fam);
  register_op(t, 0, 0x69, dec_imul, opf::kModrm | opf::kImmZ, fam);
  register_op(t, 0, 0x6B, dec_imul, opf::kModrm | opf::kImm8, fam);
}

}  // namespace tsvirt::soft
