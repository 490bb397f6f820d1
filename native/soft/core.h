// Live state of one software vCPU and the small inline helpers every instruction family uses.
//
// This is the internal layout of the soft CPU (the public contract is cpu.h). It keeps the
// register file in the shape the hot path wants, not in x86::CpuState's shape:
//  - r[0..15] are the GPRs in ModRM order, r[16] is a constant zero (the "no base/index"
//    slot of an effective address) and r[17] is RIP, so an effective address is always
//    r[base] + (r[index] << scale) + disp without branches (RIP-relative uses base 17).
//  - Arithmetic flags are lazy (flags.h); the other RFLAGS bits live in `fl`.
//  - Segment registers keep the descriptor cache plus precomputed access bounds, so a
//    limit/rights check is two compares and 64-bit mode skips it entirely.
//  - A software TLB per privilege class (supervisor / user) maps linear pages to host
//    pointers; the fast path of every memory access is one tag compare (mem.h).
// Guest faults are raised with raise_fault(), which longjmps to the run loop (exec.cc):
// handlers must finish every check that can fault before they change architectural state.
//
// x87/MMX/SSE state lives in `fpu` (fpu_state.h) and is owned by those instruction families.
#pragma once

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "soft/cpu.h"
#include "soft/fpu_state.h"

namespace tsvirt::soft {

class PhysMem;
struct Insn;
struct Block;
struct Core;

// Every decoded instruction runs through one of these. It returns the next instruction of
// the block (normally i + 1) or nullptr when the block ends (control transfer, mode change).
using Handler = const Insn* (*)(Core* c, const Insn* i);

#define SOFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define SOFT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SOFT_INLINE inline __attribute__((always_inline))

// Segment register numbers, in the encoding order of the ModRM sreg field.
enum Seg : int { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, kSegCount = 6 };

constexpr int kRegZero = 16;  // always 0
constexpr int kRegRip = 17;   // RIP

// RFLAGS bits (Intel SDM vol. 1, 3.4.3).
namespace fl {
constexpr uint64_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7,
                   TF = 1u << 8, IF = 1u << 9, DF = 1u << 10, OF = 1u << 11,
                   IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16, VM = 1u << 17,
                   AC = 1u << 18, VIF = 1u << 19, VIP = 1u << 20, ID = 1u << 21;
constexpr uint64_t kArith = CF | PF | AF | ZF | SF | OF;
constexpr uint64_t kFixed1 = 1u << 1;
// Bits software can ever see set.
constexpr uint64_t kValid = kArith | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
}  // namespace fl

// Exception vectors (SDM vol. 3, table 6-1).
namespace vec {
constexpr int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
              TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18,
              XM = 19;
}

// Control register bits.
namespace cr0 {
constexpr uint64_t PE = 1u << 0, MP = 1u << 1, EM = 1u << 2, TS = 1u << 3, ET = 1u << 4,
                   NE = 1u << 5, WP = 1u << 16, AM = 1u << 18, NW = 1u << 29, CD = 1u << 30,
                   PG = 1u << 31;
}
namespace cr4 {
constexpr uint64_t VME = 1u << 0, PVI = 1u << 1, TSD = 1u << 2, DE = 1u << 3, PSE = 1u << 4,
                   PAE = 1u << 5, MCE = 1u << 6, PGE = 1u << 7, PCE = 1u << 8,
                   OSFXSR = 1u << 9, OSXMMEXCPT = 1u << 10, UMIP = 1u << 11,
                   FSGSBASE = 1u << 16, PCIDE = 1u << 17, OSXSAVE = 1u << 18,
                   SMEP = 1u << 20, SMAP = 1u << 21;
}
namespace efer {
constexpr uint64_t SCE = 1u << 0, LME = 1u << 8, LMA = 1u << 10, NXE = 1u << 11;
}

// Page-fault error code bits (SDM vol. 3, 4.7).
namespace pfec {
constexpr uint32_t P = 1, W = 2, U = 4, RSVD = 8, I = 16;
}

// One segment register: the visible selector plus its descriptor cache.
struct SegReg {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t sel = 0;
  uint32_t ar = 0;  // VMX access-rights layout (x86_state.h)
};

// One software-TLB entry, the part every data access reads (32 bytes: two per cache line).
// Tags are linear page addresses; a tag with bit 0 set never matches. Permissions are
// folded into which tags are set (a read-only page has no write tag), so the fast path
// checks nothing but the tag.
struct TlbEntry {
  uint64_t tag_r = 1, tag_w = 1;
  uintptr_t addend = 0;                  // host pointer = linear address + addend
  std::atomic<uint8_t>* code = nullptr;  // the physical page's "holds decoded code" flag
};
// The rest of an entry, read on instruction fetch (block lookup) and by flushes only: kept
// in a parallel array (Core::tlbx, same index) so the data-access entries stay dense.
struct TlbCold {
  uint64_t tag_x = 1;
  uint64_t pa = 0;       // physical page address
  uint8_t global = 0;
  uint8_t lpshift = 12;  // log2 of the size of the page the entry was cut from
  uint8_t listed = 0;    // bit 0: index in Core::tlb_filled, bit 1: in tlb_filled_g
};

// A large-page walk cache (4-level paging): the outcome of a walk that ended in a 2 MiB or
// 1 GiB page, per 2 MiB of linear space, so a TLB miss inside a page already walked costs
// no page walk. Only walks that left every entry's A bit (and D, for `dirty`) set are
// cached, and only accesses the cached rights allow are served from it (anything else walks
// and faults as usual). Dropped with the TLB: every tlb_flush and tlb_flush_page.
struct WalkCacheEntry {
  uint64_t tag = 0;  // 2 MiB-aligned linear address | 1, or 0 (empty)
  uint64_t pa = 0;   // physical address of that 2 MiB piece
  bool rw = false, us = false, nx = false, global = false, dirty = false;
  uint8_t shift = 21;  // page size the walk found (21 or 30)
};
constexpr int kWalkCacheSize = 16;

constexpr int kTlbBits = 12;
constexpr int kTlbSize = 1 << kTlbBits;
constexpr uint64_t kPageMask = ~uint64_t{0xFFF};

// Why the run loop must leave the fast path (sync_events; owned by the vCPU thread).
namespace ev {
constexpr uint32_t kHalted = 1u << 0;       // HLT executed
constexpr uint32_t kIrqCheck = 1u << 1;     // IF may have become 1 with an interrupt pending
constexpr uint32_t kShadow = 1u << 2;       // STI / MOV SS interrupt shadow active
constexpr uint32_t kShadowSs = 1u << 9;     // the shadow is MOV/POP SS's: #DB is held too
constexpr uint32_t kTrap = 1u << 3;         // TF single-step in effect
constexpr uint32_t kInjected = 1u << 4;     // inject_exception / inject_nmi event waiting
constexpr uint32_t kShutdown = 1u << 5;     // triple fault happened
constexpr uint32_t kError = 1u << 6;        // internal error (error_message())
constexpr uint32_t kFlushBlocks = 1u << 7;  // decoded-code cache must be dropped
constexpr uint32_t kStepDone = 1u << 8;     // the single instruction of a step ran
constexpr uint32_t kHwBreak = 1u << 10;     // DR7 enables breakpoints: step and check each insn
constexpr uint32_t kExitStop = 1u << 11;    // an exit control fired: run() returns exit_stop
}  // namespace ev
// Cross-thread requests (async_events).
namespace aev {
constexpr uint32_t kStop = 1u << 0;
constexpr uint32_t kIrq = 1u << 1;
constexpr uint32_t kNmi = 1u << 2;
constexpr uint32_t kInvalidate = 1u << 3;
constexpr uint32_t kCodePages = 1u << 4;  // Core::queue_code_page: pages became code
}  // namespace aev

// A pending exception being raised (set by raise_fault before the longjmp).
struct Fault {
  int vector = -1;
  bool has_error = false;
  uint32_t error = 0;
};

// Kinds of event delivered through the IDT (they differ in privilege checks and RIP).
enum class EventKind : uint8_t { kException, kExternal, kNmi, kSoftInt, kSoftException, kIcebp };

struct BlockCache;

// CPUID feature words (leaf 1 ECX/EDX, leaf 7.0 EBX/ECX, leaf 0x80000001 ECX/EDX). Families
// declare what they implement when they register; the default CPUID table advertises
// exactly that, and a table set from the vmm is masked with it (cpuid.cc). The vCPU keeps
// the effective words of its table in Core::feat and behaves accordingly (EFER.NXE, CR4
// bits, instructions gated by CPUID).
struct CpuFeatures {
  uint32_t l1_ecx = 0, l1_edx = 0, l7_ebx = 0, l7_ecx = 0, x1_ecx = 0, x1_edx = 0;
};

// Feature bits by name (Intel SDM vol. 2, CPUID; AMD APM vol. 3, appendix E).
namespace feat {
// leaf 1 EDX
constexpr uint32_t kFpu = 1u << 0, kVme = 1u << 1, kDe = 1u << 2, kPse = 1u << 3,
                   kTsc = 1u << 4, kMsr = 1u << 5, kPae = 1u << 6, kMce = 1u << 7,
                   kCx8 = 1u << 8, kApic = 1u << 9, kSep = 1u << 11, kMtrr = 1u << 12,
                   kPge = 1u << 13, kMca = 1u << 14, kCmov = 1u << 15, kPat = 1u << 16,
                   kPse36 = 1u << 17, kClfsh = 1u << 19, kMmx = 1u << 23, kFxsr = 1u << 24,
                   kSse = 1u << 25, kSse2 = 1u << 26;
// leaf 1 ECX
constexpr uint32_t kSse3 = 1u << 0, kPclmul = 1u << 1, kSsse3 = 1u << 9, kCx16 = 1u << 13,
                   kSse41 = 1u << 19, kSse42 = 1u << 20, kX2apic = 1u << 21,
                   kMovbe = 1u << 22, kPopcnt = 1u << 23, kTscDeadline = 1u << 24,
                   kXsave = 1u << 26, kOsxsave = 1u << 27, kHypervisor = 1u << 31;
// leaf 7 EBX / ECX
constexpr uint32_t kFsgsbase = 1u << 0, kBmi1 = 1u << 3, kSmep = 1u << 7, kBmi2 = 1u << 8,
                   kErms = 1u << 9, kSmap = 1u << 20;
constexpr uint32_t kUmip = 1u << 2, kRdpid = 1u << 22;
// leaf 0x80000001 EDX / ECX
constexpr uint32_t kSyscall = 1u << 11, kNx = 1u << 20, kPage1g = 1u << 26,
                   kRdtscp = 1u << 27, kLm = 1u << 29;
constexpr uint32_t kLahf = 1u << 0, kAbm = 1u << 5;
}  // namespace feat

struct Core final : public Cpu {
  // ---- hot state: keep first ----
  uint64_t r[18] = {};  // GPRs, zero slot, RIP
  // Lazy flags (flags.h): result, operands, operation.
  uint64_t lf_res = 0, lf_a = 0, lf_b = 0;
  uint32_t lf_op = 0;
  // The two event words side by side on an 8-byte boundary: compiled code tests both with
  // one load (jit.cc).
  alignas(8) uint32_t sync_events = 0;
  std::atomic<uint32_t> async_events{0};
  uint64_t rfl = fl::kFixed1;  // RFLAGS; arithmetic bits valid only when lf_op == kLfNone
  TlbEntry* tlb = nullptr;     // tlbs[0] (supervisor) or tlbs[1] (user), by CPL
  TlbCold* tlbx_cur = nullptr;  // the cold halves of that set (tlbx[0] or tlbx[1])
  uint64_t seg_base[kSegCount] = {};  // effective bases (0 for ES/CS/SS/DS in 64-bit mode)
  uint64_t rd_lo[kSegCount] = {}, rd_hi[kSegCount] = {};
  uint64_t wr_lo[kSegCount] = {}, wr_hi[kSegCount] = {};
  bool segcheck = true;   // false in 64-bit mode: no limit checks
  uint64_t la_mask = 0xFFFFFFFF;  // linear-address width outside 64-bit mode
  uint64_t retired = 0;           // instructions retired
  uint64_t budget_end = 0;
  const Block* cur_block = nullptr;   // block being executed, or nullptr between blocks
  const Insn* cur = nullptr;          // instruction being executed
  uint64_t cur_entry_rip = 0;         // RIP of cur_block's first instruction
  bool block_break = false;  // current block was cut short (count by walking)
  // A store hit the code of the running compiled block (jit.h): it stops after the store.
  bool jit_smc = false;
  bool jit_active = false;  // compiled code is running (exec.cc)
  // A compiled block left through an exit whose chain slot is empty or names another
  // block: the address of that slot (a Block*), bit 0 set when the compiled code checks
  // the slot against the execution TLB. The run loop stores the next block there (jit.h).
  uintptr_t chain_slot = 0;
  bool step_tf = false;      // the stepped instruction started with TF=1 (#DB after it)
  // Hardware breakpoints (debug.cc): DR0-3 enabled in DR7 as instruction (RW=00) or data
  // (RW=01 write, RW=11 read/write) breakpoints; data hits of the running instruction.
  uint8_t bp_exec = 0, bp_data = 0, bp_hits = 0;
  uint8_t bp_held = 0;  // data breakpoints hit by MOV SS/POP SS, reported after the next insn
  bool rf_step = false;      // the stepped instruction started with RFLAGS.RF=1

