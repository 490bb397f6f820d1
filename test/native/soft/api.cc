// Contract tests of the soft CPU's host interface (native/soft/cpu.h), the surface the vmm
// builds on: reset state, state round trip, MSRs with host fallback, CPUID masking, exact
// instruction budgets, HLT and interrupt semantics (IF=0 remembered, ack before delivery),
// NMI blocking until IRET, injected exceptions, MMIO exits with address/size/value, ROM,
// DMA invalidation of decoded code, triple fault, RIP seen from inside a callback, the
// physical map's checks, single-step across SYSCALL/SYSRET however the host slices runs, and
// large-page translations (INVLPG of any piece, D set by a write after a read).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <memory>
#include <vector>

#include "soft/cpu.h"
#include "vmm/x86_state.h"

asm(R"(
  .section .rodata
  .globl api_count_code, api_count_end
api_count_code:            /* 10 x inc rax, then hlt */
  .rept 10
  inc %rax
  .endr
  hlt
api_count_end:
  .globl api_irq_code, api_irq_end
api_irq_code:              /* cli; out; sti; nop; hlt (loop) */
  cli
  out %al, $0x80           /* host raises an interrupt while IF=0 */
  mov $1, %ebx
  sti
  mov $2, %ebx             /* runs in the STI shadow, before the interrupt */
1:
  hlt
  jmp 1b
api_irq_end:
  .globl api_handler_code, api_handler_end
api_handler_code:          /* interrupt/NMI handler: count in r15, record rbx, iretq */
  inc %r15
  mov %rbx, %r14
  iretq
api_handler_end:
  .globl api_mmio_code, api_mmio_end
api_mmio_code:
  movl $0xCAFEF00D, 0x10(%rdi)
  movzwl 0x22(%rdi), %eax
  movq 0x30(%rdi), %rcx
  addb $1, 0x40(%rdi)
  hlt
api_mmio_end:
  .globl api_triple_code, api_triple_end
api_triple_code:
  ud2
api_triple_end:
  .globl api_dma_code, api_dma_end
api_dma_code:
  mov $1, %eax
  hlt
  jmp api_dma_code
api_dma_end:
  .globl api_tf_user_code, api_tf_user_end, api_tf_after_syscall
api_tf_user_code:          /* ring 3: set TF, SYSCALL (SFMASK clears it), SYSRET restores it */
  mov $7, %eax
  pushfq
  orq $0x100, (%rsp)
  popfq
  syscall
api_tf_after_syscall:      /* the single #DB is reported here, right after SYSRET */
  inc %rbx
  inc %rbx
  inc %rbx
  mov $99, %eax
  syscall
api_tf_user_end:
  .globl api_tf_kernel_code, api_tf_kernel_end
api_tf_kernel_code:        /* LSTAR: syscall 99 halts, any other returns to ring 3 */
  cmp $99, %eax
  je 1f
  inc %rdx
  sysretq
1:
  hlt
  jmp 1b
api_tf_kernel_end:
  .globl api_tf_db_code, api_tf_db_end
api_tf_db_code:            /* #DB: count in r12, RIP in r13, CS in r10, clear TF in the frame */
  inc %r12
  mov (%rsp), %r13
  mov 8(%rsp), %r10
  andq $~0x100, 16(%rsp)
  iretq
api_tf_db_end:
  .globl api_flags_code, api_flags_end
api_flags_code:            /* every flag result but the last is dead inside the block */
  add %rbx, %rax
  inc %rdx
  xor %rcx, %rcx
  dec %rdi
  and %rsi, %rsi
  hlt
api_flags_end:
  .globl api_lp_code, api_lp_end
api_lp_code:               /* rdi: a 2 MiB page, rsi: its PDE, rdx: new PDE; rcx: a clean page */
  mov (%rdi), %rax         /* walk the 2 MiB page (TLB and large-page walk cache) */
  mov %rdx, (%rsi)         /* remap it... */
  invlpg 0x1000(%rdi)      /* ...and INVLPG another 4 KiB piece of it */
  mov 0x2000(%rdi), %rbx   /* a third piece: must see the new frame */
  mov (%rcx), %r8          /* read a 2 MiB page whose D bit is clear */
  movq $0x55, 0x3000(%rcx) /* write another piece of it: the walk must set D */
  hlt
api_lp_end:
  .text
)");

