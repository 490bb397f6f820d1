// Differential test of the soft CPU against unicorn (QEMU's CPU core as a library).
//
// usage: difftest --mode 64|32|16 --family NAME[+NAME...] [--cases N] [--seed S] [--jit] [--verbose]
//
// --jit runs every case as a whole block (the instruction and the HLT after it), so with
// TSVIRT_SOFT_JIT=1 in the environment the soft CPU compiles it (native/soft/jit.h) before
// running it; the HLT's one byte of RIP is taken back before comparing.
//
// --seq N makes every case a run of N instructions of the family (no branches, no string
// templates) executed as one block by the soft CPU alone, and prints one digest line per
// case (registers, RIP, all flags, memory, vector) instead of comparing with unicorn (the
// undefined flags of one instruction may feed the next). Two runs, one with
// TSVIRT_SOFT_JIT=1 and one with TSVIRT_SOFT_JIT=off, must print the same lines: the
// compiled code agrees with the interpreter over whole blocks.
//
// Each case is one randomly generated instruction of the family (random prefixes, operand
// sizes, register/memory forms, immediates) run from the same random register state and
// memory on both CPUs; general registers, RIP, the defined arithmetic flags and DF, and the
// data/stack memory must then be equal. Flags the SDM declares undefined for that
// instruction (and that operand count) are masked. Register roles keep memory operands
// inside mapped memory: pointer registers (RBX/RBP/R13 in 64-bit mode) are never
// destinations. Instructions that raise an exception (DIV by zero, ...) are compared on
// the vector and the state at the fault: the soft CPU runs with an IDT whose handlers HLT
// on an IST stack, unicorn reports the vector through its interrupt hook.
// Unicorn is used here only; it is never linked into the addon.
#include <unicorn/unicorn.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

namespace {

using tsvirt::x86::CpuState;

constexpr uint64_t kRamSize = 16 << 20;
constexpr uint64_t kCode = 0x100000;     // 64-bit/32-bit code
constexpr uint64_t kData = 0x200000;     // 64 KiB data
constexpr uint64_t kDataSize = 0x4000;
constexpr uint64_t kStack = 0x300000;    // 64 KiB stack
constexpr uint64_t kStackSize = 0x1000;
constexpr uint64_t kPml4 = 0x10000;      // soft CPU page tables (64-bit mode)
constexpr uint64_t kIdt = 0x20000;       // soft CPU IDT (64-bit mode)
constexpr uint64_t kGdt = 0x21000;
constexpr uint64_t kTss = 0x22000;
constexpr uint64_t kHandlers = 0x23000;  // one HLT per vector, 16 bytes apart
constexpr uint64_t kIstTop = 0x30000;
// Real mode (16-bit) layout: CS=0 with code at 0x1000, DS=ES=SS=0x2000 (base 0x20000).
constexpr uint64_t kCode16 = 0x1000;
constexpr uint64_t kData16 = 0x20000;

constexpr uint64_t CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
constexpr uint64_t kArith = CF | PF | AF | ZF | SF | OF;

enum Reg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t next() { return g(); }
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  bool chance(unsigned pct) { return below(100) < pct; }
  // Values that exercise flag edge cases.
  uint64_t value() {
    switch (below(10)) {
      case 0: return 0;
      case 1: return ~uint64_t{0};
      case 2: return uint64_t{1} << below(64);
      case 3: return (uint64_t{1} << below(64)) - 1;
      case 4: return below(256);
      case 5: return 0x80 + below(3) - 1;
      case 6: return 0x8000 + below(3) - 1;
      case 7: return 0x80000000ull + below(3) - 1;
      case 8: return 0x8000000000000000ull + below(3) - 1;
      default: return next();
    }
  }
};

// ---- instruction templates ----

enum TFlags : uint32_t {
  kByte = 1u << 0,       // 8-bit operation
  kWrReg = 1u << 1,      // writes the ModRM.reg register
  kWrRm = 1u << 2,       // writes the ModRM.rm register (register form)
  kMemOnly = 1u << 3,
  kRegOnly = 1u << 4,
  kImm8 = 1u << 5,
  kImm16 = 1u << 6,
  kImmZ = 1u << 7,
  kImmV = 1u << 8,
  kOpReg = 1u << 9,      // register in the low 3 opcode bits (written)
  kNo16 = 1u << 10,      // no 16-bit operand size
  kNo64 = 1u << 11,      // invalid in 64-bit mode
  kOnly64 = 1u << 12,
  kLock = 1u << 13,      // may carry LOCK when the operand is memory
  kSmallReg = 1u << 14,  // ModRM.reg source must be small (BT bit offsets)
  kShiftCount = 1u << 15,// undefined OF unless count == 1; imm8/CL small
  kRotate = 1u << 16,
  kString = 1u << 17,    // uses RSI/RDI/RCX roles
  kF3 = 1u << 18,        // needs the F3 prefix
  kRepOk = 1u << 19,     // may carry F3/F2 (string REP)
  kRel8 = 1u << 20,      // branch: 8-bit displacement to a HLT-filled area
  kNoOsz = 1u << 21,     // operand size fixed (no 66/REX.W variants)
  kDshift = 1u << 22,
  kAccRead = 1u << 23,   // implicitly writes RAX/RDX (MUL/DIV/CBW...): fine, not pointers
  kDivide = 1u << 24,
  kW64 = 1u << 25,       // needs REX.W (CMPXCHG16B)
  kZeroSrcKeep = 1u << 26,  // BSF/BSR: a zero source leaves the destination; unicorn
                            // zero-extends a 32-bit one (undefined per the SDM): compare
                            // the low 32 bits only
  kEnter = 1u << 29,     // ENTER: imm16 frame size small, an imm8 nesting level follows
  kLeave = 1u << 30,     // LEAVE: RBP must point into the stack area
  kLow32 = 1u << 28,     // CMPXCHG r32: whether the accumulator (success) or destination
                         // (failure) is zero-extended differs between vendors: compare low
                         // halves of the registers
  kNoLock = 1u << 27,    // never with LOCK (unicorn 2.0.1 computes LOCK NEG flags from the
                         // negated value, a QEMU 5 bug: plain NEG is compared instead)
};

struct Tmpl {
  const char* family;
  uint8_t map;       // 0: one byte, 1: 0F, 2: 0F 38
  uint8_t op;
  int digit;         // -1: ModRM.reg is a register operand; 0..7: /digit; -2: no ModRM
  uint32_t flags;
  uint64_t undef;    // undefined flags
};

