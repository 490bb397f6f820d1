// Architectural x86-64 vCPU state shared by every vmm backend (soft CPU and KVM).
//
// This is the vocabulary of the backend-neutral API (libvmmapi's vm_get_register /
// vm_get_desc / vm_set_register_set): the soft CPU keeps its live state in its own
// layout and converts at this boundary; the KVM backend converts to kvm_regs/kvm_sregs.
// Segment access rights use the VMX "access rights" encoding (Intel SDM vol. 3, 24.4.1),
// as bhyve's seg_desc.access does, so a value read from one backend can be written to the
// other unchanged.
#pragma once

#include <cstdint>

namespace tsvirt::x86 {

// General-purpose register numbers, in the encoding order of ModRM/REX.
enum Gpr : int {
  RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
  kGprCount
};

// Segment access-rights bits (VMX layout).
constexpr uint32_t kSegTypeMask = 0xF;       // bits 3:0 descriptor type
constexpr uint32_t kSegS = 1u << 4;          // code/data (1) vs system (0)
constexpr uint32_t kSegDplShift = 5;         // bits 6:5
constexpr uint32_t kSegP = 1u << 7;          // present
constexpr uint32_t kSegAvl = 1u << 12;
constexpr uint32_t kSegL = 1u << 13;         // 64-bit code segment
constexpr uint32_t kSegDB = 1u << 14;        // default operation size
constexpr uint32_t kSegG = 1u << 15;         // granularity
constexpr uint32_t kSegUnusable = 1u << 16;  // null selector loaded / segment unusable

struct Segment {
  uint64_t base = 0;
  uint32_t limit = 0;     // byte-granular limit (already scaled by G)
  uint16_t selector = 0;
  uint32_t access = 0;    // VMX access rights, see above
};

struct DescriptorTable {
  uint64_t base = 0;
  uint16_t limit = 0;
};

// The whole register file a backend must be able to read and write.
struct CpuState {
  uint64_t gpr[kGprCount] = {};
  uint64_t rip = 0;
  uint64_t rflags = 2;  // bit 1 is always set
  Segment cs, ds, es, fs, gs, ss, tr, ldtr;
  DescriptorTable gdtr, idtr;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t efer = 0;
  uint64_t dr[8] = {};  // dr4/dr5 unused (aliases)
};

// Well-known MSR numbers used across native/.
namespace msr {
constexpr uint32_t kTsc = 0x10;
constexpr uint32_t kApicBase = 0x1B;
constexpr uint32_t kSysenterCs = 0x174;
constexpr uint32_t kSysenterEsp = 0x175;
constexpr uint32_t kSysenterEip = 0x176;
constexpr uint32_t kPat = 0x277;
constexpr uint32_t kTscDeadline = 0x6E0;
constexpr uint32_t kEfer = 0xC0000080;
constexpr uint32_t kStar = 0xC0000081;
constexpr uint32_t kLstar = 0xC0000082;
constexpr uint32_t kCstar = 0xC0000083;
constexpr uint32_t kSfmask = 0xC0000084;
constexpr uint32_t kFsBase = 0xC0000100;
constexpr uint32_t kGsBase = 0xC0000101;
constexpr uint32_t kKernelGsBase = 0xC0000102;
constexpr uint32_t kTscAux = 0xC0000103;
}  // namespace msr

}  // namespace tsvirt::x86