extern "C" const uint8_t api_count_code[], api_count_end[], api_irq_code[], api_irq_end[],
    api_handler_code[], api_handler_end[], api_mmio_code[], api_mmio_end[], api_triple_code[],
    api_triple_end[], api_dma_code[], api_dma_end[], api_tf_user_code[], api_tf_user_end[],
    api_tf_after_syscall[], api_tf_kernel_code[], api_tf_kernel_end[], api_tf_db_code[], api_tf_db_end[],
    api_flags_code[], api_flags_end[], api_lp_code[], api_lp_end[];

namespace {

using tsvirt::soft::StopReason;
using tsvirt::x86::CpuState;
namespace x86 = tsvirt::x86;

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
  if (!ok) failures++;
}

constexpr uint64_t kRam = 8 << 20;
constexpr uint64_t kPml4 = 0x10000;
constexpr uint64_t kIdt = 0x20000;
constexpr uint64_t kGdt = 0x21000;
constexpr uint64_t kCode = 0x100000;
constexpr uint64_t kHandler = 0x180000;
constexpr uint64_t kMmio = 0xC0000000;  // no RAM: MMIO exits
constexpr uint64_t kRom = 0xFFFF0000;

struct Host final : public tsvirt::soft::CpuHost {
  tsvirt::soft::Cpu* cpu = nullptr;
  int pending = -1;
  std::vector<int> acked;
  bool raise_on_out = false;
  uint64_t rip_in_callback = 0;
  struct Mmio {
    uint64_t gpa;
    int size;
    bool write;
    uint64_t value;
  };
  std::vector<Mmio> mmio;
  std::vector<uint64_t> msr_writes;
  uint32_t pio_in(uint16_t, int) override { return 0; }
  void pio_out(uint16_t, int, uint32_t) override {
    CpuState s;
    cpu->get_state(&s);
    rip_in_callback = s.rip;
    if (raise_on_out) {
      pending = 0x40;
      cpu->notify_interrupt();
    }
  }
  uint64_t mmio_read(uint64_t gpa, int size) override {
    mmio.push_back({gpa, size, false, 0});
    return 0x1122334455667788ull;
  }
  void mmio_write(uint64_t gpa, int size, uint64_t v) override { mmio.push_back({gpa, size, true, v}); }
  bool rdmsr(uint32_t index, uint64_t* v) override {
    if (index == 0x1B) {
      *v = 0xFEE00900;
      return true;
    }
    return false;
  }
  bool wrmsr(uint32_t index, uint64_t v) override {
    if (index != 0x1B) return false;
    msr_writes.push_back(v);
    return true;
  }
  int pending_interrupt() override { return pending; }
  void ack_interrupt(int v) override {
    acked.push_back(v);
    pending = -1;
  }
  uint64_t read_cr8() override { return 0; }
  void write_cr8(uint64_t) override {}
};

struct Vm {
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRam, 0);
  std::vector<uint8_t> rom = std::vector<uint8_t>(0x10000, 0xF4);
  std::unique_ptr<tsvirt::soft::PhysMemory> mem = tsvirt::soft::PhysMemory::create();
  Host host;
  std::unique_ptr<tsvirt::soft::Cpu> cpu;
  Vm() {
    tsvirt::soft::RamRegion r;
    r.size = kRam;
    r.host = ram.data();
    mem->add_region(r);
    tsvirt::soft::RamRegion rr;
    rr.gpa = kRom;
    rr.size = rom.size();
    rr.host = rom.data();
    rr.writable = false;
    mem->add_region(rr);
    cpu = tsvirt::soft::Cpu::create(*mem, host, 0);
    host.cpu = cpu.get();
    put64(kPml4, (kPml4 + 0x1000) | 3);
    put64(kPml4 + 0x1000, (kPml4 + 0x2000) | 3);
    for (uint64_t k = 0; k < 512; k++) put64(kPml4 + 0x2000 + 8 * k, (k << 21) | 0x83);
    put64(kPml4 + 0x1000 + 8 * 3, (kPml4 + 0x3000) | 3);  // 3-4 GiB for MMIO/ROM
    for (uint64_t k = 0; k < 512; k++) put64(kPml4 + 0x3000 + 8 * k, (0xC0000000 + (k << 21)) | 0x83);
    std::memcpy(&ram[kHandler], api_handler_code, size_t(api_handler_end - api_handler_code));
    put64(kGdt + 8, 0x00AF9B000000FFFFull);   // 0x08 code64
    put64(kGdt + 16, 0x00CF93000000FFFFull);  // 0x10 data
    for (int v = 0; v < 256; v++) {
      const uint64_t lo = (kHandler & 0xFFFF) | (uint64_t(0x08) << 16) | (uint64_t(0x8E) << 40) |
                          ((kHandler >> 16 & 0xFFFF) << 48);
      put64(kIdt + 16 * uint64_t(v), lo);
      put64(kIdt + 16 * uint64_t(v) + 8, 0);
    }
  }
  void put64(uint64_t a, uint64_t v) { std::memcpy(&ram[a], &v, 8); }
  void load(const uint8_t* b, const uint8_t* e) {
    std::memcpy(&ram[kCode], b, size_t(e - b));
    cpu->invalidate_code(kCode, uint64_t(e - b));
  }
  void long_mode(uint64_t rip = kCode) {
    CpuState s;
    cpu->get_state(&s);
    s.rip = rip;
    s.rflags = 2;
    s.cs = {0, 0xFFFFFFFF, 0x08, 0xA09B};
    s.ss = s.ds = s.es = s.fs = s.gs = {0, 0xFFFFFFFF, 0x10, 0xC093};
    s.cr0 = 0x80000011;
    s.cr4 = 0x20;
    s.cr3 = kPml4;
    s.efer = 0x500;
    s.idtr = {kIdt, 0xFFF};
    s.gdtr = {kGdt, 0x17};
    s.gpr[x86::RSP] = 0x300000;
    cpu->set_state(s);
  }
  CpuState state() {
    CpuState s;
    cpu->get_state(&s);
    return s;
  }
};