  // ---- mode ----
  int cpl = 0;
  int code_size = 16;   // 16, 32 or 64: default operand/address size of CS
  int stack_size = 16;  // SS.B: 16 or 32, or 64 in 64-bit mode
  uint32_t mode_key = 0;  // decode mode of blocks (code size, PE, VM)

  // ---- system state ----
  SegReg seg[kSegCount];
  SegReg ldtr, tr;
  uint64_t gdt_base = 0, idt_base = 0;
  uint32_t gdt_limit = 0xFFFF, idt_limit = 0xFFFF;
  uint64_t cr0 = 0x60000010, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
  uint64_t dr[8] = {};
  uint64_t pdpte[4] = {};  // PAE PDPTE registers, loaded on CR3 write / paging enable

  // MSRs kept by the CPU.
  uint64_t msr_star = 0, msr_lstar = 0, msr_cstar = 0, msr_sfmask = 0;
  uint64_t msr_kernel_gs = 0, msr_tsc_aux = 0;
  uint64_t msr_sysenter_cs = 0, msr_sysenter_esp = 0, msr_sysenter_eip = 0;
  uint64_t msr_pat = 0x0007040600070406ull;
  int64_t tsc_offset = 0;
  uint64_t msr_mtrr_def = 0, msr_mtrr_fixed[11] = {}, msr_mtrr_var[16] = {};
  uint64_t msr_misc_enable = 1;  // fast strings
  uint64_t msr_hwcr = 0, msr_de_cfg = 0;  // AMD model MSRs (msr_model.cc)
  uint64_t msr_mcg_status = 0;            // machine-check globals (msr_model.cc)
  uint64_t xcr0 = 1;

