// SMP test of the soft CPU: several vCPUs on host threads sharing one PhysMemory.
//
// usage: smp [--cpus N] [--iters N]
//
// 1. Atomicity: every vCPU runs the same loop: LOCK INC on a shared counter, a spinlock
//    taken with LOCK CMPXCHG around a plain read-modify-write of a second counter, LOCK XADD
//    on a third, XCHG-based release. With host-atomic LOCKed accesses all three counters
//    end at cpus * iters; a lost update fails the test.
// 2. Cross-modifying code: vCPU 0 calls a function until it returns 2; vCPU 1 rewrites the
//    function's immediate. vCPU 0 must see the new code (its decoded copy is invalidated
//    through the page generation) and halt.
// 3. Thread-safe stop: request_stop() from the main thread ends a vCPU spinning forever.
// 4. A compiled store through a write tag filled before the page held code: vCPU 1's hot
//    loop stores into the function's page while it is only data; vCPU 0 then runs the
//    function (the page becomes code); vCPU 1's same compiled store then patches it. vCPU 1
//    must drop that write tag (phys_memory.h) and vCPU 0 must see the new code.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

// The guest code, assembled by the host assembler into byte arrays.
asm(R"(
  .section .rodata
  .globl smp_worker_code, smp_worker_end
smp_worker_code:
1:
  lock incq (%rdi)
2:
  xor %eax, %eax
  mov $1, %r8d
  lock cmpxchg %r8d, (%rsi)
  jnz 2b
  mov (%rdx), %rax
  inc %rax
  mov %rax, (%rdx)
  xor %r8d, %r8d
  xchg %r8d, (%rsi)
  mov $1, %r9d
  lock xadd %r9, 8(%rdi)
  dec %rcx
  jnz 1b
  hlt
smp_worker_end:
  .globl smp_caller_code, smp_caller_end
smp_caller_code:
3:
  call *%rbx
  cmp $2, %eax
  jne 3b
  hlt
smp_caller_end:
  .globl smp_patcher_code, smp_patcher_end
smp_patcher_code:
  movb $2, 1(%rbx)
  hlt
smp_patcher_end:
  .globl smp_spin_code, smp_spin_end
smp_spin_code:
4:
  jmp 4b
smp_spin_end:
  .globl smp_storer_code, smp_storer_end
smp_storer_code:
5:
  mov (%rdx), %rsi
  mov 8(%rdx), %al
  mov %al, (%rbx,%rsi)
  cmpb $0, 16(%rdx)
  je 5b
  hlt
smp_storer_end:
  .text
)");

extern "C" const uint8_t smp_worker_code[], smp_worker_end[], smp_caller_code[], smp_caller_end[],
    smp_patcher_code[], smp_patcher_end[], smp_spin_code[], smp_spin_end[], smp_storer_code[],
    smp_storer_end[];

namespace {

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t kPml4 = 0x10000;
constexpr uint64_t kCode = 0x100000;   // + 0x1000 * n per program
constexpr uint64_t kData = 0x200000;
constexpr uint64_t kFunc = 0x180000;   // the function patched across vCPUs

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

struct Machine {
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRam, 0);
  std::unique_ptr<tsvirt::soft::PhysMemory> mem = tsvirt::soft::PhysMemory::create();
  Machine() {
    tsvirt::soft::RamRegion r;
    r.size = kRam;
    r.host = ram.data();
    mem->add_region(r);
    put64(kPml4, (kPml4 + 0x1000) | 3);
    put64(kPml4 + 0x1000, (kPml4 + 0x2000) | 3);
    for (uint64_t k = 0; k < 512; k++) put64(kPml4 + 0x2000 + 8 * k, (k << 21) | 0x83);
  }
  void put64(uint64_t a, uint64_t v) { std::memcpy(&ram[a], &v, 8); }
  uint64_t get64(uint64_t a) const {
    uint64_t v;
    std::memcpy(&v, &ram[a], 8);
    return v;
  }
  uint64_t load(int slot, const uint8_t* b, const uint8_t* e) {
    const uint64_t at = kCode + 0x1000 * uint64_t(slot);
    std::memcpy(&ram[at], b, size_t(e - b));
    return at;
  }
};

