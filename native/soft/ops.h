// Helpers for instruction handlers: operand access, effective addresses, stack, RIP.
//
// Included by every instruction family (ops_*.cc and the x87/SSE families). All inline;
// the handlers built from them are the execution hot path. Conventions:
//  - a handler finishes every check that may fault before writing architectural state;
//  - it ends with `return next(c, i)` (advance RIP, continue the block) or sets RIP itself
//    and returns nullptr (ends the block);
//  - a write to a 32-bit register zero-extends into the 64-bit register, 8/16-bit writes
//    merge (SDM vol. 1, 3.4.1.1).
#pragma once

#include <cstring>
#include <initializer_list>
#include <limits>
#include <type_traits>

#include "soft/core.h"
#include "soft/flags.h"
#include "soft/insn.h"
#include "soft/mem.h"
#include "vmm/x86_state.h"

namespace tsvirt::soft {

using x86::RAX;
using x86::RBX;
using x86::RCX;
using x86::RDI;
using x86::RDX;
using x86::RSI;
using x86::RSP;
using x86::RBP;

// RIP while a block runs: c->r[kRegRip] holds the RIP of the block's first instruction for
// the whole block (no per-instruction update, no dependency chain through memory); the
// current instruction is at r[kRegRip] + i->off. Handlers that end the block set it.

// Continue with the next instruction of the block: a tail call into its handler (threaded
// dispatch; the chain is at most one block long, so the stack stays bounded even where the
// compiler does not turn the call into a jump).
SOFT_INLINE const Insn* next(Core* c, const Insn* i) {
  const Insn* n = i + 1;
  c->cur = n;
  return n->fn(c, n);
}

// RIP of instruction i.
inline uint64_t insn_rip(const Core* c, const Insn* i) { return c->r[kRegRip] + i->off; }

// RIP of the instruction after i, truncated to the code size.
inline uint64_t next_rip(const Core* c, const Insn* i) {
  uint64_t n = c->r[kRegRip] + i->off + i->len;
  return c->code_size == 64 ? n : c->code_size == 32 ? uint32_t(n) : uint16_t(n);
}

// End the block after instruction i (falls through to the next instruction's RIP).
inline const Insn* end_after(Core* c, const Insn* i) {
  c->r[kRegRip] = next_rip(c, i);
  return nullptr;
}

template <class T> inline T get_reg(const Core* c, unsigned off) {
  T v;
  std::memcpy(&v, reinterpret_cast<const uint8_t*>(c->r) + off, sizeof(T));
  return v;
}

template <class T> inline void set_reg(Core* c, unsigned off, T v) {
  if constexpr (sizeof(T) == 4) {
    c->r[off >> 3] = static_cast<uint32_t>(v);
  } else {
    std::memcpy(reinterpret_cast<uint8_t*>(c->r) + off, &v, sizeof(T));
  }
}

// Register number n at operand size T (no high-byte registers: for implicit operands).
template <class T> inline T reg_n(const Core* c, int n) { return static_cast<T>(c->r[n]); }
template <class T> inline void set_reg_n(Core* c, int n, T v) { set_reg<T>(c, unsigned(n) * 8, v); }

inline uint64_t ea(const Core* c, const Insn* i) {
  return (c->r[i->base] + (c->r[i->index] << i->scale) + uint64_t(i->disp)) & i->amask;
}

// The r/m operand as a value (register or memory).
template <class T, bool M> inline T read_rm(Core* c, const Insn* i) {
  if constexpr (M) return c->rd<T>(i->seg, ea(c, i));
  else return get_reg<T>(c, i->mo);
}
template <class T, bool M> inline void write_rm(Core* c, const Insn* i, T v) {
  if constexpr (M) c->wr<T>(i->seg, ea(c, i), v);
  else set_reg<T>(c, i->mo, v);
}

// Stack pointer update honouring the stack size (SS.B / 64-bit mode).
inline void set_sp(Core* c, uint64_t sp) {
  if (c->stack_size == 16) {
    c->r[RSP] = (c->r[RSP] & ~uint64_t{0xFFFF}) | (sp & 0xFFFF);
  } else {
    c->r[RSP] = sp;
  }
}

template <class T> inline void push(Core* c, T v) {
  const uint64_t sp = (c->r[RSP] - sizeof(T)) & c->rsp_mask();
  c->wr<T>(SS, sp, v);
  set_sp(c, sp);
}

// Read the top of stack without popping (callers commit with pop_commit once nothing else
// can fault).
template <class T> inline T stack_peek(Core* c, unsigned offset = 0) {
  return c->rd<T>(SS, (c->r[RSP] + offset) & c->rsp_mask());
}
inline void stack_adjust(Core* c, uint64_t bytes) {
  set_sp(c, (c->r[RSP] + bytes) & c->rsp_mask());
}

template <class T> inline T pop(Core* c) {
  T v = stack_peek<T>(c);
  stack_adjust(c, sizeof(T));
  return v;
}

// Jump to a near target (already masked to the operand size by the caller).
inline const Insn* jump_to(Core* c, uint64_t target) {
  c->r[kRegRip] = target;
  return nullptr;
}

// Mask a target to the operand size of a near branch.
inline uint64_t mask_osz(uint64_t v, unsigned osz) {
  return osz == 8 ? v : osz == 4 ? uint32_t(v) : uint16_t(v);
}

template <class T> constexpr T sign_bit() { return T(T(1) << (sizeof(T) * 8 - 1)); }

// Device-not-available / #UD checks shared by FPU and SSE families (SDM vol. 3, 2.5).
inline void check_fpu(Core* c) {
  if (c->cr0 & (cr0::EM | cr0::TS)) {
    if (c->cr0 & cr0::EM) c->ud();
    c->raise_fault(vec::NM);
  }
}
inline void check_sse(Core* c) {
  if ((c->cr0 & cr0::EM) || !(c->cr4 & cr4::OSFXSR)) c->ud();
  if (c->cr0 & cr0::TS) c->raise_fault(vec::NM);
}

// Dispatch on operand size: picks a template instance for 1/2/4/8-byte operands, e.g.
// SOFT_PICK(d.osz, alu_rm_r, kAddOp, true) is &alu_rm_r<uintN_t, kAddOp, true>.
#define SOFT_PICK(osz, NAME, ...)                                      \
  ((osz) == 1   ? &NAME<uint8_t, ##__VA_ARGS__>                        \
   : (osz) == 2 ? &NAME<uint16_t, ##__VA_ARGS__>                       \
   : (osz) == 4 ? &NAME<uint32_t, ##__VA_ARGS__>                       \
                : &NAME<uint64_t, ##__VA_ARGS__>)
// Same for instructions that have no 8-bit form.
#define SOFT_PICK_WIDE(osz, NAME, ...)                                 \
  ((osz) == 2   ? &NAME<uint16_t, ##__VA_ARGS__>                       \
   : (osz) == 4 ? &NAME<uint32_t, ##__VA_ARGS__>                       \
                : &NAME<uint64_t, ##__VA_ARGS__>)

// Registration entry points of the families (families.cc calls them in order).
void register_alu(OpTables& t);
void register_mov(OpTables& t);
void register_branch(OpTables& t);
void register_string(OpTables& t);
void register_bit(OpTables& t);
void register_muldiv(OpTables& t);
void register_shift(OpTables& t);
void register_misc(OpTables& t);
void register_system(OpTables& t);
void register_segment_ops(OpTables& t);
void register_sysregs(OpTables& t);
void register_atomic(OpTables& t);
void register_x87(OpTables& t);
void register_fxsave(OpTables& t);
void register_sse(OpTables& t);

}  // namespace tsvirt::soft
