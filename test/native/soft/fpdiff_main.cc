// fpdiff: the x87/MMX/SSE differential tester (fpdiff.h).
//
// usage: fpdiff [--family PREFIX] [--count N] [--seed S] [--show N] [--no-unicorn]
// Runs N cases of every family whose name starts with PREFIX on the soft CPU, unicorn and
// the host processor and prints one line per family:
//   family <name>: <cases> cases, <mismatches> mismatches, unicorn deviations <k> (<reasons>)
// then "TOTAL ..." and exits 1 when any case mismatched. Mismatches print the case (bytes,
// state) and the differing fields, at most --show of them.
//
// QEMU does not maintain the x87 FOP/FIP/FDP last-instruction pointers: they are compared
// with the host only through FNSTENV/FNSAVE images of instructions run natively, and never
// with unicorn. Known deviations of unicorn (QEMU 5.0's TCG, which unicorn 2.0 is built from) from the
// hardware are listed in kDeviations with the reason; such a difference is accepted only
// when the soft CPU agrees with the host processor on the same case.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fpdiff.h"
#include "fpdiff_sse.h"

namespace fpdiff {

namespace {

// Field groups of a result.
enum : uint32_t {
  kFVector = 1u << 0,
  kFGpr = 1u << 1,
  kFFlags = 1u << 2,
  kFFcw = 1u << 3,
  kFFsw = 1u << 4,   // whole status word
  kFFswExc = 1u << 5,  // exception flag bits of FSW only (with ES/B)
  kFFtw = 1u << 6,
  kFPtr = 1u << 7,   // FOP, FIP, FDP
  kFMxcsr = 1u << 8,
  kFSt = 1u << 9,
  kFXmm = 1u << 10,
  kFData = 1u << 11,
  kFC1 = 1u << 12,   // FSW.C1 only
};

struct Deviation {
  const char* family;  // family-name prefix, or nullptr for any
  const char* name;    // case-name prefix, or nullptr for any
  uint32_t fields;     // fields allowed to differ
  bool (*applies)(const Case& k, const Result& soft);
  const char* why;
};

uint16_t fsw_of(const uint8_t* fx) { uint16_t v; std::memcpy(&v, fx + 2, 2); return v; }
uint16_t fcw_of(const uint8_t* fx) { uint16_t v; std::memcpy(&v, fx, 2); return v; }

bool always(const Case&, const Result&) { return true; }
// The hardware reported a stack fault (FSW.SF newly set).
bool stack_fault(const Case& k, const Result& s) { return (fsw_of(s.fx) & 0x40) && !(fsw_of(k.fx) & 0x40); }
bool x87_unsupported(const Case& k, const Result&) { return k.tags & kTagX87Unsupported; }
bool fcw_raw(const Case& k, const Result&) { return k.tags & kTagFcwRaw; }
// Some x87 exception is unmasked at the start, or the hardware signalled one (#MF).
bool x87_unmasked(const Case& k, const Result& s) {
  return (fcw_of(k.fx) & 0x3F) != 0x3F || (fcw_of(s.fx) & 0x3F) != 0x3F || s.vector == 16;
}
bool x87_pending(const Case& k, const Result&) { return fsw_of(k.fx) & ~fcw_of(k.fx) & 0x3F; }
bool snan(const Case& k, const Result&) { return k.tags & kTagSNaN; }
uint32_t mxcsr_of(const uint8_t* fx) { uint32_t v; std::memcpy(&v, fx + 24, 4); return v; }
// The case names an MMX register ("... mm..." or a *pi/movdq2q/movq2dq form).
bool mmx_operand(const Case& k, const Result&) {
  return k.name.find("pi") != std::string::npos || k.name.find("2q") != std::string::npos ||
         k.name.find(" mm") != std::string::npos;
}
bool gp_fault(const Case&, const Result& s) { return s.vector == 13; }
bool xm_fault(const Case&, const Result& s) { return s.vector == 19; }
bool daz_ftz(const Case& k, const Result&) { return mxcsr_of(k.fx) & 0x8040; }
bool simd_nan(const Case& k, const Result&) { return k.tags & kTagSimdNaN; }
bool cmp_imm_high(const Case& k, const Result&) { return k.tags & kTagCmpImmHigh; }
bool str_ordered(const Case& k, const Result&) { return k.tags & kTagStrOrdered; }
bool same_reg(const Case& k, const Result&) { return k.tags & kTagSameReg; }

constexpr uint32_t kX87Flags = kFFswExc | kFC1;
constexpr uint32_t kAnyState = kFVector | kFFsw | kFFswExc | kFC1 | kFFtw | kFSt | kFData | kFFlags | kFFcw;

// Differences between unicorn 2.0.1 (QEMU 5.0.1's TCG; target/i386/fpu_helper.c) and the
// hardware. The soft CPU follows the hardware, checked against the host on every case.
const Deviation kDeviations[] = {
    {"x87", nullptr, kX87Flags, always,
     "QEMU 5.0 x87 sets no exception flags but ZE (softfloat flags are not merged into FSW) "
     "and does not maintain C1"},
    {"x87", nullptr, kX87Flags | kFFcw, fcw_raw,
     "QEMU 5.0 keeps FCW bits the processor fixes (bit 6 reads 1, bits 7 and 13-15 read 0)"},
    {"x87", nullptr, kAnyState, stack_fault,
     "QEMU 5.0 does not model x87 stack overflow/underflow (no IE/SF, no indefinite result, "
     "no masked/unmasked response)"},
    {"x87", nullptr, kAnyState, x87_unsupported,
     "QEMU 5.0 treats unsupported 80-bit encodings (unnormals, pseudo-denormals, "
     "pseudo-infinities/NaNs) as ordinary numbers instead of raising IE"},
    {"x87", nullptr, kAnyState, x87_unmasked,
     "QEMU 5.0 has no unmasked x87 exception response (no suppressed store/pop, no "
     "bias-adjusted result) and raises #MF only on FWAIT"},
    {"x87", nullptr, kAnyState | kFGpr, x87_pending,
     "QEMU 5.0 raises a pending x87 exception only on FWAIT, not on the next waiting "
     "x87 instruction, and does not recompute FSW.ES when a status word is loaded"},
    {nullptr, nullptr, kAnyState | kFXmm | kFGpr | kFMxcsr, x87_pending,
     "QEMU 5.0 does not raise a pending x87 exception (#MF) on MMX instructions"},
    {"x87", nullptr, kFSt | kFData | kX87Flags, snan,
     "QEMU 5.0 does not quiet signalling NaNs in x87 loads, stores and arithmetic"},
    {"x87", "fbstp", kFData | kX87Flags, always,
     "QEMU 5.0 FBSTP does not store the packed-BCD indefinite for NaN or out-of-range values "
     "and drops the sign of a value that rounds to zero"},
    {"x87", "fisttp", kFData | kX87Flags, always,
     "QEMU 5.0 FISTTP stores a saturated value instead of the integer indefinite for NaN and "
     "out-of-range values"},
    {"x87", "fincstp", kFFsw, always,
     "QEMU 5.0 clears C0/C2/C3 on FINCSTP; the processor leaves them (undefined in the SDM)"},
    {"x87", "fdecstp", kFFsw, always,
     "QEMU 5.0 clears C0/C2/C3 on FDECSTP; the processor leaves them (undefined in the SDM)"},
    {"x87", "fst", kFFtw | kFSt, always,
     "QEMU 5.0 FST/FSTP ST(i) (and the FSTP1/8/9 aliases) leave an empty destination tagged empty"},
    {"x87", "fld constant", kFSt | kX87Flags, always,
     "QEMU 5.0 loads FLDPI/FLDL2E/FLDL2T/FLDLG2/FLDLN2 without rounding them per FCW.RC"},
    {"x87", "fcomi", kFFlags, always,
     "QEMU 5.0 FCOMI/FUCOMI(P) leave OF/SF/AF unchanged; the processor clears them"},
    {"x87", "fnst", kFData, always,
     "QEMU 5.0 stores 0 in the reserved upper halves of FNSTENV/FNSAVE images (the processor "
     "stores 1s) and no last-instruction pointers"},
    {"x87", "fxsave", kFData, always,
     "QEMU 5.0 FXSAVE leaves the reserved bytes of the ST/MM register slots unwritten (the "
     "processor writes zeros)"},
    {"x87", "fnsave", kFData, always,
     "QEMU 5.0 stores 0 in the reserved upper halves of FNSTENV/FNSAVE images (the processor "
     "stores 1s) and no last-instruction pointers"},
    {"sse", nullptr, kFMxcsr, always,
     "QEMU 5.0 does not set the MXCSR exception flags"},
    {"sse", nullptr, kFXmm | kFGpr | kFFlags, daz_ftz,
     "QEMU 5.0 ignores MXCSR.DAZ and MXCSR.FTZ"},
    {nullptr, nullptr, kAnyState | kFXmm | kFGpr | kFMxcsr, gp_fault,
     "QEMU 5.0 does not enforce the 16-byte alignment of SSE memory operands (#GP)"},
    {nullptr, nullptr, kAnyState | kFXmm | kFGpr | kFMxcsr, xm_fault,
     "QEMU 5.0 never raises #XM for unmasked SIMD floating-point exceptions"},
    {"sse", nullptr, kFXmm | kFGpr, simd_nan,
     "QEMU 5.0 picks the NaN result of SSE operations by the x87 rule (larger significand); "
     "SSE returns the first source operand's NaN"},
    {"sse", "cmp", kFVector | kFXmm | kFMxcsr, cmp_imm_high,
     "QEMU 5.0 raises #UD for CMPPS/PD/SS/SD predicates above 7; processors use imm8[2:0]"},
    {"sse41", "dpp", kFXmm, always,
     "QEMU 5.0 DPPS/DPPD round the sum differently from the processor (last-bit differences)"},
    {"sse", "rcp", kFXmm, always,
     "QEMU computes RCPPS/RCPSS exactly; processors return a 12-bit approximation"},
    {"sse", "rsqrt", kFXmm, always,
     "QEMU computes RSQRTPS/RSQRTSS exactly; processors return a 12-bit approximation"},
    {"mmx", nullptr, kFSt | kFFsw, always,
     "QEMU 5.0 does not set bits 79:64 of an MMX register written by an MMX instruction to "
     "all ones, and EMMS leaves TOP unchanged"},
    {"sse", nullptr, kFSt | kFFsw | kFFtw, mmx_operand,
     "QEMU 5.0 does not set bits 79:64 of MMX registers written by SSE instructions to all "
     "ones, and CVTPI2PS/CVTPI2PD do not make the x87-to-MMX transition"},
    {"sse42", "pcmp", kFGpr | kFXmm | kFFlags, str_ordered,
     "QEMU 5.0 PCMPxSTRx equal-ordered aggregation does not treat an empty (invalid) first "
     "operand element as a match (SDM vol. 2, table 4-7)"},
    {"sse42", "pcmpestri64", kFGpr | kFXmm | kFFlags, always,
     "QEMU 5.0 PCMPESTRx take the explicit lengths from EAX/EDX even with REX.W (RAX/RDX)"},
    {"ssse3", "ph", kFXmm | kFSt, same_reg,
     "QEMU 5.0 PHADD*/PHSUB* read a source that is also the destination after writing part "
     "of the result"},
    {"ssse3", nullptr, kFSt | kFFsw | kFFtw, mmx_operand,
     "QEMU 5.0 does not make the x87-to-MMX transition (TOP=0, all tags valid, bits 79:64 "
     "all ones) for SSSE3 instructions on MMX registers"},
    {"x87-special", nullptr, kFSt | kX87Flags | kFFsw | kFFtw, always,
     "QEMU 5.0 computes FSIN/FCOS/FSINCOS/FPTAN/FPATAN/F2XM1/FYL2X/FYL2XP1 with the host's "
     "double-precision libm (and FPREM/FSCALE/FRNDINT edge cases differ)"},
};

// Where the soft CPU knowingly differs from the processor (documented in native/soft/sse.h).
bool xm_range_pe(const Case& k, const Result& s) {
  const uint32_t in = mxcsr_of(k.fx), out = mxcsr_of(s.fx);
  return s.vector == 19 && (((in & (1u << 10)) == 0 && (out & 0x8)) || ((in & (1u << 11)) == 0 && (out & 0x10)));
}
const Deviation kHostDeviations[] = {
    {"sse", nullptr, kFMxcsr, xm_range_pe,
     "with overflow or underflow unmasked, #XM reports PE for the inexact range-limited "
     "result; the processor reports it only when the result is inexact at unbounded "
     "exponent range"},
};

bool prefix(const std::string& s, const char* p) { return p == nullptr || s.rfind(p, 0) == 0; }

// Fields in which two results differ. `host` relaxes what the host cannot be compared on.
uint32_t diff(const Result& a, const Result& b, bool host, std::string* detail) {
  uint32_t d = 0;
  char buf[256];
  auto note = [&](uint32_t f, const char* what) {
    if (!(d & f) && detail) *detail += std::string("    ") + what + "\n";
    d |= f;
  };
  if (a.vector != b.vector) {
    std::snprintf(buf, sizeof(buf), "vector %d vs %d", a.vector, b.vector);
    note(kFVector, buf);
  }
  for (int r = 0; r < 16; r++) {
    if (r == RSP || r == R14 || r == R15) continue;
    if (a.gpr[r] != b.gpr[r]) {
      std::snprintf(buf, sizeof(buf), "gpr%d %016" PRIx64 " vs %016" PRIx64, r, a.gpr[r], b.gpr[r]);
      note(kFGpr, buf);
    }
  }
  if ((a.rflags ^ b.rflags) & 0x8D5) {
    std::snprintf(buf, sizeof(buf), "rflags %03" PRIx64 " vs %03" PRIx64, a.rflags & 0x8D5, b.rflags & 0x8D5);
    note(kFFlags, buf);
  }
  auto u16 = [](const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; };
  auto u32 = [](const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; };
  if (u16(a.fx) != u16(b.fx)) {
    std::snprintf(buf, sizeof(buf), "fcw %04x vs %04x", u16(a.fx), u16(b.fx));
    note(kFFcw, buf);
  }
  const uint16_t swa = u16(a.fx + 2), swb = u16(b.fx + 2);
  if (swa != swb) {
    std::snprintf(buf, sizeof(buf), "fsw %04x vs %04x", swa, swb);
    if ((swa ^ swb) & 0x80FF) d |= kFFswExc;
    if ((swa ^ swb) & 0x0200) d |= kFC1;
    if ((swa ^ swb) & ~0x82FF) d |= kFFsw;
    if (detail) *detail += std::string("    ") + buf + "\n";
  }
  if (a.fx[4] != b.fx[4]) {
    std::snprintf(buf, sizeof(buf), "ftw %02x vs %02x", a.fx[4], b.fx[4]);
    note(kFFtw, buf);
  }
  if (!host && std::memcmp(a.fx + 6, b.fx + 6, 18) != 0) note(kFPtr, "fop/fip/fdp differ");
  if (u32(a.fx + 24) != u32(b.fx + 24)) {
    std::snprintf(buf, sizeof(buf), "mxcsr %08x vs %08x", u32(a.fx + 24), u32(b.fx + 24));
    note(kFMxcsr, buf);
  }
  for (int r = 0; r < 8; r++) {
    if (std::memcmp(a.fx + 32 + 16 * r, b.fx + 32 + 16 * r, 10) != 0) {
      uint64_t ma, mb;
      std::memcpy(&ma, a.fx + 32 + 16 * r, 8);
      std::memcpy(&mb, b.fx + 32 + 16 * r, 8);
      std::snprintf(buf, sizeof(buf), "st%d %04x:%016" PRIx64 " vs %04x:%016" PRIx64, r,
                    u16(a.fx + 40 + 16 * r), ma, u16(b.fx + 40 + 16 * r), mb);
      note(kFSt, buf);
    }
  }
  for (int r = 0; r < 16; r++) {
    if (std::memcmp(a.fx + 160 + 16 * r, b.fx + 160 + 16 * r, 16) != 0) {
      uint64_t a0, a1, b0, b1;
      std::memcpy(&a0, a.fx + 160 + 16 * r, 8);
      std::memcpy(&a1, a.fx + 168 + 16 * r, 8);
      std::memcpy(&b0, b.fx + 160 + 16 * r, 8);
      std::memcpy(&b1, b.fx + 168 + 16 * r, 8);
      std::snprintf(buf, sizeof(buf), "xmm%d %016" PRIx64 "%016" PRIx64 " vs %016" PRIx64 "%016" PRIx64, r,
                    a1, a0, b1, b0);
      note(kFXmm, buf);
    }
  }
  for (unsigned k = 0; k < kDataSize; k++) {
    if (a.data[k] != b.data[k]) {
      std::snprintf(buf, sizeof(buf), "data[+%#x] %02x vs %02x", k, a.data[k], b.data[k]);
      note(kFData, buf);
      break;
    }
  }
  return d;
}

void print_case(const Case& k) {
  std::printf("  case %s / %s: code", k.family.c_str(), k.name.c_str());
  for (uint8_t b : k.code) std::printf(" %02x", b);
  uint16_t cw, sw;
  uint32_t mx;
  std::memcpy(&cw, k.fx, 2);
  std::memcpy(&sw, k.fx + 2, 2);
  std::memcpy(&mx, k.fx + 24, 4);
  std::printf("\n    fcw %04x fsw %04x ftw %02x mxcsr %08x rflags %03" PRIx64 "\n", cw, sw, k.fx[4], mx,
              k.rflags);
  for (int r = 0; r < 8; r++) {
    uint64_t m;
    uint16_t e;
    std::memcpy(&m, k.fx + 32 + 16 * r, 8);
    std::memcpy(&e, k.fx + 40 + 16 * r, 2);
    const unsigned phys = ((sw >> 11) + unsigned(r)) & 7;
    std::printf("    st%d %04x:%016" PRIx64 "%s\n", r, e, m, (k.fx[4] >> phys) & 1 ? "" : " (empty)");
  }
  std::printf("    mem[rsi+0x10..]");
  for (int b = 0; b < 16; b++) std::printf(" %02x", k.data[k.data_off + 0x10 + b]);
  std::printf("\n");
}

struct Stats {
  unsigned cases = 0, mismatches = 0, deviations = 0, host_deviations = 0;
  std::map<int, unsigned> vectors;  // faults the hardware raised
  std::map<std::string, unsigned> reasons;
};

}  // namespace

int main_impl(int argc, char** argv) {
  std::string family_prefix;
  unsigned count = 200;
  uint64_t seed = 1;
  unsigned show = 10;
  bool use_unicorn = true;
  for (int a = 1; a < argc; a++) {
    const std::string s = argv[a];
    if (s == "--family" && a + 1 < argc) family_prefix = argv[++a];
    else if (s == "--count" && a + 1 < argc) count = unsigned(std::strtoul(argv[++a], nullptr, 0));
    else if (s == "--seed" && a + 1 < argc) seed = std::strtoull(argv[++a], nullptr, 0);
    else if (s == "--show" && a + 1 < argc) show = unsigned(std::strtoul(argv[++a], nullptr, 0));
    else if (s == "--no-unicorn") use_unicorn = false;
    else {
      std::fprintf(stderr, "usage: fpdiff [--family P] [--count N] [--seed S] [--show N] [--no-unicorn]\n");
      return 2;
    }
  }
  std::unique_ptr<Engine> soft(make_soft_engine());
  std::unique_ptr<Engine> uni(use_unicorn ? make_unicorn_engine() : nullptr);
  std::unique_ptr<Engine> host(make_native_engine());

  std::vector<const Family*> families;
  for (unsigned f = 0; f < kX87FamilyCount; f++) families.push_back(&kX87Families[f]);
  for (unsigned f = 0; f < kSseFamilyCount; f++) families.push_back(&kSseFamilies[f]);

  unsigned total = 0, total_bad = 0, total_dev = 0, shown = 0;
  for (const Family* fam : families) {
    if (!prefix(fam->name, family_prefix.c_str())) continue;
    Rng rng(seed ^ std::hash<std::string>()(fam->name));
    // A fresh unicorn per family: QEMU's CPU state can outlive a case in ways FXRSTOR does
    // not reset, and families must not depend on each other's order.
    if (use_unicorn) uni.reset(make_unicorn_engine());
    std::vector<Case> cases;
    fam->gen(rng, count, cases);
    Stats st;
    for (const Case& k : cases) {
      st.cases++;
      Result rs, rh, ru;
      soft->run(k, &rs);
      host->run(k, &rh);
      if (k.name.rfind("fxsave", 0) == 0) {
        // MXCSR_MASK differs by design (the host reports its misaligned-SSE mode bit).
        std::memset(rs.data + k.data_off + 0x10 + 28, 0, 4);
        std::memset(rh.data + k.data_off + 0x10 + 28, 0, 4);
      }
      if (rh.vector >= 0) st.vectors[rh.vector]++;
      std::string why;
      bool bad = false;
      if (!rs.error.empty() || !rh.error.empty()) {
        why = "    engine error: " + rs.error + rh.error + "\n";
        bad = true;
      } else if (const uint32_t dh = diff(rs, rh, true, nullptr); dh != 0) {
        const Deviation* known = nullptr;
        for (const Deviation& v : kHostDeviations) {
          if (prefix(k.family, v.family) && prefix(k.name, v.name) && (dh & ~v.fields) == 0 &&
              v.applies(k, rs)) {
            known = &v;
          }
        }
        if (known != nullptr) {
          st.host_deviations++;
          st.reasons[std::string("host: ") + known->why]++;
        } else {
          why = "    soft vs host:\n";
          diff(rs, rh, true, &why);
          bad = true;
        }
      } else if (uni) {
        uni->run(k, &ru);
        if (k.name.rfind("fxsave", 0) == 0 && ru.error.empty()) {
          // FOP/FIP/FDP of the stored image: never compared with unicorn (see above).
          std::memcpy(ru.data + k.data_off + 0x10 + 6, rs.data + k.data_off + 0x10 + 6, 18);
          std::memset(ru.data + k.data_off + 0x10 + 28, 0, 4);
        }
        if (!ru.error.empty()) {
          why = "    engine error: " + ru.error + "\n";
          bad = true;
        } else {
          const uint32_t d = diff(rs, ru, false, nullptr) & ~kFPtr;
          if (d != 0) {
            // Several documented causes may combine in one case.
            uint32_t allowed = 0;
            std::vector<const Deviation*> used;
            for (const Deviation& v : kDeviations) {
              if (prefix(k.family, v.family) && prefix(k.name, v.name) && v.applies(k, rs)) {
                allowed |= v.fields;
                if (d & v.fields) used.push_back(&v);
              }
            }
            if ((d & ~allowed) == 0) {
              st.deviations++;
              for (const Deviation* v : used) st.reasons[v->why]++;
            } else {
              why = "    soft (= host) vs unicorn:\n";
              diff(rs, ru, false, &why);
              bad = true;
            }
          }
        }
      }
      if (bad) {
        st.mismatches++;
        if (shown < show) {
          shown++;
          print_case(k);
          std::printf("%s", why.c_str());
        }
      }
    }
    std::printf("family %s: %u cases, %u mismatches, unicorn deviations %u, host deviations %u\n",
                fam->name, st.cases, st.mismatches, st.deviations, st.host_deviations);
    if (!st.vectors.empty()) {
      std::printf("  faults:");
      for (const auto& v : st.vectors) std::printf(" #%d x%u", v.first, v.second);
      std::printf("\n");
    }
    for (const auto& r : st.reasons) std::printf("  deviation x%u: %s\n", r.second, r.first.c_str());
    total += st.cases;
    total_bad += st.mismatches;
    total_dev += st.deviations;
  }
  std::printf("TOTAL %u cases, %u mismatches, %u unicorn deviations\n", total, total_bad, total_dev);
  return total_bad == 0 ? 0 : 1;
}

}  // namespace fpdiff

int main(int argc, char** argv) { return fpdiff::main_impl(argc, argv); }
