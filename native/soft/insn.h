// Decoded instructions, decoded blocks, and the opcode tables instruction families fill.
//
// The decoder (decoder.cc) parses prefixes, REX, the opcode map escape (0F, 0F 38, 0F 3A),
// ModRM/SIB/displacement and the immediates an OpDesc asks for, then calls the OpDesc's
// `decode` function, which picks the Handler (usually a template instance specialised for
// operand size and register/memory form) and may read further immediates. A family owns
// some table entries; it fills them in its register_*() function, listed in families.cc.
// See README.md, "Adding an instruction family".
#pragma once

#include <cstdint>

#include "soft/core.h"

namespace tsvirt::soft {

// Flags of Insn::flags.
namespace insnf {
constexpr uint8_t kMem = 1u << 0;    // ModRM names memory (base/index/disp/seg valid)
constexpr uint8_t kLock = 1u << 1;   // LOCK prefix present (and allowed)
constexpr uint8_t kRep = 1u << 2;    // F3 prefix (REP/REPE)
constexpr uint8_t kRepne = 1u << 3;  // F2 prefix (REPNE)
constexpr uint8_t kRex = 1u << 4;    // a REX prefix was present
}  // namespace insnf

// One decoded instruction. Register operands are byte offsets into Core::r so that
// AH/CH/DH/BH need no special case: reg*8, or (reg-4)*8+1 for the legacy high bytes.
struct Insn {
  Handler fn = nullptr;
  int64_t disp = 0;    // memory displacement (RIP-relative: includes off + len, see ops.h)
  uint64_t imm = 0;    // first immediate, or branch displacement
  uint64_t amask = 0;  // effective-address mask of the address size
  uint32_t imm2 = 0;   // second immediate (ENTER nesting level, far pointer selector)
  uint16_t op = 0;     // map << 8 | opcode byte (map: 0 one-byte, 1 0F, 2 0F38, 3 0F3A)
  uint8_t len = 0;     // instruction length in bytes
  uint8_t osz = 0;     // operand size in bytes (1, 2, 4, 8)
  uint8_t asz = 0;     // address size in bytes (2, 4, 8)
  uint8_t flags = 0;   // insnf::*
  uint8_t ro = 0;      // ModRM.reg operand as byte offset into Core::r (per osz)
  uint8_t mo = 0;      // ModRM.rm register operand as byte offset (when !kMem)
  uint8_t reg = 0;     // raw ModRM.reg incl. REX.R (0..15)
  uint8_t rm = 0;      // raw ModRM.rm incl. REX.B (0..15)
  uint8_t base = kRegZero, index = kRegZero, scale = 0, seg = DS;
  uint8_t mprefix = 0;  // mandatory-prefix class for SSE: 0 none, 1 = 66, 2 = F3, 3 = F2
  uint16_t off = 0;     // offset of the instruction from the first byte of its block
  // When flagopt.cc swapped `fn` for a variant that skips dead flags: the exact handler
  // (used when the instruction runs alone: single-step, partial block). Else nullptr.
  Handler exact = nullptr;
};
static_assert(sizeof(Insn) == 64, "an Insn is one cache line");

inline bool is_mem(const Insn* i) { return i->flags & insnf::kMem; }

// A run of decoded instructions starting at one physical address, ending at a control
// transfer, a mode-changing instruction, a page boundary or kMaxBlockInsns.
// Laid out for the run loop: what it reads on every block entry (mode, ninsn, insns,
// checked_epoch, links) shares the first cache line.
struct alignas(64) Block {
  uint32_t mode = 0;      // Core::mode_key at decode time
  uint16_t ninsn = 0;
  uint16_t nbytes = 0;
  Insn* insns = nullptr;  // ninsn entries, then a terminator
  uint64_t checked_epoch = 0;  // PhysMem code epoch at which genp/gen were last verified
  // Successors reached by a direct branch or fall-through inside the same page, keyed by
  // the RIP delta from the block's first byte (position independent).
  Block* link[2] = {nullptr, nullptr};
  int64_t link_delta[2] = {0, 0};
  uint64_t pa = 0;        // guest-physical address of the first byte
  Block* hash_next = nullptr;
  const std::atomic<uint32_t>* genp[2] = {nullptr, nullptr};  // page generations watched
  uint32_t gen[2] = {0, 0};
  uint32_t hits = 0;                   // executions while not compiled (jit.h threshold)
  uint16_t jit_span = 0;               // instructions the compiled code may run (jit.h, traces)
  void (*jit)(Core* c) = nullptr;      // compiled code (jit.h), or nullptr
  // Successors the compiled code jumps to directly (jit.h): [0] the taken branch or the
  // only successor, [1] the fall-through of a Jcc. Checked against the execution TLB on
  // every use unless the branch stays in the block's own page.
  Block* chain[2] = {nullptr, nullptr};
};

constexpr int kMaxBlockInsns = 48;
// The most instructions compiled code runs before it looks at events and the budget: a
// trace of blocks joined at their Jcc fall-throughs (jit.h).
constexpr int kMaxTraceInsns = 2 * kMaxBlockInsns;

// ---- decoding ----

// What the decoder knows when it hands an instruction to a family.
struct DecodeCtx {
  Core* c;
  const uint8_t* bytes;   // instruction bytes (at least 15 available or up to a fault)
  unsigned avail;         // bytes readable from `bytes`
  unsigned pos;           // next byte to consume
  int code_size;          // 16, 32, 64
  int osz;                // effective operand size in bytes (2/4/8, or per default64 rules)
  int asz;                // effective address size in bytes
  bool rex, rex_w, rex_r, rex_x, rex_b;
  bool opsize_prefix;     // 66 present
  bool lock;
  uint8_t rep;            // 0, 0xF2, 0xF3 (last one wins)
  int seg_override;       // -1 or Seg
  uint8_t opcode;
  int map;                // 0, 1 (0F), 2 (0F38), 3 (0F3A)
  bool has_modrm;
  uint8_t modrm, mod, reg, rm;  // reg/rm include REX.R/REX.B
  bool truncated;         // ran out of bytes (fetch fault inside the instruction)
  bool ends_block;        // initialised from opf::kEndsBlock; a DecodeFn may change it

