// x87 control instructions: FLDCW, FNSTCW, FNSTSW (memory and AX), FNCLEX, FNINIT,
// FLDENV/FNSTENV and FRSTOR/FNSAVE in their four formats, FWAIT, and the 8087/287
// leftovers FNENI/FNDISI/FNSETPM (no-ops since the 387).
//
// Intel SDM vol. 1, 8.1.10 (environment images, figures 8-9..8-12) and vol. 2 per
// instruction. The image is chosen by the operand size (16-bit: 14/94 bytes, 32-bit and
// 64-bit: 28/108 bytes) and by the mode (real or virtual-8086: linear instruction/data
// pointers with the opcode; protected: offsets with selectors). Stored images carry the
// full tag word computed from the register contents, and 0xFFFF in the reserved upper
// halves of the control/status/tag and data-selector dwords, as the processors do. A
// stored FCW reads bit 6 as 1 and bits 7 and 13-15 as 0.
//
// The "FN" forms and FNSTSW AX do not wait for pending exceptions; FLDCW, FLDENV, FRSTOR
// and FWAIT do. Control instructions leave FOP/FIP/FDP alone.
#include "soft/fp_mem.h"
#include "soft/x87.h"

namespace tsvirt::soft {

namespace {

const Insn* fldcw(Core* c, const Insn* i) {
  x87_check(c);
  const uint16_t v = c->rd<uint16_t>(i->seg, ea(c, i));
  c->fpu.fcw = x87_fcw_value(v);
  x87_sync_es(c->fpu);
  return next(c, i);
}

const Insn* fnstcw(Core* c, const Insn* i) {
  x87_check_nowait(c);
  c->wr<uint16_t>(i->seg, ea(c, i), c->fpu.fcw);
  return next(c, i);
}

const Insn* fnstsw_m(Core* c, const Insn* i) {
  x87_check_nowait(c);
  c->wr<uint16_t>(i->seg, ea(c, i), c->fpu.fsw);
  return next(c, i);
}

const Insn* fnstsw_ax(Core* c, const Insn* i) {
  x87_check_nowait(c);
  set_reg<uint16_t>(c, 0, c->fpu.fsw);
  return next(c, i);
}

const Insn* fnclex(Core* c, const Insn* i) {
  x87_check_nowait(c);
  c->fpu.fsw &= uint16_t(~(fsw::kExc | fsw::SF | fsw::ES | fsw::B));
  return next(c, i);
}

const Insn* fninit(Core* c, const Insn* i) {
  x87_check_nowait(c);
  x87_init(c->fpu);
  return next(c, i);
}

const Insn* fnop_legacy(Core* c, const Insn* i) {  // FNENI, FNDISI, FNSETPM
  x87_check_nowait(c);
  return next(c, i);
}

// ---- environment images ----

bool real_format(const Core* c) { return c->real_mode() || c->v86(); }

// Writes the environment (14 or 28 bytes) into out; returns its size.
unsigned store_env(const Core* c, bool wide, uint8_t* out) {
  const FpuState& f = c->fpu;
  const uint16_t tag = x87_full_tag(f);
  auto put16 = [&](unsigned off, uint32_t v) { std::memcpy(out + off, &v, 2); };
  auto put32 = [&](unsigned off, uint32_t v) { std::memcpy(out + off, &v, 4); };
  if (real_format(c)) {
    const uint32_t ip = uint32_t((uint32_t(f.fcs) << 4) + f.fip);
    const uint32_t dp = uint32_t((uint32_t(f.fds) << 4) + f.fdp);
    if (wide) {
      put32(0, 0xFFFF0000u | f.fcw);
      put32(4, 0xFFFF0000u | f.fsw);
      put32(8, 0xFFFF0000u | tag);
      put32(12, 0xFFFF0000u | (ip & 0xFFFF));
      put32(16, (f.fop & 0x7FFu) | ((ip >> 16) << 12));
      put32(20, 0xFFFF0000u | (dp & 0xFFFF));
      put32(24, (dp >> 16) << 12);
      return 28;
    }
    put16(0, f.fcw);
    put16(2, f.fsw);
    put16(4, tag);
    put16(6, ip & 0xFFFF);
    put16(8, (f.fop & 0x7FFu) | (((ip >> 16) & 0xF) << 12));
    put16(10, dp & 0xFFFF);
    put16(12, ((dp >> 16) & 0xF) << 12);
    return 14;
  }
  if (wide) {
    put32(0, 0xFFFF0000u | f.fcw);
    put32(4, 0xFFFF0000u | f.fsw);
    put32(8, 0xFFFF0000u | tag);
    put32(12, uint32_t(f.fip));
    put32(16, f.fcs | (uint32_t(f.fop & 0x7FF) << 16));
    put32(20, uint32_t(f.fdp));
    put32(24, 0xFFFF0000u | f.fds);
    return 28;
  }
  put16(0, f.fcw);
  put16(2, f.fsw);
  put16(4, tag);
  put16(6, uint16_t(f.fip));
  put16(8, f.fcs);
  put16(10, uint16_t(f.fdp));
  put16(12, f.fds);
  return 14;
}

void load_env(Core* c, bool wide, const uint8_t* in) {
  FpuState& f = c->fpu;
  auto get16 = [&](unsigned off) {
    uint16_t v;
    std::memcpy(&v, in + off, 2);
    return v;
  };
  auto get32 = [&](unsigned off) {
    uint32_t v;
    std::memcpy(&v, in + off, 4);
    return v;
  };
  const unsigned s = wide ? 4 : 2;
  f.fcw = x87_fcw_value(get16(0));
  f.fsw = get16(s);
  uint16_t tag = get16(2 * s);
  f.ftw = 0;
  for (unsigned p = 0; p < 8; p++) {
    if (((tag >> (2 * p)) & 3) == 3) f.ftw = uint16_t(f.ftw | (3u << (2 * p)));
  }
  if (real_format(c)) {
    if (wide) {
      f.fip = (get32(12) & 0xFFFF) | (uint64_t((get32(16) >> 12) & 0xFFFF) << 16);
      f.fop = uint16_t(get32(16) & 0x7FF);
      f.fdp = (get32(20) & 0xFFFF) | (uint64_t((get32(24) >> 12) & 0xFFFF) << 16);
    } else {
      f.fip = get16(6) | (uint64_t(get16(8) >> 12) << 16);
      f.fop = uint16_t(get16(8) & 0x7FF);
      f.fdp = get16(10) | (uint64_t(get16(12) >> 12) << 16);
    }
    f.fcs = f.fds = 0;
  } else if (wide) {
    f.fip = get32(12);
    f.fcs = get16(16);
    f.fop = uint16_t((get32(16) >> 16) & 0x7FF);
    f.fdp = get32(20);
    f.fds = get16(24);
  } else {
    f.fip = get16(6);
    f.fcs = get16(8);
    f.fdp = get16(10);
    f.fds = get16(12);
  }
  x87_sync_es(f);
}

template <bool WIDE> const Insn* fnstenv(Core* c, const Insn* i) {
  x87_check_nowait(c);
  uint8_t buf[28];
  const unsigned n = store_env(c, WIDE, buf);
  fp_write(c, i->seg, ea(c, i), i->amask, buf, n);
  c->fpu.fcw |= fsw::kExc;  // every exception masked afterwards
  x87_sync_es(c->fpu);
  return next(c, i);
}

template <bool WIDE> const Insn* fldenv(Core* c, const Insn* i) {
  x87_check(c);
  uint8_t buf[28];
  fp_read(c, i->seg, ea(c, i), i->amask, buf, WIDE ? 28 : 14);
  load_env(c, WIDE, buf);
  return next(c, i);
}

template <bool WIDE> const Insn* fnsave(Core* c, const Insn* i) {
  x87_check_nowait(c);
  uint8_t buf[108];
  const unsigned n = store_env(c, WIDE, buf);
  for (unsigned k = 0; k < 8; k++) r80_to_bytes(buf + n + 10 * k, x87_st(c->fpu, k));
  fp_write(c, i->seg, ea(c, i), i->amask, buf, n + 80);
  x87_init(c->fpu);
  return next(c, i);
}

template <bool WIDE> const Insn* frstor(Core* c, const Insn* i) {
  x87_check(c);
  uint8_t buf[108];
  const unsigned n = WIDE ? 28 : 14;
  fp_read(c, i->seg, ea(c, i), i->amask, buf, n + 80);
  load_env(c, WIDE, buf);
  for (unsigned k = 0; k < 8; k++) {
    r80_from_bytes(x87_st(c->fpu, k), buf + n + 10 * k);
  }
  return next(c, i);
}

// FWAIT: #NM only when CR0.TS and CR0.MP are both set (SDM vol. 3, table 2-2).
const Insn* fwait(Core* c, const Insn* i) {
  if (SOFT_UNLIKELY((c->cr0 & (cr0::TS | cr0::MP)) == (cr0::TS | cr0::MP))) c->raise_fault(vec::NM);
  if (SOFT_UNLIKELY(c->fpu.fsw & fsw::ES) && (c->cr0 & cr0::NE)) x87_raise_mf(c);
  return next(c, i);
}

}  // namespace

bool dec_fwait(DecodeCtx&, Insn* i) {
  i->fn = fwait;
  return true;
}

Handler x87_env_mem(unsigned op, unsigned reg, int osz) {
  const bool wide = osz != 2;
  if (op == 0xD9) {
    switch (reg) {
      case 4: return wide ? &fldenv<true> : &fldenv<false>;
      case 5: return fldcw;
      case 6: return wide ? &fnstenv<true> : &fnstenv<false>;
      case 7: return fnstcw;
      default: return nullptr;
    }
  }
  if (op == 0xDD) {
    switch (reg) {
      case 4: return wide ? &frstor<true> : &frstor<false>;
      case 6: return wide ? &fnsave<true> : &fnsave<false>;
      case 7: return fnstsw_m;
      default: return nullptr;
    }
  }
  return nullptr;
}

Handler x87_env_reg(unsigned op, unsigned modrm) {
  if (op == 0xDB) {
    switch (modrm) {
      case 0xE0: case 0xE1: case 0xE4: return fnop_legacy;
      case 0xE2: return fnclex;
      case 0xE3: return fninit;
      default: return nullptr;
    }
  }
  if (op == 0xDF && modrm == 0xE0) return fnstsw_ax;
  return nullptr;
}

}  // namespace tsvirt::soft
