// Block compiler of the soft CPU: hot decoded blocks of 64-bit code become host x86-64
// machine code (jit.cc).
//
// A compiled block behaves exactly like running its handler chain (exec.cc): it leaves RIP
// at the next instruction and returns, or stops early with block_break and Core::cur at
// the instruction that did not complete (self-modifying store, REP slice), or longjmps out
// of a fault with Core::cur at the faulting instruction. Common integer instructions (MOV,
// MOVZX/MOVSX, LEA, ADD/SUB/AND/OR/XOR/CMP/TEST, INC/DEC, PUSH/POP, Jcc/JMP/CALL/RET,
// CMOVcc/SETcc) are emitted inline, with the software-TLB hit path inline and the lazy
// flags recorded as the handlers record them; every other instruction, and every access
// the inline TLB path cannot serve, calls the instruction's own handler. So the compiled
// code never needs semantics of its own beyond the inline forms.
//
// Code lives in a per-vCPU executable arena dropped together with the decoded-block cache.
// Compiled blocks chain directly into compiled successors: inside the block's own page
// for direct branches; into other pages and through RET, indirect CALL/JMP and RET imm16
// after a check that the execution TLB maps RIP to the successor. Other exits (handler-ended
// blocks, events, budget) return to the run loop.
// Not here: 16/32-bit code and non-x86-64 hosts (those blocks stay interpreted).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tsvirt::soft {

struct Core;
struct Block;

using JitFn = void (*)(Core* c);

// Executable memory for compiled blocks (anonymous mapping, bump allocation).
class JitArena {
 public:
  JitArena();
  ~JitArena();
  JitArena(const JitArena&) = delete;
  JitArena& operator=(const JitArena&) = delete;

  bool usable() const { return base_ != nullptr; }
  void reset() { used_ = 0; }
  uint8_t* cursor() const { return base_ + used_; }
  size_t room() const { return cap_ - used_; }
  // Keep `n` bytes from cursor() (64-byte aligned afterwards).
  void commit(size_t n) { used_ = (used_ + n + 63) & ~size_t{63}; }

 private:
  uint8_t* base_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
};

// Executions of a block before it is compiled; 0 disables the compiler. From the
// environment variable TSVIRT_SOFT_JIT (a number; "off" or 0 disables), default 8.
uint32_t jit_threshold();

// Compile block b of vCPU c into the arena. Returns nullptr when b cannot be compiled
// (not 64-bit code) or the arena is full (*full set: the caller drops the cache). The code
// may go on into the decoded blocks b's Jcc fall-throughs lead to, in b's page (a trace);
// *span is the most instructions it runs before it returns or chains.
JitFn jit_compile(Core* c, const Block* b, JitArena& arena, bool* full, unsigned* span);

// The decoded block at guest-physical pa in mode `mode`, if there is one (exec.cc; no
// decoding).
const Block* jit_lookup_block(Core* c, uint64_t pa, uint32_t mode);

}  // namespace tsvirt::soft
