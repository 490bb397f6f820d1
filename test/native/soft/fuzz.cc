// Robustness fuzzer of the soft CPU: hostile guests must never crash the host process.
//
// usage: fuzz [--cases N] [--seed S] [--insns N]
//
// Each case starts the CPU in a random mode (real, 16/32-bit protected, long mode with and
// without paging structures that make sense) with random registers, random descriptor
// tables, random page tables and random code, and runs it in small slices while the host
// answers port/MMIO/MSR callbacks with random values and injects interrupts, NMIs and
// exceptions at random. The only checks are that every run() returns a StopReason and the
// process survives; the test suite builds this tool with AddressSanitizer and
// UndefinedBehaviorSanitizer, which turn any out-of-bounds access or undefined operation
// on guest-controlled values into a failure.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

namespace {

constexpr uint64_t kRam = 4 << 20;

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t s) : g(s) {}
  uint64_t next() { return g(); }
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  bool chance(unsigned pct) { return below(100) < pct; }
};

class Host final : public tsvirt::soft::CpuHost {
 public:
  explicit Host(Rng& r) : rng(r) {}
  Rng& rng;
  tsvirt::soft::Cpu* cpu = nullptr;
  uint32_t pio_in(uint16_t, int) override { return uint32_t(rng.next()); }
  void pio_out(uint16_t, int, uint32_t) override {
    if (rng.chance(5)) cpu->notify_interrupt();
  }
  uint64_t mmio_read(uint64_t, int) override { return rng.next(); }
  void mmio_write(uint64_t, int, uint64_t) override {}
  bool rdmsr(uint32_t, uint64_t* v) override {
    *v = rng.next();
    return rng.chance(50);
  }
  bool wrmsr(uint32_t, uint64_t) override { return rng.chance(50); }
  int pending_interrupt() override { return rng.chance(70) ? int(rng.below(256)) : -1; }
  void ack_interrupt(int) override {}
  uint64_t read_cr8() override { return rng.below(16); }
  void write_cr8(uint64_t) override {}
};

void put64(std::vector<uint8_t>& ram, uint64_t a, uint64_t v) {
  if (a + 8 <= ram.size()) std::memcpy(&ram[a], &v, 8);
}

// Plausible system structures in low memory, so fuzzed code gets past the first fault often.
void build_structures(Rng& rng, std::vector<uint8_t>& ram) {
  // GDT at 0x1000: null, code64, data, code32, data16-ish, TSS (random-ish).
  put64(ram, 0x1000 + 8, 0x00AF9B000000FFFFull);
  put64(ram, 0x1000 + 16, 0x00CF93000000FFFFull);
  put64(ram, 0x1000 + 24, 0x00CF9B000000FFFFull);
  put64(ram, 0x1000 + 32, rng.next());
  put64(ram, 0x1000 + 40, 0x0000890030000067ull);
  put64(ram, 0x1000 + 48, 0);
  // IDT at 0x2000: 256 gates to random handlers in the code area (64-bit format).
  for (uint64_t v = 0; v < 256; v++) {
    const uint64_t h = 0x10000 + rng.below(0x10000);
    const uint64_t type = rng.chance(90) ? 0x8E : uint64_t(rng.below(256));
    put64(ram, 0x2000 + 16 * v, (h & 0xFFFF) | (uint64_t(8) << 16) | (rng.below(8) << 32) |
                                    (type << 40) | ((h >> 16 & 0xFFFF) << 48));
    put64(ram, 0x2000 + 16 * v + 8, rng.chance(95) ? 0 : rng.next());
  }
  // Page tables at 0x4000: identity map of the first GiB with 2 MiB pages, some damaged.
  put64(ram, 0x4000, 0x5000 | 7);
  put64(ram, 0x5000, 0x6000 | 7);
  for (uint64_t k = 0; k < 512; k++) {
    uint64_t e = (k << 21) | 0x87;
    if (rng.chance(3)) e ^= uint64_t(1) << rng.below(64);
    put64(ram, 0x6000 + 8 * k, e);
  }
}

