// The three engines of the fpdiff differential tester (fpdiff.h): the soft CPU, unicorn,
// and the host processor.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fpdiff.h"
#include "soft/cpu.h"

namespace fpdiff {

namespace {

// fxrstor64 (%r15) / fxsave64 0x200(%r15)
const uint8_t kPrologue[] = {0x49, 0x0F, 0xAE, 0x0F};
const uint8_t kEpilogue[] = {0x49, 0x0F, 0xAE, 0x87, 0x00, 0x02, 0x00, 0x00};
constexpr uint8_t kOutPattern = 0xA5;  // initial contents of the result image

std::vector<uint8_t> body_of(const Case& k) {
  std::vector<uint8_t> b(kPrologue, kPrologue + sizeof(kPrologue));
  b.insert(b.end(), k.code.begin(), k.code.end());
  b.insert(b.end(), kEpilogue, kEpilogue + sizeof(kEpilogue));
  return b;
}

// ---------------------------------------------------------------- soft CPU

constexpr uint64_t kRamSize = 4u << 20;
constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kGdt = 0x4000, kIdt = 0x5000,
                   kStubs = 0x6000;
constexpr uint64_t kNoVector = 0xFFFFFFFFu;

class NullHost final : public tsvirt::soft::CpuHost {
 public:
  uint32_t pio_in(uint16_t, int) override { return 0xFFFFFFFF; }
  void pio_out(uint16_t, int, uint32_t) override {}
  uint64_t mmio_read(uint64_t, int) override { return ~uint64_t{0}; }
  void mmio_write(uint64_t, int, uint64_t) override {}
  bool rdmsr(uint32_t, uint64_t*) override { return false; }
  bool wrmsr(uint32_t, uint64_t) override { return false; }
  int pending_interrupt() override { return -1; }
  void ack_interrupt(int) override {}
  uint64_t read_cr8() override { return 0; }
  void write_cr8(uint64_t) override {}
};

class SoftEngine final : public Engine {
 public:
  SoftEngine() {
    ram_ = static_cast<uint8_t*>(std::aligned_alloc(4096, kRamSize));
    std::memset(ram_, 0, kRamSize);
    mem_ = tsvirt::soft::PhysMemory::create();
    tsvirt::soft::RamRegion r;
    r.gpa = 0;
    r.size = kRamSize;
    r.host = ram_;
    mem_->add_region(r);
    cpu_ = tsvirt::soft::Cpu::create(*mem_, host_, 0);
    cpu_->reset();
    // 4-level paging: identity map of the first 4 MiB with 2 MiB pages.
    put64(kPml4, kPdpt | 3);
    put64(kPdpt, kPd | 3);
    put64(kPd, 0x000000 | 0x83);
    put64(kPd + 8, 0x200000 | 0x83);
    // GDT: null, 64-bit code (8), data (0x10).
    put64(kGdt + 8, 0x00209A0000000000ull);
    put64(kGdt + 16, 0x0000920000000000ull);
    // IDT: vector k -> stub k: mov $k, %r14d; fxsave64 0x200(%r15); hlt
    for (unsigned v = 0; v < 32; v++) {
      const uint64_t stub = kStubs + 16 * v;
      uint8_t* s = ram_ + stub;
      const uint8_t code[] = {0x41, 0xBE, uint8_t(v), 0, 0, 0, 0x49, 0x0F, 0xAE, 0x87, 0x00, 0x02, 0x00, 0x00, 0xF4};
      std::memcpy(s, code, sizeof(code));
      const uint64_t lo = (stub & 0xFFFF) | (uint64_t{8} << 16) | (uint64_t{0x8E} << 40) |
                          (((stub >> 16) & 0xFFFF) << 48);
      put64(kIdt + 16 * v, lo);
      put64(kIdt + 16 * v + 8, stub >> 32);
    }
  }
  ~SoftEngine() override {
    cpu_.reset();
    mem_.reset();
    std::free(ram_);
  }
  const char* name() const override { return "soft"; }

