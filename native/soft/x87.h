// Internals shared by the x87 instruction family (ops_x87*.cc): availability checks,
// pending-exception (#MF) handling, the last-instruction pointers, and the host-FPU
// primitives the arithmetic runs on.
//
// How x87 arithmetic is computed: the host is x86-64, whose x87 unit *is* the 80-bit
// extended format the guest sees. Every computational instruction runs on the host FPU
// under the guest's precision and rounding control, so results, NaN propagation, flags
// (including C1 round-up, denormal-operand, unsupported encodings) and the transcendental
// approximations are those of real hardware by construction. Two ways:
//  - the fast paths (ops_x87_arith.cc, ops_x87_move.cc) load operands into host registers
//    with inline assembly when every exception is masked and no stack fault can occur;
//  - everything else goes through x87_host_exec (ops_x87_host.cc): the guest register stack
//    is loaded into the host FPU with FRSTOR, the guest instruction itself executes on the
//    host (memory operand redirected to a host buffer), and FNSAVE brings the stack, tags
//    and status word back. Unmasked exceptions, stack overflow/underflow and every
//    condition-code detail therefore follow the host processor (SDM vol. 1, chapter 8).
// The host FPU is left in its ABI state (FCW 037F, empty stack) after every operation.
//
// Exceptions: CR0.EM or CR0.TS raise #NM before anything else (SDM vol. 3, 2.5 table 2-2);
// a waiting instruction then raises #MF when FSW.ES is set and CR0.NE is 1. With CR0.NE=0
// the PC's FERR#/IRQ13 path would apply; it is not modelled (errors stay pending, as if
// IGNNE# were asserted).
#pragma once

#include "soft/ops.h"

namespace tsvirt::soft {

// #NM for a no-wait control instruction (FNINIT, FNSTSW, ...).
inline void x87_check_nowait(Core* c) {
  if (SOFT_UNLIKELY(c->cr0 & (cr0::EM | cr0::TS))) c->raise_fault(vec::NM);
}

[[noreturn]] void x87_raise_mf(Core* c);

// #NM, then the pending-exception check of a waiting instruction.
inline void x87_check(Core* c) {
  x87_check_nowait(c);
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) x87_raise_mf(c);
}

// Record the last non-control instruction (FOP/FIP/FCS) and, for memory forms, its
// operand (FDP/FDS). The decoder stores the FOP value in Insn::imm2.
inline void x87_note_insn(Core* c, const Insn* i) {
  c->fpu.fop = uint16_t(i->imm2);
  c->fpu.fip = insn_rip(c, i);
  c->fpu.fcs = c->seg[CS].sel;
}
inline void x87_note_mem(Core* c, const Insn* i, uint64_t e) {
  x87_note_insn(c, i);
  c->fpu.fdp = e;
  c->fpu.fds = c->seg[i->seg].sel;
}

// The value FCW holds after a load: bits 7 and 13-15 read as 0, bit 6 as 1 (as processors
// do; FLDCW, FLDENV, FRSTOR and FXRSTOR all go through this).
inline uint16_t x87_fcw_value(uint16_t v) { return uint16_t((v & 0x1F3F) | 0x40); }

// Merge a host status word produced by one operation into the guest FSW: condition codes
// from the host, exception flags accumulated (sticky), ES/B recomputed.
inline void x87_merge_flags(FpuState& f, uint16_t host_sw) {
  f.fsw = uint16_t((f.fsw & ~(fsw::C0 | fsw::C1 | fsw::C2 | fsw::C3)) |
                   (host_sw & (fsw::C0 | fsw::C1 | fsw::C2 | fsw::C3 | 0x7F)));
  x87_sync_es(f);
}

// The host control word for a guest FCW: precision and rounding control from the guest,
// every exception masked (fast paths run only when the guest masks them all too).
inline uint16_t x87_host_cw(uint16_t fcw) { return uint16_t((fcw & 0x0F00) | 0x7F); }

