// Soft-CPU benchmark: MIPS on fixed guest loops, side by side with unicorn in the same run,
// and the cost of one port-I/O exit through the CpuHost callback.
//
// usage: bench [--iters N] [--soft-only]
// Prints one line per workload: name, guest instructions, soft CPU seconds and MIPS, unicorn
// seconds and MIPS, and the ratio soft/unicorn (higher is better for the soft CPU).
// Both CPUs run the same machine code in 64-bit mode from the same state; the instruction
// counts are the soft CPU's retired count (the loops are deterministic, so unicorn executes
// the same number). Unicorn is used by this benchmark only, never by the addon.
#include <unicorn/unicorn.h>

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

namespace {

constexpr uint64_t kRam = 64 << 20;
constexpr uint64_t kCode = 0x100000;
constexpr uint64_t kData = 0x400000;   // 16 MiB of data for the memory loop
constexpr uint64_t kDataSize = 16 << 20;
constexpr uint64_t kStackTop = 0x300000;
constexpr uint64_t kPml4 = 0x10000;

// Thread CPU time, not wall time: the machine is shared, and a benchmark that counts the
// time other processes held the core would measure them, not us.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Workload {
  std::string name;
  std::vector<uint8_t> code;
  uint64_t rcx;  // loop count
};

// Each loop ends in HLT. Encodings are spelled out byte by byte with their assembly.
std::vector<Workload> workloads(uint64_t iters) {
  std::vector<Workload> w;
  // Integer loop: 8 instructions per iteration.
  w.push_back({"integer loop", {
      0x48, 0x01, 0xD8,        // add rax, rbx
      0x48, 0x31, 0xC2,        // xor rdx, rax
      0x48, 0x83, 0xEB, 0x03,  // sub rbx, 3
      0x48, 0xFF, 0xC6,        // inc rsi
      0x48, 0x8D, 0x3C, 0x37,  // lea rdi, [rdi+rsi]
      0x48, 0x21, 0xD7,        // and rdi, rdx
      0x48, 0xFF, 0xC9,        // dec rcx
      0x75, 0xE7,              // jnz loop (-25)
      0xF4}, iters});
  // Memory loop: strided loads and read-modify-write stores over 16 MiB (4096 pages):
  // 7 instructions per iteration.
  w.push_back({"memory loop", {
      0x48, 0x89, 0xC8,                    // mov rax, rcx
      0x48, 0xC1, 0xE0, 0x06,              // shl rax, 6  (64-byte stride)
      0x25, 0xF8, 0xFF, 0xFF, 0x00,        // and eax, 0xFFFFF8 (wrap at 16 MiB)
      0x48, 0x8B, 0x14, 0x07,              // mov rdx, [rdi+rax]
      0x48, 0x01, 0x14, 0x06,              // add [rsi+rax], rdx
      0x48, 0xFF, 0xC9,                    // dec rcx
      0x75, 0xE7,                          // jnz loop (-25)
      0xF4}, iters / 2});
  // Port I/O loop: 3 instructions per iteration, one OUT exit each.
  w.push_back({"port I/O exit", {
      0xE6, 0x80,   // out 0x80, al
      0xFF, 0xC9,   // dec ecx
      0x75, 0xFA,   // jnz loop
      0xF4}, iters / 20});
  return w;
}

