// Far control transfers and segment-register instructions: JMP/CALL far (EA, 9A, FF /3,
// FF /5), RETF (CA, CB), IRET/IRETD/IRETQ (CF), MOV Sreg (8C, 8E), PUSH/POP Sreg,
// LDS/LES/LSS/LFS/LGS, ARPL.
//
// Intel SDM vol. 2 operation sections of JMP, CALL, RET, IRET, MOV, POP, LDS/LES/...;
// vol. 3, 5.8 (privilege level checks when transferring program control). Real-address
// and virtual-8086 mode use selector << 4. Protected and long mode do the descriptor
// checks, same-privilege far transfers, returns to an outer privilege level (SS:RSP popped,
// data segments the new CPL may not use are nulled), IRET to virtual-8086 mode, and IRETQ.
// Not implemented, reported as an internal error (the vCPU stops with error_message()):
// call gates, task gates and TSS targets (task switching), IRET with NT=1 outside long mode.
#include "soft/ops.h"
#include "soft/pickers.h"
#include "soft/seg.h"

namespace tsvirt::soft {

namespace {

inline bool legacy_seg_mode(const Core* c) { return !c->protected_mode(); }

// Real/virtual-8086 far jump.
inline void far_jump_real(Core* c, uint16_t sel, uint64_t off, unsigned osz) {
  set_seg_real(c, CS, sel);
  c->r[kRegRip] = mask_osz(off, osz);
}

// Checks of a direct far JMP/CALL target code segment (SDM vol. 3, 5.8.1). Returns the
// descriptor; gates and TSS descriptors are refused as not implemented.
Desc far_target(Core* c, uint16_t sel, uint64_t off) {
  if ((sel & 0xFFFC) == 0) c->gp(0);
  Desc d = read_desc(c, sel);
  if (!d.s()) c->internal_error("far transfer through a call gate, task gate or TSS (not implemented)");
  if (!d.is_code()) c->gp(sel & 0xFFFC);
  const int rpl = sel & 3;
  if (d.conforming()) {
    if (int(d.dpl()) > c->cpl) c->gp(sel & 0xFFFC);
  } else if (rpl > c->cpl || int(d.dpl()) != c->cpl) {
    c->gp(sel & 0xFFFC);
  }
  if (!d.present()) c->raise_fault(vec::NP, sel & 0xFFFC, true);
  if (c->long_mode() && d.l()) {
    if (!c->canonical(off)) c->gp(0);
  } else if (off > d.limit()) {
    c->gp(0);
  }
  return d;
}

const Insn* do_jmp_far(Core* c, uint16_t sel, uint64_t off, unsigned osz) {
  if (legacy_seg_mode(c)) {
    far_jump_real(c, sel, off, osz);
    return nullptr;
  }
  Desc d = far_target(c, sel, off);
  set_desc_accessed(c, sel, &d);
  load_cs(c, sel, d, c->cpl);
  c->r[kRegRip] = (c->long_mode() && d.l()) ? off : mask_osz(off, osz);
  return nullptr;
}

const Insn* do_call_far(Core* c, const Insn* i, uint16_t sel, uint64_t off, unsigned osz) {
  const uint64_t ret = next_rip(c, i);
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  const uint16_t old_cs = c->seg[CS].sel;
  if (legacy_seg_mode(c)) {
    if (osz == 2) {
      c->wr<uint16_t>(SS, (sp - 2) & mask, old_cs);
      c->wr<uint16_t>(SS, (sp - 4) & mask, uint16_t(ret));
    } else {
      c->wr<uint32_t>(SS, (sp - 4) & mask, old_cs);
      c->wr<uint32_t>(SS, (sp - 8) & mask, uint32_t(ret));
    }
    set_sp(c, (sp - 2 * osz) & mask);
    far_jump_real(c, sel, off, osz);
    return nullptr;
  }
  Desc d = far_target(c, sel, off);
  // Push CS:RIP on the current stack (checked before anything changes).
  if (osz == 8) {
    c->wr<uint64_t>(SS, (sp - 8) & mask, old_cs);
    c->wr<uint64_t>(SS, (sp - 16) & mask, ret);
  } else if (osz == 4) {
    c->wr<uint32_t>(SS, (sp - 4) & mask, old_cs);
    c->wr<uint32_t>(SS, (sp - 8) & mask, uint32_t(ret));
  } else {
    c->wr<uint16_t>(SS, (sp - 2) & mask, old_cs);
    c->wr<uint16_t>(SS, (sp - 4) & mask, uint16_t(ret));
  }
  set_desc_accessed(c, sel, &d);
  set_sp(c, (sp - 2 * osz) & mask);
  load_cs(c, sel, d, c->cpl);
  c->r[kRegRip] = (c->long_mode() && d.l()) ? off : mask_osz(off, osz);
  return nullptr;
}

// EA / 9A ptr16:16 / ptr16:32 (legacy modes only).
const Insn* jmp_far_ptr(Core* c, const Insn* i) {
  return do_jmp_far(c, uint16_t(i->imm2), i->imm, i->osz);
}
const Insn* call_far_ptr(Core* c, const Insn* i) {
  return do_call_far(c, i, uint16_t(i->imm2), i->imm, i->osz);
}

// FF /5, FF /3: m16:16, m16:32, m16:64.
template <class T> const Insn* jmp_far_mem(Core* c, const Insn* i) {
  const uint64_t e = ea(c, i);
  const T off = c->rd<T>(i->seg, e);
  const uint16_t sel = c->rd<uint16_t>(i->seg, (e + sizeof(T)) & i->amask);
  return do_jmp_far(c, sel, off, sizeof(T));
}
template <class T> const Insn* call_far_mem(Core* c, const Insn* i) {
  const uint64_t e = ea(c, i);
  const T off = c->rd<T>(i->seg, e);
  const uint16_t sel = c->rd<uint16_t>(i->seg, (e + sizeof(T)) & i->amask);
  return do_call_far(c, i, sel, off, sizeof(T));
}

// Validate CS for a return to privilege RPL(sel) (RETF / IRET); returns the descriptor.
Desc return_target(Core* c, uint16_t sel, uint64_t off, bool* outer) {
  if ((sel & 0xFFFC) == 0) c->gp(0);
  Desc d = read_desc(c, sel);
  const int rpl = sel & 3;
  if (!d.is_code() || rpl < c->cpl) c->gp(sel & 0xFFFC);
  if (d.conforming() ? int(d.dpl()) > rpl : int(d.dpl()) != rpl) c->gp(sel & 0xFFFC);
  if (!d.present()) c->raise_fault(vec::NP, sel & 0xFFFC, true);
  const bool to64 = c->long_mode() && d.l() && !d.db();
  if (to64 ? !c->canonical(off) : off > d.limit()) c->gp(0);
  *outer = rpl > c->cpl;
  return d;
}

// Validate the SS popped by a return to privilege `rpl` (null allowed only for 64-bit code).
Desc return_ss(Core* c, uint16_t ss_sel, int rpl, bool to64, bool* null_ss) {
  *null_ss = false;
  if ((ss_sel & 0xFFFC) == 0) {
    if (!(to64 && rpl < 3)) c->gp(0);
    *null_ss = true;
    return Desc{};
  }
  Desc s = read_desc(c, ss_sel);
  if ((ss_sel & 3) != unsigned(rpl) || !s.writable_data() || int(s.dpl()) != rpl) {
    c->gp(ss_sel & 0xFFFC);
  }
  if (!s.present()) c->raise_fault(vec::SS, ss_sel & 0xFFFC, true);
  return s;
}

template <class T> const Insn* retf(Core* c, const Insn* i) {
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  const uint64_t imm = i->imm & 0xFFFF;
  const uint64_t off = c->rd<T>(SS, sp & mask);
  const uint16_t sel = uint16_t(c->rd<T>(SS, (sp + sizeof(T)) & mask));
  if (legacy_seg_mode(c)) {
    set_sp(c, (sp + 2 * sizeof(T) + imm) & mask);
    far_jump_real(c, sel, off, sizeof(T));
    return nullptr;
  }
  bool outer = false;
  Desc d = return_target(c, sel, off, &outer);
  const int rpl = sel & 3;
  if (!outer) {
    set_desc_accessed(c, sel, &d);
    set_sp(c, (sp + 2 * sizeof(T) + imm) & mask);
    load_cs(c, sel, d, c->cpl);
    c->r[kRegRip] = off;
    return nullptr;
  }
  const uint64_t sp2 = sp + 2 * sizeof(T) + imm;
  const uint64_t new_sp = c->rd<T>(SS, sp2 & mask);
  const uint16_t ss_sel = uint16_t(c->rd<T>(SS, (sp2 + sizeof(T)) & mask));
  const bool to64 = c->long_mode() && d.l() && !d.db();
  bool null_ss = false;
  Desc s = return_ss(c, ss_sel, rpl, to64, &null_ss);
  set_desc_accessed(c, sel, &d);
  load_cs(c, sel, d, rpl);
  if (null_ss) {
    set_seg_null(c, SS, ss_sel);
  } else {
    set_desc_accessed(c, ss_sel, &s);
    set_seg_cache(c, SS, ss_sel, s);
  }
  const uint64_t m2 = c->rsp_mask();
  set_sp(c, (new_sp + imm) & m2);
  if (c->stack_size == 32) c->r[RSP] = uint32_t(c->r[RSP]);
  c->r[kRegRip] = off;
  invalidate_segs_for_cpl(c);
  return nullptr;
}

template <class T> const Insn* iret(Core* c, const Insn* i) {
  (void)i;
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  const uint64_t off = c->rd<T>(SS, sp & mask);
  const uint16_t sel = uint16_t(c->rd<T>(SS, (sp + sizeof(T)) & mask));
  const uint64_t fl_ = c->rd<T>(SS, (sp + 2 * sizeof(T)) & mask);
  const uint64_t old = c->get_rflags();
  const uint64_t width = sizeof(T) == 2 ? 0xFFFF : ~uint64_t{0};
  // IRET unblocks NMIs; one held pending is delivered at the instruction boundary right
  // after it, before the first instruction of the interrupted code (SDM vol. 3, 6.7.1).
  c->nmi_blocked = false;
  if (c->nmi_pending) c->sync_events |= ev::kIrqCheck;
  if (c->real_mode()) {
    set_sp(c, (sp + 3 * sizeof(T)) & mask);
    far_jump_real(c, sel, off, sizeof(T));
    c->set_rflags(fl_, (fl::kValid & ~(fl::VM | fl::VIF | fl::VIP)) & width);
    return nullptr;
  }
  if (c->v86()) {
    if (c->iopl() < 3) c->gp(0);
    set_sp(c, (sp + 3 * sizeof(T)) & mask);
    far_jump_real(c, sel, off, sizeof(T));
    c->set_rflags(fl_, (fl::kValid & ~(fl::VM | fl::IOPL | fl::VIF | fl::VIP)) & width);
    return nullptr;
  }
  if (old & fl::NT) {
    if (c->long_mode()) c->gp(0);
    c->internal_error("IRET with NT=1 (task return is not implemented)");
  }
  if (sizeof(T) == 4 && (fl_ & fl::VM) && c->cpl == 0 && !c->long_mode()) {
    // Return to virtual-8086 mode: pop ESP, SS, ES, DS, FS, GS as well.
    uint32_t v[6];
    for (int k = 0; k < 6; k++) v[k] = c->rd<uint32_t>(SS, (sp + 12 + 4 * k) & mask);
    c->set_rflags(fl_, fl::kValid);
    c->set_cpl(3);
    set_seg_real(c, CS, sel);
    set_seg_real(c, SS, uint16_t(v[1]));
    set_seg_real(c, ES, uint16_t(v[2]));
    set_seg_real(c, DS, uint16_t(v[3]));
    set_seg_real(c, FS, uint16_t(v[4]));
    set_seg_real(c, GS, uint16_t(v[5]));
    c->r[RSP] = v[0];
    c->r[kRegRip] = off & 0xFFFF;
    c->update_mode();
    return nullptr;
  }
  bool outer = false;
  Desc d = return_target(c, sel, off, &outer);
  const int rpl = sel & 3;
  const bool to64 = c->long_mode() && d.l() && !d.db();
  // Flags the old privilege level may change.
  uint64_t fmask = fl::kArith | fl::TF | fl::DF | fl::NT | fl::RF | fl::AC | fl::ID;
  if (c->cpl <= c->iopl()) fmask |= fl::IF;
  if (c->cpl == 0) fmask |= fl::IOPL | fl::VIF | fl::VIP;
  fmask &= width;
  if (!outer && c->code_size != 64) {
    set_desc_accessed(c, sel, &d);
    set_sp(c, (sp + 3 * sizeof(T)) & mask);
    load_cs(c, sel, d, c->cpl);
    c->set_rflags(fl_, fmask);
    c->r[kRegRip] = off;
    return nullptr;
  }
  // Outer-level return, or any IRET in 64-bit mode: SS:RSP follow on the stack.
  const uint64_t new_sp = c->rd<T>(SS, (sp + 3 * sizeof(T)) & mask);
  const uint16_t ss_sel = uint16_t(c->rd<T>(SS, (sp + 4 * sizeof(T)) & mask));
  bool null_ss = false;
  Desc s = return_ss(c, ss_sel, rpl, to64, &null_ss);
  set_desc_accessed(c, sel, &d);
  load_cs(c, sel, d, rpl);
  if (null_ss) {
    set_seg_null(c, SS, ss_sel);
  } else {
    set_desc_accessed(c, ss_sel, &s);
    set_seg_cache(c, SS, ss_sel, s);
  }
  c->set_rflags(fl_, fmask);
  c->r[RSP] = c->stack_size == 64 ? new_sp : c->stack_size == 32 ? uint32_t(new_sp)
                                         : ((c->r[RSP] & ~uint64_t{0xFFFF}) | (new_sp & 0xFFFF));
  c->r[kRegRip] = off;
  if (outer) invalidate_segs_for_cpl(c);
  return nullptr;
}

// ---- segment registers ----

const Insn* mov_sreg_load(Core* c, const Insn* i) {
  const uint16_t sel = is_mem(i) ? c->rd<uint16_t>(i->seg, ea(c, i)) : get_reg<uint16_t>(c, i->mo);
  const int s = i->reg & 7;
  load_seg(c, s, sel);
  if (s == SS) {
    c->sync_events |= ev::kShadow | ev::kShadowSs;
    return end_after(c, i);
  }
  return i + 1;
}

template <bool M> const Insn* mov_sreg_store(Core* c, const Insn* i) {
  const uint16_t sel = c->seg[i->reg & 7].sel;
  if constexpr (M) {
    c->wr<uint16_t>(i->seg, ea(c, i), sel);
  } else if (i->osz == 2) {
    set_reg<uint16_t>(c, i->mo, sel);
  } else {
    c->r[i->mo >> 3] = sel;
  }
  return next(c, i);
}

template <class T> const Insn* push_sreg(Core* c, const Insn* i) {
  const uint64_t sp = (c->r[RSP] - sizeof(T)) & c->rsp_mask();
  // A 32/64-bit push of a segment register writes only the low 16 bits (SDM vol. 2, PUSH).
  c->wr<uint16_t>(SS, sp, c->seg[i->imm2].sel);
  set_sp(c, sp);
  return next(c, i);
}

template <class T> const Insn* pop_sreg(Core* c, const Insn* i) {
  const uint16_t sel = uint16_t(stack_peek<T>(c));
  const int s = int(i->imm2);
  load_seg(c, s, sel);
  stack_adjust(c, sizeof(T));
  if (s == SS) {
    c->sync_events |= ev::kShadow | ev::kShadowSs;
    return end_after(c, i);
  }
  return i + 1;
}

// LDS/LES/LSS/LFS/LGS r, m16:16/32/64.
template <class T> const Insn* load_far_ptr(Core* c, const Insn* i) {
  const uint64_t e = ea(c, i);
  const T off = c->rd<T>(i->seg, e);
  const uint16_t sel = c->rd<uint16_t>(i->seg, (e + sizeof(T)) & i->amask);
  load_seg(c, int(i->imm2), sel);
  set_reg<T>(c, i->ro, off);
  return i->imm2 == SS ? end_after(c, i) : i + 1;
}

template <bool M> const Insn* arpl(Core* c, const Insn* i) {
  const uint16_t src = get_reg<uint16_t>(c, i->ro);
  materialize_flags(c);
  if constexpr (M) {
    Rmw<uint16_t> m(c, i->seg, ea(c, i));
    const uint16_t dst = m.load();
    if ((dst & 3) < (src & 3)) {
      m.store(uint16_t((dst & ~3) | (src & 3)));
      c->rfl |= fl::ZF;
    } else {
      c->rfl &= ~fl::ZF;
    }
  } else {
    const uint16_t dst = get_reg<uint16_t>(c, i->mo);
    if ((dst & 3) < (src & 3)) {
      set_reg<uint16_t>(c, i->mo, uint16_t((dst & ~3) | (src & 3)));
      c->rfl |= fl::ZF;
    } else {
      c->rfl &= ~fl::ZF;
    }
  }
  return next(c, i);
}

// ---- decoders ----

bool dec_far_ptr(DecodeCtx& d, Insn* i) {
  i->imm = d.osz == 2 ? d.fetch16() : d.fetch32();
  i->imm2 = d.fetch16();
  i->fn = d.opcode == 0xEA ? jmp_far_ptr : call_far_ptr;
  return true;
}

bool dec_retf(DecodeCtx& d, Insn* i) {
  if (d.opcode == 0xCB) i->imm = 0;
  i->fn = SOFT_PICK_WIDE(d.osz, retf);
  return true;
}

bool dec_iret(DecodeCtx& d, Insn* i) {
  i->fn = SOFT_PICK_WIDE(d.osz, iret);
  return true;
}

bool dec_mov_sreg(DecodeCtx& d, Insn* i) {
  const unsigned s = d.reg & 7;
  if (s > GS) return false;
  if (d.opcode == 0x8E) {
    if (s == CS) return false;
    i->mo = uint8_t((d.rm) * 8);
    i->fn = mov_sreg_load;
    if (s == SS) d.ends_block = true;
  } else {
    i->fn = is_mem(i) ? &mov_sreg_store<true> : &mov_sreg_store<false>;
  }
  return true;
}

bool dec_push_pop_sreg(DecodeCtx& d, Insn* i) {
  int s;
  bool is_pop;
  if (d.map == 0) {
    s = (d.opcode >> 3) & 3;
    is_pop = d.opcode & 1;
    if (s == CS && is_pop) return false;
  } else {
    s = d.opcode < 0xA8 ? FS : GS;
    is_pop = d.opcode & 1;
  }
  i->imm2 = uint32_t(s);
  if (is_pop) {
    i->fn = SOFT_PICK_WIDE(d.osz, pop_sreg);
    if (s == SS) d.ends_block = true;
  } else {
    i->fn = SOFT_PICK_WIDE(d.osz, push_sreg);
  }
  return true;
}

bool dec_load_far_ptr(DecodeCtx& d, Insn* i) {
  if (d.map == 0) {
    // C4/C5 are VEX prefixes in 64-bit mode or with a register ModRM: not implemented.
    if (d.code_size == 64 || d.mod == 3) return false;
    i->imm2 = d.opcode == 0xC4 ? ES : DS;
  } else {
    if (d.mod == 3) return false;
    i->imm2 = d.opcode == 0xB2 ? SS : d.opcode == 0xB4 ? FS : GS;
  }
  i->fn = SOFT_PICK_WIDE(d.osz, load_far_ptr);
  if (i->imm2 == SS) d.ends_block = true;
  return true;
}

}  // namespace

Handler pick_call_far_mem(int osz) { return SOFT_PICK_WIDE(osz, call_far_mem); }
Handler pick_jmp_far_mem(int osz) { return SOFT_PICK_WIDE(osz, jmp_far_mem); }
Handler pick_arpl(bool mem) { return mem ? &arpl<true> : &arpl<false>; }

void register_segment_ops(OpTables& t) {
  const char* fam = "far";
  const uint32_t e = opf::kEndsBlock;
  register_op(t, 0, 0xEA, dec_far_ptr, opf::kInvalid64 | e, fam);
  register_op(t, 0, 0x9A, dec_far_ptr, opf::kInvalid64 | e, fam);
  register_op(t, 0, 0xCA, dec_retf, opf::kImm16 | e, fam);
  register_op(t, 0, 0xCB, dec_retf, e, fam);
  register_op(t, 0, 0xCF, dec_iret, e, fam);
  register_op(t, 0, 0x8C, dec_mov_sreg, opf::kModrm, fam);
  register_op(t, 0, 0x8E, dec_mov_sreg, opf::kModrm, fam);
  for (unsigned op : {0x06u, 0x07u, 0x0Eu, 0x16u, 0x17u, 0x1Eu, 0x1Fu}) {
    register_op(t, 0, op, dec_push_pop_sreg, opf::kInvalid64, fam);
  }
  for (unsigned op : {0xA0u, 0xA1u, 0xA8u, 0xA9u}) {
    register_op(t, 1, op, dec_push_pop_sreg, opf::kDefault64, fam);
  }
  register_op(t, 0, 0xC4, dec_load_far_ptr, opf::kModrm, fam);
  register_op(t, 0, 0xC5, dec_load_far_ptr, opf::kModrm, fam);
  for (unsigned op : {0xB2u, 0xB4u, 0xB5u}) register_op(t, 1, op, dec_load_far_ptr, opf::kModrm, fam);
}

}  // namespace tsvirt::soft