  void run(const Case& k, Result* out) override {
    const std::vector<uint8_t> body = body_of(k);
    std::memset(ram_ + kCodeAddr, 0xCC, 4096);
    std::memcpy(ram_ + kCodeAddr, body.data(), body.size());
    ram_[kCodeAddr + body.size()] = 0xF4;  // hlt
    cpu_->invalidate_code(kCodeAddr, 4096);
    std::memcpy(ram_ + kStateAddr, k.fx, 512);
    std::memset(ram_ + kStateAddr + 512, kOutPattern, 512);
    std::memcpy(ram_ + kDataAddr, k.data, kDataSize);
    cpu_->invalidate_code(kStateAddr, 4096);
    cpu_->invalidate_code(kDataAddr, kDataSize);

    tsvirt::x86::CpuState s;
    for (int r = 0; r < 16; r++) s.gpr[r] = k.gpr[r];
    s.gpr[RSI] = kDataAddr + k.data_off;
    s.gpr[RSP] = kStackTop;
    s.gpr[R14] = kNoVector;
    s.gpr[R15] = kStateAddr;
    s.rip = kCodeAddr;
    s.rflags = (k.rflags & 0x8D5) | 0x2;
    s.cs = {0, 0xFFFFFFFF, 8, 0xA09B};
    const tsvirt::x86::Segment data{0, 0xFFFFFFFF, 0x10, 0xC093};
    s.ds = s.es = s.ss = s.fs = s.gs = data;
    s.tr = {0, 0x67, 0, 0x8B};
    s.ldtr = {0, 0, 0, 0x10082};
    s.gdtr = {kGdt, 23};
    s.idtr = {kIdt, 32 * 16 - 1};
    s.cr0 = 0x80010033;  // PG WP NE ET MP PE
    s.cr3 = kPml4;
    s.cr4 = 0x620;       // OSXMMEXCPT OSFXSR PAE
    s.efer = 0xD00;      // NXE LMA LME
    cpu_->set_state(s);
    const tsvirt::soft::StopReason why = cpu_->run(10000);
    if (why != tsvirt::soft::StopReason::kHlt) {
      out->error = std::string("soft cpu stopped with reason ") + std::to_string(int(why)) + ": " +
                   cpu_->error_message();
      return;
    }
    cpu_->get_state(&s);
    for (int r = 0; r < 16; r++) out->gpr[r] = s.gpr[r];
    out->gpr[RSI] -= kDataAddr;
    if (k.tags & kTagRdiAddr) out->gpr[RDI] -= kDataAddr;
    out->rflags = s.rflags;
    out->vector = s.gpr[R14] == kNoVector ? -1 : int(s.gpr[R14]);
    if (out->vector >= 0) {
      // The frame pushed by the exception holds RFLAGS at the fault.
      std::memcpy(&out->rflags, ram_ + s.gpr[RSP] + ((out->vector == 8 || (out->vector >= 10 && out->vector <= 14) || out->vector == 17) ? 24 : 16), 8);
    }
    std::memcpy(out->fx, ram_ + kStateAddr + 512, 512);
    std::memcpy(out->data, ram_ + kDataAddr, kDataSize);
  }

