// x87 / MMX / SSE register state of a soft vCPU.
//
// The layout follows the FXSAVE memory image (Intel SDM vol. 1, 10.5.1, table 10-2) so
// FXSAVE/FXRSTOR are a copy with the tag word compressed/expanded; the x87 and SSE
// instruction families (see README.md) own its semantics. The integer core only resets it
// (FNINIT state, MXCSR=0x1F80) and checks CR0.EM/TS/CR4.OSFXSR before handing an
// instruction to those families.
#pragma once

#include <cstdint>

namespace tsvirt::soft {

struct alignas(16) Xmm {
  uint64_t q[2] = {};
};

struct FpuState {
  uint16_t fcw = 0x037F;  // control word
  uint16_t fsw = 0;       // status word (TOP in bits 13:11)
  uint16_t ftw = 0xFFFF;  // full tag word, 2 bits per register (11 = empty)
  uint16_t fop = 0;
  uint64_t fip = 0, fdp = 0;
  uint16_t fcs = 0, fds = 0;
  uint32_t mxcsr = 0x1F80;
  // ST0..ST7 as 80-bit extended values in the low 10 bytes of 16-byte slots, indexed by
  // physical register number (ST(i) is st[(TOP + i) & 7]); MMX aliases the low 8 bytes.
  struct alignas(16) Reg80 {
    uint64_t mant = 0;
    uint16_t exp = 0;  // sign in bit 15
    uint16_t pad[3] = {};
  } st[8];
  Xmm xmm[16];

  void reset() { *this = FpuState(); }
};

}  // namespace tsvirt::soft