void test_reset() {
  Vm vm;
  vm.cpu->reset();
  CpuState s = vm.state();
  check(s.rip == 0xFFF0 && s.cs.selector == 0xF000 && s.cs.base == 0xFFFF0000 && s.cs.limit == 0xFFFF,
        "reset: CS:RIP = F000:FFF0 with base FFFF0000");
  check(s.cr0 == 0x60000010 && s.rflags == 2 && s.efer == 0, "reset: CR0, RFLAGS, EFER");
  check(s.gpr[x86::RDX] == 0xF6B1, "reset: EDX holds the CPUID signature");
  check(s.dr[6] == 0xFFFF0FF0 && s.dr[7] == 0x400, "reset: DR6 and DR7");
  check(s.gdtr.limit == 0xFFFF && s.idtr.limit == 0xFFFF && s.tr.access == 0x8B && s.ldtr.access == 0x82,
        "reset: descriptor tables, TR and LDTR");
  // The first instruction comes from the reset vector: here the ROM's HLT at FFFFFFF0.
  check(vm.cpu->run(10) == StopReason::kHlt && vm.state().rip == 0xFFF1, "reset: fetch from the ROM reset vector");
}

void test_state_roundtrip() {
  Vm vm;
  vm.long_mode();
  CpuState s = vm.state();
  for (int k = 0; k < 16; k++) s.gpr[k] = 0x1111111111111111ull * uint64_t(k + 1);
  s.rflags = 0x8D7;
  s.fs.base = 0x123456789000;
  vm.cpu->set_state(s);
  CpuState t = vm.state();
  bool same = std::memcmp(s.gpr, t.gpr, sizeof(s.gpr)) == 0 && t.rflags == s.rflags && t.fs.base == s.fs.base &&
              t.cs.access == s.cs.access && t.cr3 == s.cr3 && t.efer == s.efer;
  check(same, "set_state/get_state round trip");
}

void test_msrs() {
  Vm vm;
  uint64_t v = 0;
  check(vm.cpu->set_msr(x86::msr::kLstar, 0xFFFFFFFF81000000ull) && vm.cpu->get_msr(x86::msr::kLstar, &v) &&
            v == 0xFFFFFFFF81000000ull, "MSR kept by the CPU: LSTAR");
  check(!vm.cpu->set_msr(x86::msr::kLstar, 0x8000000000000000ull), "non-canonical LSTAR is refused");
  check(vm.cpu->get_msr(x86::msr::kApicBase, &v) && v == 0xFEE00900, "unknown MSR goes to the host (APIC base)");
  check(!vm.cpu->get_msr(0x12345, &v), "an MSR neither knows is refused");
  check(!vm.cpu->set_msr(x86::msr::kPat, 0x0202020202020202ull), "PAT with a reserved memory type is refused");
  vm.cpu->set_msr(x86::msr::kTsc, 1000000);
  vm.cpu->get_msr(x86::msr::kTsc, &v);
  check(v >= 1000000 && v < 1000000 + 10000000000ull, "TSC write then read");
}

