// Data movement: MOV (88-8B, A0-A3, B0-BF, C6/C7), LEA, XCHG (86/87, 90-97), NOP/PAUSE,
// PUSH/POP (50-5F, 68, 6A, 8F, FF /6 via picker), PUSHA/POPA, ENTER/LEAVE, MOVZX/MOVSX, MOVSXD,
// CBW/CWDE/CDQE, CWD/CDQ/CQO, CMOVcc, SETcc, BSWAP, XLAT, MOVBE, the hint NOPs
// (0F 18-1F) and ARPL's opcode in legacy modes (handed to the system family).
//
// Intel SDM vol. 2 per instruction. XCHG with memory is atomic (implicit LOCK). POP r/m
// computes an RSP-based address after the increment, as the SDM specifies, but leaves RSP
// unchanged if the store faults.
#include "soft/ops.h"
#include "soft/pickers.h"

namespace tsvirt::soft {

namespace {

template <class T, bool M> const Insn* mov_rm_r(Core* c, const Insn* i) {
  write_rm<T, M>(c, i, get_reg<T>(c, i->ro));
  return next(c, i);
}

template <class T, bool M> const Insn* mov_r_rm(Core* c, const Insn* i) {
  set_reg<T>(c, i->ro, read_rm<T, M>(c, i));
  return next(c, i);
}

template <class T, bool M> const Insn* mov_rm_i(Core* c, const Insn* i) {
  write_rm<T, M>(c, i, T(i->imm));
  return next(c, i);
}

// MOV AL/eAX, moffs and back (A0-A3): the moffs is the displacement.
template <class T> const Insn* mov_acc_moffs(Core* c, const Insn* i) {
  set_reg_n<T>(c, RAX, c->rd<T>(i->seg, ea(c, i)));
  return next(c, i);
}
template <class T> const Insn* mov_moffs_acc(Core* c, const Insn* i) {
  c->wr<T>(i->seg, ea(c, i), reg_n<T>(c, RAX));
  return next(c, i);
}

template <class T> const Insn* lea(Core* c, const Insn* i) {
  set_reg<T>(c, i->ro, T(ea(c, i)));
  return next(c, i);
}

template <class T, bool M> const Insn* xchg_rm_r(Core* c, const Insn* i) {
  const T r = get_reg<T>(c, i->ro);
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    const T old = m.locked([r](T) { return r; });
    set_reg<T>(c, i->ro, old);
  } else {
    const T other = get_reg<T>(c, i->mo);
    set_reg<T>(c, i->mo, r);
    set_reg<T>(c, i->ro, other);
  }
  return next(c, i);
}

// PAUSE completes as a NOP; with the PAUSE exit control run() then returns kPause (cpu.h).
const Insn* pause(Core* c, const Insn* i) {
  if (SOFT_LIKELY(!(c->exit_controls & exit_ctl::kExitPause))) return next(c, i);
  c->exit_stop = StopReason::kPause;
  c->sync_events |= ev::kExitStop;
  return end_after(c, i);
}

template <class T> const Insn* push_r(Core* c, const Insn* i) {
  push<T>(c, get_reg<T>(c, i->mo));
  return next(c, i);
}

template <class T> const Insn* pop_r(Core* c, const Insn* i) {
  const T v = stack_peek<T>(c);
  stack_adjust(c, sizeof(T));
  set_reg<T>(c, i->mo, v);
  return next(c, i);
}

template <class T> const Insn* push_i(Core* c, const Insn* i) {
  push<T>(c, T(i->imm));
  return next(c, i);
}

template <class T, bool M> const Insn* push_rm(Core* c, const Insn* i) {
  push<T>(c, read_rm<T, M>(c, i));
  return next(c, i);
}

template <class T, bool M> const Insn* pop_rm(Core* c, const Insn* i) {
  const T v = stack_peek<T>(c);
  if constexpr (M) {
    const uint64_t old = c->r[RSP];
    stack_adjust(c, sizeof(T));
    const uint64_t e = ea(c, i);
    c->r[RSP] = old;
    c->wr<T>(i->seg, e, v);
    stack_adjust(c, sizeof(T));
  } else {
    stack_adjust(c, sizeof(T));
    set_reg<T>(c, i->mo, v);
  }
  return next(c, i);
}

template <class T> const Insn* pusha(Core* c, const Insn* i) {
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  const T orig_sp = T(sp);
  for (int k = 0; k < 8; k++) {
    const T v = k == RSP ? orig_sp : reg_n<T>(c, k);
    c->wr<T>(SS, (sp - sizeof(T) * (k + 1)) & mask, v);
  }
  set_sp(c, (sp - sizeof(T) * 8) & mask);
  return next(c, i);
}

template <class T> const Insn* popa(Core* c, const Insn* i) {
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  T v[8];
  for (int k = 0; k < 8; k++) v[7 - k] = c->rd<T>(SS, (sp + sizeof(T) * k) & mask);
  for (int k = 0; k < 8; k++) {
    if (k != RSP) set_reg_n<T>(c, k, v[k]);
  }
  set_sp(c, (sp + sizeof(T) * 8) & mask);
  return next(c, i);
}

template <class D, class S, bool SIGNED, bool M> const Insn* movx(Core* c, const Insn* i) {
  S v;
  if constexpr (M) v = c->rd<S>(i->seg, ea(c, i));
  else v = get_reg<S>(c, i->mo);
  using SS_ = std::make_signed_t<S>;
  using DS_ = std::make_signed_t<D>;
  const D r = SIGNED ? D(DS_(SS_(v))) : D(v);
  set_reg<D>(c, i->ro, r);
  return next(c, i);
}

// CBW / CWDE / CDQE (98).
template <class T> const Insn* cbw(Core* c, const Insn* i) {
  using H = std::conditional_t<sizeof(T) == 2, int8_t,
                               std::conditional_t<sizeof(T) == 4, int16_t, int32_t>>;
  set_reg_n<T>(c, RAX, T(std::make_signed_t<T>(H(c->r[RAX]))));
  return next(c, i);
}

// CWD / CDQ / CQO (99).
template <class T> const Insn* cwd(Core* c, const Insn* i) {
  const T a = reg_n<T>(c, RAX);
  set_reg_n<T>(c, RDX, (a & sign_bit<T>()) ? T(~T(0)) : T(0));
  return next(c, i);
}

template <class T, bool M> const Insn* cmov(Core* c, const Insn* i) {
  const T v = read_rm<T, M>(c, i);
  if (eval_cond(c, i->op & 0xF)) set_reg<T>(c, i->ro, v);
  else if constexpr (sizeof(T) == 4) set_reg<T>(c, i->ro, get_reg<T>(c, i->ro));
  return next(c, i);
}

template <bool M> const Insn* setcc(Core* c, const Insn* i) {
  write_rm<uint8_t, M>(c, i, eval_cond(c, i->op & 0xF) ? 1 : 0);
  return next(c, i);
}

template <class T> const Insn* bswap(Core* c, const Insn* i) {
  if constexpr (sizeof(T) == 2) {
    set_reg<uint16_t>(c, i->mo, 0);  // undefined by the SDM; hardware yields 0
  } else if constexpr (sizeof(T) == 4) {
    set_reg<uint32_t>(c, i->mo, __builtin_bswap32(get_reg<uint32_t>(c, i->mo)));
  } else {
    set_reg<uint64_t>(c, i->mo, __builtin_bswap64(get_reg<uint64_t>(c, i->mo)));
  }
  return next(c, i);
}

const Insn* xlat(Core* c, const Insn* i) {
  const uint64_t a = (c->r[RBX] + (c->r[RAX] & 0xFF)) & i->amask;
  set_reg<uint8_t>(c, 0, c->rd<uint8_t>(i->seg, a));
  return next(c, i);
}

template <class T> inline T bswap_any(T v) {
  if constexpr (sizeof(T) == 2) return T(__builtin_bswap16(v));
  else if constexpr (sizeof(T) == 4) return T(__builtin_bswap32(v));
  else return T(__builtin_bswap64(v));
}

template <class T> const Insn* movbe_load(Core* c, const Insn* i) {
  set_reg<T>(c, i->ro, bswap_any<T>(c->rd<T>(i->seg, ea(c, i))));
  return next(c, i);
}
template <class T> const Insn* movbe_store(Core* c, const Insn* i) {
  c->wr<T>(i->seg, ea(c, i), bswap_any<T>(get_reg<T>(c, i->ro)));
  return next(c, i);
}

// ENTER imm16, imm8 (SDM vol. 2, ENTER "Operation"): all stack writes and frame-pointer reads
// happen before any register changes, so a fault leaves the registers untouched.
template <class T> const Insn* enter(Core* c, const Insn* i) {
  const uint64_t mask = c->rsp_mask();
  const unsigned level = i->imm2 & 31;
  uint64_t sp = (c->r[RSP] - sizeof(T)) & mask;
  c->wr<T>(SS, sp, T(c->r[RBP]));
  const uint64_t frame = sp;
  uint64_t bp = c->r[RBP];
  if (level > 0) {
    const uint64_t bp_mask = c->stack_size == 64 ? ~uint64_t{0} : c->stack_size == 32 ? 0xFFFFFFFFull : 0xFFFFull;
    for (unsigned k = 1; k < level; k++) {
      bp = (bp - sizeof(T)) & bp_mask;
      const T v = c->rd<T>(SS, bp);
      sp = (sp - sizeof(T)) & mask;
      c->wr<T>(SS, sp, v);
    }
    sp = (sp - sizeof(T)) & mask;
    c->wr<T>(SS, sp, T(frame));
  }
  const uint64_t new_sp = (sp - (i->imm & 0xFFFF)) & mask;
  // The final RSP must be writable too (the frame's lowest byte), as on hardware.
  if (i->imm & 0xFFFF) c->wr<uint8_t>(SS, new_sp, c->rd<uint8_t>(SS, new_sp));
  set_reg_n<T>(c, RBP, T(frame));  // by operand size (SDM: EBP/BP <- FrameTemp)
  set_sp(c, new_sp);
  return next(c, i);
}

// LEAVE: RSP <- RBP, then POP RBP.
template <class T> const Insn* leave(Core* c, const Insn* i) {
  const uint64_t mask = c->rsp_mask();
  const uint64_t bp = c->r[RBP] & mask;
  const T v = c->rd<T>(SS, bp);
  set_sp(c, (bp + sizeof(T)) & mask);
  set_reg_n<T>(c, RBP, v);
  return next(c, i);
}

// ---- decoders ----

bool dec_enter_leave(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0xC8) {
    i->imm2 = d.fetch8();
    i->fn = SOFT_PICK_WIDE(d.osz, enter);
  } else {
    i->fn = SOFT_PICK_WIDE(d.osz, leave);
  }
  return true;
}

