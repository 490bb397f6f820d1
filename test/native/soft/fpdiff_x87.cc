// x87 case generators of the fpdiff tester: arithmetic, loads/stores of every format,
// register-stack operations, compares, transcendental and other special instructions, and
// the control instructions (environment images, pending exceptions and #MF).
#include "fpdiff.h"

namespace fpdiff {

namespace {

constexpr uint8_t kDisp = 0x10;  // memory operands at [rsi + 0x10]

// Pseudo-denormals, unnormals, pseudo-infinities and pseudo-NaNs (SDM vol. 1, 8.2.2).
bool unsupported(uint64_t mant, uint16_t exp) {
  const unsigned e = exp & 0x7FFF;
  const bool j = mant >> 63;
  return (e == 0 && j) || (e != 0 && !j);
}

// Tags the case when a non-empty register holds an unsupported encoding.
void tag_stack(Case& k) {
  uint16_t sw;
  std::memcpy(&sw, k.fx + 2, 2);
  const unsigned top = (sw >> 11) & 7;
  for (unsigned i = 0; i < 8; i++) {
    if (!((k.fx[4] >> ((top + i) & 7)) & 1)) continue;
    uint64_t m;
    uint16_t e;
    std::memcpy(&m, k.fx + 32 + 16 * i, 8);
    std::memcpy(&e, k.fx + 40 + 16 * i, 2);
    if (unsupported(m, e)) k.tags |= kTagX87Unsupported;
    if ((e & 0x7FFF) == 0x7FFF && (m >> 63) && !((m >> 62) & 1) && (m << 2)) k.tags |= kTagSNaN;
  }
}

// Random register stack: TOP, tags (empty with probability empty_pct %), values, FCW, FSW
// condition codes. Exceptions stay masked unless `unmask` allows random unmasking.
void random_stack(Case& k, Rng& rng, unsigned empty_pct, bool unmask) {
  Fx fx(k.fx);
  const unsigned top = rng() % 8;
  uint8_t tags = 0;
  for (unsigned i = 0; i < 8; i++) {
    const unsigned p = (top + i) & 7;
    uint64_t m;
    uint16_t e;
    // Unsupported encodings only in the operand positions, and only sometimes.
    pick_f80(rng, &m, &e, i >= 2 || rng() % 4 != 0);
    fx.st(i, m, e);
    if (rng() % 100 >= empty_pct) tags = uint8_t(tags | (1u << p));
  }
  fx.ftw(tags);
  uint16_t cw = 0x037F;
  switch (rng() % 8) {
    case 0: cw = uint16_t(0x007F | ((rng() % 4) << 8) | ((rng() % 4) << 10)); break;  // PC, RC
    case 1: cw = uint16_t(0x007F | (2u << 8) | ((rng() % 4) << 10)); break;          // double
    case 2: cw = uint16_t(0x037F | ((rng() % 4) << 10)); break;
    default: break;
  }
  if (unmask && rng() % 6 == 0) cw = uint16_t((cw & ~0x3F) | (0x3F & ~(1u << (rng() % 6))));
  if (unmask && rng() % 16 == 0) cw = uint16_t(cw & ~0x3F);
  fx.fcw(cw);
  const uint16_t cc = uint16_t(rng() & (0x4700));
  fx.fsw(uint16_t(cc | (top << 11)));
}

// Tags derived from the inputs once the case is complete.
void finish(Case& k) {
  tag_stack(k);
  const uint8_t* m = k.data + k.data_off + kDisp;
  auto m80 = [&](const uint8_t* p) {
    uint64_t mant;
    uint16_t exp;
    std::memcpy(&mant, p, 8);
    std::memcpy(&exp, p + 8, 2);
    if (unsupported(mant, exp)) k.tags |= kTagX87Unsupported;
    if ((exp & 0x7FFF) == 0x7FFF && (mant >> 63) && !((mant >> 62) & 1) && (mant << 2)) k.tags |= kTagSNaN;
  };
  if (k.name == "fld m80fp") m80(m);
  const bool frstor = k.name.rfind("frstor", 0) == 0;
  if (frstor) {
    for (unsigned r = 0; r < 8; r++) m80(m + (k.name == "frstor" ? 28 : 14) + 10 * r);
  }
  if (k.name.rfind("fldenv", 0) == 0) {
    for (unsigned i = 0; i < 8; i++) m80(k.fx + 32 + 16 * i);
  }
  if (frstor || k.name.rfind("fldenv", 0) == 0 || k.name.rfind("fldcw", 0) == 0) k.tags |= kTagFcwRaw;
}

void mem_op(Case& k, uint8_t op, unsigned reg) { emit(k, {op, modrm_rsi_disp8(reg), kDisp}); }

void put_mem(Case& k, const void* v, unsigned n) { std::memcpy(k.data + k.data_off + kDisp, v, n); }

void put_operand(Case& k, Rng& rng, unsigned bytes, bool is_int, bool bcd = false) {
  if (bcd) {
    uint8_t b[10];
    for (int d = 0; d < 9; d++) {
      const unsigned lo = rng() % (rng() % 20 == 0 ? 16 : 10), hi = rng() % (rng() % 20 == 0 ? 16 : 10);
      b[d] = uint8_t(lo | (hi << 4));
    }
    b[9] = uint8_t((rng() & 1) ? 0x80 : 0) | uint8_t(rng() % 10 == 0 ? rng() & 0x7F : 0);
    put_mem(k, b, 10);
    return;
  }
  if (is_int) {
    const uint64_t v = pick_int(rng, bytes * 8);
    put_mem(k, &v, bytes);
  } else if (bytes == 4) {
    const uint32_t v = pick_f32(rng);
    if ((v & 0x7FC00000) == 0x7F800000 && (v & 0x3FFFFF)) k.tags |= kTagSNaN;
    put_mem(k, &v, 4);
  } else if (bytes == 8) {
    const uint64_t v = pick_f64(rng);
    if ((v & 0x7FF8000000000000ull) == 0x7FF0000000000000ull && (v & 0x7FFFFFFFFFFFFull)) k.tags |= kTagSNaN;
    put_mem(k, &v, 8);
  } else {
    uint64_t m;
    uint16_t e;
    pick_f80(rng, &m, &e);
    std::memcpy(k.data + k.data_off + kDisp, &m, 8);
    std::memcpy(k.data + k.data_off + kDisp + 8, &e, 2);
  }
}

const char* const kArithName[8] = {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"};

void gen_arith(Rng& rng, unsigned count, std::vector<Case>& out) {
  const unsigned ops[6] = {0, 1, 4, 5, 6, 7};
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const unsigned op = ops[rng() % 6];
    const unsigned form = rng() % 7;
    static const char* const kForm[7] = {"m32fp", "m64fp", "m32int", "m16int", "st0,sti", "sti,st0", "p sti,st0"};
    init_case(k, rng, "x87-arith", std::string(kArithName[op]) + " " + kForm[form]);
    random_stack(k, rng, 8, true);
    switch (form) {
      case 0: mem_op(k, 0xD8, op); put_operand(k, rng, 4, false); break;
      case 1: mem_op(k, 0xDC, op); put_operand(k, rng, 8, false); break;
      case 2: mem_op(k, 0xDA, op); put_operand(k, rng, 4, true); break;
      case 3: mem_op(k, 0xDE, op); put_operand(k, rng, 2, true); break;
      case 4: emit(k, {0xD8, modrm_reg(op, unsigned(rng() % 8))}); break;
      case 5: emit(k, {0xDC, modrm_reg(op, unsigned(rng() % 8))}); break;
      default: emit(k, {0xDE, modrm_reg(op, unsigned(rng() % 8))}); break;
    }
    finish(k);
    out.push_back(k);
  }
}

struct MemForm {
  uint8_t op;
  uint8_t reg;
  uint8_t bytes;
  bool load;
  bool is_int;
  bool bcd;
  const char* name;
};
const MemForm kLoadStore[] = {
    {0xD9, 0, 4, true, false, false, "fld m32fp"},    {0xDD, 0, 8, true, false, false, "fld m64fp"},
    {0xDB, 5, 10, true, false, false, "fld m80fp"},   {0xDF, 0, 2, true, true, false, "fild m16"},
    {0xDB, 0, 4, true, true, false, "fild m32"},      {0xDF, 5, 8, true, true, false, "fild m64"},
    {0xDF, 4, 10, true, false, true, "fbld"},         {0xD9, 2, 4, false, false, false, "fst m32fp"},
    {0xD9, 3, 4, false, false, false, "fstp m32fp"},  {0xDD, 2, 8, false, false, false, "fst m64fp"},
    {0xDD, 3, 8, false, false, false, "fstp m64fp"},  {0xDB, 7, 10, false, false, false, "fstp m80fp"},
    {0xDF, 2, 2, false, true, false, "fist m16"},     {0xDB, 2, 4, false, true, false, "fist m32"},
    {0xDF, 3, 2, false, true, false, "fistp m16"},    {0xDB, 3, 4, false, true, false, "fistp m32"},
    {0xDF, 7, 8, false, true, false, "fistp m64"},    {0xDF, 1, 2, false, true, false, "fisttp m16"},
    {0xDB, 1, 4, false, true, false, "fisttp m32"},   {0xDD, 1, 8, false, true, false, "fisttp m64"},
    {0xDF, 6, 10, false, false, true, "fbstp"},
};

void gen_loadstore(Rng& rng, unsigned count, std::vector<Case>& out) {
  const unsigned nforms = sizeof(kLoadStore) / sizeof(kLoadStore[0]);
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const MemForm& f = kLoadStore[rng() % nforms];
    init_case(k, rng, "x87-ldst", f.name);
    random_stack(k, rng, f.load ? 40 : 10, true);
    mem_op(k, f.op, f.reg);
    if (f.load) put_operand(k, rng, f.bytes, f.is_int, f.bcd);
    if (!f.load && rng() % 3 == 0) {
      // Values near the integer/BCD conversion boundaries.
      Fx fx(k.fx);
      const unsigned bits = f.bcd ? 60 : f.bytes * 8;
      const int e = int(bits) - 1 - 2 + int(rng() % 5);
      fx.st(0, 0x8000000000000000ull | (rng() % 3 == 0 ? 0 : rng() >> (rng() % 64)),
            uint16_t(((rng() & 1) ? 0x8000 : 0) | (16383 + (f.bcd ? 59 : e))));
    }
    finish(k);
    out.push_back(k);
  }
}

void gen_stack(Rng& rng, unsigned count, std::vector<Case>& out) {
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const unsigned i = rng() % 8;
    uint8_t op, m;
    const char* name;
    switch (rng() % 20) {
      case 0: op = 0xD9; m = uint8_t(0xC0 + i); name = "fld st(i)"; break;
      case 1: op = 0xDD; m = uint8_t(0xD0 + i); name = "fst st(i)"; break;
      case 2: op = 0xDD; m = uint8_t(0xD8 + i); name = "fstp st(i)"; break;
      case 3: op = 0xD9; m = uint8_t(0xD8 + i); name = "fstp1 st(i)"; break;
      case 4: op = 0xDF; m = uint8_t(0xD0 + (rng() % 2) * 8 + i); name = "fstp8/9 st(i)"; break;
      case 5: op = 0xD9; m = uint8_t(0xC8 + i); name = "fxch"; break;
      case 6: op = (rng() & 1) ? 0xDD : 0xDF; m = uint8_t(0xC8 + i); name = "fxch4/7"; break;
      case 7: op = 0xD9; m = 0xE0; name = "fchs"; break;
      case 8: op = 0xD9; m = 0xE1; name = "fabs"; break;
      case 9: op = 0xD9; m = uint8_t(0xE8 + rng() % 7); name = "fld constant"; break;
      case 10: op = 0xDD; m = uint8_t(0xC0 + i); name = "ffree"; break;
      case 11: op = 0xDF; m = uint8_t(0xC0 + i); name = "ffreep"; break;
      case 12: op = 0xD9; m = 0xF7; name = "fincstp"; break;
      case 13: op = 0xD9; m = 0xF6; name = "fdecstp"; break;
      case 14: op = 0xD9; m = 0xD0; name = "fnop"; break;
      case 15: case 16: op = 0xDA; m = uint8_t(0xC0 + (rng() % 32)); name = "fcmov"; break;
      default: op = 0xDB; m = uint8_t(0xC0 + (rng() % 32)); name = "fcmovn"; break;
    }
    init_case(k, rng, "x87-stack", name);
    random_stack(k, rng, 25, true);
    emit(k, {op, m});
    finish(k);
    out.push_back(k);
  }
}

