// Near control transfers: Jcc (70-7F, 0F 80-8F), JMP (EB, E9, FF /4), CALL (E8, FF /2),
// RET (C3, C2), LOOP/LOOPE/LOOPNE/JrCXZ (E0-E3), and the FF group's decoder (which hands
// INC/DEC, far CALL/JMP and PUSH to their families).
//
// Intel SDM vol. 2 per instruction. In 64-bit mode near branches use a 64-bit operand size
// whatever 66 says (Intel behaviour); elsewhere a 16-bit operand size truncates the target.
// A target outside CS's limit (legacy modes) or non-canonical (64-bit mode) raises #GP(0)
// on the branch itself, with no state changed. Every handler here ends its block.
#include "soft/ops.h"
#include "soft/pickers.h"

namespace tsvirt::soft {

namespace {

// Validate and take a near branch to `target` (already truncated to the operand size).
inline const Insn* branch(Core* c, uint64_t target) {
  if (c->code_size == 64) {
    if (SOFT_UNLIKELY(!c->canonical(target))) c->gp(0);
  } else if (SOFT_UNLIKELY(target > c->seg[CS].limit)) {
    c->gp(0);
  }
  c->r[kRegRip] = target;
  return nullptr;
}

inline uint64_t rel_target(Core* c, const Insn* i) {
  return mask_osz(c->r[kRegRip] + i->off + i->len + i->imm, i->osz);
}

template <int CC> const Insn* jcc(Core* c, const Insn* i) {
  if (eval_cond(c, CC)) return branch(c, rel_target(c, i));
  return end_after(c, i);
}

const Insn* jmp_rel(Core* c, const Insn* i) { return branch(c, rel_target(c, i)); }

template <class T> const Insn* call_rel(Core* c, const Insn* i) {
  const uint64_t target = rel_target(c, i);
  if (c->code_size == 64 ? !c->canonical(target) : target > c->seg[CS].limit) c->gp(0);
  push<T>(c, T(next_rip(c, i)));
  c->r[kRegRip] = target;
  return nullptr;
}

template <class T, bool M> const Insn* jmp_rm(Core* c, const Insn* i) {
  return branch(c, read_rm<T, M>(c, i));
}

template <class T, bool M> const Insn* call_rm(Core* c, const Insn* i) {
  const T target = read_rm<T, M>(c, i);
  if (c->code_size == 64 ? !c->canonical(target) : target > c->seg[CS].limit) c->gp(0);
  push<T>(c, T(next_rip(c, i)));
  c->r[kRegRip] = target;
  return nullptr;
}

template <class T> const Insn* ret_near(Core* c, const Insn* i) {
  const T target = stack_peek<T>(c);
  if (c->code_size == 64 ? !c->canonical(target) : target > c->seg[CS].limit) c->gp(0);
  stack_adjust(c, sizeof(T) + (i->imm & 0xFFFF));
  c->r[kRegRip] = target;
  return nullptr;
}

// E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JrCXZ; the counter width is the address size.
template <int KIND> const Insn* loop(Core* c, const Insn* i) {
  const uint64_t mask = i->amask;
  uint64_t cnt = c->r[RCX] & mask;
  bool take;
  if (KIND == 3) {
    take = cnt == 0;
  } else {
    cnt = (cnt - 1) & mask;
    take = cnt != 0;
    if (KIND == 0) take = take && !get_zf(c);
    if (KIND == 1) take = take && get_zf(c);
  }
  const uint64_t target = rel_target(c, i);
  if (take && (c->code_size == 64 ? !c->canonical(target) : target > c->seg[CS].limit)) c->gp(0);
  if (KIND != 3) c->r[RCX] = (c->r[RCX] & ~mask) | cnt;
  c->r[kRegRip] = take ? target : next_rip(c, i);
  return nullptr;
}

const Handler kJcc[16] = {&jcc<0>,  &jcc<1>,  &jcc<2>,  &jcc<3>, &jcc<4>,  &jcc<5>,
                          &jcc<6>,  &jcc<7>,  &jcc<8>,  &jcc<9>, &jcc<10>, &jcc<11>,
                          &jcc<12>, &jcc<13>, &jcc<14>, &jcc<15>};

bool dec_jcc(DecodeCtx& d, Insn* i) {
  i->fn = kJcc[d.opcode & 0xF];
  return true;
}

bool dec_jmp(DecodeCtx&, Insn* i) {
  i->fn = jmp_rel;
  return true;
}

bool dec_call(DecodeCtx& d, Insn* i) {
  i->fn = SOFT_PICK_WIDE(d.osz, call_rel);
  return true;
}

bool dec_ret(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0xC3) i->imm = 0;
  i->fn = SOFT_PICK_WIDE(d.osz, ret_near);
  return true;
}

bool dec_loop(DecodeCtx& d, Insn* i) {
  static const Handler k[4] = {&loop<0>, &loop<1>, &loop<2>, &loop<3>};
  i->fn = k[d.opcode & 3];
  return true;
}

// FF: INC, DEC, CALL, CALLF, JMP, JMPF, PUSH (SDM vol. 2, table A-6 group 5).
bool dec_group5(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  const bool lock = i->flags & insnf::kLock;
  const unsigned op = d.reg & 7;
  if (lock && op > 1) return false;
  int osz = d.osz;
  switch (op) {
    case 0: case 1:
      i->fn = pick_incdec(d.osz, op == 1, mem, lock);
      d.ends_block = false;
      return true;
    case 2: case 4:
      if (d.code_size == 64) osz = 8;
      i->osz = uint8_t(osz);
      if (op == 2) i->fn = mem ? SOFT_PICK_WIDE(osz, call_rm, true) : SOFT_PICK_WIDE(osz, call_rm, false);
      else i->fn = mem ? SOFT_PICK_WIDE(osz, jmp_rm, true) : SOFT_PICK_WIDE(osz, jmp_rm, false);
      return true;
    case 3: case 5:
      if (!mem) return false;
      i->fn = op == 3 ? pick_call_far_mem(d.osz) : pick_jmp_far_mem(d.osz);
      return true;
    case 6:
      if (d.code_size == 64 && !d.rex_w) osz = d.opsize_prefix ? 2 : 8;
      i->osz = uint8_t(osz);
      i->fn = pick_push_rm(osz, mem);
      d.ends_block = false;
      return true;
    default:
      return false;
  }
}

}  // namespace