bool dec_mov(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  switch (d.opcode) {
    case 0x88: case 0x89:
      i->fn = mem ? SOFT_PICK(d.osz, mov_rm_r, true) : SOFT_PICK(d.osz, mov_rm_r, false);
      return true;
    case 0x8A: case 0x8B:
      i->fn = mem ? SOFT_PICK(d.osz, mov_r_rm, true) : SOFT_PICK(d.osz, mov_r_rm, false);
      return true;
    case 0xC6: case 0xC7:
      if ((d.reg & 7) != 0) return false;
      i->fn = mem ? SOFT_PICK(d.osz, mov_rm_i, true) : SOFT_PICK(d.osz, mov_rm_i, false);
      return true;
    case 0xA0: case 0xA1: i->fn = SOFT_PICK(d.osz, mov_acc_moffs); return true;
    case 0xA2: case 0xA3: i->fn = SOFT_PICK(d.osz, mov_moffs_acc); return true;
    default: break;
  }
  // B0-BF: MOV reg, imm.
  const unsigned r = (d.opcode & 7) | (d.rex_b ? 8 : 0);
  i->mo = d.osz == 1 ? d.breg(r) : uint8_t(r * 8);
  i->fn = SOFT_PICK(d.osz, mov_rm_i, false);
  return true;
}

