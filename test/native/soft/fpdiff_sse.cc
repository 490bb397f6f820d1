// MMX/SSE case generators of the fpdiff tester, driven by a table of instruction forms:
// every form runs with random register numbers (REX-extended XMM registers included),
// register and memory operands (aligned, misaligned and page-crossing), interesting float
// lanes (zeros, denormals, infinities, quiet and signalling NaNs, integer boundaries) and
// random MXCSR rounding/DAZ/FTZ and exception masks, so #GP alignment faults and #XM are
// exercised along with the results.
#include "fpdiff.h"
#include "fpdiff_sse.h"

namespace fpdiff {

namespace {

constexpr uint8_t kDisp = 0x10;

// Random lanes of the given kind into 16 bytes.
void fill_lanes(Rng& rng, uint8_t* p, Lanes kind) {
  switch (kind) {
    case kF32:
      for (int k = 0; k < 4; k++) {
        const uint32_t v = pick_f32(rng);
        std::memcpy(p + 4 * k, &v, 4);
      }
      return;
    case kF64:
      for (int k = 0; k < 2; k++) {
        const uint64_t v = pick_f64(rng);
        std::memcpy(p + 8 * k, &v, 8);
      }
      return;
    case kI32:
      for (int k = 0; k < 4; k++) {
        const uint32_t v = uint32_t(pick_int(rng, 32));
        std::memcpy(p + 4 * k, &v, 4);
      }
      return;
    default:
      switch (rng() % 8) {
        case 0: std::memset(p, 0, 16); return;
        case 1: std::memset(p, 0xFF, 16); return;
        case 2:
          for (int k = 0; k < 16; k++) p[k] = uint8_t(0x7E + rng() % 4);  // saturation edges
          return;
        case 3:
          for (int k = 0; k < 16; k++) p[k] = uint8_t(rng() % 3 == 0 ? 0 : rng());  // zero bytes
          return;
        default:
          for (int k = 0; k < 16; k += 8) {
            const uint64_t v = rng();
            std::memcpy(p + k, &v, 8);
          }
          return;
      }
  }
}

// A GPR operand register other than RSP, RSI, R14, R15.
unsigned pick_gpr(Rng& rng) {
  static const uint8_t kRegs[] = {0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13};
  return kRegs[rng() % sizeof(kRegs)];
}

bool has_nan(const uint8_t* p, Lanes kind) {
  for (int k = 0; k < (kind == kF32 ? 4 : 2); k++) {
    if (kind == kF32) {
      uint32_t v;
      std::memcpy(&v, p + 4 * k, 4);
      if ((v & 0x7F800000) == 0x7F800000 && (v & 0x7FFFFF)) return true;
    } else {
      uint64_t v;
      std::memcpy(&v, p + 8 * k, 8);
      if ((v & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (v & 0xFFFFFFFFFFFFFull)) return true;
    }
  }
  return false;
}

}  // namespace

void gen_sse_specs(Rng& rng, unsigned count, std::vector<Case>& out, const char* family,
                   const Spec* specs, unsigned nspecs) {
  for (unsigned n = 0; n < count; n++) {
    const Spec& s = specs[rng() % nspecs];
    Case k;
    init_case(k, rng, family, s.name);
    Fx fx(k.fx);
    // Operands.
    for (unsigned x = 0; x < 16; x++) {
      uint8_t b[16];
      fill_lanes(rng, b, s.lanes);
      std::memcpy(k.fx + 160 + 16 * x, b, 16);
    }
    // MMX registers: random tags and TOP so the x87 transition is visible; sometimes a
    // pending unmasked x87 exception, which MMX instructions raise as #MF.
    fx.fsw(uint16_t((rng() % 8) << 11));
    if ((s.regcls == kM || s.rmcls == kM) && rng() % 16 == 0) {
      fx.fcw(0x037E);
      fx.fsw(uint16_t(fx.get_fsw() | 0x0001));
    }
    fx.ftw(uint8_t(rng()));
    for (unsigned r = 0; r < 8; r++) {
      uint8_t b[16];
      fill_lanes(rng, b, s.lanes == kF32 || s.lanes == kF64 ? kI32 : s.lanes);
      std::memcpy(k.fx + 32 + 16 * r, b, 8);
      const uint16_t e = uint16_t(rng());
      std::memcpy(k.fx + 40 + 16 * r, &e, 2);
    }
    // MXCSR: mostly the default, else random rounding/DAZ/FTZ, sometimes unmasked exceptions
    // and sticky flags.
    uint32_t mx = 0x1F80;
    switch (rng() % 8) {
      case 0: mx = 0x1F80 | uint32_t((rng() % 4) << 13) | uint32_t(rng() % 2 ? 0x40 : 0) | uint32_t(rng() % 2 ? 0x8000 : 0); break;
      case 1: mx = 0x1F80 & ~uint32_t(0x80u << (rng() % 6)); break;
      case 2: mx = 0x1F80 | uint32_t(rng() & 0x3F); break;
      default: break;
    }
    if (rng() % 16 == 0) mx = uint32_t(rng() & 0xFFFF);
    fx.mxcsr(mx);
    // Memory operand placement: aligned, misaligned, or crossing into the second page.
    switch (rng() % 8) {
      case 0: k.data_off = 0x800 + 1 + unsigned(rng() % 15); break;
      case 1: k.data_off = 0x1000 - kDisp - 8; break;
      default: k.data_off = 0x800; break;
    }
    fill_lanes(rng, k.data + k.data_off + kDisp, s.lanes);
    fill_lanes(rng, k.data + k.data_off + kDisp + 16, s.lanes);

    // Encoding.
    const bool mem = s.mem == kMemOnly || (s.mem == kRegOrMem && rng() % 3 == 0);
    unsigned reg = s.regfix != 0xFF ? s.regfix : s.regcls == kX ? unsigned(rng() % 16) : s.regcls == kM ? unsigned(rng() % 8) : pick_gpr(rng);
    unsigned rm = s.rmcls == kX ? unsigned(rng() % 16) : s.rmcls == kM ? unsigned(rng() % 8) : pick_gpr(rng);
    if (s.regcls == kG && s.rmcls == kG) rm = pick_gpr(rng);
    if (!mem && s.rmcls == kG) k.gpr[rm] = pick_int(rng, 64);
    if (!mem && s.regcls == s.rmcls && reg == rm) k.tags |= kTagSameReg;
    if (s.rdi) {
      emit(k, {0x48, 0x8D, 0x7E, kDisp});  // lea 0x10(%rsi), %rdi
      k.tags |= kTagRdiAddr;
    }
    uint8_t rex = 0;
    if (s.rexw) rex |= 0x48;
    if (s.regfix == 0xFF && reg >= 8) rex |= 0x44;
    if (!mem && rm >= 8) rex |= 0x41;
    if (s.o16) emit(k, {0x66});
    if (s.pfx) emit(k, {s.pfx});
    if (k.name.rfind("pcmpe", 0) == 0) {  // explicit lengths: small, sometimes negative
      k.gpr[RAX] = uint64_t(int64_t(rng() % 41) - 20);
      k.gpr[RDX] = uint64_t(int64_t(rng() % 41) - 20);
      if (rng() % 8 == 0) k.gpr[RAX] = rng();
    }
    if (rex) emit(k, {rex});
    emit(k, {0x0F});
    if (s.map == 2) emit(k, {0x38});
    if (s.map == 3) emit(k, {0x3A});
    emit(k, {s.op});
    if (s.regcls != kNone) {
      if (mem) emit(k, {modrm_rsi_disp8(reg), kDisp});
      else emit(k, {modrm_reg(reg, rm)});
    }
    if (s.imm) {
      uint8_t imm = uint8_t(rng());
      if (s.imm == kImmSmall) imm = uint8_t(rng() % 24);
      emit(k, {imm});
      if (imm >= 8) k.tags |= kTagCmpImmHigh;
      if (((imm >> 2) & 3) == 3) k.tags |= kTagStrOrdered;
    }
    if (s.lanes == kF32 || s.lanes == kF64) {
      const uint8_t* src2 = mem ? k.data + k.data_off + kDisp : k.fx + 160 + 16 * (rm & 15);
      if ((s.regcls == kX && has_nan(k.fx + 160 + 16 * reg, s.lanes)) || (s.rmcls == kX && has_nan(src2, s.lanes))) {
        k.tags |= kTagSimdNaN;
      }
    }
    out.push_back(k);
  }
}

}  // namespace fpdiff
