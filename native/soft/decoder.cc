// x86 instruction decoder: prefixes, REX, opcode maps, ModRM/SIB/displacement, immediates.
//
// Implements Intel SDM vol. 2, chapter 2 (instruction format) and appendix A (opcode maps)
// for 16-, 32- and 64-bit code. It knows nothing of instruction semantics: each opcode's
// OpDesc (filled by a family, see families.cc) supplies the immediates to read and a
// DecodeFn that picks the handler. Anything without an entry, or that a DecodeFn refuses,
// decodes to op_ud so that executing it raises #UD; an instruction longer than 15 bytes
// decodes to op_gp_too_long (#GP(0)). Called only when a block is built (not per execution).
#include <cstdio>
#include <cstdlib>

#include "soft/insn.h"
#include "soft/ops.h"

namespace tsvirt::soft {

uint8_t DecodeCtx::fetch8() {
  if (pos + 1 > avail) {
    truncated = true;
    return 0;
  }
  return bytes[pos++];
}

uint16_t DecodeCtx::fetch16() {
  uint16_t lo = fetch8();
  return uint16_t(lo | (fetch8() << 8));
}

uint32_t DecodeCtx::fetch32() {
  uint32_t lo = fetch16();
  return lo | (uint32_t(fetch16()) << 16);
}

uint64_t DecodeCtx::fetch64() {
  uint64_t lo = fetch32();
  return lo | (uint64_t(fetch32()) << 32);
}

int32_t DecodeCtx::fetch_imm(int size) {
  switch (size) {
    case 1: return int8_t(fetch8());
    case 2: return int16_t(fetch16());
    default: return int32_t(fetch32());
  }
}

const Insn* op_ud(Core* c, const Insn*) { c->ud(); }

const Insn* op_gp_too_long(Core* c, const Insn*) { c->gp(0); }

// Terminator of a block that ends without a control transfer: off is the block length.
const Insn* op_block_end(Core* c, const Insn* i) {
  c->r[kRegRip] = next_rip(c, i);
  return nullptr;
}

// Installed after the current instruction when it wrote to the code of its own block.
const Insn* op_smc_break(Core* c, const Insn* i) {
  c->r[kRegRip] = insn_rip(c, i);
  c->block_break = true;
  return nullptr;
}

void register_op(OpTables& t, int map, unsigned opcode, DecodeFn fn, uint32_t flags,
                 const char* family) {
  OpDesc& d = t.map[map][opcode & 0xFF];
  if (d.decode != nullptr) {
    std::fprintf(stderr, "soft cpu: opcode map %d byte %02x registered by %s and %s\n", map,
                 opcode & 0xFF, d.family, family);
    std::abort();
  }
  d.decode = fn;
  d.flags = flags;
  d.family = family;
}

namespace {

constexpr uint64_t kAmask[9] = {0, 0, 0xFFFF, 0, 0xFFFFFFFF, 0, 0, 0, ~uint64_t{0}};

// ModRM memory operand (SDM vol. 2, tables 2-1..2-3).
void decode_modrm_mem(DecodeCtx& d, Insn* i) {
  i->flags |= insnf::kMem;
  i->amask = kAmask[d.asz];
  int def_seg = DS;
  if (d.asz == 2) {
    static const uint8_t kBase[8] = {RBX, RBX, RBP, RBP, RSI, RDI, RBP, RBX};
    static const uint8_t kIndex[8] = {RSI, RDI, RSI, RDI, kRegZero, kRegZero, kRegZero,
                                      kRegZero};
    const unsigned rm = d.modrm & 7;
    if (d.mod == 0 && rm == 6) {
      i->base = kRegZero;
      i->index = kRegZero;
      i->disp = d.fetch16();
    } else {
      i->base = kBase[rm];
      i->index = kIndex[rm];
      if (rm == 2 || rm == 3 || rm == 6) def_seg = SS;
      if (d.mod == 1) i->disp = int8_t(d.fetch8());
      else if (d.mod == 2) i->disp = int16_t(d.fetch16());
    }
    i->scale = 0;
  } else {
    unsigned rm = d.modrm & 7;
    if (rm == 4) {
      const uint8_t sib = d.fetch8();
      const unsigned scale = sib >> 6;
      unsigned index = ((sib >> 3) & 7) | (d.rex_x ? 8 : 0);
      unsigned base = (sib & 7) | (d.rex_b ? 8 : 0);
      i->scale = uint8_t(scale);
      i->index = uint8_t(index == 4 ? kRegZero : index);
      if ((sib & 7) == 5 && d.mod == 0) {
        i->base = kRegZero;
        i->disp = int32_t(d.fetch32());
      } else {
        i->base = uint8_t(base);
        if ((base & 7) == RSP || (base & 7) == RBP) def_seg = SS;
      }
    } else if (rm == 5 && d.mod == 0) {
      i->index = kRegZero;
      i->disp = int32_t(d.fetch32());
      // 64-bit mode: RIP-relative; the displacement is completed with the instruction
      // length once it is known (decode_insn).
      i->base = d.code_size == 64 ? kRegRip : kRegZero;
    } else {
      i->index = kRegZero;
      i->base = uint8_t(rm | (d.rex_b ? 8 : 0));
      if (rm == RSP || rm == RBP) def_seg = SS;
    }
    if (d.mod == 1) i->disp += int8_t(d.fetch8());
    else if (d.mod == 2) i->disp += int32_t(d.fetch32());
  }
  i->seg = uint8_t(d.seg_override >= 0 ? d.seg_override : def_seg);
}

}  // namespace

unsigned decode_insn(Core* c, const uint8_t* bytes, unsigned avail, Insn* out,
                     uint32_t* opflags) {
  const OpTables& tables = op_tables();
  DecodeCtx d{};
  d.c = c;
  d.bytes = bytes;
  d.avail = avail < 15 ? avail : 15;
  d.pos = 0;
  d.code_size = c->code_size;
  d.seg_override = -1;
  *out = Insn{};
  Insn* i = out;
  *opflags = 0;

  // Legacy prefixes and REX (SDM vol. 2, 2.1.1 and 2.2.1).
  for (;;) {
    const uint8_t b = d.fetch8();
    if (d.truncated) break;
    bool legacy = true;
    switch (b) {
      case 0x26: case 0x2E: case 0x36: case 0x3E:
        // In 64-bit mode ES/CS/SS/DS overrides are ignored.
        if (d.code_size != 64) d.seg_override = (b >> 3) & 3;
        break;
      case 0x64: d.seg_override = FS; break;
      case 0x65: d.seg_override = GS; break;
      case 0x66: d.opsize_prefix = true; break;
      case 0x67: d.asz = 1; break;  // marker, resolved below
      case 0xF0: d.lock = true; break;
      case 0xF2: case 0xF3: d.rep = b; break;
      default: legacy = false; break;
    }
    if (legacy) {
      d.rex = d.rex_w = d.rex_r = d.rex_x = d.rex_b = false;  // REX must be last
      continue;
    }
    if (d.code_size == 64 && (b & 0xF0) == 0x40) {
      d.rex = true;
      d.rex_w = b & 8;
      d.rex_r = b & 4;
      d.rex_x = b & 2;
      d.rex_b = b & 1;
      // A REX followed by another REX: only the last counts; followed by a legacy prefix:
      // ignored (handled by the reset above).
      continue;
    }
    d.pos--;
    break;
  }
  const bool addr_prefix = d.asz == 1;

  // Opcode and map.
  uint8_t op = d.fetch8();
  int map = 0;
  if (op == 0x0F) {
    op = d.fetch8();
    map = 1;
    if (op == 0x38) {
      op = d.fetch8();
      map = 2;
    } else if (op == 0x3A) {
      op = d.fetch8();
      map = 3;
    }
  }
  if (d.truncated) {
    if (avail < 15) return 0;
    i->fn = op_gp_too_long;
    *opflags = opf::kEndsBlock;
    i->len = 15;
    return 15;
  }
  d.opcode = op;
  d.map = map;
  i->op = uint16_t((map << 8) | op);
  const OpDesc& desc = tables.map[map][op];
  const uint32_t f = desc.flags;
  *opflags = f;

  // Sizes (SDM vol. 1, 3.6 and 3.6.1).
  if (d.code_size == 64) {
    d.asz = addr_prefix ? 4 : 8;
    if (f & opf::kByteOp) d.osz = 1;
    else if (d.rex_w || (f & opf::kForce64)) d.osz = 8;
    else if (f & opf::kDefault64) d.osz = d.opsize_prefix ? 2 : 8;
    else d.osz = d.opsize_prefix ? 2 : 4;
  } else {
    const int def = d.code_size / 8;
    d.asz = addr_prefix ? (def == 4 ? 2 : 4) : def;
    if (f & opf::kByteOp) d.osz = 1;
    else d.osz = d.opsize_prefix ? (def == 4 ? 2 : 4) : def;
  }
  i->osz = uint8_t(d.osz);
  i->asz = uint8_t(d.asz);
  i->amask = kAmask[d.asz];
  i->seg = uint8_t(d.seg_override >= 0 ? d.seg_override : DS);
  if (d.rex) i->flags |= insnf::kRex;
  if (d.rep == 0xF3) i->flags |= insnf::kRep;
  if (d.rep == 0xF2) i->flags |= insnf::kRepne;
  i->mprefix = d.rep == 0xF3 ? 2 : d.rep == 0xF2 ? 3 : d.opsize_prefix ? 1 : 0;

  bool valid = desc.decode != nullptr;
  if ((f & opf::kInvalid64) && d.code_size == 64) valid = false;

  if (f & opf::kModrm) {
    d.has_modrm = true;
    d.modrm = d.fetch8();
    d.mod = d.modrm >> 6;
    d.reg = uint8_t(((d.modrm >> 3) & 7) | (d.rex_r ? 8 : 0));
    d.rm = uint8_t((d.modrm & 7) | (d.rex_b ? 8 : 0));
    i->reg = d.reg;
    i->rm = d.rm;
    if (d.osz == 1) {
      i->ro = d.breg(d.reg);
      i->mo = d.breg(d.rm);
    } else {
      i->ro = uint8_t(d.reg * 8);
      i->mo = uint8_t(d.rm * 8);
    }
    if (f & opf::kRegOnly) {
      d.mod = 3;
    } else if (d.mod != 3) {
      if (f & opf::kNoMem) valid = false;
      decode_modrm_mem(d, i);
    } else if (f & opf::kMemOnly) {
      valid = false;
    }
  }
  if (d.lock) {
    if (!(f & opf::kLockable) || !d.has_modrm || d.mod == 3) valid = false;
    else i->flags |= insnf::kLock;
  }

  // Immediates.
  if (f & opf::kImm8) i->imm = uint64_t(int64_t(int8_t(d.fetch8())));
  if (f & opf::kImm16) i->imm = d.fetch16();
  if (f & opf::kImmZ) i->imm = uint64_t(int64_t(d.fetch_imm(d.osz == 2 ? 2 : 4)));
  if (f & opf::kImmV) i->imm = d.osz == 8 ? d.fetch64() : d.osz == 4 ? d.fetch32() : d.fetch16();
  if (f & opf::kMoffs) {
    i->disp = int64_t(d.asz == 8 ? d.fetch64() : d.asz == 4 ? d.fetch32() : d.fetch16());
    i->flags |= insnf::kMem;
    i->base = kRegZero;
    i->index = kRegZero;
  }
  if (f & opf::kRel8) i->imm = uint64_t(int64_t(int8_t(d.fetch8())));
  if (f & opf::kRelZ) i->imm = uint64_t(int64_t(d.fetch_imm(d.osz == 2 ? 2 : 4)));

  d.ends_block = (f & opf::kEndsBlock) != 0;
  if (valid && !d.truncated) valid = desc.decode(d, i);
  *opflags = d.ends_block ? (f | opf::kEndsBlock) : (f & ~opf::kEndsBlock);
  if (d.truncated && avail < 15) return 0;
  if (d.truncated) {
    i->fn = op_gp_too_long;
    *opflags = opf::kEndsBlock;
    i->len = 15;
    return 15;
  }
  i->len = uint8_t(d.pos);
  if (i->base == kRegRip) i->disp += d.pos;
  if (!valid) {
    i->fn = op_ud;
    *opflags = opf::kEndsBlock;
  }
  return d.pos;
}

}  // namespace tsvirt::soft