const Tmpl kTemplates[] = {
    // alu
    {"alu", 0, 0x00, -1, kByte | kWrRm | kLock, 0}, {"alu", 0, 0x01, -1, kWrRm | kLock, 0},
    {"alu", 0, 0x02, -1, kByte | kWrReg, 0}, {"alu", 0, 0x03, -1, kWrReg, 0},
    {"alu", 0, 0x04, -2, kByte | kImm8 | kAccRead, 0}, {"alu", 0, 0x05, -2, kImmZ | kAccRead, 0},
    {"alu", 0, 0x08, -1, kByte | kWrRm | kLock, AF}, {"alu", 0, 0x09, -1, kWrRm | kLock, AF},
    {"alu", 0, 0x0A, -1, kByte | kWrReg, AF}, {"alu", 0, 0x0B, -1, kWrReg, AF},
    {"alu", 0, 0x0C, -2, kByte | kImm8 | kAccRead, AF}, {"alu", 0, 0x0D, -2, kImmZ | kAccRead, AF},
    {"alu", 0, 0x10, -1, kByte | kWrRm | kLock, 0}, {"alu", 0, 0x11, -1, kWrRm | kLock, 0},
    {"alu", 0, 0x12, -1, kByte | kWrReg, 0}, {"alu", 0, 0x13, -1, kWrReg, 0},
    {"alu", 0, 0x14, -2, kByte | kImm8 | kAccRead, 0}, {"alu", 0, 0x15, -2, kImmZ | kAccRead, 0},
    {"alu", 0, 0x18, -1, kByte | kWrRm | kLock, 0}, {"alu", 0, 0x19, -1, kWrRm | kLock, 0},
    {"alu", 0, 0x1A, -1, kByte | kWrReg, 0}, {"alu", 0, 0x1B, -1, kWrReg, 0},
    {"alu", 0, 0x1C, -2, kByte | kImm8 | kAccRead, 0}, {"alu", 0, 0x1D, -2, kImmZ | kAccRead, 0},
    {"alu", 0, 0x20, -1, kByte | kWrRm | kLock, AF}, {"alu", 0, 0x21, -1, kWrRm | kLock, AF},
    {"alu", 0, 0x22, -1, kByte | kWrReg, AF}, {"alu", 0, 0x23, -1, kWrReg, AF},
    {"alu", 0, 0x24, -2, kByte | kImm8 | kAccRead, AF}, {"alu", 0, 0x25, -2, kImmZ | kAccRead, AF},
    {"alu", 0, 0x28, -1, kByte | kWrRm | kLock, 0}, {"alu", 0, 0x29, -1, kWrRm | kLock, 0},
    {"alu", 0, 0x2A, -1, kByte | kWrReg, 0}, {"alu", 0, 0x2B, -1, kWrReg, 0},
    {"alu", 0, 0x2C, -2, kByte | kImm8 | kAccRead, 0}, {"alu", 0, 0x2D, -2, kImmZ | kAccRead, 0},
    {"alu", 0, 0x30, -1, kByte | kWrRm | kLock, AF}, {"alu", 0, 0x31, -1, kWrRm | kLock, AF},
    {"alu", 0, 0x32, -1, kByte | kWrReg, AF}, {"alu", 0, 0x33, -1, kWrReg, AF},
    {"alu", 0, 0x34, -2, kByte | kImm8 | kAccRead, AF}, {"alu", 0, 0x35, -2, kImmZ | kAccRead, AF},
    {"alu", 0, 0x38, -1, kByte, 0}, {"alu", 0, 0x39, -1, 0, 0},
    {"alu", 0, 0x3A, -1, kByte, 0}, {"alu", 0, 0x3B, -1, 0, 0},
    {"alu", 0, 0x3C, -2, kByte | kImm8, 0}, {"alu", 0, 0x3D, -2, kImmZ, 0},
    {"alu", 0, 0x80, 0, kByte | kImm8 | kWrRm | kLock, 0}, {"alu", 0, 0x81, 1, kImmZ | kWrRm | kLock, AF},
    {"alu", 0, 0x83, 2, kImm8 | kWrRm | kLock, 0}, {"alu", 0, 0x80, 3, kByte | kImm8 | kWrRm | kLock, 0},
    {"alu", 0, 0x81, 4, kImmZ | kWrRm | kLock, AF}, {"alu", 0, 0x83, 5, kImm8 | kWrRm | kLock, 0},
    {"alu", 0, 0x80, 6, kByte | kImm8 | kWrRm | kLock, AF}, {"alu", 0, 0x81, 7, kImmZ, 0},
    {"alu", 0, 0x83, 7, kImm8, 0},
    {"alu", 0, 0x84, -1, kByte, AF}, {"alu", 0, 0x85, -1, 0, AF},
    {"alu", 0, 0xA8, -2, kByte | kImm8, AF}, {"alu", 0, 0xA9, -2, kImmZ, AF},
    {"alu", 0, 0xF6, 0, kByte | kImm8, AF}, {"alu", 0, 0xF7, 0, kImmZ, AF},
    {"alu", 0, 0xF6, 2, kByte | kWrRm | kLock, 0}, {"alu", 0, 0xF7, 2, kWrRm | kLock, 0},
    {"alu", 0, 0xF6, 3, kByte | kWrRm | kNoLock, 0}, {"alu", 0, 0xF7, 3, kWrRm | kNoLock, 0},
    {"alu", 0, 0xFE, 0, kByte | kWrRm | kLock, 0}, {"alu", 0, 0xFE, 1, kByte | kWrRm | kLock, 0},
    {"alu", 0, 0xFF, 0, kWrRm | kLock, 0}, {"alu", 0, 0xFF, 1, kWrRm | kLock, 0},
    {"alu", 0, 0x40, -2, kOpReg | kNo64, 0}, {"alu", 0, 0x48, -2, kOpReg | kNo64, 0},
    // mov
    {"mov", 0, 0x88, -1, kByte | kWrRm, 0}, {"mov", 0, 0x89, -1, kWrRm, 0},
    {"mov", 0, 0x8A, -1, kByte | kWrReg, 0}, {"mov", 0, 0x8B, -1, kWrReg, 0},
    {"mov", 0, 0xC6, 0, kByte | kImm8 | kWrRm, 0}, {"mov", 0, 0xC7, 0, kImmZ | kWrRm, 0},
    {"mov", 0, 0xB0, -2, kByte | kImm8 | kOpReg, 0}, {"mov", 0, 0xB8, -2, kImmV | kOpReg, 0},
    {"mov", 0, 0x8D, -1, kWrReg | kMemOnly, 0},
    {"mov", 0, 0x86, -1, kByte | kWrReg | kWrRm, 0}, {"mov", 0, 0x87, -1, kWrReg | kWrRm, 0},
    {"mov", 0, 0x90, -2, kOpReg | kAccRead, 0},
    {"mov", 1, 0xB6, -1, kWrReg, 0}, {"mov", 1, 0xB7, -1, kWrReg | kNo16, 0},
    {"mov", 1, 0xBE, -1, kWrReg, 0}, {"mov", 1, 0xBF, -1, kWrReg | kNo16, 0},
    {"mov", 0, 0x63, -1, kWrReg | kOnly64, 0},
    {"mov", 0, 0x98, -2, kAccRead, 0}, {"mov", 0, 0x99, -2, kAccRead, 0},
    {"mov", 1, 0x40, -1, kWrReg, 0}, {"mov", 1, 0x43, -1, kWrReg, 0}, {"mov", 1, 0x44, -1, kWrReg, 0},
    {"mov", 1, 0x47, -1, kWrReg, 0}, {"mov", 1, 0x4A, -1, kWrReg, 0}, {"mov", 1, 0x4C, -1, kWrReg, 0},
    {"mov", 1, 0x4E, -1, kWrReg, 0}, {"mov", 1, 0x4F, -1, kWrReg, 0},
    {"mov", 1, 0x90, 0, kByte | kWrRm | kNoOsz, 0}, {"mov", 1, 0x92, 0, kByte | kWrRm | kNoOsz, 0},
    {"mov", 1, 0x95, 0, kByte | kWrRm | kNoOsz, 0}, {"mov", 1, 0x96, 0, kByte | kWrRm | kNoOsz, 0},
    {"mov", 1, 0x98, 0, kByte | kWrRm | kNoOsz, 0}, {"mov", 1, 0x9A, 0, kByte | kWrRm | kNoOsz, 0},
    {"mov", 1, 0x9C, 0, kByte | kWrRm | kNoOsz, 0}, {"mov", 1, 0x9F, 0, kByte | kWrRm | kNoOsz, 0},
    {"mov", 1, 0xC8, -2, kOpReg | kNo16, 0},
    {"mov", 2, 0xF0, -1, kWrReg | kMemOnly, 0}, {"mov", 2, 0xF1, -1, kMemOnly, 0},
    // stack
    {"stack", 0, 0x50, -2, kOpReg, 0}, {"stack", 0, 0x58, -2, kOpReg, 0},
    {"stack", 0, 0x68, -2, kImmZ, 0}, {"stack", 0, 0x6A, -2, kImm8, 0},
    {"stack", 0, 0x8F, 0, kWrRm, 0}, {"stack", 0, 0xFF, 6, 0, 0}, {"stack", 0, 0x9C, -2, 0, 0},
    {"stack", 0, 0xC8, -2, kImm16 | kEnter | kNoOsz, 0}, {"stack", 0, 0xC9, -2, kLeave, 0},
    // shift
    {"shift", 0, 0xC0, 0, kByte | kImm8 | kWrRm | kRotate, 0}, {"shift", 0, 0xC1, 1, kImm8 | kWrRm | kRotate, 0},
    {"shift", 0, 0xD0, 2, kByte | kWrRm | kRotate, 0}, {"shift", 0, 0xD1, 3, kWrRm | kRotate, 0},
    {"shift", 0, 0xD2, 0, kByte | kWrRm | kRotate, 0}, {"shift", 0, 0xD3, 1, kWrRm | kRotate, 0},
    {"shift", 0, 0xD2, 2, kByte | kWrRm | kRotate, 0}, {"shift", 0, 0xD3, 3, kWrRm | kRotate, 0},
    {"shift", 0, 0xC0, 4, kByte | kImm8 | kWrRm | kShiftCount, AF}, {"shift", 0, 0xC1, 5, kImm8 | kWrRm | kShiftCount, AF},
    {"shift", 0, 0xD0, 7, kByte | kWrRm | kShiftCount, AF}, {"shift", 0, 0xD1, 4, kWrRm | kShiftCount, AF},
    {"shift", 0, 0xD2, 5, kByte | kWrRm | kShiftCount, AF}, {"shift", 0, 0xD3, 7, kWrRm | kShiftCount, AF},
    {"shift", 0, 0xD3, 4, kWrRm | kShiftCount, AF}, {"shift", 0, 0xC1, 7, kImm8 | kWrRm | kShiftCount, AF},
    {"shift", 1, 0xA4, -1, kImm8 | kWrRm | kDshift, AF}, {"shift", 1, 0xA5, -1, kWrRm | kDshift, AF},
    {"shift", 1, 0xAC, -1, kImm8 | kWrRm | kDshift, AF}, {"shift", 1, 0xAD, -1, kWrRm | kDshift, AF},
    // muldiv
    {"muldiv", 0, 0xF6, 4, kByte | kAccRead, SF | ZF | AF | PF}, {"muldiv", 0, 0xF7, 4, kAccRead, SF | ZF | AF | PF},
    {"muldiv", 0, 0xF6, 5, kByte | kAccRead, SF | ZF | AF | PF}, {"muldiv", 0, 0xF7, 5, kAccRead, SF | ZF | AF | PF},
    {"muldiv", 0, 0xF6, 6, kByte | kAccRead | kDivide, kArith}, {"muldiv", 0, 0xF7, 6, kAccRead | kDivide, kArith},
    {"muldiv", 0, 0xF6, 7, kByte | kAccRead | kDivide, kArith}, {"muldiv", 0, 0xF7, 7, kAccRead | kDivide, kArith},
    {"muldiv", 1, 0xAF, -1, kWrReg, SF | ZF | AF | PF}, {"muldiv", 0, 0x69, -1, kWrReg | kImmZ, SF | ZF | AF | PF},
    {"muldiv", 0, 0x6B, -1, kWrReg | kImm8, SF | ZF | AF | PF},
    // bit
    {"bit", 1, 0xA3, -1, kSmallReg, OF | SF | AF | PF}, {"bit", 1, 0xAB, -1, kSmallReg | kWrRm | kLock, OF | SF | AF | PF},
    {"bit", 1, 0xB3, -1, kSmallReg | kWrRm | kLock, OF | SF | AF | PF}, {"bit", 1, 0xBB, -1, kSmallReg | kWrRm | kLock, OF | SF | AF | PF},
    {"bit", 1, 0xBA, 4, kImm8, OF | SF | AF | PF}, {"bit", 1, 0xBA, 5, kImm8 | kWrRm | kLock, OF | SF | AF | PF},
    {"bit", 1, 0xBA, 6, kImm8 | kWrRm | kLock, OF | SF | AF | PF}, {"bit", 1, 0xBA, 7, kImm8 | kWrRm | kLock, OF | SF | AF | PF},
    {"bit", 1, 0xBC, -1, kWrReg | kZeroSrcKeep, CF | OF | SF | AF | PF}, {"bit", 1, 0xBD, -1, kWrReg | kZeroSrcKeep, CF | OF | SF | AF | PF},
    {"bit", 1, 0xB8, -1, kWrReg | kF3, 0}, {"bit", 1, 0xBD, -1, kWrReg | kF3, OF | SF | AF | PF},
    // atomic
    {"atomic", 1, 0xB0, -1, kByte | kWrRm | kLock | kAccRead, 0}, {"atomic", 1, 0xB1, -1, kWrRm | kLock | kAccRead | kLow32, 0},
    {"atomic", 1, 0xC0, -1, kByte | kWrRm | kWrReg | kLock, 0}, {"atomic", 1, 0xC1, -1, kWrRm | kWrReg | kLock, 0},
    {"atomic", 1, 0xC7, 1, kMemOnly | kLock | kNoOsz | kAccRead, 0},
    {"atomic", 1, 0xC7, 1, kMemOnly | kLock | kNoOsz | kAccRead | kW64 | kOnly64, 0},
    // string
    {"string", 0, 0xA4, -2, kByte | kString | kRepOk, 0}, {"string", 0, 0xA5, -2, kString | kRepOk, 0},
    {"string", 0, 0xA6, -2, kByte | kString | kRepOk, 0}, {"string", 0, 0xA7, -2, kString | kRepOk, 0},
    {"string", 0, 0xAA, -2, kByte | kString | kRepOk, 0}, {"string", 0, 0xAB, -2, kString | kRepOk, 0},
    {"string", 0, 0xAC, -2, kByte | kString | kRepOk, 0}, {"string", 0, 0xAD, -2, kString | kRepOk, 0},
    {"string", 0, 0xAE, -2, kByte | kString | kRepOk, 0}, {"string", 0, 0xAF, -2, kString | kRepOk, 0},
    // misc
    {"misc", 0, 0xF5, -2, kNoOsz, 0}, {"misc", 0, 0xF8, -2, kNoOsz, 0}, {"misc", 0, 0xF9, -2, kNoOsz, 0},
    {"misc", 0, 0xFC, -2, kNoOsz, 0}, {"misc", 0, 0xFD, -2, kNoOsz, 0},
    {"misc", 0, 0x9E, -2, kNoOsz, 0}, {"misc", 0, 0x9F, -2, kNoOsz | kAccRead, 0},
    {"misc", 0, 0x27, -2, kNoOsz | kNo64 | kAccRead, OF}, {"misc", 0, 0x2F, -2, kNoOsz | kNo64 | kAccRead, OF},
    {"misc", 0, 0x37, -2, kNoOsz | kNo64 | kAccRead, OF | SF | ZF | PF}, {"misc", 0, 0x3F, -2, kNoOsz | kNo64 | kAccRead, OF | SF | ZF | PF},
    {"misc", 0, 0xD4, -2, kNoOsz | kNo64 | kImm8 | kAccRead | kDivide, OF | AF | CF},
    {"misc", 0, 0xD5, -2, kNoOsz | kNo64 | kImm8 | kAccRead, OF | AF | CF},
    {"misc", 0, 0xD6, -2, kNoOsz | kNo64, 0},  // SALC
    {"misc", 0, 0xD7, -2, kNoOsz | kAccRead, 0},
    // branch (targets land in a HLT-filled area both CPUs stop in)
    {"branch", 0, 0x70, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x72, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x74, -2, kRel8 | kNoOsz, 0},
    {"branch", 0, 0x76, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x78, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x7A, -2, kRel8 | kNoOsz, 0},
    {"branch", 0, 0x7C, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x7E, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0x7F, -2, kRel8 | kNoOsz, 0},
    {"branch", 0, 0x75, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0xEB, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0xE2, -2, kRel8 | kNoOsz, 0},
    {"branch", 0, 0xE1, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0xE0, -2, kRel8 | kNoOsz, 0}, {"branch", 0, 0xE3, -2, kRel8 | kNoOsz, 0},
};