void long_mode_state(tsvirt::soft::Cpu& cpu, uint64_t rip, uint64_t rsp) {
  tsvirt::x86::CpuState s;
  cpu.get_state(&s);
  s.rip = rip;
  s.rflags = 2;
  s.cs = {0, 0xFFFFFFFF, 0x08, 0xA09B};
  s.ss = s.ds = s.es = s.fs = s.gs = {0, 0xFFFFFFFF, 0x10, 0xC093};
  s.cr0 = 0x80000011;
  s.cr4 = 0x20;
  s.cr3 = kPml4;
  s.efer = 0x500;
  s.gpr[tsvirt::x86::RSP] = rsp;
  cpu.set_state(s);
}

// Run until HLT (or error); returns the stop reason.
tsvirt::soft::StopReason run_to_halt(tsvirt::soft::Cpu& cpu, uint64_t limit) {
  tsvirt::soft::StopReason why = tsvirt::soft::StopReason::kBudget;
  while (why == tsvirt::soft::StopReason::kBudget && cpu.instructions_retired() < limit) {
    why = cpu.run(1000000);
  }
  return why;
}

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
  if (!ok) failures++;
}

void test_atomicity(int cpus, uint64_t iters) {
  Machine m;
  Host host;
  const uint64_t code = m.load(0, smp_worker_code, smp_worker_end);
  std::vector<std::unique_ptr<tsvirt::soft::Cpu>> vcpus;
  for (int k = 0; k < cpus; k++) {
    vcpus.push_back(tsvirt::soft::Cpu::create(*m.mem, host, k));
    long_mode_state(*vcpus.back(), code, 0x300000 + 0x1000 * uint64_t(k));
    tsvirt::x86::CpuState s;
    vcpus.back()->get_state(&s);
    s.gpr[tsvirt::x86::RCX] = iters;
    s.gpr[tsvirt::x86::RDI] = kData;        // counters at kData (LOCK INC) and kData+8 (XADD)
    s.gpr[tsvirt::x86::RSI] = kData + 64;   // spinlock
    s.gpr[tsvirt::x86::RDX] = kData + 128;  // counter under the lock
    vcpus.back()->set_state(s);
  }
  std::vector<std::thread> threads;
  std::atomic<int> halted{0};
  for (auto& c : vcpus) {
    threads.emplace_back([&c, &halted] {
      if (run_to_halt(*c, ~uint64_t{0}) == tsvirt::soft::StopReason::kHlt) halted++;
    });
  }
  for (auto& t : threads) t.join();
  const uint64_t want = uint64_t(cpus) * iters;
  check(halted == cpus, "every vCPU ran its loop to HLT");
  check(m.get64(kData) == want, "LOCK INC: no lost update");
  check(m.get64(kData + 8) == want, "LOCK XADD: no lost update");
  check(m.get64(kData + 128) == want, "CMPXCHG spinlock + XCHG release: mutual exclusion");
  if (m.get64(kData) != want || m.get64(kData + 8) != want || m.get64(kData + 128) != want) {
    std::printf("  inc=%llu xadd=%llu locked=%llu want=%llu\n", (unsigned long long)m.get64(kData),
                (unsigned long long)m.get64(kData + 8), (unsigned long long)m.get64(kData + 128),
                (unsigned long long)want);
  }
}