void gen_compare(Rng& rng, unsigned count, std::vector<Case>& out) {
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const unsigned i = rng() % 8;
    const unsigned sel = rng() % 19;
    static const char* const kName[19] = {"fcom m32fp", "fcomp m32fp", "fcom m64fp", "fcomp m64fp",
                                          "ficom m16", "ficomp m16", "ficom m32", "ficomp m32",
                                          "fcom st(i)", "fcomp st(i)", "fcom2/fcomp3/fcomp5", "fcompp",
                                          "fucom", "fucomp", "fucompp", "fcomi/fucomi", "fcomip/fucomip",
                                          "ftst", "fxam"};
    init_case(k, rng, "x87-cmp", kName[sel]);
    random_stack(k, rng, 8, true);
    switch (sel) {
      case 0: case 1: mem_op(k, 0xD8, 2 + sel); put_operand(k, rng, 4, false); break;
      case 2: case 3: mem_op(k, 0xDC, sel); put_operand(k, rng, 8, false); break;
      case 4: case 5: mem_op(k, 0xDE, sel - 2); put_operand(k, rng, 2, true); break;
      case 6: case 7: mem_op(k, 0xDA, sel - 4); put_operand(k, rng, 4, true); break;
      case 8: emit(k, {0xD8, uint8_t(0xD0 + i)}); break;
      case 9: emit(k, {0xD8, uint8_t(0xD8 + i)}); break;
      case 10: {
        const uint8_t ops[3][2] = {{0xDC, 0xD0}, {0xDC, 0xD8}, {0xDE, 0xD0}};
        const unsigned a = rng() % 3;
        emit(k, {ops[a][0], uint8_t(ops[a][1] + i)});
        break;
      }
      case 11: emit(k, {0xDE, 0xD9}); break;
      case 12: emit(k, {0xDD, uint8_t(0xE0 + i)}); break;
      case 13: emit(k, {0xDD, uint8_t(0xE8 + i)}); break;
      case 14: emit(k, {0xDA, 0xE9}); break;
      case 15: emit(k, {0xDB, uint8_t(0xE8 + (rng() % 2) * 8 + i)}); break;
      case 16: emit(k, {0xDF, uint8_t(0xE8 + (rng() % 2) * 8 + i)}); break;
      case 17: emit(k, {0xD9, 0xE4}); break;
      default: emit(k, {0xD9, 0xE5}); break;
    }
    finish(k);
    out.push_back(k);
  }
}