  // ---- event state ----
  bool halted = false;
  bool irq_wanted = false;  // notify_interrupt seen; re-polled when IF allows
  bool nmi_pending = false;
  bool nmi_blocked = false;  // NMI handler running (until IRET)
  Fault injected;            // inject_exception() request
  bool inject_nmi_req = false;
  Fault fault;               // the fault being raised
  // Exception-delivery nesting (SDM vol. 3, 6.15 table 6-5).
  int delivering = -1;       // vector being delivered, -1 when none
  bool shutdown = false;
  uint32_t exit_controls = 0;               // exit_ctl bits (cpu.h)
  StopReason exit_stop = StopReason::kBudget;  // with ev::kExitStop: what run() returns
  std::jmp_buf jb;
  char errbuf[160] = {};

  // ---- FPU / SSE (x87, MMX and SSE families) ----
  FpuState fpu;

  // ---- environment ----
  PhysMem* mem = nullptr;
  CpuHost* host = nullptr;
  const std::atomic<uint64_t>* code_epoch = nullptr;  // PhysMem's code epoch
  uint64_t map_gen_seen = 0;                            // PhysMem::map_gen() last run() saw
  int vcpu_id = 0;
  BlockCache* blocks = nullptr;
  TlbEntry tlbs[2][kTlbSize];
  TlbCold tlbx[2][kTlbSize];  // cold halves of tlbs, same indices
  WalkCacheEntry wcache[kWalkCacheSize];
  // Cold half of the current privilege class's entry for linear la.
  TlbCold& tlb_cold(uint64_t la) { return tlbx_cur[(la >> 12) & (kTlbSize - 1)]; }
  // Indices of the entries of each set filled since they were last flushed, non-global and
  // global fills apart: a flush costs the entries it may clear, not the size of the TLB (a
  // CR3 write keeps the kernel's global entries without visiting them).
  uint16_t tlb_filled[2][kTlbSize];
  uint32_t tlb_nfilled[2] = {0, 0};
  uint16_t tlb_filled_g[2][kTlbSize];
  uint32_t tlb_nfilled_g[2] = {0, 0};
  bool tlb_has_global = false;
  CpuidEntry* cpuid_table = nullptr;
  size_t cpuid_count = 0;
  CpuFeatures feat;  // effective feature words of cpuid_table
  bool vendor_intel = false;
  bool apic_enabled = true;  // IA32_APIC_BASE.EN: CPUID.1:EDX.APIC follows it