// ---- per-mode register roles ----

struct ModeInfo {
  int bits;
  std::vector<int> dest;     // registers an instruction may write
  std::vector<int> bdest_norex, bdest_rex;  // 8-bit register numbers that are writable
  std::vector<int> ptr;      // memory base registers
  int index;                 // SIB index register (small value)
};

ModeInfo mode_info(int bits) {
  ModeInfo m;
  m.bits = bits;
  if (bits == 64) {
    m.dest = {RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11, R14, R15};
    m.bdest_norex = {0, 1, 2, 4, 5, 6};  // AL CL DL AH CH DH
    m.bdest_rex = {0, 1, 2, 6, 7, 8, 9, 10, 11, 14, 15};
    m.ptr = {RBX, RBP, R13};
    m.index = R12;
  } else if (bits == 32) {
    m.dest = {RAX, RCX, RDX, RDI};
    m.bdest_norex = {0, 1, 2, 4, 5, 6};
    m.ptr = {RBX, RBP};
    m.index = RSI;
  } else {
    m.dest = {RAX, RCX, RDX};
    m.bdest_norex = {0, 1, 2, 4, 5, 6};
    m.ptr = {RBX, RBP};
    m.index = RSI;  // SI and DI are both small in 16-bit mode
  }
  return m;
}

