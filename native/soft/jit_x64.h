// A small x86-64 machine-code writer for the soft CPU's block compiler (jit.cc).
//
// Only the forms the compiler emits: moves and ALU operations between registers, memory
// at [base + index*scale + disp32] and immediates, at 8/16/32/64-bit operand size; LEA,
// shifts by an immediate, MOVZX/MOVSX, CMOVcc/SETcc, Jcc/JMP to labels, indirect CALL and
// RET. Encodings follow Intel SDM vol. 2, chapter 2 (REX, ModRM, SIB) and appendix A.
// 8-bit forms always carry a REX prefix, so register numbers 4-7 name SPL..DIL, never
// AH..BH (the compiler keeps guest byte registers in memory, where AH is just an offset).
//
// Writing never allocates and never runs past the buffer: past the end it only counts, and
// the caller checks overflowed() before using the code.
#pragma once

#include <cstdint>
#include <cstring>

namespace tsvirt::soft::x64 {

// Host registers (lower case: the guest's register numbers are x86::RAX...).
enum Reg : int { rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15 };

// Condition codes in the tttn encoding (the same numbers as the guest's Jcc low nibble).
enum Cond : int { kO = 0, kNO, kB, kAE, kE, kNE, kBE, kA, kS, kNS, kP, kNP, kL, kGE, kLE, kG };

// A memory operand: [base + index*(1<<scale) + disp]. index < 0: none.
struct Mem {
  int base;
  int32_t disp = 0;
  int index = -1;
  int scale = 0;
};
inline Mem mem(int base, int32_t disp = 0) { return Mem{base, disp, -1, 0}; }

// ALU operation numbers (the /digit of 80-83 and bits 5:3 of 00-3F).
enum Alu : int { kAluAdd = 0, kAluOr, kAluAdc, kAluSbb, kAluAnd, kAluSub, kAluXor, kAluCmp };

class Asm {
 public:
  Asm(uint8_t* buf, size_t cap) : start_(buf), p_(buf), end_(buf + cap) {}

  uint8_t* here() const { return p_; }
  size_t size() const { return size_t(p_ - start_); }
  bool overflowed() const { return p_ > end_; }

  // ---- moves ----
  // Load `size` bytes zero-extended into the whole 64-bit register.
  void load(int size, int dst, const Mem& m) {
    switch (size) {
      case 1: op_rm(4, false, {0x0F, 0xB6}, dst, m); break;
      case 2: op_rm(4, false, {0x0F, 0xB7}, dst, m); break;
      case 4: op_rm(4, false, {0x8B}, dst, m); break;
      default: op_rm(8, false, {0x8B}, dst, m); break;
    }
  }
  // Sign-extending loads to 64 bits (MOVSX / MOVSXD).
  void load_sx(int size, int dst, const Mem& m) {
    switch (size) {
      case 1: op_rm(8, false, {0x0F, 0xBE}, dst, m); break;
      case 2: op_rm(8, false, {0x0F, 0xBF}, dst, m); break;
      case 4: op_rm(8, false, {0x63}, dst, m); break;
      default: op_rm(8, false, {0x8B}, dst, m); break;
    }
  }
  void store(int size, const Mem& m, int src) {
    op_rm(size, size == 1, {uint8_t(size == 1 ? 0x88 : 0x89)}, src, m);
  }
  // MOV m, imm32 (sign-extended for size 8).
  void store_imm(int size, const Mem& m, int32_t imm) {
    op_rm(size, false, {uint8_t(size == 1 ? 0xC6 : 0xC7)}, 0, m);
    imm_of(size, imm);
  }
  void mov(int dst, int src) { op_rr(8, false, {0x8B}, dst, src); }  // 64-bit
  // MOV of the low 8 or 16 bits (the rest of dst is kept).
  void mov_part(int size, int dst, int src) {
    op_rr(size, size == 1, {uint8_t(size == 1 ? 0x88 : 0x89)}, src, dst);
  }
  void mov32(int dst, int src) { op_rr(4, false, {0x8B}, dst, src); }
  // dst = imm, the shortest exact form.
  void mov_imm(int dst, uint64_t imm) {
    if (imm <= 0xFFFFFFFFull) {
      rex(false, 0, 0, dst, false);
      byte(uint8_t(0xB8 + (dst & 7)));
      u32(uint32_t(imm));
    } else if (int64_t(imm) == int64_t(int32_t(imm))) {
      op_rr(8, false, {0xC7}, 0, dst);
      u32(uint32_t(imm));
    } else {
      rex(true, 0, 0, dst, false);
      byte(uint8_t(0xB8 + (dst & 7)));
      u64(imm);
    }
  }
  void lea(int dst, const Mem& m) { op_rm(8, false, {0x8D}, dst, m); }
  // Zero/sign extension between registers (source size 1 or 2; 4 with sx = MOVSXD).
  void movzx(int src_size, int dst, int src) {
    if (src_size == 4) {
      mov32(dst, src);
      return;
    }
    op_rr(4, src_size == 1, {0x0F, uint8_t(src_size == 1 ? 0xB6 : 0xB7)}, dst, src);
  }
  void movsx(int src_size, int dst, int src) {
    if (src_size == 4) {
      op_rr(8, false, {0x63}, dst, src);
      return;
    }
    op_rr(8, src_size == 1, {0x0F, uint8_t(src_size == 1 ? 0xBE : 0xBF)}, dst, src);
  }