bool dec_lea(DecodeCtx& d, Insn* i) {
  i->fn = SOFT_PICK_WIDE(d.osz, lea);
  return true;
}

bool dec_xchg(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0x86 || d.opcode == 0x87) {
    i->fn = is_mem(i) ? SOFT_PICK(d.osz, xchg_rm_r, true) : SOFT_PICK(d.osz, xchg_rm_r, false);
    return true;
  }
  const unsigned r = (d.opcode & 7) | (d.rex_b ? 8 : 0);
  if (r == 0) {  // 90: NOP, F3 90: PAUSE (a NOP unless the host asked for PAUSE exits)
    i->fn = d.rep == 0xF3 ? pause : op_nop;
    return true;
  }
  i->ro = 0;
  i->mo = uint8_t(r * 8);
  i->fn = SOFT_PICK_WIDE(d.osz, xchg_rm_r, false);
  return true;
}

bool dec_push_pop_reg(DecodeCtx& d, Insn* i) {
  const unsigned r = (d.opcode & 7) | (d.rex_b ? 8 : 0);
  i->mo = uint8_t(r * 8);
  if (d.opcode < 0x58) i->fn = d.osz == 2 ? &push_r<uint16_t> : d.osz == 4 ? &push_r<uint32_t> : &push_r<uint64_t>;
  else i->fn = d.osz == 2 ? &pop_r<uint16_t> : d.osz == 4 ? &pop_r<uint32_t> : &pop_r<uint64_t>;
  return true;
}