void test_cpuid() {
  Vm vm;
  tsvirt::soft::CpuidEntry e[3];
  e[0].leaf = 0;
  e[0].eax = 1;
  e[0].ebx = 0x756E6547;  // "Genu"
  e[1].leaf = 1;
  e[1].ecx = 0xFFFFFFFF;
  e[1].edx = 0xFFFFFFFF;
  vm.cpu->set_cpuid(e, 2);
  // CPUID from the guest: a tiny program would be heavier; the vCPU's view is via reset EDX.
  vm.cpu->reset();
  CpuState s = vm.state();
  check(s.gpr[x86::RDX] == 0, "set_cpuid: the leaf table is used (signature 0 here)");
  vm.cpu->set_cpuid(nullptr, 0);
  vm.cpu->reset();
  check(vm.state().gpr[x86::RDX] == 0xF6B1, "set_cpuid(nullptr) restores the default table");
}

void test_budget() {
  Vm vm;
  vm.load(api_count_code, api_count_end);
  vm.long_mode();
  const uint64_t r0 = vm.cpu->instructions_retired();
  StopReason why = vm.cpu->run(3);
  CpuState s = vm.state();
  check(why == StopReason::kBudget && vm.cpu->instructions_retired() - r0 == 3 && s.gpr[x86::RAX] == 3,
        "run(3) retires exactly 3 instructions");
  check(s.rip == kCode + 3 * 3, "RIP after a budget stop points at the next instruction");
  why = vm.cpu->run(100);
  check(why == StopReason::kHlt && vm.state().gpr[x86::RAX] == 10 && vm.cpu->instructions_retired() - r0 == 11,
        "the rest runs to HLT (RIP after it)");
  check(vm.state().rip == kCode + 31, "kHlt leaves RIP after the HLT");
  check(vm.cpu->run(100) == StopReason::kHlt && vm.cpu->instructions_retired() - r0 == 11,
        "run() on a halted vCPU with nothing pending returns kHlt at once");
}

// Dead-flag elimination (flagopt.h) must not show: a budget stop after any instruction of a
// block whose flags a later instruction overwrites sees that instruction's exact flags,
// INC's carried-over CF included, also when the optimized block is already cached.
void test_dead_flags() {
  Vm vm;
  vm.load(api_flags_code, api_flags_end);
  const auto start = [&] {
    vm.long_mode();
    CpuState s = vm.state();
    s.gpr[x86::RAX] = ~0ull;  // add: 0, CF ZF PF AF
    s.gpr[x86::RBX] = 1;
    s.gpr[x86::RDX] = 0x7FFFFFFFFFFFFFFFull;  // inc: OF SF AF PF, CF from the add
    s.gpr[x86::RCX] = 5;                      // xor: ZF PF
    s.gpr[x86::RDI] = 1;                      // dec: ZF PF, CF from the xor
    s.gpr[x86::RSI] = 0x80;                   // and: nothing but bit 1
    vm.cpu->set_state(s);
  };
  const uint64_t want[5] = {0x57, 0x897, 0x46, 0x46, 0x02};
  start();
  check(vm.cpu->run(100) == StopReason::kHlt && vm.state().rflags == want[4],
        "dead flags: the whole block ends with the last instruction's flags");
  bool ok = true;
  for (unsigned k = 1; k <= 5; k++) {
    start();
    const StopReason why = vm.cpu->run(k);
    const CpuState s = vm.state();
    if (why != StopReason::kBudget || s.rflags != want[k - 1]) {
      std::printf("  after %u instructions: RFLAGS %#llx, want %#llx\n", k,
                  static_cast<unsigned long long>(s.rflags), static_cast<unsigned long long>(want[k - 1]));
      ok = false;
    }
  }
  check(ok, "dead flags: a budget stop inside the block sees each instruction's exact flags");
  start();
  check(vm.cpu->run(100) == StopReason::kHlt && vm.state().rflags == want[4] &&
            vm.state().gpr[x86::RDX] == 0x8000000000000000ull && vm.state().gpr[x86::RDI] == 0,
        "dead flags: results are unchanged by the flagless variants");
}

void test_interrupts() {
  Vm vm;
  vm.load(api_irq_code, api_irq_end);
  vm.long_mode();
  vm.host.raise_on_out = true;
  StopReason why = vm.cpu->run(1000);
  CpuState s = vm.state();
  check(vm.host.acked.size() == 1 && vm.host.acked[0] == 0x40, "an interrupt raised while IF=0 is taken after STI");
  check(s.gpr[x86::R14] == 2, "the STI shadow let the next instruction run first");
  check(s.gpr[x86::R15] == 1, "the handler ran once");
  check(why == StopReason::kHlt, "then HLT stops the run");
  check(vm.host.rip_in_callback == kCode + 1, "get_state inside a port callback reports the OUT's RIP");
  // While halted: notify with a vector → wakes, delivers, halts again.
  vm.host.pending = 0x41;
  vm.cpu->notify_interrupt();
  why = vm.cpu->run(1000);
  check(vm.host.acked.size() == 2 && vm.host.acked[1] == 0x41 && vm.state().gpr[x86::R15] == 2,
        "notify_interrupt wakes a halted vCPU and the vector is delivered");
}