struct Case {
  std::vector<uint8_t> code;
  uint64_t undef = 0;
  uint64_t regs[16] = {};
  uint64_t rflags = 2;
  std::vector<uint8_t> data, stack;
  bool divide = false;
  int64_t ea = -1;  // effective address of the memory operand (32/64-bit modes)
  int rm_reg = -1;  // register of a register-form ModRM operand
  int osz = 0;
};

// ---- generation ----

struct Gen {
  Rng& rng;
  const ModeInfo& m;
  const Tmpl& t;
  Case& k;
  std::vector<uint8_t> pre, body;
  int osz = 4;
  bool rex = false, rexw = false, rexr = false, rexx = false, rexb = false;

  int pick(const std::vector<int>& v) { return v[rng.below(v.size())]; }

  void choose_size() {
    if (t.flags & kByte) {
      osz = 1;
      return;
    }
    const int def = m.bits == 16 ? 2 : 4;
    osz = def;
    if (t.flags & kNoOsz) {
      if (t.flags & kW64) {
        rexw = true;
        osz = 8;
      }
      return;
    }
    unsigned r = unsigned(rng.below(3));
    if (t.flags & kNo16) {
      // Never a 16-bit operand size: in 16-bit code that needs 66, elsewhere its absence.
      if (m.bits == 16) r = 1;
      else if (r == 1) r = 0;
    }
    if (r == 1) {
      pre.push_back(0x66);
      osz = def == 2 ? 4 : 2;
    } else if (r == 2 && m.bits == 64) {
      rexw = true;
      osz = 8;
    }
  }

  // A register number for a written operand.
  int dest_reg() {
    if (osz == 1) {
      if (m.bits == 64 && rng.chance(50)) {
        rex = true;
        return pick(m.bdest_rex);
      }
      return pick(m.bdest_norex);
    }
    return pick(m.dest);
  }
  int src_reg() {
    if (osz == 1) {
      if (m.bits == 64 && rex) return pick(m.bdest_rex);
      return int(rng.below(8));
    }
    return int(rng.below(m.bits == 64 ? 16 : 8));
  }

  void emit_modrm(int reg_field, bool wr_rm) {
    const bool reg_form = (t.flags & kRegOnly) || (!(t.flags & kMemOnly) && rng.chance(50));
    if (reg_form) {
      const int rm = wr_rm ? dest_reg() : src_reg();
      k.rm_reg = rm;
      if (rm >= 8) rexb = true;
      if (reg_field >= 8) rexr = true;
      body.push_back(uint8_t(0xC0 | ((reg_field & 7) << 3) | (rm & 7)));
      return;
    }
    if (reg_field >= 8) rexr = true;
    if (m.bits == 16) {
      // [bx+si] [bx+di] [bp+si] [bp+di] [si] [di] [bp+d8] [bx]
      const int rm = int(rng.below(8));
      const int mod = (rm == 6) ? 1 + int(rng.below(2)) : int(rng.below(3));
      body.push_back(uint8_t((mod << 6) | ((reg_field & 7) << 3) | rm));
      if (mod == 1) body.push_back(uint8_t(rng.below(0x80)));
      if (mod == 2) {
        const uint16_t d = uint16_t(rng.below(0x400));
        body.push_back(uint8_t(d));
        body.push_back(uint8_t(d >> 8));
      }
      return;
    }
    const int base = pick(m.ptr);
    if (base >= 8) rexb = true;
    const bool sib = rng.chance(50);
    const int mod = ((base & 7) == RBP) ? 1 + int(rng.below(2)) : int(rng.below(3));
    if (sib) {
      body.push_back(uint8_t((mod << 6) | ((reg_field & 7) << 3) | 4));
      const int idx = rng.chance(30) ? 4 : m.index;  // 4 = no index
      if (idx >= 8) rexx = true;
      body.push_back(uint8_t((rng.below(4) << 6) | ((idx & 7) << 3) | (base & 7)));
    } else {
      body.push_back(uint8_t((mod << 6) | ((reg_field & 7) << 3) | (base & 7)));
    }
    int64_t disp = 0;
    if (mod == 1) {
      disp = int8_t(rng.below(0x100) - 0x80);
      body.push_back(uint8_t(disp));
    }
    if (mod == 2) {
      const int32_t d = int32_t(rng.below(0x1000)) - 0x800;
      disp = d;
      for (int b = 0; b < 4; b++) body.push_back(uint8_t(uint32_t(d) >> (8 * b)));
    }
    const unsigned scale = sib ? (body[body.size() - (mod == 1 ? 2 : mod == 2 ? 5 : 1)] >> 6) : 0;
    const int idx = sib ? (((body[body.size() - (mod == 1 ? 2 : mod == 2 ? 5 : 1)] >> 3) & 7) | (rexx ? 8 : 0)) : 4;
    k.ea = int64_t(k.regs[base] + (idx == 4 ? 0 : (k.regs[idx] << scale)) + uint64_t(disp));
  }

