// Dead-flag elimination over a decoded block: see flagopt.h.
#include "soft/flagopt.h"

namespace tsvirt::soft {

namespace {

// Instructions that neither read nor write flags and cannot fault: MOV between registers
// (88-8B register forms), MOV reg, imm (B0-BF), LEA (8D; computes an address, no access).
bool flag_neutral(const Insn& i) {
  if (i.fn == op_ud || i.fn == op_gp_too_long || (i.flags & insnf::kLock)) return false;
  if ((i.op >> 8) != 0) return false;
  const unsigned o = i.op & 0xFF;
  if (o >= 0x88 && o <= 0x8B) return !(i.flags & insnf::kMem);
  if (o >= 0xB0 && o <= 0xBF) return true;
  return o == 0x8D && (i.flags & insnf::kMem);
}

}  // namespace

void optimize_flags(Insn* insns, unsigned n) {
  // Live at the block's end: the next block, an interrupt or an exit may look at them.
  bool cf_live = true, rest_live = true;
  for (unsigned k = n; k-- > 0;) {
    Insn& i = insns[k];
    i.exact = nullptr;
    if (flag_neutral(i)) continue;
    const FlagVariants* v = (i.flags & (insnf::kMem | insnf::kLock)) ? nullptr : flag_variants(i.fn);
    if (v == nullptr) {  // may read flags, fault or exit
      cf_live = rest_live = true;
      continue;
    }
    if (v->writes == FlagVariants::kWritesAll) {
      if (!cf_live && !rest_live) {
        i.exact = i.fn;
        i.fn = v->no_flags;
      }
      cf_live = v->reads_cf;
      rest_live = false;
    } else {  // INC/DEC: OF SF ZF AF PF written, CF carried over from before
      if (!cf_live) {
        i.exact = i.fn;
        i.fn = rest_live ? v->no_cf : v->no_flags;
      }
      rest_live = false;
    }
  }
  // Forward: where CF is known to be 0, an exact INC/DEC records CF = 0 instead of
  // evaluating the carry of the operation before it (same architectural result).
  bool cf_zero = false;
  for (unsigned k = 0; k < n; k++) {
    Insn& i = insns[k];
    if (flag_neutral(i)) continue;
    const Handler orig = i.exact != nullptr ? i.exact : i.fn;
    const FlagVariants* v = (i.flags & (insnf::kMem | insnf::kLock)) ? nullptr : flag_variants(orig);
    if (v == nullptr) {
      cf_zero = false;
    } else if (v->writes == FlagVariants::kWritesAll) {
      cf_zero = v->clears_cf;
    } else if (cf_zero && i.exact == nullptr) {
      i.fn = v->no_cf;  // INC/DEC keeps CF, which is 0
    }
  }
}

}  // namespace tsvirt::soft