void test_nmi_and_exceptions() {
  Vm vm;
  vm.load(api_dma_code, api_dma_end);
  vm.long_mode();
  vm.cpu->run(100);  // halted, IF=0
  vm.cpu->inject_nmi();
  vm.cpu->run(100);
  check(vm.state().gpr[x86::R15] == 1, "an NMI wakes a halted vCPU with IF=0 and is delivered");
  // A second NMI while the first handler has not returned would be blocked; after IRETQ the
  // handler returned, so the next one is delivered.
  vm.cpu->inject_nmi();
  vm.cpu->run(100);
  check(vm.state().gpr[x86::R15] == 2, "NMIs are unblocked by IRET");
  vm.cpu->inject_exception(6, false, 0);
  vm.cpu->run(100);
  check(vm.state().gpr[x86::R15] == 3, "inject_exception delivers through the IDT");
}

void test_mmio_rom() {
  Vm vm;
  vm.load(api_mmio_code, api_mmio_end);
  vm.long_mode();
  CpuState s = vm.state();
  s.gpr[x86::RDI] = kMmio;
  vm.cpu->set_state(s);
  vm.cpu->run(100);
  const auto& m = vm.host.mmio;
  check(m.size() == 5, "five MMIO exits");
  if (m.size() == 5) {
    check(m[0].write && m[0].gpa == kMmio + 0x10 && m[0].size == 4 && m[0].value == 0xCAFEF00D, "MMIO write: address, size, value");
    check(!m[1].write && m[1].gpa == kMmio + 0x22 && m[1].size == 2 && vm.state().gpr[x86::RAX] == 0x7788,
          "MMIO 16-bit read zero-extended");
    check(!m[2].write && m[2].size == 8 && vm.state().gpr[x86::RCX] == 0x1122334455667788ull, "MMIO 64-bit read");
    check(!m[3].write && m[3].size == 1 && m[4].write && m[4].size == 1 && m[4].value == 0x89,
          "read-modify-write on MMIO: a read exit then a write exit");
  }
  // ROM: fetch works, writes are dropped.
  const uint8_t rom_store[] = {0xC6, 0x07, 0x42, 0xF4};  // movb $0x42, (%rdi); hlt
  std::memcpy(&vm.rom[0x100], rom_store, sizeof(rom_store));
  vm.cpu->invalidate_code(kRom + 0x100, sizeof(rom_store));
  vm.long_mode(kRom + 0x100);
  s = vm.state();
  s.gpr[x86::RDI] = kRom + 0x200;
  vm.cpu->set_state(s);
  const StopReason why = vm.cpu->run(100);
  check(why == StopReason::kHlt && vm.rom[0x200] == 0xF4, "code runs from ROM and ROM writes are dropped");
}

void test_dma_invalidate() {
  Vm vm;
  vm.load(api_dma_code, api_dma_end);
  vm.long_mode();
  vm.cpu->run(100);
  check(vm.state().gpr[x86::RAX] == 1, "first version of the code ran");
  // A device (not the CPU) rewrites the immediate; the vmm reports it.
  vm.ram[kCode + 1] = 7;
  vm.cpu->invalidate_code(kCode + 1, 1);
  CpuState s = vm.state();
  s.rip = kCode;
  vm.cpu->set_state(s);
  vm.cpu->run(100);
  check(vm.state().gpr[x86::RAX] == 7, "invalidate_code makes a DMA write to code visible");
}

void test_triple_fault() {
  Vm vm;
  vm.load(api_triple_code, api_triple_end);
  vm.long_mode();
  CpuState s = vm.state();
  s.idtr = {0, 0};  // every delivery fails: #UD → #GP → #DF → shutdown
  vm.cpu->set_state(s);
  check(vm.cpu->run(100) == StopReason::kShutdown, "triple fault stops with kShutdown");
  check(vm.cpu->run(100) == StopReason::kShutdown, "and stays stopped");
  check(vm.state().rip == kCode, "state is left at the faulting instruction");
  vm.cpu->reset();
  check(vm.cpu->run(1) != StopReason::kShutdown, "reset() restarts a shut-down vCPU");
}