  // ---- arithmetic ----
  void alu(Alu op, int size, int dst, int src) {
    op_rr(size, size == 1, {uint8_t((op << 3) | (size == 1 ? 0 : 1))}, src, dst);
  }
  void alu(Alu op, int size, int dst, const Mem& m) {
    op_rm(size, size == 1, {uint8_t((op << 3) | (size == 1 ? 2 : 3))}, dst, m);
  }
  void alu_imm(Alu op, int size, int dst, int32_t imm) {
    if (size == 1) {
      op_rr(1, true, {0x80}, op, dst);
      byte(uint8_t(imm));
    } else if (imm == int8_t(imm)) {
      op_rr(size, false, {0x83}, op, dst);
      byte(uint8_t(imm));
    } else {
      op_rr(size, false, {0x81}, op, dst);
      imm_of(size, imm);
    }
  }
  void alu_imm(Alu op, int size, const Mem& m, int32_t imm) {
    if (size == 1) {
      op_rm(1, false, {0x80}, op, m);
      byte(uint8_t(imm));
    } else if (imm == int8_t(imm)) {
      op_rm(size, false, {0x83}, op, m);
      byte(uint8_t(imm));
    } else {
      op_rm(size, false, {0x81}, op, m);
      imm_of(size, imm);
    }
  }
  void test(int size, int a, int b) { op_rr(size, size == 1, {uint8_t(size == 1 ? 0x84 : 0x85)}, b, a); }
  void test_imm(int size, int a, int32_t imm) {
    op_rr(size, size == 1, {uint8_t(size == 1 ? 0xF6 : 0xF7)}, 0, a);
    imm_of(size, imm);
  }
  void cmp_byte_imm(const Mem& m, int8_t imm) {
    op_rm(1, false, {0x80}, kAluCmp, m);
    byte(uint8_t(imm));
  }
  void inc(int size, int r) { op_rr(size, size == 1, {uint8_t(size == 1 ? 0xFE : 0xFF)}, 0, r); }
  void dec(int size, int r) { op_rr(size, size == 1, {uint8_t(size == 1 ? 0xFE : 0xFF)}, 1, r); }
  // Shifts by an immediate: /4 SHL, /5 SHR, /7 SAR.
  void shift_imm(int ext, int size, int r, uint8_t n) {
    op_rr(size, size == 1, {uint8_t(size == 1 ? 0xC0 : 0xC1)}, ext, r);
    byte(n);
  }
  // Shifts by CL.
  void shift_cl(int ext, int size, int r) {
    op_rr(size, size == 1, {uint8_t(size == 1 ? 0xD2 : 0xD3)}, ext, r);
  }
  // IMUL dst, src (0F AF) and IMUL dst, src, imm32 (69).
  void imul(int size, int dst, int src) { op_rr(size, false, {0x0F, 0xAF}, dst, src); }
  void imul_imm(int size, int dst, int src, int32_t imm) {
    if (imm == int8_t(imm)) {
      op_rr(size, false, {0x6B}, dst, src);
      byte(uint8_t(imm));
    } else {
      op_rr(size, false, {0x69}, dst, src);
      imm_of(size, imm);
    }
  }
  // MUL / IMUL r/m (F7 /4 /5): rdx:rax = rax * r.
  void mul_wide(bool sign, int size, int r) { op_rr(size, false, {0xF7}, sign ? 5 : 4, r); }
  void not_(int size, int r) { op_rr(size, size == 1, {uint8_t(size == 1 ? 0xF6 : 0xF7)}, 2, r); }
  void neg(int size, int r) { op_rr(size, size == 1, {uint8_t(size == 1 ? 0xF6 : 0xF7)}, 3, r); }
  void shl(int size, int r, uint8_t n) { shift_imm(4, size, r, n); }
  void shr(int size, int r, uint8_t n) { shift_imm(5, size, r, n); }
  void sar(int size, int r, uint8_t n) { shift_imm(7, size, r, n); }
  void cmov(Cond cc, int size, int dst, int src) {
    op_rr(size, false, {0x0F, uint8_t(0x40 | cc)}, dst, src);
  }
  // BSWAP r32/r64 (0F C8+r).
  void bswap(int size, int r) {
    rex(size == 8, 0, 0, r, false);
    byte(0x0F);
    byte(uint8_t(0xC8 + (r & 7)));
  }
  void setcc(Cond cc, int r) { op_rr(1, true, {0x0F, uint8_t(0x90 | cc)}, 0, r); }