  void emit_imm(int size) {
    uint64_t v = rng.value();
    if (t.flags & (kShiftCount | kRotate | kDshift)) v = rng.below(osz == 8 ? 70 : 40);
    for (int b = 0; b < size; b++) body.push_back(uint8_t(v >> (8 * b)));
  }

  bool build() {
    choose_size();
    if ((t.flags & kF3)) pre.push_back(0xF3);
    if ((t.flags & kRepOk) && rng.chance(50)) pre.push_back(rng.chance(50) ? 0xF3 : 0xF2);
    if ((t.flags & kLock) && rng.chance(30)) {
      // LOCK only with a memory operand: force it below.
    }
    // Opcode with an embedded register.
    uint8_t op = t.op;
    int reg_field = t.digit >= 0 ? t.digit : 0;
    if (t.flags & kOpReg) {
      int r = (t.flags & kAccRead) && t.op == 0x90 ? dest_reg() : dest_reg();
      if (t.op == 0x50 && m.bits == 64) r = int(rng.below(16));
      if (r >= 8) rexb = true;
      op = uint8_t(op + (r & 7));
      if (t.op == 0x50 || t.op == 0x58) {
        // push/pop: 64-bit default in long mode; no REX.W needed, 66 gives 16.
        rexw = false;
        if (osz == 8) osz = m.bits == 64 ? 8 : osz;
      }
    }
    bool lock = false;
    if (t.digit == -1) {
      // ModRM.reg is a register operand.
      if (t.flags & kWrReg) reg_field = dest_reg();
      else reg_field = src_reg();
      if (t.flags & kSmallReg) reg_field = pick(m.dest);
    }
    const bool has_modrm = t.digit != -2;
    if (has_modrm) {
      const bool wr_rm = (t.flags & kWrRm) != 0;
      std::vector<uint8_t> save = body;
      emit_modrm(reg_field, wr_rm);
      const bool is_mem = (body[save.size()] >> 6) != 3;
      if ((t.flags & kLock) && !(t.flags & kNoLock) && is_mem && rng.chance(30)) lock = true;
      // Bit-offset registers stay small so the addressed bit stays in the data area.
      if (t.flags & kSmallReg) {
        const int64_t v = is_mem ? int64_t(rng.below(0x1000)) - 0x800 : int64_t(rng.value());
        k.regs[reg_field] = uint64_t(v);
      }
    }
    if (t.flags & kImm8) emit_imm(1);
    if (t.flags & kEnter) {
      const uint16_t frame = uint16_t(rng.below(0x100));
      body.push_back(uint8_t(frame));
      body.push_back(uint8_t(frame >> 8));
      body.push_back(uint8_t(rng.chance(50) ? rng.below(4) : rng.below(40)));
    } else if (t.flags & kImm16) {
      emit_imm(2);
    }
    if (t.flags & kImmZ) emit_imm(osz == 2 ? 2 : 4);
    if (t.flags & kImmV) emit_imm(osz);
    if (t.flags & kRel8) body.push_back(uint8_t(0x10 + rng.below(0x60)));
    // Assemble: prefixes, REX, opcode escape(s), opcode, body.
    std::vector<uint8_t>& c = k.code;
    if (lock) c.push_back(0xF0);
    c.insert(c.end(), pre.begin(), pre.end());
    if (m.bits == 64 && (rex || rexw || rexr || rexx || rexb)) {
      c.push_back(uint8_t(0x40 | (rexw ? 8 : 0) | (rexr ? 4 : 0) | (rexx ? 2 : 0) | (rexb ? 1 : 0)));
    }
    if (t.map >= 1) c.push_back(0x0F);
    if (t.map == 2) c.push_back(0x38);
    c.push_back(op);
    c.insert(c.end(), body.begin(), body.end());
    k.osz = osz;
    // Unicorn 2.0.1's IDIV helper divides on the host and dies of SIGFPE on MIN / -1 (which
    // must raise #DE in the guest): that one case is left to the guest programs.
    if ((t.flags & kDivide) && t.digit == 7) {
      uint64_t divisor;
      if (k.rm_reg >= 0) {
        divisor = (osz == 1 && k.rm_reg >= 4 && k.rm_reg < 8 && !rex) ? k.regs[k.rm_reg - 4] >> 8 : k.regs[k.rm_reg];
      } else {
        const uint64_t base = m.bits == 16 ? kData16 : kData;
        if (k.ea < int64_t(base) || k.ea + 8 > int64_t(base + k.data.size())) return false;
        std::memcpy(&divisor, &k.data[size_t(k.ea - int64_t(base))], 8);
      }
      const unsigned bitsz = unsigned(osz) * 8;
      const uint64_t dmask = bitsz == 64 ? ~uint64_t{0} : (uint64_t{1} << bitsz) - 1;
      if ((divisor & dmask) == dmask) return false;  // divisor -1: skip (dividend may be MIN)
    }
    // Undefined flags that depend on the count.
    k.undef = t.undef;
    if (t.flags & (kShiftCount | kRotate | kDshift)) {
      unsigned cnt;
      if (t.flags & kImm8) cnt = k.code.back();
      else if (t.op == 0xD0 || t.op == 0xD1) cnt = 1;
      else cnt = unsigned(k.regs[RCX]);
      cnt &= osz == 8 ? 0x3F : 0x1F;
      if (cnt != 1) k.undef |= OF;
      if ((t.flags & kDshift) && osz == 2 && cnt > 16) return false;
    }
    return true;
  }
};

// ---- the two CPUs ----

class Host final : public tsvirt::soft::CpuHost {
 public:
  uint32_t pio_in(uint16_t, int) override { return 0xFFFFFFFF; }
  void pio_out(uint16_t, int, uint32_t) override {}
  uint64_t mmio_read(uint64_t, int) override { return ~uint64_t{0}; }
  void mmio_write(uint64_t, int, uint64_t) override {}
  bool rdmsr(uint32_t, uint64_t*) override { return false; }
  bool wrmsr(uint32_t, uint64_t) override { return false; }
  int pending_interrupt() override { return -1; }
  void ack_interrupt(int) override {}
  uint64_t read_cr8() override { return 0; }
  void write_cr8(uint64_t) override {}
};

struct Outcome {
  uint64_t regs[16];
  uint64_t rip, rflags;
  int vector = -1;  // exception raised, or -1
  std::vector<uint8_t> data, stack;
  std::string error;
};