bool dec_push_imm(DecodeCtx& d, Insn* i) {
  i->fn = SOFT_PICK_WIDE(d.osz, push_i);
  return true;
}

bool dec_pop_rm(DecodeCtx& d, Insn* i) {
  if ((d.reg & 7) != 0) return false;
  i->fn = is_mem(i) ? SOFT_PICK_WIDE(d.osz, pop_rm, true) : SOFT_PICK_WIDE(d.osz, pop_rm, false);
  return true;
}

bool dec_pusha(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0x60) i->fn = d.osz == 2 ? &pusha<uint16_t> : &pusha<uint32_t>;
  else i->fn = d.osz == 2 ? &popa<uint16_t> : &popa<uint32_t>;
  return true;
}

bool dec_movx(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  const bool sign = d.opcode >= 0xBE;
  const bool byte_src = (d.opcode & 1) == 0;
  if (byte_src) i->mo = mem ? i->mo : d.breg(d.rm);
#define PICK_MOVX(S)                                                                   \
  (sign ? (mem ? SOFT_PICK_WIDE(d.osz, movx, S, true, true)                            \
               : SOFT_PICK_WIDE(d.osz, movx, S, true, false))                          \
        : (mem ? SOFT_PICK_WIDE(d.osz, movx, S, false, true)                           \
               : SOFT_PICK_WIDE(d.osz, movx, S, false, false)))
  i->fn = byte_src ? PICK_MOVX(uint8_t) : PICK_MOVX(uint16_t);
#undef PICK_MOVX
  return true;
}

bool dec_63(DecodeCtx& d, Insn* i) {
  if (d.code_size != 64) {
    i->fn = pick_arpl(is_mem(i));
    return i->fn != nullptr && d.c->protected_mode();
  }
  const bool mem = is_mem(i);
  if (d.osz == 8) {
    i->fn = mem ? &movx<uint64_t, uint32_t, true, true> : &movx<uint64_t, uint32_t, true, false>;
  } else if (d.osz == 4) {
    i->fn = mem ? &mov_r_rm<uint32_t, true> : &mov_r_rm<uint32_t, false>;
  } else {
    i->fn = mem ? &mov_r_rm<uint16_t, true> : &mov_r_rm<uint16_t, false>;
  }
  return true;
}

bool dec_cbw(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0x98) i->fn = SOFT_PICK_WIDE(d.osz, cbw);
  else i->fn = SOFT_PICK_WIDE(d.osz, cwd);
  return true;
}

bool dec_cmov(DecodeCtx& d, Insn* i) {
  i->fn = is_mem(i) ? SOFT_PICK_WIDE(d.osz, cmov, true) : SOFT_PICK_WIDE(d.osz, cmov, false);
  return true;
}

bool dec_setcc(DecodeCtx& d, Insn* i) {
  i->mo = is_mem(i) ? i->mo : d.breg(d.rm);
  i->fn = is_mem(i) ? &setcc<true> : &setcc<false>;
  return true;
}

bool dec_bswap(DecodeCtx& d, Insn* i) {
  const unsigned r = (d.opcode & 7) | (d.rex_b ? 8 : 0);
  i->mo = uint8_t(r * 8);
  i->fn = SOFT_PICK_WIDE(d.osz, bswap);
  return true;
}

bool dec_xlat(DecodeCtx&, Insn* i) {
  i->fn = xlat;
  return true;
}

bool dec_hint_nop(DecodeCtx&, Insn* i) {
  i->fn = op_nop;
  return true;
}

bool dec_movbe(DecodeCtx& d, Insn* i) {
  if (d.rep == 0xF2) {  // CRC32 (SSE4.2 family)
    const DecodeFn ext = op_tables().crc32_f2[d.opcode & 1];
    return ext != nullptr && ext(d, i);
  }
  if (!(d.c->feat.l1_ecx & feat::kMovbe) || d.rep != 0 || !is_mem(i)) return false;
  if (d.opcode == 0xF0) i->fn = SOFT_PICK_WIDE(d.osz, movbe_load);
  else i->fn = SOFT_PICK_WIDE(d.osz, movbe_store);
  return true;
}

}  // namespace

const Insn* op_nop(Core* c, const Insn* i) { return next(c, i); }