  uint8_t fetch8();
  uint16_t fetch16();
  uint32_t fetch32();
  uint64_t fetch64();
  int32_t fetch_imm(int size);  // 1, 2 or 4 bytes, sign-extended
  // Byte offset of the 8-bit register number n given the REX state.
  uint8_t breg(unsigned n) const {
    return (!rex && n >= 4 && n < 8) ? uint8_t((n - 4) * 8 + 1) : uint8_t(n * 8);
  }
};

// Returns false when the encoding is invalid (the instruction raises #UD when reached).
using DecodeFn = bool (*)(DecodeCtx& d, Insn* i);

// Per-opcode decoding attributes.
namespace opf {
constexpr uint32_t kModrm = 1u << 0;     // has a ModRM byte
constexpr uint32_t kImm8 = 1u << 1;      // 8-bit immediate
constexpr uint32_t kImm16 = 1u << 2;     // 16-bit immediate
constexpr uint32_t kImmZ = 1u << 3;      // 16/32-bit immediate by operand size (sign-extended to 64)
constexpr uint32_t kImmV = 1u << 4;      // 16/32/64-bit immediate by operand size (MOV r, imm)
constexpr uint32_t kByteOp = 1u << 5;    // operand size is 8 bits
constexpr uint32_t kDefault64 = 1u << 6; // operand size 64 by default in 64-bit mode (push/pop...)
constexpr uint32_t kForce64 = 1u << 7;   // operand size always 64 in 64-bit mode (near branches)
constexpr uint32_t kEndsBlock = 1u << 8; // ends the decoded block (control/mode change)
constexpr uint32_t kInvalid64 = 1u << 9; // #UD in 64-bit mode
constexpr uint32_t kLockable = 1u << 10; // LOCK allowed when the destination is memory
constexpr uint32_t kMoffs = 1u << 11;    // address-size immediate offset (MOV AL, moffs)
constexpr uint32_t kRel8 = 1u << 12;     // 8-bit relative branch displacement
constexpr uint32_t kRelZ = 1u << 13;     // 16/32-bit relative branch displacement
constexpr uint32_t kNoMem = 1u << 14;    // ModRM must name a register (mod == 3) else #UD
constexpr uint32_t kSse = 1u << 15;      // 66/F2/F3 are mandatory prefixes, not modifiers
constexpr uint32_t kMemOnly = 1u << 16;  // ModRM must name memory (mod != 3) else #UD
constexpr uint32_t kRegOnly = 1u << 17;  // ModRM.mod is ignored: always a register (MOV CR/DR)
}  // namespace opf

struct OpDesc {
  DecodeFn decode = nullptr;
  uint32_t flags = 0;
  const char* family = nullptr;  // who registered it (diagnostics, double registration)
};

// The four opcode maps. Families register entries; the decoder reads them.
struct OpTables {
  OpDesc map[4][256];
  CpuFeatures features;  // what the registered families implement (cpuid.cc)
  // 0F AE with a memory operand, by ModRM.reg: /0 FXSAVE, /1 FXRSTOR, /2 LDMXCSR,
  // /3 STMXCSR belong to the x87/SSE families, which fill these; the system family owns the
  // opcode (fences, CLFLUSH, FSGSBASE) and hands those encodings over. Empty slots are #UD.
  DecodeFn group_0fae_mem[8] = {};
  // F2 0F 38 F0/F1 (CRC32, SSE4.2 family): the opcodes belong to MOVBE (mov family), which
  // hands the F2 forms over. Empty slots are #UD.
  DecodeFn crc32_f2[2] = {};
};

// Registration helper: refuses (aborts at startup, a programming error) an entry that is
// already taken, so two families cannot silently fight over one opcode.
void register_op(OpTables& t, int map, unsigned opcode, DecodeFn fn, uint32_t flags,
                 const char* family);

const OpTables& op_tables();

// Decode one instruction at `bytes` into `out`. Returns the instruction length, or 0 when
// the bytes end before the instruction does (the caller turns that into a fetch fault).
// Invalid encodings decode to a handler raising #UD (or #GP for >15 bytes).
unsigned decode_insn(Core* c, const uint8_t* bytes, unsigned avail, Insn* out,
                     uint32_t* opflags);

// Handlers shared by the decoder and families.
const Insn* op_ud(Core* c, const Insn* i);
const Insn* op_gp_too_long(Core* c, const Insn* i);
const Insn* op_block_end(Core* c, const Insn* i);
const Insn* op_smc_break(Core* c, const Insn* i);
// NOP (90) and the hint NOPs (0F 18-1F): they do nothing, not even access memory. The
// block compiler recognises them by this handler (PAUSE has its own).
const Insn* op_nop(Core* c, const Insn* i);

}  // namespace tsvirt::soft
