// The register-file layout shared with TypeScript (src/emulator/vmm/native.ts,
// STATE_LAYOUT): x86::CpuState as 68 unsigned 64-bit words in a BigUint64Array.
//
//   0-15  rax rcx rdx rbx rsp rbp rsi rdi r8-r15 (ModRM order)
//   16 rip  17 rflags  18 cr0  19 cr2  20 cr3  21 cr4  22 cr8  23 efer
//   24-31 dr0-dr7
//   32-63 segments cs ds es fs gs ss tr ldtr, 4 words each: base, limit, selector, access
//   64,65 gdtr base, limit   66,67 idtr base, limit
#pragma once

#include <cstdint>

#include "vmm/x86_state.h"

namespace tsvirt::binding {

constexpr int kStateWords = 68;

void encode_state(const x86::CpuState& s, uint64_t* w);
void decode_state(const uint64_t* w, x86::CpuState* s);

}  // namespace tsvirt::binding