Handler pick_push_rm(int osz, bool mem) {
  return mem ? SOFT_PICK_WIDE(osz, push_rm, true) : SOFT_PICK_WIDE(osz, push_rm, false);
}

void register_mov(OpTables& t) {
  const char* fam = "mov";
  register_op(t, 0, 0x88, dec_mov, opf::kModrm | opf::kByteOp, fam);
  register_op(t, 0, 0x89, dec_mov, opf::kModrm, fam);
  register_op(t, 0, 0x8A, dec_mov, opf::kModrm | opf::kByteOp, fam);
  register_op(t, 0, 0x8B, dec_mov, opf::kModrm, fam);
  register_op(t, 0, 0xC6, dec_mov, opf::kModrm | opf::kByteOp | opf::kImm8, fam);
  register_op(t, 0, 0xC7, dec_mov, opf::kModrm | opf::kImmZ, fam);
  register_op(t, 0, 0xA0, dec_mov, opf::kMoffs | opf::kByteOp, fam);
  register_op(t, 0, 0xA1, dec_mov, opf::kMoffs, fam);
  register_op(t, 0, 0xA2, dec_mov, opf::kMoffs | opf::kByteOp, fam);
  register_op(t, 0, 0xA3, dec_mov, opf::kMoffs, fam);
  for (unsigned op = 0xB0; op < 0xB8; op++) register_op(t, 0, op, dec_mov, opf::kImm8 | opf::kByteOp, fam);
  for (unsigned op = 0xB8; op < 0xC0; op++) register_op(t, 0, op, dec_mov, opf::kImmV, fam);
  register_op(t, 0, 0x8D, dec_lea, opf::kModrm | opf::kMemOnly, fam);
  register_op(t, 0, 0x86, dec_xchg, opf::kModrm | opf::kByteOp | opf::kLockable, fam);
  register_op(t, 0, 0x87, dec_xchg, opf::kModrm | opf::kLockable, fam);
  for (unsigned op = 0x90; op < 0x98; op++) register_op(t, 0, op, dec_xchg, 0, fam);
  for (unsigned op = 0x50; op < 0x60; op++) register_op(t, 0, op, dec_push_pop_reg, opf::kDefault64, fam);
  register_op(t, 0, 0x68, dec_push_imm, opf::kImmZ | opf::kDefault64, fam);
  register_op(t, 0, 0x6A, dec_push_imm, opf::kImm8 | opf::kDefault64, fam);
  register_op(t, 0, 0x8F, dec_pop_rm, opf::kModrm | opf::kDefault64, fam);
  register_op(t, 0, 0xC8, dec_enter_leave, opf::kImm16 | opf::kDefault64, fam);
  register_op(t, 0, 0xC9, dec_enter_leave, opf::kDefault64, fam);
  register_op(t, 0, 0x60, dec_pusha, opf::kInvalid64, fam);
  register_op(t, 0, 0x61, dec_pusha, opf::kInvalid64, fam);
  register_op(t, 0, 0x63, dec_63, opf::kModrm, fam);
  register_op(t, 0, 0x98, dec_cbw, 0, fam);
  register_op(t, 0, 0x99, dec_cbw, 0, fam);
  register_op(t, 0, 0xD7, dec_xlat, 0, fam);
  for (unsigned op = 0xB6; op < 0xB8; op++) register_op(t, 1, op, dec_movx, opf::kModrm, fam);
  for (unsigned op = 0xBE; op < 0xC0; op++) register_op(t, 1, op, dec_movx, opf::kModrm, fam);
  for (unsigned op = 0x40; op < 0x50; op++) register_op(t, 1, op, dec_cmov, opf::kModrm, fam);
  for (unsigned op = 0x90; op < 0xA0; op++) register_op(t, 1, op, dec_setcc, opf::kModrm, fam);
  for (unsigned op = 0xC8; op < 0xD0; op++) register_op(t, 1, op, dec_bswap, 0, fam);
  // 0F 18-1F: PREFETCHh, reserved-NOP and NOP Ev (SDM vol. 2, NOP / PREFETCHh).
  for (unsigned op = 0x18; op < 0x20; op++) register_op(t, 1, op, dec_hint_nop, opf::kModrm, fam);
  register_op(t, 2, 0xF0, dec_movbe, opf::kModrm, fam);
  register_op(t, 2, 0xF1, dec_movbe, opf::kModrm, fam);
  t.features.l1_edx |= feat::kCmov;
  t.features.l1_ecx |= feat::kMovbe;
}

}  // namespace tsvirt::soft
