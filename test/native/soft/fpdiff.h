// Differential tester of the soft CPU's x87/MMX/SSE families (test-only tool "fpdiff").
//
// Every case is a short instruction sequence run on three engines from the same initial
// state, whose results must agree:
//  - the soft CPU (native/soft) in 64-bit mode at CPL 0 with paging,
//  - unicorn (QEMU's TCG CPU core as a library), and
//  - the host processor itself: the bytes are copied into an executable page and run
//    natively in user mode, faults caught as signals. For user-level instructions this is
//    the hardware reference (the machine running the tests).
// The sequence is framed identically everywhere: `fxrstor64 (%r15)` loads the case's FPU/
// SSE image, the instructions run, `fxsave64 0x200(%r15)` stores the result image. RSI
// points into an 8 KiB data area (two pages) for memory operands; R14/R15 are reserved.
// A fault stops the case: the engines report the vector and the state at the fault.
//
// Comparison: soft must equal the host exactly, except fields the hardware does not pin
// down for us (FOP/FIP/FDP pointers hold host addresses natively; MXCSR_MASK differs by
// design). Soft must equal unicorn except for documented QEMU deviations (fpdiff_main.cc),
// each counted and reported, and only where soft and the host agree.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace fpdiff {

constexpr unsigned kDataSize = 8192;
constexpr uint64_t kCodeAddr = 0x10000;
constexpr uint64_t kStateAddr = 0x20000;  // fx in at +0, fx out at +0x200
constexpr uint64_t kDataAddr = 0x30000;
constexpr uint64_t kStackTop = 0x80000;

// Reserved registers: R14 (fault vector in the soft engine), R15 (state image pointer).
enum : int { RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

struct Case {
  std::string family;  // e.g. "x87-arith"
  std::string name;    // e.g. "fadd m32fp"
  std::vector<uint8_t> code;
  uint64_t gpr[16] = {};
  uint64_t rflags = 0x202;
  alignas(16) uint8_t fx[512] = {};
  alignas(16) uint8_t data[kDataSize] = {};
  uint32_t data_off = 0;  // RSI = data area + data_off
  uint32_t tags = 0;      // kTag* facts about the inputs (selects unicorn deviations)
};

// Facts about a case's inputs that known unicorn deviations depend on.
enum : uint32_t {
  kTagX87Unsupported = 1u << 0,  // an input 80-bit operand is an unsupported encoding
  kTagFcwRaw = 1u << 1,          // the case loads an FCW with bits the processor fixes
  kTagSNaN = 1u << 2,            // an input x87 register or memory operand is a signalling NaN
  kTagRdiAddr = 1u << 3,         // RDI holds a data-area address (compared relative to it)
  kTagSimdNaN = 1u << 4,         // an XMM/memory float operand lane is a NaN
  kTagCmpImmHigh = 1u << 5,      // SSE compare with a predicate immediate above 7
  kTagStrOrdered = 1u << 6,      // PCMPxSTRx with equal-ordered aggregation (imm8[3:2] = 3)
  kTagSameReg = 1u << 7,         // register form with the same register as both operands
};

struct Result {
  int vector = -1;  // exception vector, -1 when the sequence completed
  uint64_t gpr[16] = {};
  uint64_t rflags = 0;
  alignas(16) uint8_t fx[512] = {};
  alignas(16) uint8_t data[kDataSize] = {};
  std::string error;  // the engine could not run the case
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  virtual void run(const Case& k, Result* out) = 0;
};

Engine* make_soft_engine();
Engine* make_unicorn_engine();
Engine* make_native_engine();

// ---- case construction helpers (fpdiff_gen.cc) ----

using Rng = std::mt19937_64;

// FXSAVE image fields.
struct Fx {
  uint8_t* b;
  explicit Fx(uint8_t* p) : b(p) {}
  void fcw(uint16_t v) { std::memcpy(b + 0, &v, 2); }
  void fsw(uint16_t v) { std::memcpy(b + 2, &v, 2); }
  void ftw(uint8_t v) { b[4] = v; }
  void mxcsr(uint32_t v) { std::memcpy(b + 24, &v, 4); }
  // Register slots are in stack order (slot i is ST(i)); the abridged tag bits are by
  // physical register ((TOP + i) & 7 for ST(i)).
  void st(unsigned i, uint64_t mant, uint16_t exp) {
    std::memcpy(b + 32 + 16 * i, &mant, 8);
    std::memcpy(b + 40 + 16 * i, &exp, 2);
  }
  void xmm(unsigned n, uint64_t lo, uint64_t hi) {
    std::memcpy(b + 160 + 16 * n, &lo, 8);
    std::memcpy(b + 168 + 16 * n, &hi, 8);
  }
  uint16_t get_fsw() const { uint16_t v; std::memcpy(&v, b + 2, 2); return v; }
};

// A case with a random but sane initial state: GPRs random (RSI at data_off), data
// random, x87 empty with default FCW, MXCSR default, XMM random.
void init_case(Case& k, Rng& rng, const std::string& family, const std::string& name);

// Interesting operands.
uint32_t pick_f32(Rng& rng);
uint64_t pick_f64(Rng& rng);
// `supported`: no pseudo-denormals, unnormals, pseudo-infinities or pseudo-NaNs.
void pick_f80(Rng& rng, uint64_t* mant, uint16_t* exp, bool supported = false);
uint64_t pick_int(Rng& rng, unsigned bits);  // boundaries and random, sign-extended

// Instruction byte helpers.
void emit(Case& k, std::initializer_list<uint8_t> bytes);
// ModRM memory operand [rsi + disp8] with the given reg field.
inline uint8_t modrm_rsi_disp8(unsigned reg) { return uint8_t(0x46 | ((reg & 7) << 3)); }
inline uint8_t modrm_reg(unsigned reg, unsigned rm) { return uint8_t(0xC0 | ((reg & 7) << 3) | (rm & 7)); }

// Generators: each appends cases of its families to `out`.
using Generator = void (*)(Rng& rng, unsigned count, std::vector<Case>& out);
struct Family {
  const char* name;
  Generator gen;
};
extern const Family kX87Families[];
extern const unsigned kX87FamilyCount;

}  // namespace fpdiff