void test_physmem() {
  std::vector<uint8_t> a(0x2000), b(0x2000);
  auto mem = tsvirt::soft::PhysMemory::create();
  tsvirt::soft::RamRegion r;
  r.gpa = 0x10000;
  r.size = 0x2000;
  r.host = a.data();
  check(mem->add_region(r), "add_region accepts a page-aligned region");
  r.gpa = 0x11000;
  r.host = b.data();
  check(!mem->add_region(r), "add_region refuses an overlap");
  r.gpa = 0x20800;
  check(!mem->add_region(r), "add_region refuses a misaligned region");
  r.gpa = 0xFFFFFFFFFFFFF000ull;
  check(!mem->add_region(r), "add_region refuses a region wrapping the address space");
  mem->invalidate_code(0, ~uint64_t{0});  // whole space: must not crash
  check(true, "invalidate_code over the whole address space");
}

void test_model_msrs() {
  Vm vm;
  uint64_t v = 1;
  check(vm.cpu->get_msr(0xC0010010, &v) && v == 0, "AMD vendor: SYSCFG reads 0");
  check(!vm.cpu->set_msr(0xC0010010, 0), "AMD vendor: SYSCFG writes are refused");
  check(vm.cpu->get_msr(0xC0010055, &v) && v == 0, "AMD vendor: INT_PENDING_MSG reads 0");
  check(vm.cpu->set_msr(0xC0010015, 1u << 6) && vm.cpu->get_msr(0xC0010015, &v) && v == 0,
        "AMD vendor: HWCR.FFDIS accepted without effect");
  check(!vm.cpu->set_msr(0xC0010015, 1u << 1), "AMD vendor: HWCR reserved bits refused");
  // With an Intel vendor the AMD model MSRs are not the CPU's: they go to the host.
  tsvirt::soft::CpuidEntry e[2];
  e[0].leaf = 0;
  e[0].eax = 1;
  e[0].ebx = 0x756E6547;  // "Genu"
  e[1].leaf = 1;
  vm.cpu->set_cpuid(e, 2);
  check(!vm.cpu->get_msr(0xC0010010, &v), "Intel vendor: SYSCFG is the host's (refused here)");
}

void test_get_cpuid() {
  std::vector<uint8_t> ram(0x1000);
  auto mem = tsvirt::soft::PhysMemory::create();
  Host host;
  auto cpu = tsvirt::soft::Cpu::create(*mem, host, 3);
  std::vector<tsvirt::soft::CpuidEntry> t;
  cpu->get_cpuid(&t);
  bool vendor = false, apic_id = false, arat = false;
  for (const auto& e : t) {
    if (e.leaf == 0) vendor = e.ebx == 0x68747541;  // "Auth"
    if (e.leaf == 1) apic_id = (e.ebx >> 24) == 3;
    if (e.leaf == 6) arat = (e.eax & 4) != 0;
  }
  check(!t.empty() && vendor, "get_cpuid returns the default table (AMD vendor)");
  check(apic_id, "get_cpuid: leaf 1 carries this vCPU's initial APIC ID");
  check(arat, "default table: leaf 6 ARAT");
  tsvirt::soft::CpuidEntry e[2];
  e[0].leaf = 0;
  e[0].eax = 1;
  e[1].leaf = 1;
  e[1].ecx = 0xFFFFFFFF;
  cpu->set_cpuid(e, 2);
  cpu->get_cpuid(&t);
  check(t.size() == 2 && t[1].leaf == 1 && t[1].ecx != 0xFFFFFFFF && !(t[1].ecx & (1u << 26)),
        "get_cpuid returns the table as masked (no XSAVE)");
}

void test_remove_region() {
  Vm vm;
  std::vector<uint8_t> extra(0x1000, 0);
  const uint64_t value = 0x0102030405060708ull;
  std::memcpy(extra.data(), &value, 8);
  tsvirt::soft::RamRegion r;
  r.gpa = kMmio;
  r.size = extra.size();
  r.host = extra.data();
  check(vm.mem->add_region(r), "a RAM region added over former MMIO space");
  const uint8_t load[] = {0x48, 0x8B, 0x07, 0xF4};  // mov (%rdi), %rax; hlt
  vm.load(load, load + sizeof(load));
  vm.long_mode();
  CpuState s = vm.state();
  s.gpr[x86::RDI] = kMmio;
  vm.cpu->set_state(s);
  vm.cpu->run(10);
  check(vm.state().gpr[x86::RAX] == value && vm.host.mmio.empty(), "the load reads the added RAM");
  check(!vm.mem->remove_region(kMmio, 0x2000), "remove_region needs the exact size");
  check(!vm.mem->remove_region(kMmio + 0x1000, 0x1000), "remove_region of nothing is refused");
  check(vm.mem->remove_region(kMmio, 0x1000), "remove_region of the region");
  std::fill(extra.begin(), extra.end(), 0xEE);  // the vmm may reuse the memory now
  vm.cpu->set_state(s);
  vm.cpu->run(10);
  check(vm.host.mmio.size() == 1 && vm.state().gpr[x86::RAX] == 0x1122334455667788ull,
        "after removal the same load (TLB warm before) is an MMIO exit");
}

