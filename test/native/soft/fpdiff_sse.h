// Instruction-form tables of the fpdiff MMX/SSE generators (fpdiff_sse.cc).
#pragma once

#include <vector>

#include "fpdiff.h"

namespace fpdiff {

enum RegClass : uint8_t { kNone = 0, kX, kM, kG };  // ModRM field names an XMM, MMX or general register
enum MemUse : uint8_t { kRegOnly = 0, kRegOrMem, kMemOnly };
enum Lanes : uint8_t { kBytes = 0, kI32, kF32, kF64 };
enum ImmUse : uint8_t { kNoImm = 0, kImm, kImmSmall };

struct Spec {
  const char* name;
  uint8_t pfx;      // mandatory prefix byte or 0
  uint8_t map;      // 1 = 0F, 2 = 0F 38, 3 = 0F 3A
  uint8_t op;
  RegClass regcls;  // ModRM.reg operand (kNone: no ModRM)
  RegClass rmcls;   // ModRM.rm register operand
  MemUse mem;
  Lanes lanes;      // how to randomise register and memory contents
  ImmUse imm;
  uint8_t regfix = 0xFF;  // fixed ModRM.reg (groups), 0xFF when free
  bool rexw = false;
  bool rdi = false;       // implicit DS:[RDI] operand: RDI is set to RSI + 0x10 first
  bool o16 = false;       // a 66 operand-size prefix before the mandatory prefix
};

void gen_sse_specs(Rng& rng, unsigned count, std::vector<Case>& out, const char* family,
                   const Spec* specs, unsigned nspecs);

extern const Family kSseFamilies[];
extern const unsigned kSseFamilyCount;

}  // namespace fpdiff
