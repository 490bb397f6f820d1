// Dead-flag elimination over a decoded block.
//
// Most arithmetic results' flags are overwritten by the next flag-writing instruction
// before anything reads them. After a block is decoded, optimize_flags() walks it backwards
// tracking whether CF and the other arithmetic flags (OF SF ZF AF PF) are live, and swaps
// the handler of a register-form ALU/TEST/INC/DEC instruction whose flags are dead for a
// variant that does not record them (INC/DEC: or that does not carry CF over). A forward
// pass then gives INC/DEC the variant that records CF as 0 where an earlier logic
// instruction of the block (OR AND XOR TEST) left CF known to be 0: exact, and it spares
// evaluating the previous operation's carry.
//
// Flags stay exact wherever they can be observed: they are live at the end of every block
// (interrupts, exits, the next block), before any instruction that may read flags, fault,
// exit or is not known to this pass, and a writer only kills them when it cannot fault
// itself. The exact handler is kept in Insn::exact: single-stepping, a budget ending inside
// the block and breakpoints run instructions one at a time with it (exec.cc).
// Not here: memory-operand or LOCKed forms (they may fault), flags across blocks.
#pragma once

#include "soft/insn.h"

namespace tsvirt::soft {

// What the ALU family says about one of its exact handlers (register forms only).
struct FlagVariants {
  enum Writes : uint8_t { kWritesAll, kWritesAllButCf };
  Writes writes;
  bool reads_cf;       // ADC/SBB
  bool clears_cf;      // OR/AND/XOR/TEST: CF is 0 afterwards
  Handler no_flags;    // same result, records no flags
  Handler no_cf;       // INC/DEC: records OF SF ZF AF PF, CF as 0; else nullptr
};

// ops_alu.cc: nullptr when `exact` is not a register-form flag writer it knows.
const FlagVariants* flag_variants(Handler exact);

// Rewrite the handlers of insns[0..n) (the block's terminator follows them).
void optimize_flags(Insn* insns, unsigned n);

}  // namespace tsvirt::soft