// Two vCPUs for the cross-modifying tests: vCPU 0 runs the caller (which calls the
// function `mov eax, 1; ret` written at `func` until it returns 2), vCPU 1 the program
// [code1, end1); both start with RBX = func and RDX = rdx.
struct CallerAndOther {
  std::unique_ptr<tsvirt::soft::Cpu> c0, c1;
  CallerAndOther(Machine& m, Host& host, uint64_t func, const uint8_t* code1, const uint8_t* end1, uint64_t rdx) {
    const uint8_t body[] = {0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3};
    std::memcpy(&m.ram[func], body, sizeof(body));
    c0 = tsvirt::soft::Cpu::create(*m.mem, host, 0);
    c1 = tsvirt::soft::Cpu::create(*m.mem, host, 1);
    long_mode_state(*c0, m.load(0, smp_caller_code, smp_caller_end), 0x300000);
    long_mode_state(*c1, m.load(1, code1, end1), 0x301000);
    for (auto* c : {c0.get(), c1.get()}) {
      tsvirt::x86::CpuState s;
      c->get_state(&s);
      s.gpr[tsvirt::x86::RBX] = func;
      s.gpr[tsvirt::x86::RDX] = rdx;
      c->set_state(s);
    }
  }
};

void test_cross_modifying_code() {
  Machine m;
  Host host;
  CallerAndOther v(m, host, kFunc, smp_patcher_code, smp_patcher_end, 0);
  auto& c0 = v.c0;
  auto& c1 = v.c1;
  // vCPU 0 runs the old function for a while first, so its code is decoded and cached.
  c0->run(100000);
  std::atomic<tsvirt::soft::StopReason> r0{tsvirt::soft::StopReason::kBudget};
  std::thread t0([&] { r0 = run_to_halt(*c0, 500000000); });
  std::thread t1([&] { run_to_halt(*c1, 1000); });
  t1.join();
  t0.join();
  check(r0 == tsvirt::soft::StopReason::kHlt, "a vCPU sees code another vCPU rewrote");
}

void test_store_tag_before_code() {
  Machine m;
  Host host;
  constexpr uint64_t kFunc2 = 0x190000, kCtl = kData + 0x1000;
  CallerAndOther v(m, host, kFunc2, smp_storer_code, smp_storer_end, kCtl);
  auto& c0 = v.c0;
  auto& c1 = v.c1;
  // Phase 1: vCPU 1 stores 0 into a data byte of the function's page, hot enough to be
  // compiled, while nothing has run the function yet.
  m.put64(kCtl, 0x800);
  m.put64(kCtl + 8, 0);
  m.put64(kCtl + 16, 0);
  c1->run(20000);
  // Phase 2: vCPU 0 runs the function: its page becomes code.
  c0->run(100000);
  // Phase 3: the same compiled store writes 2 into the function's immediate, then stops.
  m.put64(kCtl, 1);
  m.put64(kCtl + 8, 2);
  m.put64(kCtl + 16, 1);
  check(run_to_halt(*c1, 1000000) == tsvirt::soft::StopReason::kHlt, "the storing vCPU finished");
  check(run_to_halt(*c0, 5000000) == tsvirt::soft::StopReason::kHlt,
        "a compiled store through a write tag older than the page's code is seen by the other vCPU");
}

void test_request_stop() {
  Machine m;
  Host host;
  const uint64_t spin = m.load(0, smp_spin_code, smp_spin_end);
  auto c = tsvirt::soft::Cpu::create(*m.mem, host, 0);
  long_mode_state(*c, spin, 0x300000);
  std::atomic<tsvirt::soft::StopReason> why{tsvirt::soft::StopReason::kError};
  std::thread t([&] { why = c->run(~uint64_t{0}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c->request_stop();
  t.join();
  check(why == tsvirt::soft::StopReason::kStopRequested, "request_stop() from another thread ends run()");
}

}  // namespace

int main(int argc, char** argv) {
  int cpus = 4;
  uint64_t iters = 200000;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--cpus") && k + 1 < argc) cpus = std::atoi(argv[++k]);
    else if (!std::strcmp(argv[k], "--iters") && k + 1 < argc) iters = std::strtoull(argv[++k], nullptr, 0);
  }
  test_atomicity(cpus, iters);
  test_cross_modifying_code();
  test_request_stop();
  test_store_tag_before_code();
  return failures == 0 ? 0 : 1;
}