 private:
  void put64(uint64_t a, uint64_t v) { std::memcpy(ram_ + a, &v, 8); }
  uint8_t* ram_ = nullptr;
  NullHost host_;
  std::unique_ptr<tsvirt::soft::PhysMemory> mem_;
  std::unique_ptr<tsvirt::soft::Cpu> cpu_;
};

// ---------------------------------------------------------------- unicorn

constexpr uint64_t kEpilogueAddr = 0x18000;

const int kUcGpr[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                        UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                        UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                        UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

class UnicornEngine final : public Engine {
 public:
  UnicornEngine() {
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc_) != UC_ERR_OK) {
      std::fprintf(stderr, "fpdiff: uc_open failed\n");
      std::exit(2);
    }
    uc_mem_map(uc_, 0, kRamSize, UC_PROT_ALL);
    uint64_t cr0 = 0, cr4 = 0;
    uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
    uc_reg_read(uc_, UC_X86_REG_CR4, &cr4);
    cr0 |= 0x22;   // NE MP
    cr0 &= ~uint64_t{0xC};  // EM TS
    cr4 |= 0x600;  // OSFXSR OSXMMEXCPT
    uc_reg_write(uc_, UC_X86_REG_CR0, &cr0);
    uc_reg_write(uc_, UC_X86_REG_CR4, &cr4);
    uc_mem_write(uc_, kEpilogueAddr, kEpilogue, sizeof(kEpilogue));
    uc_hook h;
    uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&UnicornEngine::on_intr), this, 1, 0);
  }
  ~UnicornEngine() override { uc_close(uc_); }
  const char* name() const override { return "unicorn"; }

  void run(const Case& k, Result* out) override {
    // A stop requested from the interrupt hook of an earlier case can still be pending and
    // end an emulation before its first instruction: such a run stored nothing, retry it.
    for (int attempt = 0; attempt < 3; attempt++) {
      *out = Result();
      run_once(k, out);
      if (!out->error.empty() || out->fx[0] != kOutPattern || out->fx[1] != kOutPattern) return;
    }
  }

 private:
  void run_once(const Case& k, Result* out) {
    const std::vector<uint8_t> body = body_of(k);
    std::vector<uint8_t> page(4096, 0xCC);
    std::memcpy(page.data(), body.data(), body.size());
    uc_mem_write(uc_, kCodeAddr, page.data(), page.size());
    uc_ctl_remove_cache(uc_, kCodeAddr, kCodeAddr + 4096);
    uc_mem_write(uc_, kStateAddr, k.fx, 512);
    std::vector<uint8_t> pat(512, kOutPattern);
    uc_mem_write(uc_, kStateAddr + 512, pat.data(), 512);
    uc_mem_write(uc_, kDataAddr, k.data, kDataSize);
    for (int r = 0; r < 16; r++) {
      uint64_t v = k.gpr[r];
      if (r == RSI) v = kDataAddr + k.data_off;
      if (r == RSP) v = kStackTop;
      if (r == R14) v = 0;
      if (r == R15) v = kStateAddr;
      uc_reg_write(uc_, kUcGpr[r], &v);
    }
    uint64_t fl = (k.rflags & 0x8D5) | 0x2;
    uc_reg_write(uc_, UC_X86_REG_RFLAGS, &fl);
    intno_ = -1;
    const uc_err err = uc_emu_start(uc_, kCodeAddr, kCodeAddr + body.size(), 0, 1000);
    out->vector = intno_;
    if (err == UC_ERR_INSN_INVALID) {
      out->vector = 6;
    } else if (err != UC_ERR_OK && intno_ < 0) {
      out->error = std::string("unicorn: ") + uc_strerror(err);
      return;
    } else if (err == UC_ERR_OK && intno_ < 0) {
      // Unicorn ends emulation without calling the interrupt hook for some exceptions (#MF
      // from FWAIT): an early stop is reported as vector 255.
      uint64_t rip = 0;
      uc_reg_read(uc_, UC_X86_REG_RIP, &rip);
      if (rip != kCodeAddr + body.size()) out->vector = 255;
    }
    for (int r = 0; r < 16; r++) uc_reg_read(uc_, kUcGpr[r], &out->gpr[r]);
    out->gpr[RSI] -= kDataAddr;
    if (k.tags & kTagRdiAddr) out->gpr[RDI] -= kDataAddr;
    uc_reg_read(uc_, UC_X86_REG_RFLAGS, &out->rflags);
    if (out->vector >= 0) {
      // A stop requested from the interrupt hook can still be pending and end the next
      // emulation before its first instruction: run the epilogue until it has stored.
      for (int attempt = 0; attempt < 2; attempt++) {
        intno_ = -1;
        const uc_err e2 = uc_emu_start(uc_, kEpilogueAddr, kEpilogueAddr + sizeof(kEpilogue), 0, 10);
        if (e2 != UC_ERR_OK || intno_ >= 0) {
          out->error = "unicorn: epilogue failed after an exception";
          return;
        }
        uint8_t probe[2];
        uc_mem_read(uc_, kStateAddr + 512, probe, 2);
        if (probe[0] != kOutPattern || probe[1] != kOutPattern) break;
      }
    }
    uc_mem_read(uc_, kStateAddr + 512, out->fx, 512);
    uc_mem_read(uc_, kDataAddr, out->data, kDataSize);
  }

  static void on_intr(uc_engine* uc, uint32_t intno, void* self) {
    static_cast<UnicornEngine*>(self)->intno_ = int(intno);
    uc_emu_stop(uc);
  }
  uc_engine* uc_ = nullptr;
  int intno_ = -1;
};

// ---------------------------------------------------------------- host processor

struct alignas(64) NativeCtx {
  uint8_t fx_in[512];
  uint8_t fx_out[512];
  uint64_t gpr[16];
  uint64_t rflags;
  uint64_t saved_rsp;
};
constexpr int32_t kOffGpr = 1024, kOffRflags = 1024 + 128, kOffSavedRsp = 1024 + 136;

sigjmp_buf g_jmp;
volatile int g_vector = -1;
uint64_t g_fault_gpr[16];
uint64_t g_fault_rflags;
alignas(16) uint8_t g_fault_fx[512];

void on_signal(int, siginfo_t*, void* ctx) {
  const ucontext_t* uc = static_cast<const ucontext_t*>(ctx);
  const greg_t* g = uc->uc_mcontext.gregs;
  g_vector = int(g[REG_TRAPNO]);
  const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                       REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int r = 0; r < 16; r++) g_fault_gpr[r] = uint64_t(g[map[r]]);
  g_fault_rflags = uint64_t(g[REG_EFL]);
  std::memcpy(g_fault_fx, uc->uc_mcontext.fpregs, 512);
  siglongjmp(g_jmp, 1);
}

