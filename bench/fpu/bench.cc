// x87/MMX/SSE benchmark of the soft CPU, side by side with unicorn in the same run.
//
// usage: fpbench [--iters N] [--soft-only]
// Prints one line per workload: name, guest instructions, soft CPU seconds and MIPS, unicorn
// seconds and MIPS, and the ratio soft/unicorn (higher is better for the soft CPU). The
// workloads are the shapes that matter in a Linux guest: an SSE2 string scan (glibc's
// strlen/memchr inner loop), a 16-byte copy loop (memcpy), packed/scalar float arithmetic,
// and x87 arithmetic (long double code). Both CPUs run the same code in 64-bit mode with
// CR4.OSFXSR set. Unicorn is used here only, never by the addon.
#include <time.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

namespace {

constexpr uint64_t kRam = 8 << 20;
constexpr uint64_t kCode = 0x100000;
constexpr uint64_t kData = 0x200000;  // 64 KiB source, 64 KiB destination
constexpr uint64_t kStackTop = 0x300000;
constexpr uint64_t kPml4 = 0x10000;

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Workload {
  std::string name;
  std::vector<uint8_t> code;
  uint64_t rcx;
};

// Each loop ends in HLT; a prologue (before `loop`) sets up registers. Encodings are
// spelled out with their assembly.
std::vector<Workload> workloads(uint64_t iters) {
  std::vector<Workload> w;
  // SSE2 string scan, 7 instructions per iteration.
  w.push_back({"sse2 scan", {
      0x66, 0x0F, 0xEF, 0xC0,              // pxor xmm0, xmm0
      // loop:
      0x66, 0x0F, 0x6F, 0x0C, 0x37,        // movdqa xmm1, [rdi+rsi]
      0x66, 0x0F, 0x74, 0xC8,              // pcmpeqb xmm1, xmm0
      0x66, 0x0F, 0xD7, 0xC1,              // pmovmskb eax, xmm1
      0x48, 0x83, 0xC6, 0x10,              // add rsi, 16
      0x81, 0xE6, 0xF0, 0xFF, 0x00, 0x00,  // and esi, 0xFFF0
      0x48, 0xFF, 0xC9,                    // dec rcx
      0x75, 0xE4,                          // jnz loop
      0xF4}, iters});
  // 16-byte copy, 6 instructions per iteration.
  w.push_back({"sse2 copy", {
      0xF3, 0x0F, 0x6F, 0x04, 0x37,        // loop: movdqu xmm0, [rdi+rsi]
      0xF3, 0x0F, 0x7F, 0x04, 0x32,        // movdqu [rdx+rsi], xmm0
      0x48, 0x83, 0xC6, 0x10,              // add rsi, 16
      0x81, 0xE6, 0xF0, 0xFF, 0x00, 0x00,  // and esi, 0xFFF0
      0x48, 0xFF, 0xC9,                    // dec rcx
      0x75, 0xE7,                          // jnz loop
      0xF4}, iters});
  // Float arithmetic, 6 instructions per iteration (all operands zero: no exceptions).
  w.push_back({"sse float", {
      0x0F, 0x59, 0xC1,                    // loop: mulps xmm0, xmm1
      0x0F, 0x58, 0xC2,                    // addps xmm0, xmm2
      0xF2, 0x0F, 0x59, 0xDC,              // mulsd xmm3, xmm4
      0xF2, 0x0F, 0x58, 0xDD,              // addsd xmm3, xmm5
      0x48, 0xFF, 0xC9,                    // dec rcx
      0x75, 0xED,                          // jnz loop
      0xF4}, iters});
  // x87 arithmetic, 7 instructions per iteration.
  w.push_back({"x87 float", {
      0xDB, 0xE3,                          // fninit
      0xD9, 0xE8,                          // loop: fld1
      0xD9, 0xEB,                          // fldpi
      0xD8, 0xC9,                          // fmul st0, st1
      0xDE, 0xC1,                          // faddp
      0xDD, 0xD8,                          // fstp st0
      0x48, 0xFF, 0xC9,                    // dec rcx
      0x75, 0xF1,                          // jnz loop
      0xF4}, iters / 4});
  return w;
}

class Host final : public tsvirt::soft::CpuHost {
 public:
  uint32_t pio_in(uint16_t, int) override { return 0; }
  void pio_out(uint16_t, int, uint32_t) override {}
  uint64_t mmio_read(uint64_t, int) override { return 0; }
  void mmio_write(uint64_t, int, uint64_t) override {}
  bool rdmsr(uint32_t, uint64_t*) override { return false; }
  bool wrmsr(uint32_t, uint64_t) override { return false; }
  int pending_interrupt() override { return -1; }
  void ack_interrupt(int) override {}
  uint64_t read_cr8() override { return 0; }
  void write_cr8(uint64_t) override {}
};

void put64(uint8_t* ram, uint64_t a, uint64_t v) { std::memcpy(ram + a, &v, 8); }

struct Result {
  double secs = 0;
  uint64_t insns = 0;
};

Result run_soft(const Workload& wl) {
  std::vector<uint8_t> ram(kRam, 0);
  put64(ram.data(), kPml4, (kPml4 + 0x1000) | 3);
  put64(ram.data(), kPml4 + 0x1000, (kPml4 + 0x2000) | 3);
  for (uint64_t k = 0; k < 4; k++) put64(ram.data(), kPml4 + 0x2000 + 8 * k, (k << 21) | 0x83);
  std::memcpy(ram.data() + kCode, wl.code.data(), wl.code.size());
  auto mem = tsvirt::soft::PhysMemory::create();
  tsvirt::soft::RamRegion r;
  r.size = kRam;
  r.host = ram.data();
  mem->add_region(r);
  Host host;
  auto cpu = tsvirt::soft::Cpu::create(*mem, host, 0);
  tsvirt::x86::CpuState s;
  cpu->get_state(&s);
  s.rip = kCode;
  s.cs = {0, 0xFFFFFFFF, 0x08, 0xA09B};
  s.ss = s.ds = s.es = s.fs = s.gs = {0, 0xFFFFFFFF, 0x10, 0xC093};
  s.cr0 = 0x80000033;  // PG NE ET MP PE
  s.cr4 = 0x620;       // OSXMMEXCPT OSFXSR PAE
  s.cr3 = kPml4;
  s.efer = 0x500;
  s.gpr[tsvirt::x86::RCX] = wl.rcx;
  s.gpr[tsvirt::x86::RDI] = kData;
  s.gpr[tsvirt::x86::RDX] = kData + 0x10000;
  s.gpr[tsvirt::x86::RSP] = kStackTop;
  cpu->set_state(s);
  const double t0 = cpu_seconds();
  tsvirt::soft::StopReason why;
  do {
    why = cpu->run(1ull << 40);
  } while (why == tsvirt::soft::StopReason::kBudget);
  Result res;
  res.secs = cpu_seconds() - t0;
  res.insns = cpu->instructions_retired();
  if (why != tsvirt::soft::StopReason::kHlt) {
    std::fprintf(stderr, "fpbench: soft cpu stopped with %d (%s)\n", int(why), cpu->error_message());
    std::exit(1);
  }
  return res;
}

Result run_unicorn(const Workload& wl) {
  uc_engine* uc = nullptr;
  if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
    std::fprintf(stderr, "fpbench: uc_open failed\n");
    std::exit(1);
  }
  uc_mem_map(uc, kCode, 0x10000, UC_PROT_ALL);
  uc_mem_map(uc, kStackTop - 0x10000, 0x10000, UC_PROT_ALL);
  uc_mem_map(uc, kData, 0x20000, UC_PROT_ALL);
  uc_mem_write(uc, kCode, wl.code.data(), wl.code.size());
  uint64_t cr4 = 0;
  uc_reg_read(uc, UC_X86_REG_CR4, &cr4);
  cr4 |= 0x600;
  uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
  uint64_t v = wl.rcx;
  uc_reg_write(uc, UC_X86_REG_RCX, &v);
  v = kData;
  uc_reg_write(uc, UC_X86_REG_RDI, &v);
  v = kData + 0x10000;
  uc_reg_write(uc, UC_X86_REG_RDX, &v);
  v = kStackTop;
  uc_reg_write(uc, UC_X86_REG_RSP, &v);
  const double t0 = cpu_seconds();
  const uc_err e = uc_emu_start(uc, kCode, kCode + wl.code.size() - 1, 0, 0);
  Result res;
  res.secs = cpu_seconds() - t0;
  if (e != UC_ERR_OK) {
    std::fprintf(stderr, "fpbench: unicorn: %s\n", uc_strerror(e));
    std::exit(1);
  }
  uc_close(uc);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iters = 5000000;
  bool soft_only = false;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--iters") && k + 1 < argc) iters = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--soft-only")) soft_only = true;
  }
  std::printf("%-12s %12s %9s %9s %9s %9s %7s %9s\n", "workload", "instructions", "soft s", "soft MIPS",
              "uc s", "uc MIPS", "ratio", "ns/insn");
  for (const Workload& wl : workloads(iters)) {
    const Result a = run_soft(wl);
    const Result b = soft_only ? Result{1, 0} : run_unicorn(wl);
    const double mips_a = double(a.insns) / a.secs / 1e6;
    const double mips_b = double(a.insns) / b.secs / 1e6;
    std::printf("%-12s %12llu %9.3f %9.1f %9.3f %9.1f %7.2f %9.2f\n", wl.name.c_str(),
                (unsigned long long)a.insns, a.secs, mips_a, b.secs, mips_b, mips_a / mips_b,
                a.secs * 1e9 / double(a.insns));
  }
  return 0;
}