  // CPUID lookup with the per-vCPU dynamic fields (APIC ID, OSXSAVE) filled in (cpuid.cc).
  void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) const;
  // MSRs the CPU keeps (msr.cc): kOk, kFault (#GP), or kUnknown (ask the host).
  enum class MsrResult { kOk, kFault, kUnknown };
  MsrResult msr_read(uint32_t index, uint64_t* value);
  MsrResult msr_write(uint32_t index, uint64_t value);
  // Model-specific MSRs of the presented processor model (msr_model.cc), asked after the
  // architectural ones.
  MsrResult model_msr_read(uint32_t index, uint64_t* value);
  MsrResult model_msr_write(uint32_t index, uint64_t value);
  // CR writes with their checks and side effects (system family; raise #GP on bad values).
  void write_cr0(uint64_t v);
  void write_cr3(uint64_t v);
  void write_cr4(uint64_t v);
  bool write_efer(uint64_t v);

  Core(PhysMem& m, CpuHost& h, int id);
  ~Core() override;

  // Cpu interface (state.cc, exec.cc).
  void reset() override;
  void get_state(x86::CpuState* out) const override;
  void set_state(const x86::CpuState& in) override;
  bool get_msr(uint32_t index, uint64_t* value) override;
  bool set_msr(uint32_t index, uint64_t value) override;
  void set_cpuid(const CpuidEntry* entries, size_t count) override;
  void get_cpuid(std::vector<CpuidEntry>* entries) const override;
  void set_apic_enabled(bool enabled) override { apic_enabled = enabled; }
  StopReason run(uint64_t max_instructions) override;
  uint64_t instructions_retired() const override { return retired; }
  void request_stop() override;
  void notify_interrupt() override;
  void inject_exception(int vector, bool has_error_code, uint32_t error_code) override;
  void inject_nmi() override;
  void invalidate_code(uint64_t gpa, uint64_t length) override;
  const char* error_message() const override { return errbuf; }
  void set_exit_controls(uint32_t controls) override { exit_controls = controls; }