void gen_special(Rng& rng, unsigned count, std::vector<Case>& out) {
  static const struct { uint8_t m; const char* name; } kOps[] = {
      {0xF0, "f2xm1"}, {0xF1, "fyl2x"}, {0xF2, "fptan"}, {0xF3, "fpatan"}, {0xF4, "fxtract"},
      {0xF5, "fprem1"}, {0xF8, "fprem"}, {0xF9, "fyl2xp1"}, {0xFA, "fsqrt"}, {0xFB, "fsincos"},
      {0xFC, "frndint"}, {0xFD, "fscale"}, {0xFE, "fsin"}, {0xFF, "fcos"},
  };
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const auto& o = kOps[rng() % (sizeof(kOps) / sizeof(kOps[0]))];
    init_case(k, rng, "x87-special", o.name);
    random_stack(k, rng, 8, true);
    if (rng() % 2) {
      // Operands in the instruction's natural domain.
      Fx fx(k.fx);
      const uint64_t mant = 0x8000000000000000ull | rng();
      const uint16_t sign = (rng() & 1) ? 0x8000 : 0;
      int e;
      switch (o.m) {
        case 0xF0: case 0xF9: e = -1 - int(rng() % 30); break;          // |x| < 1
        case 0xFE: case 0xFF: case 0xFB: case 0xF2: e = int(rng() % 70) - 10; break;
        case 0xFD: e = int(rng() % 16); break;                           // scale counts
        default: e = int(rng() % 80) - 40; break;
      }
      fx.st(0, mant, uint16_t(sign | (16383 + e)));
      fx.st(1, 0x8000000000000000ull | rng(), uint16_t(((rng() & 1) ? 0x8000 : 0) | (16383 + int(rng() % 40) - 20)));
    }
    emit(k, {0xD9, o.m});
    finish(k);
    out.push_back(k);
  }
}