const int kUcRegs32[8] = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                          UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI};
const int kUcRegs[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                         UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                         UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                         UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

class Unicorn {
 public:
  explicit Unicorn(int bits) : bits_(bits) {
    const uc_mode mode = bits == 64 ? UC_MODE_64 : bits == 32 ? UC_MODE_32 : UC_MODE_16;
    if (uc_open(UC_ARCH_X86, mode, &uc_) != UC_ERR_OK) {
      std::fprintf(stderr, "difftest: uc_open failed\n");
      std::exit(2);
    }
    uc_ctl_set_cpu_model(uc_, UC_CPU_X86_HASWELL);
    if (bits == 16) {
      uc_mem_map(uc_, 0, 0x100000, UC_PROT_ALL);
    } else {
      uc_mem_map(uc_, kCode, 0x10000, UC_PROT_ALL);
      uc_mem_map(uc_, kData, kDataSize, UC_PROT_ALL);
      uc_mem_map(uc_, kStack, kStackSize, UC_PROT_ALL);
    }
    uc_hook h;
    uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&Unicorn::on_intr), this, 1, 0);
  }
  ~Unicorn() { uc_close(uc_); }

  static void on_intr(uc_engine* uc, uint32_t intno, void* user) {
    static_cast<Unicorn*>(user)->vector_ = int(intno);
    uc_emu_stop(uc);
  }

  Outcome run(const Case& k, uint64_t code_addr, uint64_t data_addr, uint64_t stack_addr,
             bool to_hlt) {
    Outcome o;
    std::vector<uint8_t> code(0x100, 0xF4);
    std::memcpy(code.data(), k.code.data(), k.code.size());
    uc_mem_write(uc_, code_addr, code.data(), code.size());
    uc_mem_write(uc_, data_addr, k.data.data(), k.data.size());
    uc_mem_write(uc_, stack_addr, k.stack.data(), k.stack.size());
    if (bits_ == 16) {
      const uint64_t cs = 0, ds = kData16 >> 4;
      uc_reg_write(uc_, UC_X86_REG_CS, &cs);
      uc_reg_write(uc_, UC_X86_REG_DS, &ds);
      uc_reg_write(uc_, UC_X86_REG_ES, &ds);
      uc_reg_write(uc_, UC_X86_REG_SS, &ds);
    }
    for (int r = 0; r < (bits_ == 64 ? 16 : 8); r++) {
      uc_reg_write(uc_, bits_ == 64 ? kUcRegs[r] : kUcRegs32[r], &k.regs[r]);
    }
    uc_ctl_remove_cache(uc_, code_addr, code_addr + 0x100);
    uc_reg_write(uc_, UC_X86_REG_EFLAGS, &k.rflags);
    vector_ = -1;
    const uint64_t begin = code_addr;
    const uc_err e = uc_emu_start(uc_, begin, to_hlt ? begin + 0xFF0 : begin + k.code.size(), 0, 0);
    if (e != UC_ERR_OK && vector_ < 0) o.error = uc_strerror(e);
    for (int r = 0; r < 16; r++) {
      o.regs[r] = 0;
      if (r < (bits_ == 64 ? 16 : 8)) uc_reg_read(uc_, bits_ == 64 ? kUcRegs[r] : kUcRegs32[r], &o.regs[r]);
      if (bits_ != 64) o.regs[r] &= 0xFFFFFFFF;
    }
    uint64_t rip = 0, fl = 0;
    uc_reg_read(uc_, bits_ == 64 ? UC_X86_REG_RIP : bits_ == 32 ? UC_X86_REG_EIP : UC_X86_REG_IP, &rip);
    uc_reg_read(uc_, UC_X86_REG_EFLAGS, &fl);
    o.rip = rip;
    if (bits_ == 16) o.rip = rip & 0xFFFF;
    o.rflags = fl;
    o.vector = vector_;
    o.data.resize(k.data.size());
    o.stack.resize(k.stack.size());
    uc_mem_read(uc_, data_addr, o.data.data(), o.data.size());
    uc_mem_read(uc_, stack_addr, o.stack.data(), o.stack.size());
    return o;
  }

 private:
  uc_engine* uc_ = nullptr;
  int bits_;
  int vector_ = -1;
};

class Soft {
 public:
  unsigned budget = 0;  // instructions per run; 0: one (two to the HLT)

  explicit Soft(int bits) : bits_(bits) {
    ram_.assign(kRamSize, 0);
    mem_ = tsvirt::soft::PhysMemory::create();
    tsvirt::soft::RamRegion r;
    r.gpa = 0;
    r.size = kRamSize;
    r.host = ram_.data();
    mem_->add_region(r);
    cpu_ = tsvirt::soft::Cpu::create(*mem_, host_, 0);
    if (bits == 64) build_long_mode_tables();
  }

  Outcome run(const Case& k, uint64_t code_addr, uint64_t data_addr, uint64_t stack_addr,
             bool to_hlt, bool whole_block) {
    Outcome o;
    std::memset(&ram_[code_addr], 0xF4, 0x100);
    std::memcpy(&ram_[code_addr], k.code.data(), k.code.size());
    cpu_->invalidate_code(code_addr, 0x100);
    std::memcpy(&ram_[data_addr], k.data.data(), k.data.size());
    std::memcpy(&ram_[stack_addr], k.stack.data(), k.stack.size());
    CpuState s;
    cpu_->get_state(&s);
    for (int r = 0; r < 16; r++) s.gpr[r] = k.regs[r];
    s.rflags = k.rflags;
    if (bits_ == 64) {
      s.rip = code_addr;
      s.cs = {0, 0xFFFFFFFF, 0x08, 0xA09B};
      s.ss = s.ds = s.es = s.fs = s.gs = {0, 0xFFFFFFFF, 0x10, 0xC093};
      s.cr0 = 0x80000011;
      s.cr4 = 0x20;
      s.cr3 = kPml4;
      s.efer = 0x500;
      s.idtr = {kIdt, 0xFFF};
      s.gdtr = {kGdt, 0x3F};
      s.tr = {kTss, 0x67, 0x20, 0x8B};
    } else if (bits_ == 32) {
      s.rip = code_addr;
      s.cs = {0, 0xFFFFFFFF, 0x08, 0xC09B};
      s.ss = s.ds = s.es = s.fs = s.gs = {0, 0xFFFFFFFF, 0x10, 0xC093};
      s.cr0 = 0x11;
      s.cr4 = 0;
      s.efer = 0;
      s.idtr = {0, 0};
    } else {
      s.rip = code_addr;
      s.cs = {0, 0xFFFF, 0, 0x9B};
      s.ss = s.ds = s.es = {kData16, 0xFFFF, uint16_t(kData16 >> 4), 0x93};
      s.cr0 = 0x10;
      s.idtr = {0, 0};
    }
    cpu_->set_state(s);
    const tsvirt::soft::StopReason why = cpu_->run(budget != 0 ? budget : to_hlt || whole_block ? 2 : 1);
    cpu_->get_state(&s);
    if (whole_block && !to_hlt && why == tsvirt::soft::StopReason::kHlt) s.rip -= 1;
    for (int r = 0; r < 16; r++) o.regs[r] = bits_ == 64 ? s.gpr[r] : (r < 8 ? s.gpr[r] : 0);
    o.rip = s.rip;
    o.rflags = s.rflags;
    if (why == tsvirt::soft::StopReason::kShutdown) o.error = "shutdown";
    if (why == tsvirt::soft::StopReason::kError) o.error = cpu_->error_message();
    if (bits_ == 64 && s.rip >= kHandlers && s.rip < kHandlers + 32 * 16 && s.cs.selector == 0x08) {
      // The exception was delivered to our HLT handler: report as unicorn does. (Delivery
      // consumes a unit of the budget, so the handler's HLT may not have run yet: RIP is
      // then the handler's first byte.)
      o.vector = int((s.rip - kHandlers) / 16);
      const bool has_err = o.vector == 8 || (o.vector >= 10 && o.vector <= 14) || o.vector == 17;
      uint64_t frame = s.gpr[RSP] + (has_err ? 8 : 0);
      std::memcpy(&o.rip, &ram_[frame], 8);
      std::memcpy(&o.rflags, &ram_[frame + 16], 8);
      std::memcpy(&o.regs[RSP], &ram_[frame + 24], 8);
      o.rflags &= ~uint64_t{0x10000};  // RF set in the pushed image of faults
    }
    o.data.assign(&ram_[data_addr], &ram_[data_addr] + k.data.size());
    o.stack.assign(&ram_[stack_addr], &ram_[stack_addr] + k.stack.size());
    return o;
  }