void test_tsc_shared() {
  std::vector<uint8_t> ram(0x1000);
  auto mem = tsvirt::soft::PhysMemory::create();
  Host h0, h1;
  auto c0 = tsvirt::soft::Cpu::create(*mem, h0, 0);
  const auto t_start = __builtin_ia32_rdtsc();
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  const auto gap = __builtin_ia32_rdtsc() - t_start;
  auto c1 = tsvirt::soft::Cpu::create(*mem, h1, 1);
  uint64_t t0 = 0, t1 = 0;
  c0->get_msr(x86::msr::kTsc, &t0);
  c1->get_msr(x86::msr::kTsc, &t1);
  check(t1 >= t0 && t1 - t0 < gap / 2, "vCPUs created apart read one TSC (no warp between them)");
}


// Single-step across SYSCALL/SYSRET (ops_sysregs.cc step_on_result_tf) must give the same
// single #DB however the host slices the run: one long run, a stop at every instruction
// boundary (the vmm's budget and kicks), a get_state/set_state round trip between slices,
// a stop request pending at every boundary, and an interrupt notification (no vector
// pending, as after a timer thread's kick) at every boundary.
enum class Slicing { kWhole, kEveryBoundary, kStateRoundTrip, kStopRequests, kInterruptNotices };

struct TfResult {
  uint64_t db_count, db_rip, db_cs, syscalls, rbx;
  bool halted;
};

TfResult run_tf_across_syscall(Slicing how) {
  constexpr uint64_t kKernel = 0x140000, kDb = 0x1A0000, kTss = 0x22000;
  Vm vm;
  vm.load(api_tf_user_code, api_tf_user_end);
  std::memcpy(&vm.ram[kKernel], api_tf_kernel_code, size_t(api_tf_kernel_end - api_tf_kernel_code));
  std::memcpy(&vm.ram[kDb], api_tf_db_code, size_t(api_tf_db_end - api_tf_db_code));
  vm.cpu->invalidate_code(0, kRam);
  // User-accessible 2 MiB pages, user code/data descriptors, a TSS with RSP0, #DB's gate.
  vm.put64(kPml4, (kPml4 + 0x1000) | 7);
  vm.put64(kPml4 + 0x1000, (kPml4 + 0x2000) | 7);
  for (uint64_t k = 0; k < 512; k++) vm.put64(kPml4 + 0x2000 + 8 * k, (k << 21) | 0x87);
  vm.put64(kGdt + 24, 0x00CFF3000000FFFFull);  // 0x18 user data
  vm.put64(kGdt + 32, 0x00AFFB000000FFFFull);  // 0x20 user code64
  vm.put64(kTss + 4, 0x280000);                // RSP0
  vm.put64(kIdt + 16, (kDb & 0xFFFF) | (uint64_t(0x08) << 16) | (uint64_t(0x8E) << 40) |
                          ((kDb >> 16 & 0xFFFF) << 48));
  vm.long_mode();
  CpuState s = vm.state();
  s.cs = {0, 0xFFFFFFFF, 0x23, 0xA0FB};
  s.ss = s.ds = s.es = {0, 0xFFFFFFFF, 0x1B, 0xC0F3};
  s.tr = {kTss, 0x67, 0x28, 0x8B};
  s.gdtr = {kGdt, 0x37};
  s.efer = 0x501;  // LME, LMA, SCE
  s.rflags = 0x202;
  s.gpr[x86::RDX] = 0;
  vm.cpu->set_state(s);
  vm.cpu->set_msr(x86::msr::kStar, (uint64_t{0x10} << 48) | (uint64_t{0x08} << 32));
  vm.cpu->set_msr(x86::msr::kLstar, kKernel);
  vm.cpu->set_msr(0xC0000084, 0x100);  // SFMASK: TF
  StopReason why = StopReason::kBudget;
  for (int n = 0; n < 10000 && why != StopReason::kHlt && why != StopReason::kShutdown &&
                  why != StopReason::kError;
       n++) {
    switch (how) {
      case Slicing::kWhole: why = vm.cpu->run(100000); break;
      case Slicing::kEveryBoundary: why = vm.cpu->run(1); break;
      case Slicing::kStateRoundTrip: {
        why = vm.cpu->run(1);
        CpuState t;
        vm.cpu->get_state(&t);
        vm.cpu->set_state(t);
        break;
      }
      case Slicing::kStopRequests:
        vm.cpu->request_stop();
        why = vm.cpu->run(100000);  // stops at the first boundary, before anything runs
        if (why == StopReason::kStopRequested) why = vm.cpu->run(1);
        break;
      case Slicing::kInterruptNotices:
        vm.cpu->notify_interrupt();
        why = vm.cpu->run(1);
        break;
    }
  }
  const CpuState e = vm.state();
  return {e.gpr[x86::R12], e.gpr[x86::R13], e.gpr[x86::R10], e.gpr[x86::RDX], e.gpr[x86::RBX],
          why == StopReason::kHlt};
}

