// x87 / MMX / SSE register state of a soft vCPU.
//
// The fields follow the FXSAVE memory image (Intel SDM vol. 1, 10.5.1, table 10-2) so
// FXSAVE/FXRSTOR are a copy with the tag word compressed/expanded. The x87, MMX and SSE
// instruction families (ops_x87*.cc, ops_mmx*.cc, ops_sse*.cc) own its semantics; the
// integer core only resets it and keeps it in Core::fpu.
//
// Representation choices:
//  - TOP lives in FSW bits 13:11, as software sees it.
//  - `ftw` is the full tag word, 2 bits per physical register, but only "empty" (11) versus
//    "not empty" is state: the valid/zero/special classes a program can observe (FSTENV,
//    FSAVE) are computed from the register contents when stored, as hardware does.
//  - FSW.ES and FSW.B are kept equal to "an exception flag is set whose FCW mask is clear",
//    recomputed whenever FCW or FSW change (x87_sync_es); a set ES is the pending #MF.
//  - MMX register i is the low 64 bits of physical register i.
#pragma once

#include <cstdint>
#include <cstring>

namespace tsvirt::soft {

struct alignas(16) Xmm {
  uint64_t q[2] = {};
};

struct FpuState {
  uint16_t fcw = 0x037F;  // control word
  uint16_t fsw = 0;       // status word (TOP in bits 13:11)
  uint16_t ftw = 0xFFFF;  // full tag word, 2 bits per physical register (11 = empty)
  uint16_t fop = 0;       // last non-control opcode: (first byte & 7) << 8 | ModRM
  uint64_t fip = 0, fdp = 0;  // last non-control instruction / memory operand offsets
  uint16_t fcs = 0, fds = 0;  // and their segment selectors
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

using Reg80 = FpuState::Reg80;

// 80-bit register <-> its 10-byte memory image (significand, then sign and exponent).
inline void r80_from_bytes(Reg80& r, const void* p) {
  std::memcpy(&r.mant, p, 8);
  std::memcpy(&r.exp, static_cast<const uint8_t*>(p) + 8, 2);
}
inline void r80_to_bytes(void* p, const Reg80& r) {
  std::memcpy(p, &r.mant, 8);
  std::memcpy(static_cast<uint8_t*>(p) + 8, &r.exp, 2);
}

// x87 status-word bits (SDM vol. 1, 8.1.3).
namespace fsw {
constexpr uint16_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3, UE = 1u << 4,
                   PE = 1u << 5, SF = 1u << 6, ES = 1u << 7, C0 = 1u << 8, C1 = 1u << 9,
                   C2 = 1u << 10, C3 = 1u << 14, B = 1u << 15;
constexpr uint16_t kExc = 0x3F;              // IE..PE
constexpr uint16_t kCond = C0 | C1 | C2 | C3;
constexpr uint16_t kTopMask = 7u << 11;
}  // namespace fsw

// MXCSR bits (SDM vol. 1, 10.2.3).
namespace mxcsr {
constexpr uint32_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3, UE = 1u << 4,
                   PE = 1u << 5, DAZ = 1u << 6, kMaskShift = 7, kMasks = 0x3Fu << 7,
                   UM = 1u << 11,
                   RC = 3u << 13, FZ = 1u << 15;
constexpr uint32_t kFlags = 0x3F;
constexpr uint32_t kDefault = 0x1F80;
// Writable bits (MXCSR_MASK reported by FXSAVE): flags, DAZ, masks, RC, FZ.
constexpr uint32_t kWritable = 0xFFFF;
}  // namespace mxcsr

inline unsigned x87_top(const FpuState& f) { return (f.fsw >> 11) & 7; }
inline void x87_set_top(FpuState& f, unsigned top) {
  f.fsw = uint16_t((f.fsw & ~fsw::kTopMask) | ((top & 7) << 11));
}
inline unsigned x87_phys(const FpuState& f, unsigned sti) { return (x87_top(f) + sti) & 7; }
inline bool x87_empty_phys(const FpuState& f, unsigned phys) { return ((f.ftw >> (2 * phys)) & 3) == 3; }
inline bool x87_empty(const FpuState& f, unsigned sti) { return x87_empty_phys(f, x87_phys(f, sti)); }
inline void x87_set_empty_phys(FpuState& f, unsigned phys, bool empty) {
  const uint16_t m = uint16_t(3u << (2 * phys));
  f.ftw = empty ? uint16_t(f.ftw | m) : uint16_t(f.ftw & ~m);
}
inline Reg80& x87_st(FpuState& f, unsigned sti) { return f.st[x87_phys(f, sti)]; }

// ES/B from the flags and masks (SDM vol. 1, 8.1.3.6 / 8.6).
inline void x87_sync_es(FpuState& f) {
  if (f.fsw & ~f.fcw & fsw::kExc) f.fsw |= fsw::ES | fsw::B;
  else f.fsw &= uint16_t(~(fsw::ES | fsw::B));
}

// FNINIT state (SDM vol. 1, 8.1.10 table 8-3 / FINIT): FCW 037F, FSW 0, all empty,
// pointers and opcode 0. Registers keep their contents.
inline void x87_init(FpuState& f) {
  f.fcw = 0x037F;
  f.fsw = 0;
  f.ftw = 0xFFFF;
  f.fop = 0;
  f.fip = f.fdp = 0;
  f.fcs = f.fds = 0;
}

// Tag class of a register's contents as FSTENV/FSAVE report it: 0 valid, 1 zero,
// 2 special (NaN, infinity, denormal, unsupported encodings).
inline unsigned x87_tag_class(const Reg80& r) {
  const unsigned e = r.exp & 0x7FFF;
  if (e == 0x7FFF) return 2;
  if (e == 0) return r.mant == 0 ? 1 : 2;
  return (r.mant >> 63) ? 0 : 2;  // unnormal
}

// Full tag word from the empty/non-empty state and the contents.
inline uint16_t x87_full_tag(const FpuState& f) {
  uint16_t t = 0;
  for (unsigned p = 0; p < 8; p++) {
    const unsigned v = x87_empty_phys(f, p) ? 3 : x87_tag_class(f.st[p]);
    t = uint16_t(t | (v << (2 * p)));
  }
  return t;
}

// Abridged (FXSAVE) tag byte: bit p set when physical register p is not empty.
inline uint8_t x87_abridged_tag(const FpuState& f) {
  uint8_t t = 0;
  for (unsigned p = 0; p < 8; p++) {
    if (!x87_empty_phys(f, p)) t = uint8_t(t | (1u << p));
  }
  return t;
}
inline uint16_t x87_tag_from_abridged(uint8_t a) {
  uint16_t t = 0;
  for (unsigned p = 0; p < 8; p++) {
    if (!(a & (1u << p))) t = uint16_t(t | (3u << (2 * p)));
  }
  return t;
}

// MMX view of physical register i.
inline uint64_t mmx_get(const FpuState& f, unsigned i) { return f.st[i & 7].mant; }

}  // namespace tsvirt::soft