 private:
  void put64(uint64_t a, uint64_t v) { std::memcpy(&ram_[a], &v, 8); }
  void build_long_mode_tables() {
    // Identity map of the first 1 GiB with 2 MiB pages.
    put64(kPml4, (kPml4 + 0x1000) | 3);
    put64(kPml4 + 0x1000, (kPml4 + 0x2000) | 3);
    for (uint64_t k = 0; k < 512; k++) put64(kPml4 + 0x2000 + 8 * k, (k << 21) | 0x83);
    // GDT: null, code64 (0x08), data (0x10), pad, TSS (0x20).
    put64(kGdt + 8, 0x00AF9B000000FFFFull);
    put64(kGdt + 16, 0x00CF93000000FFFFull);
    put64(kGdt + 32, 0x0000890000000067ull | ((kTss & 0xFFFFFF) << 16));
    put64(kTss + 36, kIstTop);  // IST1
    for (int v = 0; v < 32; v++) {
      const uint64_t h = kHandlers + 16 * uint64_t(v);
      ram_[h] = 0xF4;
      ram_[h + 1] = 0xEB;
      ram_[h + 2] = 0xFD;  // hlt; jmp hlt
      const uint64_t lo = (h & 0xFFFF) | (uint64_t(0x08) << 16) | (uint64_t(1) << 32) |
                          (uint64_t(0x8E) << 40) | ((h >> 16 & 0xFFFF) << 48);
      put64(kIdt + 16 * uint64_t(v), lo);
      put64(kIdt + 16 * uint64_t(v) + 8, h >> 32);
    }
  }

  int bits_;
  std::vector<uint8_t> ram_;
  std::unique_ptr<tsvirt::soft::PhysMemory> mem_;
  Host host_;
  std::unique_ptr<tsvirt::soft::Cpu> cpu_;
};

std::string hex(const std::vector<uint8_t>& v) {
  std::string s;
  char b[4];
  for (uint8_t x : v) {
    std::snprintf(b, sizeof(b), "%02x ", x);
    s += b;
  }
  return s;
}