// Host x87 exception flags that may be set (per host thread). The fast paths need the
// flags of one operation; instead of an FNCLEX before each (slow on current processors) they
// keep the host's sticky flags a subset of the guest's, so whatever the host reports after
// the operation can be merged into the guest FSW as is. FNCLEX runs only when the guest has
// cleared a flag the host still holds. 0x3F means unknown. The general path's FNSAVE leaves
// the host clean.
extern thread_local uint16_t t_x87_host_exc;
inline void x87_host_enter(const FpuState& f) {
  if (SOFT_UNLIKELY(t_x87_host_exc & ~f.fsw & fsw::kExc)) {
    asm volatile("fnclex");
    t_x87_host_exc = 0;
  }
}
inline void x87_host_leave(uint16_t host_sw) { t_x87_host_exc = host_sw & fsw::kExc; }

// True when a fast path may run: all exceptions masked.
inline bool x87_all_masked(const FpuState& f) { return (f.fcw & 0x3F) == 0x3F; }

// Generic execution on the host FPU (ops_x87_host.cc). `op` is the first opcode byte
// (D8..DF), `modrm` the ModRM byte (for memory forms only its reg field matters), `buf` the
// memory operand (filled before a load, written to guest memory after a store). The guest
// arithmetic flags go in (FCMOVcc reads them) and come out in X87Host::rflags (FCOMI writes
// them). x87_host_run changes no guest state; x87_host_commit installs the resulting
// stack, tags and status word, so a store can fault between the two without side effects.
struct X87Host {
  uint8_t img[108];   // FNSAVE image after the instruction
  uint64_t rflags;    // host RFLAGS after the instruction
  uint16_t sw;        // host FSW after the instruction (this instruction's flags only)
};
void x87_host_run(Core* c, unsigned op, unsigned modrm, void* buf, X87Host* h);
void x87_host_commit(Core* c, const X87Host& h);

// A store to memory happens unless an unmasked invalid, denormal, zero-divide, overflow
// or underflow exception was raised (SDM vol. 1, 8.5: no result is stored then).
inline bool x87_store_ok(const FpuState& f, uint16_t sw) { return !(sw & ~f.fcw & 0x1F); }

// The general handlers' bodies (ops_x87.cc), also the fallback of every fast path: they
// run after the availability checks and update the last-instruction pointers.
void x87_exec_reg(Core* c, const Insn* i);
template <unsigned N> void x87_exec_load(Core* c, const Insn* i, uint64_t e);
template <unsigned N> void x87_exec_store(Core* c, const Insn* i, uint64_t e);

// Handler pickers of the x87 files; nullptr when the file has no handler for the encoding.
// `op` is D8..DF, `reg` the ModRM.reg field of a memory form, `osz` the operand size.
Handler x87_env_mem(unsigned op, unsigned reg, int osz);    // ops_x87_env.cc
Handler x87_env_reg(unsigned op, unsigned modrm);           // ops_x87_env.cc
Handler x87_move_fast_mem(unsigned op, unsigned reg);       // ops_x87_move.cc
Handler x87_move_fast_reg(unsigned op, unsigned modrm);     // ops_x87_move.cc
Handler x87_arith_fast_mem(unsigned op, unsigned reg);      // ops_x87_arith.cc
Handler x87_arith_fast_reg(unsigned op, unsigned modrm);    // ops_x87_arith.cc
bool dec_fwait(DecodeCtx& d, Insn* i);                      // ops_x87_env.cc

// ---- 80-bit values ----

inline Reg80 r80(uint64_t mant, uint16_t exp) {
  Reg80 r;
  r.mant = mant;
  r.exp = exp;
  return r;
}
// The default NaN ("real indefinite") produced by masked invalid operations.
inline Reg80 r80_indefinite() { return r80(0xC000000000000000ull, 0xFFFF); }

// Push/pop of the register stack (no checks: callers test overflow/underflow first).
inline void x87_push(FpuState& f, const Reg80& v) {
  const unsigned t = (x87_top(f) - 1) & 7;
  x87_set_top(f, t);
  f.st[t].mant = v.mant;
  f.st[t].exp = v.exp;
  x87_set_empty_phys(f, t, false);
}
inline void x87_pop(FpuState& f) {
  const unsigned t = x87_top(f);
  x87_set_empty_phys(f, t, true);
  x87_set_top(f, t + 1);
}

}  // namespace tsvirt::soft