  // ---- helpers shared by the families ----
  uint64_t& rip() { return r[kRegRip]; }
  bool long_mode() const { return (efer & efer::LMA) != 0; }
  bool mode64() const { return code_size == 64; }
  bool real_mode() const { return (cr0 & cr0::PE) == 0; }
  bool v86() const { return (rfl & fl::VM) != 0; }
  bool protected_mode() const { return (cr0 & cr0::PE) && !(rfl & fl::VM); }
  int iopl() const { return int((rfl >> 12) & 3); }

  // Raise a guest exception: never returns (longjmp to the run loop).
  [[noreturn]] void raise_fault(int vector, uint32_t error = 0, bool has_error = false);
  [[noreturn]] void gp(uint32_t e = 0) { raise_fault(vec::GP, e, true); }
  [[noreturn]] void ud() { raise_fault(vec::UD); }
  [[noreturn]] void internal_error(const char* msg);

  // RFLAGS with lazy bits materialized, and a full write (flags.h).
  inline uint64_t get_rflags();
  void set_rflags(uint64_t v, uint64_t mask);  // state.cc: handles IF/TF/VM side effects

  // Mode bookkeeping after CR0/EFER/CS/SS changes (state.cc).
  void update_mode();
  void update_seg_checks(int s);
  void set_cpl(int new_cpl);