tsvirt::x86::CpuState random_state(Rng& rng) {
  tsvirt::x86::CpuState s;
  for (auto& g : s.gpr) {
    switch (rng.below(4)) {
      case 0: g = rng.below(kRam); break;
      case 1: g = rng.below(0x100); break;
      case 2: g = rng.next(); break;
      default: g = 0x10000 + rng.below(0x30000); break;
    }
  }
  s.rip = 0x10000 + rng.below(0x10000);
  s.rflags = 2 | (rng.next() & 0x3F7FD5);
  if (rng.chance(50)) s.rflags &= ~uint64_t{0x100};  // TF less often
  s.gdtr = {0x1000, uint16_t(rng.chance(90) ? 0x37 : rng.below(0x10000))};
  s.idtr = {0x2000, uint16_t(rng.chance(90) ? 0xFFF : rng.below(0x10000))};
  s.tr = {0x3000, 0x67, 0x28, 0x8B};
  s.ldtr = {rng.below(kRam), uint32_t(rng.below(0x100)), 0, rng.chance(50) ? 0x82u : 0x10000u};
  const unsigned mode = unsigned(rng.below(4));
  tsvirt::x86::Segment code, data;
  switch (mode) {
    case 0:  // real mode
      code = {rng.below(0x10) << 16, 0xFFFF, uint16_t(0), 0x9B};
      data = {0, 0xFFFF, 0, 0x93};
      s.cr0 = 0x10;
      break;
    case 1:  // 16-bit protected
      code = {0, 0xFFFF, 0x20, 0x9B};
      data = {0, 0xFFFF, 0x10, 0x93};
      s.cr0 = 0x11;
      break;
    case 2:  // 32-bit protected, maybe paging (32-bit or PAE)
      code = {0, 0xFFFFFFFF, 0x18, 0xC09B};
      data = {0, 0xFFFFFFFF, 0x10, 0xC093};
      s.cr0 = 0x11 | (rng.chance(30) ? 0x80000000 : 0);
      s.cr3 = 0x4000;
      s.cr4 = rng.chance(50) ? 0x20 : 0x10;
      break;
    default:  // long mode
      code = {0, 0xFFFFFFFF, 0x08, rng.chance(85) ? 0xA09Bu : 0xC09Bu};
      data = {0, 0xFFFFFFFF, 0x10, 0xC093};
      s.cr0 = 0x80010011;
      s.cr3 = 0x4000;
      s.cr4 = 0x20 | (rng.chance(30) ? 0x80 : 0);
      s.efer = 0xD01;
      break;
  }
  if (rng.chance(10)) s.cr0 ^= uint64_t(1) << rng.below(32);
  if (rng.chance(10)) s.cr4 ^= uint64_t(1) << rng.below(22);
  if (rng.chance(5)) s.efer ^= uint64_t(1) << rng.below(12);
  s.cs = code;
  s.ds = s.es = s.ss = s.fs = s.gs = data;
  if (mode != 0 && rng.chance(50)) s.ss.access = 0x93 | (uint32_t(rng.below(4)) << 5) | 0xC000;
  if (rng.chance(20)) s.cs.access |= 0x60;  // CPL 3 code (SS DPL decides CPL)
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t cases = 500, seed = 1, insns = 3000;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--cases") && k + 1 < argc) cases = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--seed") && k + 1 < argc) seed = std::strtoull(argv[++k], nullptr, 0);
    else if (!std::strcmp(argv[k], "--insns") && k + 1 < argc) insns = std::strtoull(argv[++k], nullptr, 0);
    else {
      std::fprintf(stderr, "usage: fuzz [--cases N] [--seed S] [--insns N]\n");
      return 2;
    }
  }
  Rng rng(seed);
  std::vector<uint8_t> ram(kRam);
  auto mem = tsvirt::soft::PhysMemory::create();
  tsvirt::soft::RamRegion r;
  r.size = kRam;
  r.host = ram.data();
  mem->add_region(r);
  // A ROM page far above RAM: fetch works, writes are dropped.
  std::vector<uint8_t> rom(0x1000, 0x90);
  tsvirt::soft::RamRegion romr;
  romr.gpa = 0xFFFFF000;
  romr.size = 0x1000;
  romr.host = rom.data();
  romr.writable = false;
  mem->add_region(romr);
  Host host(rng);
  auto cpu = tsvirt::soft::Cpu::create(*mem, host, 0);
  host.cpu = cpu.get();
  uint64_t stops[8] = {};
  for (uint64_t n = 0; n < cases; n++) {
    for (size_t k = 0; k < ram.size(); k += 8) put64(ram, k, rng.chance(20) ? 0 : rng.next());
    // Code: random bytes, sometimes biased toward common opcodes and prefixes.
    for (size_t k = 0x10000; k < 0x30000; k++) {
      static const uint8_t kCommon[] = {0x0F, 0x48, 0x66, 0xF3, 0xF0, 0x89, 0x8B, 0xE8, 0xC3, 0xCD,
                                        0xCF, 0x9D, 0xFA, 0xFB, 0xF4, 0x0F, 0x01, 0x22, 0x20, 0x30};
      if (rng.chance(30)) ram[k] = kCommon[rng.below(sizeof(kCommon))];
    }
    build_structures(rng, ram);
    cpu->invalidate_code(0, kRam);
    if (rng.chance(10)) cpu->reset();
    else cpu->set_state(random_state(rng));
    uint64_t left = insns;
    while (left > 0) {
      const uint64_t slice = 1 + rng.below(left < 500 ? left : 500);
      if (rng.chance(5)) cpu->notify_interrupt();
      if (rng.chance(2)) cpu->inject_nmi();
      if (rng.chance(2)) cpu->inject_exception(int(rng.below(40)), rng.chance(50), uint32_t(rng.next()));
      const tsvirt::soft::StopReason why = cpu->run(slice);
      stops[int(why) & 7]++;
      left -= slice;
      if (why == tsvirt::soft::StopReason::kShutdown || why == tsvirt::soft::StopReason::kError) break;
      if (why == tsvirt::soft::StopReason::kHlt && rng.chance(50)) cpu->notify_interrupt();
      tsvirt::x86::CpuState s;
      cpu->get_state(&s);
      uint64_t v;
      cpu->get_msr(uint32_t(rng.chance(50) ? 0xC0000080 : rng.next()), &v);
    }
  }
  std::printf("OK cases=%llu budget=%llu hlt=%llu shutdown=%llu error=%llu\n", (unsigned long long)cases,
              (unsigned long long)stops[0], (unsigned long long)stops[2], (unsigned long long)stops[4],
              (unsigned long long)stops[6]);
  return 0;
}
