// Flag instructions and small general-purpose instructions: CLC/STC/CMC/CLD/STD, LAHF/SAHF,
// PUSHF/POPF, CPUID, RDTSC, and the BCD adjustments DAA/DAS/AAA/AAS/AAM/AAD (legacy
// modes only; #UD in 64-bit mode as the SDM says).
//
// PUSHF/POPF follow the SDM vol. 2 operation sections: IOPL changes only at CPL 0, IF only
// when CPL <= IOPL, VM/VIF/VIP are never changed by POPF, RF is cleared, and in virtual-8086
// mode with IOPL < 3 both raise #GP(0) (no VME). Flags the SDM leaves undefined after the
// BCD instructions are computed as the result-based values (the differential tests mask
// them).
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

template <uint64_t CLR, uint64_t SET, bool CMC> const Insn* flag_op(Core* c, const Insn* i) {
  materialize_flags(c);
  uint64_t f = c->rfl;
  if (CMC) f ^= fl::CF;
  f = (f & ~CLR) | SET;
  c->rfl = f;
  return next(c, i);
}

const Insn* lahf(Core* c, const Insn* i) {
  const uint64_t f = c->get_rflags();
  set_reg<uint8_t>(c, 1, uint8_t((f & (fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF)) | 2));
  return next(c, i);
}

const Insn* sahf(Core* c, const Insn* i) {
  materialize_flags(c);
  const uint64_t ah = (c->r[RAX] >> 8) & (fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF);
  c->rfl = (c->rfl & ~(fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF)) | ah;
  return next(c, i);
}

// SALC (0xD6, AMD APM vol. 3 "SALC"; undocumented by Intel but executed by every x86):
// AL = CF ? 0xFF : 0x00, flags unchanged; #UD in 64-bit mode.
const Insn* salc(Core* c, const Insn* i) {
  set_reg<uint8_t>(c, 0, get_cf(c) ? 0xFF : 0x00);
  return next(c, i);
}

template <class T> const Insn* pushf(Core* c, const Insn* i) {
  if (c->v86() && c->iopl() < 3) c->gp(0);
  const uint64_t f = c->get_rflags() & ~(fl::VM | fl::RF);
  push<T>(c, T(f));
  return next(c, i);
}

template <class T> const Insn* popf(Core* c, const Insn* i) {
  if (c->v86() && c->iopl() < 3) c->gp(0);
  const uint64_t v = stack_peek<T>(c);
  uint64_t mask = fl::kArith | fl::TF | fl::DF | fl::NT | fl::AC | fl::ID | fl::RF;
  if (c->cpl == 0 && !c->v86()) mask |= fl::IOPL;
  if (c->cpl <= c->iopl() || c->v86()) mask |= fl::IF;
  if (sizeof(T) == 2) mask &= 0xFFFF;
  stack_adjust(c, sizeof(T));
  c->set_rflags(v & ~fl::RF, mask);
  return end_after(c, i);  // IF/TF may have changed: let the run loop look at events
}

const Insn* cpuid(Core* c, const Insn* i) {
  uint32_t out[4];
  c->cpuid(uint32_t(c->r[RAX]), uint32_t(c->r[RCX]), out);
  c->r[RAX] = out[0];
  c->r[RBX] = out[1];
  c->r[RCX] = out[2];
  c->r[RDX] = out[3];
  return next(c, i);
}

const Insn* rdtsc(Core* c, const Insn* i) {
  if ((c->cr4 & cr4::TSD) && c->cpl != 0 && c->protected_mode()) c->gp(0);
  const uint64_t t = c->tsc_read();
  c->r[RAX] = uint32_t(t);
  c->r[RDX] = t >> 32;
  return next(c, i);
}

// ---- BCD (SDM vol. 2: DAA, DAS, AAA, AAS, AAM, AAD) ----

inline void set_szp8(Core* c, uint8_t r, bool cf, bool af, bool of) {
  set_lf_resco<uint8_t>(c, r, cf, of, af);
}

const Insn* daa(Core* c, const Insn* i) {
  const uint8_t old_al = uint8_t(c->r[RAX]);
  const bool old_cf = get_cf(c);
  uint8_t al = old_al;
  bool cf = false, af = false;
  if ((al & 0xF) > 9 || get_af(c)) {
    cf = old_cf || al > 0xF9;
    al = uint8_t(al + 6);
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = uint8_t(al + 0x60);
    cf = true;
  }
  set_reg<uint8_t>(c, 0, al);
  set_szp8(c, al, cf, af, false);
  return next(c, i);
}