  // Memory (mem.h inline fast paths; mmu.cc slow paths).
  template <class T> inline T rd(int s, uint64_t ea);
  template <class T> inline void wr(int s, uint64_t ea, T v);
  inline uint64_t lin(int s, uint64_t ea, unsigned size, bool write);
  [[noreturn]] void seg_fault(int s);
  uint64_t read_slow(uint64_t la, unsigned size, int s);
  void write_slow(uint64_t la, unsigned size, uint64_t v, int s);
  // Host pointer for a read-modify-write of `size` bytes at linear la, or nullptr when the
  // access must go through read_slow/write_slow (MMIO, page crossing, code page).
  uint8_t* rmw_ptr(uint64_t la, unsigned size, int s);
  // Supervisor-implicit linear accesses (descriptor tables, TSS, IDT): no CPL check.
  uint64_t read_sys(uint64_t la, unsigned size);
  void write_sys(uint64_t la, unsigned size, uint64_t v);
  // Physical accesses (page walks, DMA-free helpers).
  uint64_t phys_read(uint64_t pa, unsigned size);
  void phys_write(uint64_t pa, unsigned size, uint64_t v);

  // Paging (mmu.cc).
  enum Access : int { kRead = 0, kWrite = 1, kExec = 2 };
  // Translate linear → physical, raising #PF. `user` is the privilege of the access.
  uint64_t translate(uint64_t la, int access, bool user, bool fill_tlb);
  // Large-page walk cache lookup (mmu.cc); `walk` is translate's walk record.
  bool walk_cache_hit(uint64_t la, int access, bool user, void* walk);
  void tlb_flush(bool include_global);
  // Recompute bp_exec/bp_data and ev::kHwBreak from DR0-3/DR7 (debug.cc).
  void update_breakpoints();
  // Data breakpoints: does the page hold a watched byte; record hits of an access.
  bool page_watched(uint64_t vpage) const;
  void watch_access(uint64_t la, unsigned size, bool write);
  void tlb_flush_page(uint64_t la);
  void tlb_drop_if_maps(int set, uint16_t k, uint64_t la);
  // Physical page `ppage` now holds decoded code (its code flag went from 0 to 1): drop the
  // write tags of the TLB entries that map it. True when one was usable for writing.
  bool tlb_unwrite_page(uint64_t ppage);
  // Another vCPU made `ppage` a code page: drop write tags for it before the next block.
  void queue_code_page(uint64_t ppage);
  // Handle the pages queued by other vCPUs (aev::kCodePages). A page this vCPU could still
  // write through a tag filled before the flag was set may have been written since the
  // other vCPU decoded it: its generation moves, so that decoded code is looked at again.
  void take_code_pages();
  std::mutex code_pages_mu;
  std::vector<uint64_t> code_pages_queued;
  void load_pdptes();
  bool canonical(uint64_t la) const { return uint64_t(int64_t(la << 16) >> 16) == la; }

  // Stack helpers (ops.h).
  uint64_t rsp_mask() const {
    return stack_size == 64 ? ~uint64_t{0} : stack_size == 32 ? 0xFFFFFFFFull : 0xFFFFull;
  }

  // Instruction-set registries and decoded-code cache (exec.cc).
  void flush_blocks();
  void tsc_write(uint64_t v);
  uint64_t tsc_read() const;

  // Current instruction helpers for families that need the block context.
  // A store hit physical page `pa_page` holding decoded code: if the running block came
  // from that page, cut it after the current instruction (exec.cc).
  void end_block_after_current(uint64_t pa_page);
};

}  // namespace tsvirt::soft