void register_branch(OpTables& t) {
  const char* fam = "branch";
  const uint32_t e = opf::kEndsBlock;
  for (unsigned op = 0x70; op < 0x80; op++) register_op(t, 0, op, dec_jcc, opf::kRel8 | opf::kForce64 | e, fam);
  for (unsigned op = 0x80; op < 0x90; op++) register_op(t, 1, op, dec_jcc, opf::kRelZ | opf::kForce64 | e, fam);
  register_op(t, 0, 0xEB, dec_jmp, opf::kRel8 | opf::kForce64 | e, fam);
  register_op(t, 0, 0xE9, dec_jmp, opf::kRelZ | opf::kForce64 | e, fam);
  register_op(t, 0, 0xE8, dec_call, opf::kRelZ | opf::kForce64 | e, fam);
  register_op(t, 0, 0xC3, dec_ret, opf::kForce64 | e, fam);
  register_op(t, 0, 0xC2, dec_ret, opf::kImm16 | opf::kForce64 | e, fam);
  for (unsigned op = 0xE0; op < 0xE4; op++) register_op(t, 0, op, dec_loop, opf::kRel8 | opf::kForce64 | e, fam);
  register_op(t, 0, 0xFF, dec_group5, opf::kModrm | opf::kLockable | e, fam);
}

}  // namespace tsvirt::soft