const Insn* das(Core* c, const Insn* i) {
  const uint8_t old_al = uint8_t(c->r[RAX]);
  const bool old_cf = get_cf(c);
  uint8_t al = old_al;
  bool cf = false, af = false;
  if ((al & 0xF) > 9 || get_af(c)) {
    cf = old_cf || al < 6;
    al = uint8_t(al - 6);
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = uint8_t(al - 0x60);
    cf = true;
  }
  set_reg<uint8_t>(c, 0, al);
  set_szp8(c, al, cf, af, false);
  return next(c, i);
}

template <bool SUB> const Insn* aaa(Core* c, const Insn* i) {
  uint16_t ax = uint16_t(c->r[RAX]);
  bool adj = (ax & 0xF) > 9 || get_af(c);
  if (adj) {
    if (SUB) {
      ax = uint16_t(ax - 6);
      ax = uint16_t((ax & 0xFF) | ((((ax >> 8) - 1) & 0xFF) << 8));
    } else {
      ax = uint16_t(ax + 0x106);
    }
  }
  ax &= 0xFF0F;
  set_reg<uint16_t>(c, 0, ax);
  set_szp8(c, uint8_t(ax), adj, adj, false);
  return next(c, i);
}

const Insn* aam(Core* c, const Insn* i) {
  const uint8_t base = uint8_t(i->imm);
  if (base == 0) c->raise_fault(vec::DE);
  const uint8_t al = uint8_t(c->r[RAX]);
  const uint8_t r = uint8_t(al % base);
  set_reg<uint16_t>(c, 0, uint16_t(((al / base) << 8) | r));
  set_szp8(c, r, false, false, false);
  return next(c, i);
}

const Insn* aad(Core* c, const Insn* i) {
  const uint8_t base = uint8_t(i->imm);
  const uint16_t ax = uint16_t(c->r[RAX]);
  const uint8_t r = uint8_t((ax & 0xFF) + (ax >> 8) * base);
  set_reg<uint16_t>(c, 0, r);
  set_szp8(c, r, false, false, false);
  return next(c, i);
}

bool dec_simple(DecodeCtx& d, Insn* i) {
  switch (d.map << 8 | d.opcode) {
    case 0xF8: i->fn = &flag_op<fl::CF, 0, false>; return true;
    case 0xF9: i->fn = &flag_op<0, fl::CF, false>; return true;
    case 0xF5: i->fn = &flag_op<0, 0, true>; return true;
    case 0xFC: i->fn = &flag_op<fl::DF, 0, false>; return true;
    case 0xFD: i->fn = &flag_op<0, fl::DF, false>; return true;
    case 0x9E: case 0x9F:
      if (d.code_size == 64 && !(d.c->feat.x1_ecx & feat::kLahf)) return false;
      i->fn = d.opcode == 0x9E ? sahf : lahf;
      return true;
    case 0x9C: i->fn = SOFT_PICK_WIDE(d.osz, pushf); return true;
    case 0x9D:
      i->fn = SOFT_PICK_WIDE(d.osz, popf);
      d.ends_block = true;
      return true;
    case 0x1A2: i->fn = cpuid; return true;
    case 0x131: i->fn = rdtsc; return true;
    case 0x27: i->fn = daa; return true;
    case 0x2F: i->fn = das; return true;
    case 0x37: i->fn = &aaa<false>; return true;
    case 0x3F: i->fn = &aaa<true>; return true;
    case 0xD4: i->fn = aam; return true;
    case 0xD5: i->fn = aad; return true;
    case 0xD6: i->fn = salc; return true;
    default: return false;
  }
}

}  // namespace

void register_misc(OpTables& t) {
  const char* fam = "misc";
  for (unsigned op : {0xF8u, 0xF9u, 0xF5u, 0xFCu, 0xFDu, 0x9Eu, 0x9Fu}) {
    register_op(t, 0, op, dec_simple, 0, fam);
  }
  register_op(t, 0, 0x9C, dec_simple, opf::kDefault64, fam);
  register_op(t, 0, 0x9D, dec_simple, opf::kDefault64, fam);
  register_op(t, 1, 0xA2, dec_simple, 0, fam);
  register_op(t, 1, 0x31, dec_simple, 0, fam);
  for (unsigned op : {0x27u, 0x2Fu, 0x37u, 0x3Fu}) register_op(t, 0, op, dec_simple, opf::kInvalid64, fam);
  register_op(t, 0, 0xD4, dec_simple, opf::kImm8 | opf::kInvalid64, fam);
  register_op(t, 0, 0xD5, dec_simple, opf::kImm8 | opf::kInvalid64, fam);
  register_op(t, 0, 0xD6, dec_simple, opf::kInvalid64, fam);
  t.features.l1_edx |= feat::kTsc;
  t.features.x1_ecx |= feat::kLahf;
}

}  // namespace tsvirt::soft