void test_tf_across_syscall() {
  const uint64_t after = kCode + uint64_t(api_tf_after_syscall - api_tf_user_code);
  const char* names[] = {"one run", "a stop at every boundary", "get/set_state between slices",
                         "a stop request at every boundary", "an interrupt notice at every boundary"};
  const Slicing ways[] = {Slicing::kWhole, Slicing::kEveryBoundary, Slicing::kStateRoundTrip,
                          Slicing::kStopRequests, Slicing::kInterruptNotices};
  for (int k = 0; k < 5; k++) {
    const TfResult r = run_tf_across_syscall(ways[k]);
    char what[240];
    std::snprintf(what, sizeof what,
                  "TF across SYSCALL/SYSRET, %s: one #DB in ring 3 right after SYSRET "
                  "(count %llu, rip %#llx, cs %#llx, syscalls %llu, rbx %llu, halted %d)",
                  names[k], static_cast<unsigned long long>(r.db_count),
                  static_cast<unsigned long long>(r.db_rip), static_cast<unsigned long long>(r.db_cs),
                  static_cast<unsigned long long>(r.syscalls), static_cast<unsigned long long>(r.rbx), int(r.halted));
    check(r.halted && r.syscalls == 1 && r.rbx == 3 && r.db_count == 1 && r.db_rip == after &&
              r.db_cs == 0x23,
          what);
  }
}

// Large pages: INVLPG of any address in a 2 MiB page drops the whole translation (also the
// walk cache's copy, see core.h WalkCacheEntry), and a write after a read of a page whose D
// bit is clear walks again and sets D (SDM vol. 3, 4.8 and 4.10.4.1).
void test_large_page_walks() {
  Vm vm;
  vm.load(api_lp_code, api_lp_end);
  vm.long_mode();
  const uint64_t pd = kPml4 + 0x2000;
  vm.put64(0x400000 + 0x2000, 0x1111);
  vm.put64(0x600000 + 0x2000, 0x2222);
  vm.put64(pd + 8 * 3, 0x600000 | 0xA3);  // present, writable, accessed, 2 MiB; D clear
  CpuState s = vm.state();
  s.gpr[x86::RDI] = 0x400000;
  s.gpr[x86::RSI] = pd + 8 * 2;
  s.gpr[x86::RDX] = 0x600000 | 0x83;
  s.gpr[x86::RCX] = 0x600000;
  vm.cpu->set_state(s);
  const StopReason why = vm.cpu->run(100);
  s = vm.state();
  uint64_t pde = 0;
  std::memcpy(&pde, &vm.ram[pd + 8 * 3], 8);
  check(why == StopReason::kHlt && s.gpr[x86::RBX] == 0x2222,
        "INVLPG inside a 2 MiB page drops every piece of it");
  check((pde & 0x40) != 0 && vm.ram[0x603000] == 0x55, "a write after a read of a clean 2 MiB page sets D");
}

}  // namespace

int main() {
  test_reset();
  test_state_roundtrip();
  test_msrs();
  test_cpuid();
  test_budget();
  test_dead_flags();
  test_interrupts();
  test_nmi_and_exceptions();
  test_mmio_rom();
  test_dma_invalidate();
  test_triple_fault();
  test_physmem();
  test_model_msrs();
  test_get_cpuid();
  test_remove_region();
  test_tsc_shared();
  test_tf_across_syscall();
  test_large_page_walks();
  std::printf("%s\n", failures ? "FAILED" : "ALL PASSED");
  return failures ? 1 : 0;
}