void random_state(Rng& rng, const ModeInfo& m, const Tmpl& t, Case& k) {
  for (int r = 0; r < 16; r++) k.regs[r] = rng.value();
  if (m.bits != 64) {
    for (int r = 0; r < 16; r++) k.regs[r] = r < 8 ? uint32_t(k.regs[r]) : 0;
  }
  const uint64_t data = m.bits == 16 ? 0 : kData;
  const uint64_t stack_top = m.bits == 16 ? 0x3800 : kStack + kStackSize / 2;
  if (m.bits == 16) {
    k.regs[RBX] = (k.regs[RBX] & ~uint64_t{0xFFFF}) | (0x1000 + rng.below(0x800));
    k.regs[RBP] = (k.regs[RBP] & ~uint64_t{0xFFFF}) | (0x2000 + rng.below(0x800));
    k.regs[RSI] = (k.regs[RSI] & ~uint64_t{0xFFFF}) | rng.below(0x800);
    k.regs[RDI] = (k.regs[RDI] & ~uint64_t{0xFFFF}) | rng.below(0x800);
    k.regs[RSP] = (k.regs[RSP] & ~uint64_t{0xFFFF}) | stack_top;
  } else {
    k.regs[RBX] = data + 0x800 + rng.below(0x400);
    k.regs[RBP] = data + 0x1800 + rng.below(0x400);
    if (m.bits == 64) {
      k.regs[R13] = data + 0x2800 + rng.below(0x400);
      k.regs[R12] = rng.below(0x100);
    } else {
      k.regs[RSI] = rng.below(0x100);
    }
    k.regs[RSP] = stack_top;
  }
  if (t.flags & kString) {
    const uint64_t base = m.bits == 16 ? 0 : data;
    k.regs[RSI] = base + 0x1000 + rng.below(0x100);
    k.regs[RDI] = base + 0x3000 + rng.below(0x100);
    if (rng.chance(20)) k.regs[RDI] = k.regs[RSI] + rng.below(8);  // overlapping
    k.regs[RCX] = rng.below(20);
  }
  if (t.flags & (kShiftCount | kRotate | kDshift)) k.regs[RCX] = rng.below(70);
  if (t.op == 0xD7) k.regs[RBX] = data + 0x2000;
  if (t.flags & (kEnter | kLeave)) {
    // RBP inside the stack area (ENTER copies up to 31 frame pointers from below it).
    const uint64_t sp = k.regs[RSP] & (m.bits == 16 ? 0xFFFF : ~uint64_t{0});
    const uint64_t bp = sp + 0x100 + rng.below(0x200);
    k.regs[RBP] = m.bits == 16 ? ((k.regs[RBP] & ~uint64_t{0xFFFF}) | (bp & 0xFFFF)) : bp;
  }
  if (t.flags & kRel8) k.regs[RCX] = rng.below(3);
  k.rflags = 2 | (rng.next() & (kArith | DF));
  k.data.resize(kDataSize);
  for (size_t j = 0; j < k.data.size(); j += 8) {
    const uint64_t v = rng.next();
    std::memcpy(&k.data[j], &v, 8);
  }
  k.stack.resize(m.bits == 16 ? 0 : kStackSize);
  for (size_t j = 0; j < k.stack.size(); j += 8) {
    const uint64_t v = rng.next();
    std::memcpy(&k.stack[j], &v, 8);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int bits = 64;
  std::string family;
  uint64_t cases = 2000, seed = 1;
  bool verbose = false;
  bool whole_block = false;
  int64_t only = -1;
  unsigned seq = 0;
  for (int k = 1; k < argc; k++) {
    const std::string a = argv[k];
    if (a == "--mode" && k + 1 < argc) bits = std::atoi(argv[++k]);
    else if (a == "--family" && k + 1 < argc) family = argv[++k];
    else if (a == "--cases" && k + 1 < argc) cases = std::strtoull(argv[++k], nullptr, 0);
    else if (a == "--seed" && k + 1 < argc) seed = std::strtoull(argv[++k], nullptr, 0);
    else if (a == "--verbose") verbose = true;
    else if (a == "--jit") whole_block = true;
    else if (a == "--only" && k + 1 < argc) only = std::strtoll(argv[++k], nullptr, 0);
    else if (a == "--seq" && k + 1 < argc) seq = unsigned(std::strtoul(argv[++k], nullptr, 0));
    else {
      std::fprintf(stderr, "usage: difftest --mode 64|32|16 --family NAME [--cases N] [--seed S]\n");
      return 2;
    }
  }
  std::vector<const Tmpl*> pool;
  // "alu+shift": the templates of several families (--seq mixes them in one block).
  auto in_family = [&family](const char* f) {
    size_t at = 0;
    for (;;) {
      const size_t end = family.find('+', at);
      if (family.compare(at, end == std::string::npos ? std::string::npos : end - at, f) == 0) return true;
      if (end == std::string::npos) return false;
      at = end + 1;
    }
  };
  for (const Tmpl& t : kTemplates) {
    if (!in_family(t.family)) continue;
    if (bits == 64 && (t.flags & kNo64)) continue;
    if (bits != 64 && (t.flags & kOnly64)) continue;
    pool.push_back(&t);
  }
  if (pool.empty()) {
    std::fprintf(stderr, "difftest: no templates for family '%s' in %d-bit mode\n", family.c_str(), bits);
    return 2;
  }
  const ModeInfo m = mode_info(bits);
  Rng rng(seed);
  auto uc = std::make_unique<Unicorn>(bits);
  Soft soft(bits);
  const uint64_t code_addr = bits == 16 ? kCode16 : kCode;
  const uint64_t data_addr = bits == 16 ? kData16 : kData;
  const uint64_t stack_addr = kStack;
  uint64_t compared = 0, faults = 0;
  for (uint64_t n = 0; n < cases; n++) {
    const Tmpl& t = *pool[rng.below(pool.size())];
    Case k;
    random_state(rng, m, t, k);
    Gen g{rng, m, t, k, {}, {}};
    if (!g.build()) continue;
    if (only >= 0 && int64_t(n) != only) continue;
    if (seq > 0) {
      if (t.flags & (kRel8 | kString)) continue;
      for (unsigned j = 1; j < seq; j++) {
        const Tmpl& t2 = *pool[rng.below(pool.size())];
        if (t2.flags & (kRel8 | kString)) continue;
        Case k2 = k;
        k2.code.clear();  // Gen::build appends to the case's code
        Gen g2{rng, m, t2, k2, {}, {}};
        if (g2.build()) k.code.insert(k.code.end(), k2.code.begin(), k2.code.end());
      }
      soft.budget = seq + 1;
      const Outcome b = soft.run(k, code_addr, data_addr, stack_addr, false, false);
      uint64_t h = 1469598103934665603ull;
      auto mix = [&h](uint64_t v) {
        for (int q = 0; q < 8; q++) h = (h ^ ((v >> (8 * q)) & 0xFF)) * 1099511628211ull;
      };
      for (int r = 0; r < 16; r++) mix(b.regs[r]);
      mix(b.rip);
      mix(b.rflags);
      mix(uint64_t(int64_t(b.vector)));
      for (uint8_t v : b.data) mix(v);
      for (uint8_t v : b.stack) mix(v);
      std::printf("case %llu %016llx %s\n", (unsigned long long)n, (unsigned long long)h, b.error.c_str());
      if (verbose) {
        std::fprintf(stderr, "case %llu code %s rip %llx rflags %llx vector %d\n", (unsigned long long)n,
                     hex(k.code).c_str(), (unsigned long long)b.rip, (unsigned long long)b.rflags, b.vector);
        for (int r = 0; r < 16; r++) std::fprintf(stderr, "  r%d %016llx\n", r, (unsigned long long)b.regs[r]);
      }
      compared++;
      continue;
    }
    const bool to_hlt = (t.flags & kRel8) != 0;
    const Outcome a = uc->run(k, code_addr, data_addr, stack_addr, to_hlt);
    const Outcome b = soft.run(k, code_addr, data_addr, stack_addr, to_hlt, whole_block);
    // Unicorn keeps QEMU's "previous exception" state across runs, which would turn the
    // next exception into #DF: start a fresh instance after any exception.
    if (a.vector >= 0 || !a.error.empty()) uc = std::make_unique<Unicorn>(bits);
    if (!a.error.empty() && a.vector < 0) {
      // Unicorn could not run it (e.g. unmapped access through a wild pointer): skip.
      if (verbose) std::fprintf(stderr, "skip %s: unicorn: %s\n", hex(k.code).c_str(), a.error.c_str());
      continue;
    }
    if (bits != 64 && a.vector >= 0) continue;  // exceptions are compared in 64-bit mode
    const uint64_t fmask = (kArith | DF) & ~k.undef;
    std::string why;
    if (a.vector != b.vector) why = "exception vector " + std::to_string(a.vector) + " vs " + std::to_string(b.vector);
    if (!b.error.empty() && b.vector < 0) why = "soft: " + b.error;
    const uint64_t rip_a = bits == 16 ? a.rip : a.rip;
    const uint64_t rip_b = bits == 16 ? (b.rip & 0xFFFF) : b.rip;
    if (why.empty() && rip_a != rip_b) why = "rip";
    if (why.empty() && ((a.rflags ^ b.rflags) & fmask)) why = "flags";
    for (int r = 0; why.empty() && r < (bits == 64 ? 16 : 8); r++) {
      uint64_t mask = bits == 64 ? ~uint64_t{0} : 0xFFFFFFFF;
      if ((t.flags & kZeroSrcKeep) && (a.rflags & ZF)) mask &= 0xFFFFFFFF;
      if ((t.flags & kLow32) && !(k.code.size() > 0 && (k.code[0] & 0xF8) == 0x48)) mask &= 0xFFFFFFFF;
      if (((a.regs[r] ^ b.regs[r]) & mask) != 0) why = "register " + std::to_string(r);
    }
    if (why.empty() && a.data != b.data) why = "data memory";
    if (why.empty() && a.stack != b.stack) why = "stack memory";
    compared++;
    if (a.vector >= 0) faults++;
    if (!why.empty()) {
      std::printf("MISMATCH (%s) family=%s mode=%d case=%llu seed=%llu\n  code: %s\n", why.c_str(),
                  family.c_str(), bits, (unsigned long long)n, (unsigned long long)seed,
                  hex(k.code).c_str());
      std::printf("  init: rflags=%#llx", (unsigned long long)k.rflags);
      for (int r = 0; r < 16; r++) std::printf(" r%d=%#llx", r, (unsigned long long)k.regs[r]);
      std::printf("\n  unicorn: vec=%d rip=%#llx rflags=%#llx err=%s\n", a.vector,
                  (unsigned long long)a.rip, (unsigned long long)a.rflags, a.error.c_str());
      std::printf("  soft:    vec=%d rip=%#llx rflags=%#llx err=%s\n", b.vector,
                  (unsigned long long)b.rip, (unsigned long long)b.rflags, b.error.c_str());
      for (int r = 0; r < 16; r++) {
        if (a.regs[r] != b.regs[r]) {
          std::printf("  r%d: unicorn %#llx soft %#llx\n", r, (unsigned long long)a.regs[r],
                      (unsigned long long)b.regs[r]);
        }
      }
      if (k.ea >= int64_t(data_addr) && k.ea + 8 <= int64_t(data_addr + k.data.size())) {
        const size_t o = size_t(k.ea - int64_t(data_addr));
        std::printf("  operand @%#llx: init", (unsigned long long)k.ea);
        for (int j = 0; j < 8; j++) std::printf(" %02x", k.data[o + j]);
        std::printf(" | unicorn");
        for (int j = 0; j < 8; j++) std::printf(" %02x", a.data[o + j]);
        std::printf(" | soft");
        for (int j = 0; j < 8; j++) std::printf(" %02x", b.data[o + j]);
        std::printf("\n");
      }
      for (size_t j = 0; j < a.data.size(); j++) {
        if (a.data[j] != b.data[j]) {
          std::printf("  data[%#zx]: unicorn %02x soft %02x\n", j, a.data[j], b.data[j]);
          break;
        }
      }
      return 1;
    }
  }
  std::printf("OK family=%s mode=%d compared=%llu faults=%llu\n", family.c_str(), bits,
              (unsigned long long)compared, (unsigned long long)faults);
  return compared > cases / 4 ? 0 : 3;
}