  // ---- control ----
  struct Label {
    int32_t pos = -1;  // offset from the buffer start once bound
    int32_t fix[8];    // rel32 fields waiting for it
    int nfix = 0;
    bool spilled = false;  // more than 8 uses: the caller must not use the code
  };
  void bind(Label& l) {
    l.pos = int32_t(p_ - start_);
    for (int k = 0; k < l.nfix; k++) patch(l.fix[k], l.pos);
    l.nfix = 0;
  }
  void jcc(Cond cc, Label& l) {
    byte(0x0F);
    byte(uint8_t(0x80 | cc));
    rel32(l);
  }
  void jmp(Label& l) {
    byte(0xE9);
    rel32(l);
  }
  void call(int r) { op_rr(4, false, {0xFF}, 2, r); }
  void jmp(int r) { op_rr(4, false, {0xFF}, 4, r); }
  void push(int r) {
    if (r >= 8) byte(0x41);
    byte(uint8_t(0x50 + (r & 7)));
  }
  void pop(int r) {
    if (r >= 8) byte(0x41);
    byte(uint8_t(0x58 + (r & 7)));
  }
  void ret() { byte(0xC3); }

 private:
  void byte(uint8_t b) {
    if (p_ < end_) *p_ = b;
    p_++;
  }
  void u32(uint32_t v) {
    for (int k = 0; k < 4; k++) byte(uint8_t(v >> (8 * k)));
  }
  void u64(uint64_t v) {
    for (int k = 0; k < 8; k++) byte(uint8_t(v >> (8 * k)));
  }
  void imm_of(int size, int32_t imm) {
    if (size == 1) byte(uint8_t(imm));
    else if (size == 2) {
      byte(uint8_t(imm));
      byte(uint8_t(imm >> 8));
    } else {
      u32(uint32_t(imm));
    }
  }
  void rex(bool w, int reg, int index, int base, bool force) {
    const uint8_t v = uint8_t(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
                              ((base >> 3) & 1));
    if (v != 0x40 || force) byte(v);
  }
  void opcode(std::initializer_list<uint8_t> ops) {
    for (uint8_t b : ops) byte(b);
  }
  // reg field `reg`, register operand `rm`.
  void op_rr(int size, bool force_rex, std::initializer_list<uint8_t> ops, int reg, int rm) {
    if (size == 2) byte(0x66);
    rex(size == 8, reg, 0, rm, force_rex);
    opcode(ops);
    byte(uint8_t(0xC0 | ((reg & 7) << 3) | (rm & 7)));
  }
  // reg field `reg`, memory operand m.
  void op_rm(int size, bool force_rex, std::initializer_list<uint8_t> ops, int reg, const Mem& m) {
    if (size == 2) byte(0x66);
    rex(size == 8, reg, m.index < 0 ? 0 : m.index, m.base, force_rex);
    opcode(ops);
    const uint8_t r = uint8_t((reg & 7) << 3);
    const bool d8 = m.disp == int8_t(m.disp);
    // [rbp]/[r13] with no displacement needs mod=01 disp8=0.
    const bool no_disp = m.disp == 0 && (m.base & 7) != 5;
    const uint8_t mod = no_disp ? 0x00 : d8 ? 0x40 : 0x80;
    if (m.index >= 0 || (m.base & 7) == 4) {
      byte(uint8_t(mod | r | 4));
      const int idx = m.index >= 0 ? m.index : 4;  // 100 = no index
      byte(uint8_t((m.scale << 6) | ((idx & 7) << 3) | (m.base & 7)));
    } else {
      byte(uint8_t(mod | r | (m.base & 7)));
    }
    if (!no_disp) {
      if (d8) byte(uint8_t(m.disp));
      else u32(uint32_t(m.disp));
    }
  }
  void rel32(Label& l) {
    const int32_t at = int32_t(p_ - start_);
    u32(0);
    if (l.pos >= 0) {
      patch(at, l.pos);
    } else if (l.nfix < 8) {
      l.fix[l.nfix++] = at;
    } else {
      l.spilled = true;
    }
  }
  void patch(int32_t at, int32_t target) {
    if (start_ + at + 4 > end_) return;
    const int32_t rel = target - (at + 4);
    std::memcpy(start_ + at, &rel, 4);
  }

  uint8_t* start_;
  uint8_t* p_;
  uint8_t* end_;
};

}  // namespace tsvirt::soft::x64
