// Handler pickers shared between integer families whose opcodes share a ModRM group
// (F6/F7: TEST/NOT/NEG with MUL/DIV; FE/FF: INC/DEC with CALL/JMP/PUSH).
#pragma once

#include "soft/insn.h"

namespace tsvirt::soft {

inline int size_index_of(int osz) { return osz == 1 ? 0 : osz == 2 ? 1 : osz == 4 ? 2 : 3; }

// ops_alu.cc
Handler pick_test_imm(int osz, bool mem);
Handler pick_not(int osz, bool mem, bool lock);
Handler pick_neg(int osz, bool mem, bool lock);
Handler pick_incdec(int osz, bool dec, bool mem, bool lock);
// ops_mov.cc
Handler pick_push_rm(int osz, bool mem);
// ops_far.cc: far transfers through a memory pointer (FF /3, FF /5) and ARPL (63).
Handler pick_call_far_mem(int osz);
Handler pick_jmp_far_mem(int osz);
Handler pick_arpl(bool mem);

}  // namespace tsvirt::soft