// Control instructions and exception sequences.
void gen_control(Rng& rng, unsigned count, std::vector<Case>& out) {
  for (unsigned n = 0; n < count; n++) {
    Case k;
    const unsigned sel = rng() % 19;
    static const char* const kName[19] = {
        "fldcw+fadd", "fnstcw", "fnstsw m16", "fnstsw ax", "fnclex", "fninit", "fnstenv",
        "fnstenv16", "fldenv", "fldenv16", "fnsave", "fnsave16", "frstor", "frstor16",
        "unmasked exception then fwait", "unmasked exception then fadd", "fxsave64", "fxsave",
        "fxrstor64"};
    init_case(k, rng, "x87-control", kName[sel]);
    random_stack(k, rng, 30, true);
    Fx fx(k.fx);
    if (rng() % 4 == 0) fx.fsw(uint16_t(fx.get_fsw() | (rng() & 0x3F)));  // pending flags
    switch (sel) {
      case 0: {
        uint16_t cw = uint16_t(rng());
        if (rng() % 2) cw |= 0x3F;
        put_mem(k, &cw, 2);
        mem_op(k, 0xD9, 5);
        emit(k, {0xD8, 0xC1});
        break;
      }
      case 1: mem_op(k, 0xD9, 7); break;
      case 2: mem_op(k, 0xDD, 7); break;
      case 3: emit(k, {0xDF, 0xE0}); break;
      case 4: emit(k, {0xDB, 0xE2}); break;
      case 5: emit(k, {0xDB, 0xE3}); break;
      case 6: mem_op(k, 0xD9, 6); break;
      case 7: emit(k, {0x66}); mem_op(k, 0xD9, 6); break;
      case 8: case 9: case 12: case 13: {
        // An image with random control/status/tags and registers.
        uint8_t img[108];
        for (auto& b : img) b = uint8_t(rng());
        const bool wide = sel == 8 || sel == 12;
        uint16_t cw = uint16_t(rng() | (rng() % 3 ? 0x3F : 0));
        uint16_t sw = uint16_t(rng() & (rng() % 3 ? 0xFF00 : 0xFFFF));
        uint16_t tw = uint16_t(rng());
        std::memcpy(img, &cw, 2);
        std::memcpy(img + (wide ? 4 : 2), &sw, 2);
        std::memcpy(img + (wide ? 8 : 4), &tw, 2);
        const unsigned base = wide ? 28 : 14;
        for (unsigned r = 0; r < 8; r++) {
          uint64_t m;
          uint16_t e;
          pick_f80(rng, &m, &e);
          std::memcpy(img + base + 10 * r, &m, 8);
          std::memcpy(img + base + 10 * r + 8, &e, 2);
        }
        put_mem(k, img, base + 80);
        if (!wide) emit(k, {0x66});
        mem_op(k, sel >= 12 ? 0xDD : 0xD9, 4);
        if (rng() % 2) emit(k, {0xD9, 0xE5});  // FXAM: observe a register after the load
        break;
      }
      case 16: case 17: case 18: {
        // 512-byte image at [rsi+0x10]: aligned, or misaligned (#GP).
        if (rng() % 4 == 0) k.data_off = 0x800 + 1 + unsigned(rng() % 15);
        if (sel == 18) {
          uint8_t img[512];
          std::memcpy(img, k.fx, 512);
          for (unsigned b = 160; b < 416; b++) img[b] = uint8_t(rng());
          img[4] = uint8_t(rng());                            // tags
          uint16_t sw = uint16_t(rng() & 0x3F00);             // TOP and condition codes
          std::memcpy(img + 2, &sw, 2);
          uint32_t mx = rng() % 4 == 0 ? uint32_t(rng()) : uint32_t(rng() & 0xFFFF);  // reserved bits: #GP
          std::memcpy(img + 24, &mx, 4);
          for (unsigned r = 0; r < 8; r++) {
            uint64_t m;
            uint16_t e;
            pick_f80(rng, &m, &e, true);
            std::memcpy(img + 32 + 16 * r, &m, 8);
            std::memcpy(img + 40 + 16 * r, &e, 2);
          }
          put_mem(k, img, 512);
          emit(k, {0x48, 0x0F, 0xAE, 0x4E, kDisp});  // fxrstor64 0x10(%rsi)
        } else {
          if (sel == 16) emit(k, {0x48});
          emit(k, {0x0F, 0xAE, 0x46, kDisp});  // fxsave(64) 0x10(%rsi)
        }
        break;
      }
      case 10: mem_op(k, 0xDD, 6); break;
      case 11: emit(k, {0x66}); mem_op(k, 0xDD, 6); break;
      case 14: case 15: {
        // Unmask one exception, raise it, then a waiting instruction: #MF.
        const unsigned exc = rng() % 6;
        fx.fcw(uint16_t(0x037F & ~(1u << exc)));
        fx.fsw(uint16_t(fx.get_fsw() & ~0xFF));
        const uint8_t arith[4] = {0xC0, 0xC8, 0xE0, 0xF0};  // fadd fmul fsub fdiv st0,st(i)
        emit(k, {0xD8, uint8_t(arith[rng() % 4] + rng() % 8)});
        if (sel == 14) emit(k, {0x9B});
        else emit(k, {0xD8, 0xC1});
        break;
      }
      default: break;
    }
    finish(k);
    out.push_back(k);
  }
}

}  // namespace

const Family kX87Families[] = {
    {"x87-arith", gen_arith},     {"x87-ldst", gen_loadstore}, {"x87-stack", gen_stack},
    {"x87-cmp", gen_compare},     {"x87-special", gen_special}, {"x87-control", gen_control},
};
const unsigned kX87FamilyCount = sizeof(kX87Families) / sizeof(kX87Families[0]);

}  // namespace fpdiff