class Host final : public tsvirt::soft::CpuHost {
 public:
  uint64_t outs = 0;
  uint32_t pio_in(uint16_t, int) override { return 0; }
  void pio_out(uint16_t, int, uint32_t) override { outs++; }
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
  // 4 KiB pages for the data area so the TLB is exercised like a real kernel's memory.
  for (uint64_t k = 0; k < 512; k++) put64(ram.data(), kPml4 + 0x2000 + 8 * k, (k << 21) | 0x83);
  const uint64_t pts = 0x2000000;  // page tables for 0x400000..0x1400000 (8 x 2 MiB)
  for (uint64_t t = 0; t < 8; t++) {
    put64(ram.data(), kPml4 + 0x2000 + 8 * (2 + t), (pts + t * 0x1000) | 3);
    for (uint64_t k = 0; k < 512; k++) {
      put64(ram.data(), pts + t * 0x1000 + 8 * k, (kData + (t * 512 + k) * 0x1000) | 3);
    }
  }
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
  s.cr0 = 0x80000011;
  s.cr4 = 0x20;
  s.cr3 = kPml4;
  s.efer = 0x500;
  s.gpr[tsvirt::x86::RCX] = wl.rcx;
  s.gpr[tsvirt::x86::RBX] = 12345;
  s.gpr[tsvirt::x86::RDI] = kData;
  s.gpr[tsvirt::x86::RSI] = kData;
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
    std::fprintf(stderr, "bench: soft cpu stopped with %d (%s)\n", int(why), cpu->error_message());
    std::exit(1);
  }
  return res;
}

void uc_hook_out(uc_engine*, uint32_t, int, uint32_t, void* user) { ++*static_cast<uint64_t*>(user); }

Result run_unicorn(const Workload& wl) {
  uc_engine* uc = nullptr;
  if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
    std::fprintf(stderr, "bench: uc_open failed\n");
    std::exit(1);
  }
  uc_mem_map(uc, kCode, 0x10000, UC_PROT_ALL);
  uc_mem_map(uc, kStackTop - 0x10000, 0x10000, UC_PROT_ALL);
  uc_mem_map(uc, kData, kDataSize, UC_PROT_ALL);
  uc_mem_write(uc, kCode, wl.code.data(), wl.code.size());
  uint64_t outs = 0;
  uc_hook h;
  uc_hook_add(uc, &h, UC_HOOK_INSN, reinterpret_cast<void*>(&uc_hook_out), &outs, 1, 0, UC_X86_INS_OUT);
  uint64_t v = wl.rcx;
  uc_reg_write(uc, UC_X86_REG_RCX, &v);
  v = 12345;
  uc_reg_write(uc, UC_X86_REG_RBX, &v);
  v = kData;
  uc_reg_write(uc, UC_X86_REG_RDI, &v);
  uc_reg_write(uc, UC_X86_REG_RSI, &v);
  v = kStackTop;
  uc_reg_write(uc, UC_X86_REG_RSP, &v);
  const double t0 = cpu_seconds();
  const uc_err e = uc_emu_start(uc, kCode, kCode + wl.code.size() - 1, 0, 0);
  Result res;
  res.secs = cpu_seconds() - t0;
  if (e != UC_ERR_OK) {
    std::fprintf(stderr, "bench: unicorn: %s\n", uc_strerror(e));
    std::exit(1);
  }
  uc_close(uc);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iters = 20000000;
  bool soft_only = false;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--iters") && k + 1 < argc) iters = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--soft-only")) soft_only = true;
  }
  std::printf("%-14s %12s %9s %9s %9s %9s %7s %9s\n", "workload", "instructions", "soft s", "soft MIPS",
              "uc s", "uc MIPS", "ratio", "ns/insn");
  for (const Workload& wl : workloads(iters)) {
    const Result a = run_soft(wl);
    const Result b = soft_only ? Result{1, 0} : run_unicorn(wl);
    const double mips_a = double(a.insns) / a.secs / 1e6;
    const double mips_b = double(a.insns) / b.secs / 1e6;
    std::printf("%-14s %12llu %9.3f %9.1f %9.3f %9.1f %7.2f %9.2f\n", wl.name.c_str(),
                (unsigned long long)a.insns, a.secs, mips_a, b.secs, mips_b, mips_a / mips_b,
                a.secs * 1e9 / double(a.insns));
    if (wl.name == "port I/O exit") {
      std::printf("%-14s %12llu exits: soft %.1f ns/exit, unicorn %.1f ns/exit (whole loop iteration)\n", "",
                  (unsigned long long)wl.rcx, a.secs * 1e9 / double(wl.rcx), b.secs * 1e9 / double(wl.rcx));
    }
  }
  return 0;
}