class NativeEngine final : public Engine {
 public:
  NativeEngine() {
    code_ = static_cast<uint8_t*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    data_ = static_cast<uint8_t*>(mmap(nullptr, kDataSize, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (code_ == MAP_FAILED || data_ == MAP_FAILED) {
      std::fprintf(stderr, "fpdiff: mmap failed\n");
      std::exit(2);
    }
    ctx_ = static_cast<NativeCtx*>(std::aligned_alloc(64, sizeof(NativeCtx)));
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP}) sigaction(sig, &sa, nullptr);
  }
  ~NativeEngine() override {
    munmap(code_, 8192);
    munmap(data_, kDataSize);
    std::free(ctx_);
  }
  const char* name() const override { return "host"; }

  void run(const Case& k, Result* out) override {
    std::vector<uint8_t> c;
    auto b = [&](std::initializer_list<uint8_t> v) { c.insert(c.end(), v); };
    auto d32 = [&](int32_t v) { for (int s = 0; s < 32; s += 8) c.push_back(uint8_t(v >> s)); };
    // entry (rdi = ctx): save callee-saved registers and RSP.
    b({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57});
    b({0x48, 0x89, 0xA7}); d32(kOffSavedRsp);          // mov %rsp, off(%rdi)
    b({0x49, 0x89, 0xFF});                              // mov %rdi, %r15
    b({0x41, 0xFF, 0xB7}); d32(kOffRflags);             // push off(%r15)
    b({0x9D});                                          // popfq
    for (int r = 0; r < 15; r++) {                      // mov off(%r15), %reg
      if (r == RSP) continue;
      b({uint8_t(0x49 | (r >= 8 ? 4 : 0)), 0x8B, uint8_t(0x87 | ((r & 7) << 3))});
      d32(kOffGpr + 8 * r);
    }
    const std::vector<uint8_t> body = body_of(k);
    c.insert(c.end(), body.begin(), body.end());
    for (int r = 0; r < 15; r++) {                      // mov %reg, off(%r15)
      if (r == RSP) continue;
      b({uint8_t(0x49 | (r >= 8 ? 4 : 0)), 0x89, uint8_t(0x87 | ((r & 7) << 3))});
      d32(kOffGpr + 8 * r);
    }
    b({0x9C, 0x41, 0x8F, 0x87}); d32(kOffRflags);       // pushfq; pop off(%r15)
    b({0x49, 0x8B, 0xA7}); d32(kOffSavedRsp);           // mov off(%r15), %rsp
    b({0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3});
    std::memcpy(code_, c.data(), c.size());
    __builtin___clear_cache(reinterpret_cast<char*>(code_), reinterpret_cast<char*>(code_ + c.size()));

    std::memcpy(ctx_->fx_in, k.fx, 512);
    std::memset(ctx_->fx_out, kOutPattern, 512);
    for (int r = 0; r < 16; r++) ctx_->gpr[r] = k.gpr[r];
    ctx_->gpr[RSI] = reinterpret_cast<uint64_t>(data_) + k.data_off;
    ctx_->gpr[R14] = 0;
    ctx_->rflags = (k.rflags & 0x8D5) | 0x202;
    std::memcpy(data_, k.data, kDataSize);

    alignas(16) uint8_t host_fx[512];
    asm volatile("fxsave64 %0" : "=m"(host_fx));
    g_vector = -1;
    if (sigsetjmp(g_jmp, 1) == 0) {
      reinterpret_cast<void (*)(NativeCtx*)>(code_)(ctx_);
      for (int r = 0; r < 16; r++) out->gpr[r] = ctx_->gpr[r];
      out->rflags = ctx_->rflags;
      std::memcpy(out->fx, ctx_->fx_out, 512);
    } else {
      out->vector = g_vector;
      for (int r = 0; r < 16; r++) out->gpr[r] = g_fault_gpr[r];
      out->rflags = g_fault_rflags;
      std::memcpy(out->fx, g_fault_fx, 512);
    }
    asm volatile("fxrstor64 %0" : : "m"(host_fx));
    out->gpr[RSI] -= reinterpret_cast<uint64_t>(data_);
    if (k.tags & kTagRdiAddr) out->gpr[RDI] -= reinterpret_cast<uint64_t>(data_);
    std::memcpy(out->data, data_, kDataSize);
  }

 private:
  uint8_t* code_ = nullptr;
  uint8_t* data_ = nullptr;
  NativeCtx* ctx_ = nullptr;
};

}  // namespace

Engine* make_soft_engine() { return new SoftEngine(); }
Engine* make_unicorn_engine() { return new UnicornEngine(); }
Engine* make_native_engine() { return new NativeEngine(); }

}  // namespace fpdiff
