// Block compiler: decoded 64-bit blocks → host x86-64 code. See jit.h for the contract.
//
// Generated code keeps the guest state where the interpreter keeps it (Core::r, the lazy
// flag fields, Core::rip at the block's first instruction); rbx holds the Core pointer and
// rax/rcx/rdx/r8/r9/r11 are scratch; the other registers cache guest registers (RegCache).
// Per instruction it emits one of:
//  - an inline form (see the patterns in Compiler::inline_insn);
//  - a call of the instruction's handler on a private copy of its Insn followed by a
//    marker Insn whose handler returns at once (so the handler's tail call to "the next
//    instruction" comes back here instead of running the rest of the block).
// An inline memory access checks the software TLB first and changes nothing before that
// check passes; on a miss it calls the handler for the whole instruction (the same call
// as above), which takes the slow path, faults or exits as the interpreter would.
// Core::cur is set before every call that may fault, so the run loop's fault accounting
// (exec.cc) is unchanged.
//
// Condition codes: the compiler remembers the last flag-writing inline instruction of the
// block. A Jcc/CMOVcc/SETcc right after it uses the host flags of the same host operation;
// later in the block it redoes the operation on the recorded lazy operands (one CMP, ADD,
// TEST, INC or DEC); after a handler call or at the block's start it asks eval_cond.
#include "soft/jit.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "soft/flagopt.h"
#include "soft/jit_x64.h"
#include "soft/phys_memory.h"
#include "soft/ops.h"

namespace tsvirt::soft {

using namespace x64;

static_assert(offsetof(TlbEntry, tag_r) == 0 && offsetof(TlbEntry, tag_w) == 8 &&
                  offsetof(TlbEntry, addend) == 16 && offsetof(TlbEntry, code) == 24 &&
                  sizeof(TlbEntry) == 32,
              "the inline TLB lookup knows this layout");
static_assert(sizeof(TlbEntry) == 32, "the inline TLB index is (la >> 12) * 32");

// ---- arena ----

namespace {
constexpr size_t kArenaBytes = size_t{64} << 20;
}

JitArena::JitArena() {
  void* p = mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) {
    base_ = static_cast<uint8_t*>(p);
    cap_ = kArenaBytes;
  }
}

JitArena::~JitArena() {
  if (base_ != nullptr) munmap(base_, cap_);
}

uint32_t jit_threshold() {
  static const uint32_t value = [] {
    const char* s = std::getenv("TSVIRT_SOFT_JIT");
    if (s == nullptr || *s == 0) return uint32_t{8};
    if (std::strcmp(s, "off") == 0) return uint32_t{0};
    char* end = nullptr;
    const unsigned long v = std::strtoul(s, &end, 10);
    return (end != nullptr && *end == 0 && v < 1000000) ? uint32_t(v) : uint32_t{8};
  }();
  return value;
}

// ---- helpers the generated code calls ----

namespace {

// With TSVIRT_SOFT_JIT_STATS=1: how often compiled code called each opcode's handler
// (map, opcode), printed to stderr at exit, to find what is worth compiling inline.
uint64_t g_callouts[4][256];
// Compiled blocks by the number of blocks in their trace (1 = the block alone).
uint64_t g_traces[5];
bool stats_enabled() {
  static const bool on = [] {
    const char* s = std::getenv("TSVIRT_SOFT_JIT_STATS");
    if (s == nullptr || std::strcmp(s, "1") != 0) return false;
    std::atexit([] {
      struct Row { uint64_t n; int map, op; };
      Row rows[4 * 256];
      int nrows = 0;
      uint64_t total = 0;
      for (int m = 0; m < 4; m++) {
        for (int o = 0; o < 256; o++) {
          if (g_callouts[m][o] != 0) rows[nrows++] = {g_callouts[m][o], m, o};
          total += g_callouts[m][o];
        }
      }
      std::sort(rows, rows + nrows, [](const Row& x, const Row& y) { return x.n > y.n; });
      std::fprintf(stderr, "soft jit: compiled %llu blocks alone, traces of 2/3/4 blocks: %llu/%llu/%llu\n",
                   static_cast<unsigned long long>(g_traces[1]), static_cast<unsigned long long>(g_traces[2]),
                   static_cast<unsigned long long>(g_traces[3]), static_cast<unsigned long long>(g_traces[4]));
      std::fprintf(stderr, "soft jit: %llu handler calls from compiled code\n", static_cast<unsigned long long>(total));
      for (int r = 0; r < nrows && r < 40; r++) {
        std::fprintf(stderr, "  map %d op %02x: %llu\n", rows[r].map, rows[r].op, static_cast<unsigned long long>(rows[r].n));
      }
    });
    return true;
  }();
  return on;
}

// Marker after a called instruction: its handler's "continue with the next instruction"
// lands here and returns to the compiled code.
const Insn* jit_return(Core*, const Insn* i) { return i; }

uint64_t jit_cond(Core* c, uint64_t cc) { return eval_cond(c, unsigned(cc)) ? 1 : 0; }
uint64_t jit_cf(Core* c) { return get_cf(c) ? 1 : 0; }
void jit_materialize(Core* c) { materialize_flags(c); }
[[noreturn]] void jit_gp0(Core* c) { c->gp(0); }

// Offsets into Core, measured once (Core is not standard-layout, so no offsetof).
struct CoreLayout {
  int32_t r, lf_res, lf_a, lf_b, lf_op, tlb, tlbx_cur, seg_base, cur, block_break, jit_smc;
  int32_t rfl, retired, budget_end, sync_events, async_events, code_epoch, cur_block,
      cur_entry_rip, chain_slot;
};

CoreLayout layout_of(const Core* c) {
  const auto* base = reinterpret_cast<const uint8_t*>(c);
  static_assert(sizeof(c->async_events) == 4 && alignof(Core) >= 8, "the event words are read as one");
  // core.h declares async_events right after the 8-byte aligned sync_events.
  if (reinterpret_cast<const uint8_t*>(&c->async_events) != reinterpret_cast<const uint8_t*>(&c->sync_events) + 4 ||
      (reinterpret_cast<uintptr_t>(&c->sync_events) & 7) != 0) {
    std::abort();
  }
  auto at = [&](const void* p) { return int32_t(static_cast<const uint8_t*>(p) - base); };
  return {at(&c->r[0]), at(&c->lf_res), at(&c->lf_a), at(&c->lf_b), at(&c->lf_op), at(&c->tlb),
          at(&c->tlbx_cur),          at(&c->seg_base[0]), at(&c->cur), at(&c->block_break), at(&c->jit_smc),
          at(&c->rfl), at(&c->retired), at(&c->budget_end), at(&c->sync_events), at(&c->async_events),
          at(&c->code_epoch), at(&c->cur_block), at(&c->cur_entry_rip),
          at(&c->chain_slot)};
}

bool fits32(int64_t v) { return v == int64_t(int32_t(v)); }
uint64_t size_mask(int size) { return size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1; }
uint32_t size_idx(int size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

// Per instruction at most: a miss stub, a #GP stub, and one SMC stub per handler call.
constexpr int kMaxStubs = 4 * kMaxTraceInsns + 8;

// Host registers that hold guest registers inside a block. The first five are callee-saved
// and survive helper calls; the last three are not: they are written back and dropped
// before the compiled code calls a helper (spill_volatile). Handler calls write back and
// drop everything anyway.
constexpr int kCacheRegs[] = {r12, r13, r14, r15, rbp, rsi, rdi, r10};
constexpr int kNumCache = 8;
constexpr int kFirstVolatile = 5;

// Which guest registers (0-15) are in which host registers at a point of the code, and
// which of those were written since they were loaded. The guest register file in Core
// stays the authority at every handler call, fault and block exit.
struct RegCache {
  int8_t slot_of[16];             // guest → cache slot, or -1
  int8_t guest_of[kNumCache];     // cache slot → guest, or -1
  bool dirty[kNumCache];
  uint32_t used[kNumCache];       // last use (eviction picks the oldest)
  RegCache() {
    std::memset(slot_of, -1, sizeof(slot_of));
    std::memset(guest_of, -1, sizeof(guest_of));
    std::memset(dirty, 0, sizeof(dirty));
    std::memset(used, 0, sizeof(used));
  }
};

// The prologue (push rbx rbp r12-r15; align; mov rbx, rdi) is the same for every block, so
// chained blocks jump past it: they share the frame of the block the run loop called.
size_t prologue(Asm& a) {
  uint8_t* start = a.here();
  a.push(rbx);
  a.push(rbp);
  a.push(r12);
  a.push(r13);
  a.push(r14);
  a.push(r15);
  a.alu_imm(kAluSub, 8, rsp, 8);
  a.mov(rbx, rdi);
  return size_t(a.here() - start);
}
constexpr size_t kPrologueBytes = 17;

class Compiler {
 public:
  // segs[0..nsegs): the block, then the blocks its Jccs lead to (a trace: see jit_compile).
  // taken[s]: segment s+1 is where segment s's Jcc goes when taken (else its fall-through).
  // `head`: the guest registers to hold in host registers where a self-loop goes back to
  // (loop_state() of an earlier compile of the same blocks), or nullptr.
  Compiler(Core* c, const Block* const* segs, const bool* taken, int nsegs, uint8_t* code, size_t cap,
           Insn* pairs, const RegCache* head = nullptr)
      : c_(c), segs_(segs), taken_(taken), nsegs_(nsegs), b_(segs[0]), head_(head), in_(segs[0]->insns),
        a_(code, cap), pairs_(pairs), L_(layout_of(c)) {}

  // Returns false when the block cannot be compiled (the code is then not used).
  bool compile() {
    if (prologue(a_) != kPrologueBytes) return false;
    if (head_ != nullptr) {
      // Every entry (the run loop's and chained ones) loads the loop's registers; the loop
      // itself comes back to body_ with them already in place.
      reload(*head_);
      rc_ = *head_;
    }
    a_.bind(body_);
    for (int seg = 0; seg < nsegs_; seg++) {
      if (seg > 0) enter_next_segment(seg);
      liveness();
      const unsigned n = b_->ninsn;
      // The last segment's end, or a Jcc whose fall-through is the next segment.
      fall_into_next_ = false;
      bool ended = false;
      for (unsigned k = 0; k < n; k++) {
        ended = false;
        if (k + 1 == n && seg + 1 < nsegs_) fall_into_next_ = true;
        if (!inline_insn(k, &ended)) {
          if (fall_into_next_) return false;  // jit_compile picked only Jcc it inlines
          writeback(rc_);
          rc_ = RegCache{};  // the handler may change any guest register
          lf_op_known_ = false;
          call_insn(k, ends_by_branch(in_[k]));
          fs_.known = false;
          fs_.host_live = false;
        }
      }
      if (seg + 1 < nsegs_) continue;
      if (!ended) {
        // Terminator: the block ran off its end (page end, length limit).
        a_.alu_imm(kAluAdd, 8, greg(kRegRip * 8), int32_t(in_[n].off) + rip_delta_);
        exit_chain(0, !same_page(in_[n].off));
      }
    }
    for (int s = 0; s < nstubs_; s++) {
      set_segment(stub(s).seg);
      synced_seg_ = stub(s).synced_seg;
      rip_delta_ = stub(s).rip_delta;
      pending_ = stub(s).pending;
      emit_stub(stub(s));
    }
    for (int s = 0; s < nstubs_; s++) {
      if (stub(s).entry.spilled || stub(s).resume.spilled) return false;
    }
    return !a_.overflowed();
  }

  size_t code_size() const { return a_.size(); }
  // The register cache where the first self-loop went back to the head (all clean), when
  // there was one and it held any guest register: the head state for a second compile.
  bool loop_state(RegCache* out) const {
    if (!loop_seen_) return false;
    *out = loop_state_;
    bool any = false;
    for (int s = 0; s < kNumCache; s++) {
      out->dirty[s] = false;
      out->used[s] = 0;
      any |= out->guest_of[s] >= 0;
    }
    return any;
  }
  unsigned pairs_used() const { return npairs_; }

 private:
  // What the block's last flag writer was, as far as compile time knows.
  struct FlagState {
    bool known = false;      // the lazy fields hold this writer's operands
    bool host_live = false;  // the host flags are that writer's flags right now
    int kind = 0;            // LfKind
    int size = 0;
    bool plain = true;       // not ADC/SBB: the recorded operands alone give the flags
  };
  // kTaken / kNotTaken: the side of a Jcc that leaves the trace, when the other one
  // continues it.
  enum class StubKind { kCall, kGp, kSmc, kTaken, kNotTaken };
  struct Stub {
    StubKind kind;
    unsigned k;
    int seg = 0;  // the trace segment of instruction k
    Asm::Label entry, resume;
    bool remat = false;  // rebuild the host flags from fs (kCall) before resuming
    FlagState fs;
    // Register cache where the fast path branches here (written back first) and where it
    // resumes (reloaded after the handler), kCall; kGp uses `at` only.
    RegCache at, after;
    bool have_at = false;
    // The compiler's sync() state where the fast path branches here.
    int synced_seg = 0;
    int32_t rip_delta = 0;
    uint32_t pending = 0;
  };

  // ---- small emitters ----
  Mem greg(unsigned byte_off) const { return mem(rbx, L_.r + int32_t(byte_off)); }
  Mem field(int32_t off) const { return mem(rbx, off); }
  // Return to the run loop as is (block_break exits: the run loop counts what retired).
  // The guest registers must be in Core already.
  void exit_raw() {
    a_.alu_imm(kAluAdd, 8, rsp, 8);
    a_.pop(r15);
    a_.pop(r14);
    a_.pop(r13);
    a_.pop(r12);
    a_.pop(rbp);
    a_.pop(rbx);
    a_.ret();
  }
  // The block completed: count it and return to the run loop.
  void exit_counted() {
    a_.alu_imm(kAluAdd, 8, field(L_.retired), int32_t(b_->ninsn + pending_));
    exit_raw();
  }
  void exit() {
    writeback(rc_);
    exit_counted();
  }

  // ---- guest registers through the cache ----
  static bool cacheable(unsigned off) { return (off >> 3) < 16 && (off & 7) == 0; }
  // Emit stores of the dirty cached registers of `rc` (the state is not changed: other
  // paths from the same point still need them).
  void writeback(const RegCache& rc) {
    for (int s = 0; s < kNumCache; s++) {
      if (rc.guest_of[s] >= 0 && rc.dirty[s]) a_.store(8, greg(unsigned(rc.guest_of[s]) * 8), kCacheRegs[s]);
    }
  }
  void reload(const RegCache& rc) {
    for (int s = 0; s < kNumCache; s++) {
      if (rc.guest_of[s] >= 0) a_.load(8, kCacheRegs[s], greg(unsigned(rc.guest_of[s]) * 8));
    }
  }
  // Before calling a helper: no guest register may stay in a caller-saved host register.
  void spill_volatile() {
    for (int s = kFirstVolatile; s < kNumCache; s++) {
      if (rc_.guest_of[s] >= 0) evict(unsigned(rc_.guest_of[s]));
    }
  }
  void evict(unsigned g) {
    if (g >= 16) return;
    const int s = rc_.slot_of[g];
    if (s < 0) return;
    if (rc_.dirty[s]) a_.store(8, greg(g * 8), kCacheRegs[s]);
    rc_.slot_of[g] = -1;
    rc_.guest_of[s] = -1;
    rc_.dirty[s] = false;
  }
  // Host register holding guest register g (loaded from Core when `load`).
  int acquire(unsigned g, bool load) {
    int s = rc_.slot_of[g];
    if (s < 0) {
      s = 0;
      for (int t = 0; t < kNumCache; t++) {
        if (rc_.guest_of[t] < 0) {
          s = t;
          break;
        }
        if (rc_.used[t] < rc_.used[s]) s = t;
      }
      if (rc_.guest_of[s] >= 0) evict(unsigned(rc_.guest_of[s]));
      rc_.slot_of[g] = int8_t(s);
      rc_.guest_of[s] = int8_t(g);
      rc_.dirty[s] = false;
      if (load) a_.load(8, kCacheRegs[s], greg(g * 8));
    }
    rc_.used[s] = ++tick_;
    return kCacheRegs[s];
  }
  // dst = guest register at byte offset `off` (Insn::ro/mo layout), zero- or (`sign`)
  // sign-extended to 64 bits.
  void rd(int size, int dst, unsigned off, bool sign = false) {
    if (!cacheable(off)) {
      evict(off >> 3);
      if (sign) a_.load_sx(size, dst, greg(off));
      else a_.load(size, dst, greg(off));
      return;
    }
    const int h = acquire(off >> 3, true);
    if (size == 8) a_.mov(dst, h);
    else if (sign) a_.movsx(size, dst, h);
    else if (size == 4) a_.mov32(dst, h);
    else a_.movzx(size, dst, h);
  }
  // Guest register at `off` = src (`size` bytes; a 32-bit write zero-extends, 8/16-bit
  // writes merge). For size 4, src holds the value zero-extended.
  void wr(int size, unsigned off, int src) {
    if (!cacheable(off)) {
      evict(off >> 3);
      a_.store(size == 4 ? 8 : size, greg(off), src);
      return;
    }
    const int h = acquire(off >> 3, size < 4);
    if (size == 8) a_.mov(h, src);
    else if (size == 4) a_.mov32(h, src);
    else a_.mov_part(size, h, src);
    rc_.dirty[rc_.slot_of[off >> 3]] = true;
  }
  void wr_imm(int size, unsigned off, int32_t imm) {
    if (size >= 4) {
      a_.mov_imm(rax, size == 4 ? uint64_t(uint32_t(imm)) : uint64_t(int64_t(imm)));
      wr(size, off, rax);
      return;
    }
    if (!cacheable(off)) {
      evict(off >> 3);
      a_.store_imm(size, greg(off), imm);
      return;
    }
    a_.mov_imm(rax, uint64_t(uint32_t(imm)));
    wr(size, off, rax);
  }
  // The block completed with RIP at its successor: count it, then jump straight into the
  // successor's code when it is compiled, current and nothing waits (events, budget); else
  // return to the run loop, asking it to fill the chain slot when it is empty or, for a
  // checked slot, names another block.
  //
  // An unchecked slot is for a direct branch whose target lies in the page the block
  // starts in: the target's physical address then follows from the block's own, whatever
  // the page tables say. Every other successor (another page, RET, indirect branches) is
  // `checked`: RIP is translated through the execution TLB, exactly as the run loop's
  // lookup would, and must give the chained block's physical address.
  //
  // From a later segment of a trace, Core::cur_block and cur_entry_rip may still name an
  // earlier one (sync()). The run loop reads them to link blocks and fill chain slots; any
  // segment of the trace serves as well there, since all of them lie in the page of the
  // trace's first block (jit_compile) and the pair always names one segment.
  void exit_chain(int slot, bool checked) {
    writeback(rc_);
    chain_tail(slot, checked);
  }
  // Count the block's instructions as retired, then go to `out` when an event waits or the
  // budget could not take another whole trace. The count goes through rax rather than an
  // add to memory followed by a load of the sum: that pair put a store-to-load round trip
  // on the path from every block to the next. Uses rax and rcx.
  void count_and_check(Asm::Label& out) {
    a_.load(8, rax, field(L_.retired));
    a_.alu_imm(kAluAdd, 8, rax, int32_t(b_->ninsn + pending_));
    a_.store(8, field(L_.retired), rax);
    a_.load(8, rcx, field(L_.sync_events));  // and async_events, the next four bytes
    a_.test(8, rcx, rcx);
    a_.jcc(kNE, out);
    a_.alu_imm(kAluAdd, 8, rax, kMaxTraceInsns);
    a_.alu(kAluCmp, 8, rax, field(L_.budget_end));
    a_.jcc(kA, out);
  }
  // exit_chain with the guest registers already in Core.
  void chain_tail(int slot, bool checked) {
    Asm::Label out, fill;
    count_and_check(out);
    const uintptr_t slot_addr = reinterpret_cast<uintptr_t>(&b_->chain[slot]) | (checked ? 1 : 0);
    a_.mov_imm(rcx, uint64_t(slot_addr & ~uintptr_t{1}));
    a_.load(8, rax, mem(rcx));
    a_.test(8, rax, rax);
    a_.jcc(kE, fill);
    if (checked) {
      // The execution TLB entry of RIP's page (Core::tlb_cold) must map it to the chained
      // block's physical address.
      static_assert(sizeof(TlbCold) == 24, "TLB cold entries are indexed as 3 * 8 bytes");
      a_.load(8, r8, greg(kRegRip * 8));
      a_.mov(r9, r8);
      a_.shr(8, r9, 12);
      a_.alu_imm(kAluAnd, 4, r9, kTlbSize - 1);
      a_.lea(r9, Mem{r9, 0, r9, 1});
      a_.load(8, r11, field(L_.tlbx_cur));
      a_.lea(r11, Mem{r11, 0, r9, 3});
      a_.mov(rdx, r8);
      a_.alu_imm(kAluAnd, 8, rdx, int32_t(kPageMask));
      a_.alu(kAluCmp, 8, rdx, mem(r11, int32_t(offsetof(TlbCold, tag_x))));
      a_.jcc(kNE, out);
      a_.alu_imm(kAluAnd, 4, r8, 0xFFF);
      a_.alu(kAluOr, 8, r8, mem(r11, int32_t(offsetof(TlbCold, pa))));
      a_.alu(kAluCmp, 8, r8, mem(rax, int32_t(offsetof(Block, pa))));
      a_.jcc(kNE, fill);
    }
    // The successor's mode needs no check: the run loop fills a slot only with a block of
    // the owner's mode, and nothing in a compiled block changes the mode without ending it
    // through the run loop. Core::cur needs no update either: it is set before anything
    // that can fault or stop a block.
    a_.load(8, rdx, mem(rax, int32_t(offsetof(Block, jit))));
    a_.test(8, rdx, rdx);
    a_.jcc(kE, out);
    a_.load(8, r8, field(L_.code_epoch));
    a_.load(8, r8, mem(r8));
    a_.alu(kAluCmp, 8, r8, mem(rax, int32_t(offsetof(Block, checked_epoch))));
    a_.jcc(kNE, out);
    a_.store(8, field(L_.cur_block), rax);
    a_.load(8, r8, greg(kRegRip * 8));
    a_.store(8, field(L_.cur_entry_rip), r8);
    a_.lea(rdx, mem(rdx, kPrologueBytes));
    a_.jmp(rdx);
    a_.bind(fill);
    a_.mov_imm(rcx, uint64_t(slot_addr));
    a_.store(8, field(L_.chain_slot), rcx);
    a_.bind(out);
    exit_raw();
  }
  // A branch back to the block's own first instruction: RIP is unchanged, so is the block,
  // its mode and its page. Count the pass and loop while nothing waits (events, budget) and
  // no code page changed (the epoch, as a chained entry checks); else return to the run loop.
  //
  // From a later segment of a trace the branch goes back to the trace's first block (a
  // loop of several blocks): RIP, cur_entry_rip and cur_block become that block's first.
  //
  // With a loop head state (head_), the registers it names are put back into their host
  // registers before the jump (those already there stay: no store-to-load round trip for
  // the values the loop carries); without, body_ starts with nothing cached.
  void exit_self_loop(int64_t target) {
    if (!loop_seen_) {
      loop_seen_ = true;
      loop_state_ = rc_;
    }
    writeback(rc_);
    if (synced_seg_ != 0 || rip_delta_ != 0) {
      // Core's RIP is the first byte of the segment it was last brought up to (sync()).
      a_.load(8, r11, greg(kRegRip * 8));
      a_.lea(r11, mem(r11, int32_t(target) + rip_delta_));
      a_.store(8, greg(kRegRip * 8), r11);
      if (synced_seg_ != 0) {
        a_.store(8, field(L_.cur_entry_rip), r11);
        a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(segs_[0])));
        a_.store(8, field(L_.cur_block), rax);
      }
    }
    Asm::Label out;
    count_and_check(out);
    a_.load(8, rax, field(L_.code_epoch));
    a_.load(8, rax, mem(rax));
    a_.mov_imm(rcx, uint64_t(reinterpret_cast<uintptr_t>(&segs_[0]->checked_epoch)));
    a_.alu(kAluCmp, 8, rax, mem(rcx));
    if (head_ == nullptr) {
      a_.jcc(kE, body_);
    } else {
      a_.jcc(kNE, out);
      for (int s = 0; s < kNumCache; s++) {
        const int g = head_->guest_of[s];
        if (g >= 0 && rc_.guest_of[s] != g) a_.load(8, kCacheRegs[s], greg(unsigned(g) * 8));
      }
      a_.jmp(body_);
    }
    a_.bind(out);
    exit_raw();
  }
  // Whether a direct branch to `target` (an offset from the block's first byte) stays in
  // the page the block starts in: then its chain slot needs no check (exit_chain).
  bool same_page(int64_t target) const {
    const int64_t at = int64_t(b_->pa & 0xFFF) + target;
    return at >= 0 && at < 0x1000;
  }
  // Store a result of `size` into a guest register (32-bit results zero-extend).

  // The fast path of stub s's instruction ends here: the stub resumes here too, with the
  // register cache reloaded to this point's state.
  void resume(Stub* s) {
    a_.bind(s->resume);
    s->after = rc_;
    lf_op_known_ = false;  // the handler in the stub may have recorded another operation
  }

  // resume() for an instruction that may change the flags: after its handler ran in the
  // stub, the host flags are rebuilt from the lazy fields when those give them exactly
  // (no carry-in), so the join keeps what the fast path knows about them.
  void resume_flags(Stub* s) {
    s->remat = fs_.known && fs_.plain;
    s->fs = fs_;
    if (!s->remat) fs_.host_live = false;
    resume(s);
  }

  // r8 = CF|OF (RFLAGS positions) when the host's last multiply set CF, else 0.
  void overflow_to_r8() {
    a_.setcc(kB, r8);
    a_.movzx(1, r8, r8);
    a_.neg(4, r8);
    a_.alu_imm(kAluAnd, 4, r8, int32_t(fl::CF | fl::OF));
  }

  Stub* new_stub(StubKind kind, unsigned k) {
    if (nstubs_ >= kMaxStubs) {
      overflow_ = true;  // the compile fails as a whole: code may already be emitted
      return nullptr;
    }
    Stub* s = new (&stub(nstubs_++)) Stub();
    s->kind = kind;
    s->k = k;
    s->seg = seg_;
    s->synced_seg = synced_seg_;
    s->rip_delta = rip_delta_;
    s->pending = pending_;
    return s;
  }

  // Core::cur = &insns[k]: the instruction a fault, a REP slice or a handler's look at the
  // block refers to (exec.cc counts retired instructions from it).
  void set_cur(unsigned k) {
    a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&in_[k])));
    a_.store(8, field(L_.cur), rax);
  }

  // Call insns[k]'s handler; returns to the run loop when it ended the block.
  // Instructions whose handlers end the block only by setting RIP to a new target in the
  // same mode (indirect CALL/JMP near, RET imm16): their exit may chain, checked.
  static bool ends_by_branch(const Insn& i) {
    if ((i.op >> 8) != 0) return false;
    const unsigned o = i.op & 0xFF;
    return o == 0xC2 || (o == 0xFF && ((i.reg & 7) == 2 || (i.reg & 7) == 4));
  }
  // Call instruction k's handler. `chain`: when it ends the block, the exit may chain
  // (ends_by_branch; only from the block's main path, where the registers are in Core).
  void call_insn(unsigned k, bool chain = false) {
    sync();  // the handler sees RIP, cur_block and the count as the interpreter would
    Insn* pair = pairs_ + 2 * npairs_++;
    pair[0] = in_[k];
    pair[1] = Insn{};
    pair[1].fn = jit_return;
    pair[1].off = in_[k + 1].off;
    if (stats_enabled()) {
      const Insn& ci = in_[k];
      const unsigned detail = (ci.op == 0xC1 || ci.op == 0xF7 || ci.op == 0xF6 || ci.op == 0x83 || ci.op == 0x11 || ci.op == 0xFF || ci.op == 0xD1 || ci.op == 0xD3)
                                  ? 1 + (ci.op & 1) : 0;
      const unsigned idx = detail ? ((ci.reg & 7) << 5) | (is_mem(&ci) ? 16 : 0) | ci.osz : ci.op & 0xFF;
      a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&g_callouts[detail ? 2 + (ci.op == 0xC1 || ci.op == 0xD1 || ci.op == 0xD3 ? 1 : 0) - (ci.op==0xF7||ci.op==0xF6||ci.op==0x83||ci.op==0x11||ci.op==0xFF ? 0 : 0) : (in_[k].op >> 8) & 1][idx & 0xFF])));
      a_.alu_imm(kAluAdd, 8, mem(rax), 1);
    }
    set_cur(k);
    a_.mov(rdi, rbx);
    a_.mov_imm(rsi, uint64_t(reinterpret_cast<uintptr_t>(pair)));
    a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(pair[0].fn)));
    a_.call(rax);
    // nullptr: the handler set RIP (control transfer, REP slice, exit): leave.
    Asm::Label go_on, cut;
    a_.test(8, rax, rax);
    a_.jcc(kNE, go_on);
    a_.cmp_byte_imm(field(L_.block_break), 0);
    a_.jcc(kNE, cut);
    if (chain) {
      chain_tail(0, true);
    } else {
      exit_counted();
    }
    a_.bind(cut);
    exit_raw();
    a_.bind(go_on);
    // A store into this block's own code: stop after this instruction.
    Stub* smc = new_stub(StubKind::kSmc, k);
    if (smc == nullptr) return;
    a_.cmp_byte_imm(field(L_.jit_smc), 0);
    a_.jcc(kNE, smc->entry);
  }

  void emit_stub(Stub& s) {
    a_.bind(s.entry);
    switch (s.kind) {
      case StubKind::kCall:
        writeback(s.at);
        call_insn(s.k);
        // The fast path resumes with Core as far behind as it was: undo the call's sync().
        if (s.pending != 0) a_.alu_imm(kAluSub, 8, field(L_.retired), int32_t(s.pending));
        if (s.rip_delta != 0) a_.alu_imm(kAluSub, 8, greg(kRegRip * 8), s.rip_delta);
        if (s.synced_seg != s.seg) name_block(segs_[s.synced_seg]);
        reload(s.after);
        if (s.remat) remat(s.fs);
        a_.jmp(s.resume);
        break;
      case StubKind::kGp:
        writeback(s.at);
        sync();
        set_cur(s.k);
        a_.mov(rdi, rbx);
        a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&jit_gp0)));
        a_.call(rax);
        break;
      case StubKind::kTaken:
        rc_ = s.at;
        if (!take(s.k)) overflow_ = true;
        break;
      case StubKind::kNotTaken: {
        rc_ = s.at;
        const int64_t after = int64_t(in_[s.k].off) + in_[s.k].len;
        a_.alu_imm(kAluAdd, 8, greg(kRegRip * 8), int32_t(after) + rip_delta_);
        exit_chain(1, !same_page(after));
        break;
      }
      case StubKind::kSmc:
        sync();  // (created right after a handler call: nothing left to do)
        a_.store_imm(1, field(L_.jit_smc), 0);
        a_.alu_imm(kAluAdd, 8, greg(kRegRip * 8), int32_t(in_[s.k + 1].off));
        set_cur(s.k + 1);
        a_.store_imm(1, field(L_.block_break), 1);
        exit_raw();
        break;
    }
  }

  // rax = effective address of insns[k]'s memory operand (+ FS/GS base when `seg`).
  // A RIP-relative displacement is relative to the current segment's first byte, Core's RIP
  // to the segment sync() last brought it to.
  int64_t disp_of(const Insn& i) const { return i.disp + (i.base == kRegRip ? rip_delta_ : 0); }
  bool ea_ok(const Insn& i) const { return fits32(disp_of(i)) && (i.asz == 4 || i.asz == 8); }
  bool ea(const Insn& i, bool seg) {
    if (!ea_ok(i)) return false;
    ea_to(i, rax);
    if (seg && (i.seg == FS || i.seg == GS)) a_.alu(kAluAdd, 8, rax, field(L_.seg_base + 8 * i.seg));
    return true;
  }
  // dst = the effective address (no segment base), read straight from the host registers
  // that hold the address registers. dst may be one of them only when there is a base.
  void ea_to(const Insn& i, int dst) {
    const int32_t disp = int32_t(disp_of(i));
    const bool has_base = i.base != kRegZero, has_index = i.index != kRegZero;
    int hb = has_base ? in_reg(8, i.base * 8u, rax) : -1;
    const int hx = has_index ? in_reg(8, i.index * 8u, rcx) : -1;
    if (has_index) {
      if (hb < 0) {
        a_.mov_imm(rax, 0);
        hb = rax;
      }
      a_.lea(dst, Mem{hb, disp, hx, i.scale});
    } else if (has_base) {
      if (disp != 0) a_.lea(dst, mem(hb, disp));
      else if (dst != hb) a_.mov(dst, hb);
    } else {
      a_.mov_imm(dst, uint64_t(int64_t(disp)));
    }
    if (i.asz == 4) a_.mov32(dst, dst);
  }

  // Host register to receive a full result (size 8, or 4 zero-extended) for the guest
  // register at `off`: its cache register, marked written, when it has one; else rax, and
  // the caller stores it with wr(). Take it after the sources are read (they may be the
  // same guest register) and after any branch to a stub (the stub's snapshot must not see
  // the register as written).
  int out_reg(int size, unsigned off) {
    if ((size != 8 && size != 4) || !cacheable(off)) return rax;
    const int h = acquire(off >> 3, false);
    rc_.dirty[rc_.slot_of[off >> 3]] = true;
    return h;
  }
  void out_done(int size, unsigned off, int h) {
    if (h == rax) wr(size, off, rax);
  }
  // Host register holding the guest register at `off` for reading all its bytes (an
  // operand of a store or a move): its cache register, else `scratch` loaded from Core.
  int in_reg(int size, unsigned off, int scratch) {
    if (!cacheable(off)) {
      rd(size, scratch, off);
      return scratch;
    }
    return acquire(off >> 3, true);
  }

  // With the linear address in rax: on a TLB hit for `size` bytes rax becomes the host
  // pointer, else jump to `miss`. Uses rcx, rdx.
  void tlb(int size, bool write, Stub* s) {
    Asm::Label& miss = s->entry;
    s->at = rc_;  // the state where the fast path may branch to the stub
    a_.mov(rdx, rax);
    a_.shr(8, rdx, 7);
    a_.alu_imm(kAluAnd, 4, rdx, (kTlbSize - 1) << 5);
    a_.alu(kAluAdd, 8, rdx, field(L_.tlb));
    if (size > 1) a_.lea(rcx, mem(rax, size - 1));
    else a_.mov(rcx, rax);
    a_.alu_imm(kAluAnd, 8, rcx, -4096);
    a_.alu(kAluCmp, 8, rcx, mem(rdx, write ? 8 : 0));
    a_.jcc(kNE, miss);
    // No code-page check for a write: a TLB entry has no write tag for a page holding
    // decoded code (phys_memory.h), so such stores miss and the handler detects them.
    a_.alu(kAluAdd, 8, rax, mem(rdx, 16));
  }

  // Memory operand of insns[k] → host pointer in rax, with a stub running the handler on a
  // miss (which resumes after the instruction: the caller binds s->resume there).
  Stub* mem_operand(unsigned k, int size, bool write) {
    if (!ea_ok(in_[k])) return nullptr;
    Stub* s = new_stub(StubKind::kCall, k);
    if (s == nullptr) return nullptr;
    ea(in_[k], true);
    fs_.host_live = false;
    tlb(size, write, s);
    return s;
  }

  // Canonical check of a branch target in `r`; #GP(0) on insns[k] otherwise.
  bool check_canonical(unsigned k, int r) {
    Stub* gp = new_stub(StubKind::kGp, k);
    if (gp == nullptr) return false;
    gp->at = rc_;
    a_.mov(rcx, r);
    a_.shl(8, rcx, 16);
    a_.sar(8, rcx, 16);
    a_.alu(kAluCmp, 8, rcx, r);
    a_.jcc(kNE, gp->entry);
    return true;
  }

  // Host flags := the flags of the last writer, recomputed from the lazy fields.
  void remat(const FlagState& f) {
    switch (f.kind) {
      case kSub:
        a_.load(8, rax, field(L_.lf_a));
        a_.alu(kAluCmp, f.size, rax, field(L_.lf_b));
        break;
      case kAdd:
        a_.load(8, rax, field(L_.lf_a));
        a_.alu(kAluAdd, f.size, rax, field(L_.lf_b));
        break;
      case kLogic:
        a_.load(8, rax, field(L_.lf_res));
        a_.test(f.size, rax, rax);
        break;
      case kInc:
        a_.load(8, rax, field(L_.lf_a));
        a_.inc(f.size, rax);
        break;
      case kResCO:  // ZF SF PF only (host_cc_ok)
        a_.load(8, rax, field(L_.lf_res));
        a_.test(f.size, rax, rax);
        break;
      default:  // kDec
        a_.load(8, rax, field(L_.lf_a));
        a_.dec(f.size, rax);
        break;
    }
  }

  static bool host_cc_ok(const FlagState& f, unsigned cc) {
    if (f.kind == kInc || f.kind == kDec) return (cc >> 1) != 1 && (cc >> 1) != 3;  // no CF
    if (f.kind == kResCO) return (cc >> 1) == 2 || (cc >> 1) == 4 || (cc >> 1) == 5;  // Z S P
    return true;
  }

  // Make the host flags answer guest condition cc; returns the host condition to test.
  Cond prepare_cond(unsigned cc) {
    if (fs_.known && host_cc_ok(fs_, cc) && (fs_.host_live || fs_.plain)) {
      if (!fs_.host_live) remat(fs_);
      fs_.host_live = true;
      return Cond(cc);
    }
    spill_volatile();
    a_.mov(rdi, rbx);
    a_.mov_imm(rsi, cc);
    a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&jit_cond)));
    a_.call(rax);
    a_.test(4, rax, rax);
    fs_.host_live = false;
    return kNE;
  }

  // Record the lazy flags of a writer whose host operation just ran: res in rdx, a in rax,
  // b in rcx (or the constant b_imm when has_imm).
  // The registers may be others (res, a, b). res must hold the result zero-extended to 64
  // bits (ZF reads all of lf_res); a and b may carry anything above `size` (flags.h looks
  // at their low `size` bytes only).
  void record_flags(const Insn& i, int kind, int size, bool has_imm, uint64_t b_imm, bool plain, int res = rdx,
                    int a = rax, int b = rcx) {
    if (i.exact != nullptr) {  // flagopt.cc: dead flags, nothing to record
      fs_.known = false;
      fs_.host_live = false;
      return;
    }
    a_.store(8, field(L_.lf_res), res);
    // A logic operation's flags come from the result alone (flags.h: CF = OF = AF = 0), so
    // its operands are not recorded (the handlers' TEST stores the result there).
    if (kind != kLogic) a_.store(8, field(L_.lf_a), a);
    if (kind == kLogic) {
      // nothing more
    } else if (!has_imm) {
      a_.store(8, field(L_.lf_b), b);
    } else if (b_imm <= 0x7FFFFFFF) {
      a_.store_imm(8, field(L_.lf_b), int32_t(b_imm));
    } else {
      a_.mov_imm(rcx, b_imm);
      a_.store(8, field(L_.lf_b), rcx);
    }
    store_lf_op(lf_op(LfKind(kind), size_idx(size)));
    fs_.known = true;
    fs_.host_live = true;
    fs_.kind = kind;
    fs_.size = size;
    fs_.plain = plain;
  }

  // Core::lf_op = v, unless the block already stored that value there since the last
  // handler call (consecutive writers of one kind and size, the common case).
  void store_lf_op(uint32_t v) {
    if (lf_op_known_ && lf_op_val_ == v) return;
    a_.store_imm(4, field(L_.lf_op), int32_t(v));
    lf_op_known_ = true;
    lf_op_val_ = v;
  }

  // r8b = the carry flag as 0/1 (for ADC/SBB and INC/DEC). Clobbers rax-rdx and r9-r11 (after spilling the
  // caller-saved cache registers when it calls a helper).
  void carry_to_r8() {
    if (fs_.known && fs_.host_live && fs_.kind != kInc && fs_.kind != kDec && fs_.kind != kResCO) {
      a_.setcc(kB, r8);
    } else if (fs_.known && fs_.plain && (fs_.kind == kSub || fs_.kind == kAdd || fs_.kind == kLogic)) {
      remat(fs_);
      a_.setcc(kB, r8);
    } else if (fs_.known && (fs_.kind == kInc || fs_.kind == kDec)) {
      a_.load(8, r8, field(L_.lf_b));  // INC/DEC keep the carry they inherited there
    } else {
      spill_volatile();
      a_.mov(rdi, rbx);
      a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&jit_cf)));
      a_.call(rax);
      a_.mov(r8, rax);
    }
    a_.movzx(1, r8, r8);
    fs_.host_live = false;
  }

  // ---- the inline patterns ----
  bool inline_insn(unsigned k, bool* ended);
  bool alu(unsigned k, int op, int form);
  bool incdec(unsigned k, bool dec);
  bool mov(unsigned k);
  bool movx(unsigned k, int src_size, bool sign);
  bool lea(unsigned k);
  bool push_pop(unsigned k, bool pop);
  bool branch(unsigned k, bool* ended);
  bool take(unsigned k);
  bool cmov(unsigned k);
  void cmov_into(Cond cc, int size, unsigned dst, int src);
  bool setcc(unsigned k);
  bool shift(unsigned k);
  bool imul(unsigned k);
  bool not_neg(unsigned k, bool neg);
  bool mul_wide(unsigned k, bool sign);
  // Flags liveness inside the block (see liveness()).
  enum class FlagUse { kWritesAll, kNeutral, kOther };
  static FlagUse flag_use(const Insn& i);
  void liveness();
  bool dead_after_[kMaxBlockInsns] = {};
  void record_resco(int size, int res, int bits);

  // Make segment `seg` the one instructions and exits refer to.
  void set_segment(int seg) {
    seg_ = seg;
    b_ = segs_[seg];
    in_ = b_->insns;
  }
  // The fall-through of the previous segment's Jcc: it retired; the next block starts.
  // Nothing is emitted: Core's RIP, retired count, cur_block and cur_entry_rip stay those
  // of an earlier segment until something looks at them (sync()); the register cache, the
  // recorded flags and the host flags carry over.
  void enter_next_segment(int seg) {
    const Block* prev = b_;
    const Insn& jcc = prev->insns[prev->ninsn - 1];
    const int64_t delta = taken_[seg - 1] ? int64_t(jcc.off) + jcc.len + int64_t(jcc.imm) : int64_t(prev->nbytes);
    pending_ += prev->ninsn;
    rip_delta_ += int32_t(delta);
    set_segment(seg);
  }
  // Core::cur_block = blk, cur_entry_rip = Core's RIP (blk's first byte). Uses r11.
  void name_block(const Block* blk) {
    a_.load(8, r11, greg(kRegRip * 8));
    a_.store(8, field(L_.cur_entry_rip), r11);
    a_.mov_imm(r11, uint64_t(reinterpret_cast<uintptr_t>(blk)));
    a_.store(8, field(L_.cur_block), r11);
  }
  // Bring Core up to the current segment: RIP at its first byte, the instructions of the
  // segments before it retired, cur_block and cur_entry_rip naming it. Handler calls (and
  // the faults they may raise) and exits read these; the inline paths do not.
  void sync() {
    if (pending_ != 0) a_.alu_imm(kAluAdd, 8, field(L_.retired), int32_t(pending_));
    if (rip_delta_ != 0) a_.alu_imm(kAluAdd, 8, greg(kRegRip * 8), rip_delta_);
    if (synced_seg_ != seg_) name_block(b_);
    pending_ = 0;
    rip_delta_ = 0;
    synced_seg_ = seg_;
    fs_.host_live = false;  // the additions changed the host flags
  }

  Core* c_;
  const Block* const* segs_;
  const bool* taken_;
  int nsegs_;
  int seg_ = 0;
  // How far Core lags behind the current segment on the path being compiled (sync()):
  // the segment Core::cur_block names, the current segment's first byte minus Core's RIP,
  // and the instructions of earlier segments not yet added to Core::retired.
  int synced_seg_ = 0;
  int32_t rip_delta_ = 0;
  uint32_t pending_ = 0;
  bool fall_into_next_ = false;  // the Jcc being compiled continues into the next segment
  const Block* b_;
  Asm::Label body_;  // after the prologue: where a block that branches to itself loops
  const RegCache* head_;    // registers cached at body_ (see exit_self_loop)
  bool loop_seen_ = false;  // a self-loop was compiled; loop_state_ is the cache there
  RegCache loop_state_;
  const Insn* in_;
  Asm a_;
  Insn* pairs_;
  unsigned npairs_ = 0;
  CoreLayout L_;
  FlagState fs_;
  bool lf_op_known_ = false;  // Core::lf_op holds lf_op_val_ (stored by this block)
  uint32_t lf_op_val_ = 0;
  RegCache rc_;
  uint32_t tick_ = 0;
  // Stubs are constructed as they are taken: a compile uses a few of the kMaxStubs, and
  // constructing them all cost more than compiling a small block.
  alignas(Stub) unsigned char stub_mem_[sizeof(Stub) * kMaxStubs];
  Stub& stub(int n) { return reinterpret_cast<Stub*>(stub_mem_)[n]; }
  static_assert(std::is_trivially_destructible_v<Stub>, "stubs are never destroyed");
  int nstubs_ = 0;
  bool overflow_ = false;

 public:
  bool overflow() const { return overflow_; }
};

// How an instruction touches the arithmetic flags, for liveness: writes all six and cannot
// fault (register forms), neither reads nor writes them and cannot fault, or anything
// else (reads some, writes some, may fault, exits: the flags before it are observable).
Compiler::FlagUse Compiler::flag_use(const Insn& i) {
  if (i.fn == op_ud || i.fn == op_gp_too_long || (i.flags & (insnf::kLock | insnf::kRep | insnf::kRepne))) {
    return FlagUse::kOther;
  }
  const unsigned map = i.op >> 8, o = i.op & 0xFF;
  const bool mem = is_mem(&i);
  if (map == 0) {
    if (o == 0x8D || (o >= 0xB0 && o <= 0xBF)) return FlagUse::kNeutral;
    if (mem) return FlagUse::kOther;
    if (o >= 0x88 && o <= 0x8B) return FlagUse::kNeutral;
    if ((o == 0xC6 || o == 0xC7) && (i.reg & 7) == 0) return FlagUse::kNeutral;
    if (o == 0x63 && i.osz == 8) return FlagUse::kNeutral;
    const int alu_op = o < 0x40 ? int(o >> 3) : int(i.reg & 7);
    if ((o < 0x40 && (o & 7) < 6) || o == 0x80 || o == 0x81 || o == 0x83) {
      return alu_op == kAluAdc || alu_op == kAluSbb ? FlagUse::kOther : FlagUse::kWritesAll;
    }
    if (o == 0x84 || o == 0x85 || o == 0xA8 || o == 0xA9) return FlagUse::kWritesAll;
    if ((o == 0xC0 || o == 0xC1 || o == 0xD0 || o == 0xD1) && (i.reg & 7) >= 4) {
      const unsigned cnt = (o & 0xFE) == 0xD0 ? 1u : unsigned(i.imm) & (i.osz == 8 ? 63u : 31u);
      if (cnt == 0) return FlagUse::kNeutral;
      return cnt < unsigned(i.osz) * 8 ? FlagUse::kWritesAll : FlagUse::kOther;
    }
    if ((o == 0xF6 || o == 0xF7) && (i.reg & 7) < 2) return FlagUse::kWritesAll;  // TEST imm
    if ((o == 0xF6 || o == 0xF7) && (i.reg & 7) == 2) return FlagUse::kNeutral;   // NOT
    if ((o == 0xF6 || o == 0xF7) && (i.reg & 7) == 3) return FlagUse::kWritesAll;  // NEG
    if (o == 0xF7 && ((i.reg & 7) == 4 || (i.reg & 7) == 5) && i.osz >= 4) return FlagUse::kWritesAll;
    if ((o == 0x69 || o == 0x6B) && i.osz >= 2) return FlagUse::kWritesAll;
    return FlagUse::kOther;
  }
  if (map == 1) {
    if (o >= 0x18 && o <= 0x1F) return FlagUse::kNeutral;
    if (mem) return FlagUse::kOther;
    if (o == 0xB6 || o == 0xB7 || o == 0xBE || o == 0xBF) return FlagUse::kNeutral;
    if (o == 0xAF && i.osz >= 2) return FlagUse::kWritesAll;
  }
  return FlagUse::kOther;
}

// dead_after_[k]: the flags instruction k leaves are overwritten by a later instruction of
// the block before anything can observe them (no read, fault, handler call or exit in
// between). Such an instruction need not record flags at all (flagopt.cc does the same
// for the interpreter's ALU handlers; this also covers shifts, rotates and IMUL).
void Compiler::liveness() {
  bool dead = false;  // at the block's end the flags are live
  for (unsigned k = b_->ninsn; k-- > 0;) {
    dead_after_[k] = dead;
    switch (flag_use(in_[k])) {
      case FlagUse::kWritesAll: dead = true; break;
      case FlagUse::kNeutral: break;
      case FlagUse::kOther: dead = false; break;
    }
  }
}

bool Compiler::inline_insn(unsigned k, bool* ended) {
  const Insn& i = in_[k];
  if (i.fn == op_ud || i.fn == op_gp_too_long) return false;
  if (i.fn == op_nop) return true;  // whatever its prefixes: nothing to do
  if (i.flags & (insnf::kLock | insnf::kRep | insnf::kRepne)) return false;
  const unsigned map = i.op >> 8, o = i.op & 0xFF;
  if (map == 0) {
    if (o < 0x40 && (o & 7) < 6) return alu(k, int(o >> 3), int(o & 7));
    if (o == 0x80 || o == 0x81 || o == 0x83) return alu(k, i.reg & 7, 6);
    if (o == 0x84 || o == 0x85) return alu(k, kAluCmp + 1, 0);  // TEST r/m, r
    if (o == 0xA8 || o == 0xA9) return alu(k, kAluCmp + 1, 4);  // TEST AL/eAX, imm
    if ((o >= 0x88 && o <= 0x8B) || o == 0xC6 || o == 0xC7 || (o >= 0xB0 && o <= 0xBF)) return mov(k);
    if (o == 0x8D) return lea(k);
    if (o == 0x63 && i.osz == 8) return movx(k, 4, true);
    if (o >= 0x50 && o <= 0x5F && i.osz == 8) return push_pop(k, o >= 0x58);
    if ((o >= 0x70 && o <= 0x7F) || o == 0xEB || o == 0xE9 || o == 0xE8 || o == 0xC3) return branch(k, ended);
    if ((o == 0xFE || o == 0xFF) && (i.reg & 7) < 2 && !is_mem(&i)) return incdec(k, (i.reg & 7) == 1);
    if (o == 0xC0 || o == 0xC1 || o == 0xD0 || o == 0xD1 || o == 0xD3) return shift(k);
    if ((o == 0xF6 || o == 0xF7) && (i.reg & 7) < 2) return alu(k, kAluCmp + 1, 6);  // TEST r/m, imm
    if ((o == 0xF6 || o == 0xF7) && ((i.reg & 7) == 2 || (i.reg & 7) == 3)) return not_neg(k, (i.reg & 7) == 3);
    if (o == 0xF7 && ((i.reg & 7) == 4 || (i.reg & 7) == 5)) return mul_wide(k, (i.reg & 7) == 5);
    if (o == 0x69 || o == 0x6B) return imul(k);
    return false;
  }
  if (map == 1) {
    if (o >= 0x18 && o <= 0x1F) return true;  // hint NOPs: nothing to do
    if (o >= 0xC8 && o <= 0xCF && (i.osz == 4 || i.osz == 8) && cacheable(i.mo)) {
      // BSWAP (a 32-bit one zero-extends, like every 32-bit result)
      const int h = acquire(i.mo >> 3, true);
      a_.bswap(i.osz, h);
      rc_.dirty[rc_.slot_of[i.mo >> 3]] = true;
      return true;
    }
    if (o == 0xB6 || o == 0xB7 || o == 0xBE || o == 0xBF) return movx(k, (o & 1) ? 2 : 1, o >= 0xBE);
    if (o >= 0x80 && o <= 0x8F) return branch(k, ended);
    if (o >= 0x40 && o <= 0x4F) return cmov(k);
    if (o >= 0x90 && o <= 0x9F) return setcc(k);
    if (o == 0xAF) return imul(k);
  }
  return false;
}

// Lazy flags of an operation whose ZF SF PF come from the result (register `res`) and CF
// OF AF are given (register `bits`, in RFLAGS positions): set_lf_resco.
void Compiler::record_resco(int size, int res, int bits) {
  a_.store(8, field(L_.lf_res), res);
  a_.store(8, field(L_.lf_b), bits);
  store_lf_op(lf_op(kResCO, size_idx(size)));
  fs_.known = true;
  fs_.host_live = false;
  fs_.kind = kResCO;
  fs_.size = size;
}

// ROL, ROR, SHL/SAL, SHR, SAR of a register by an immediate or 1 (C0/C1, D0/D1), and
// SHL/SHR/SAR of a 32/64-bit register by CL (D3).
bool Compiler::shift(unsigned k) {
  const Insn& i = in_[k];
  const unsigned o = i.op & 0xFF, ext = i.reg & 7;
  const int size = i.osz;
  const bool dead = dead_after_[k];
  const unsigned bits = unsigned(size) * 8;
  const bool by_cl = o == 0xD3;
  const unsigned cnt = (o & 0xFE) == 0xD0 ? 1u : unsigned(i.imm) & (size == 8 ? 63u : 31u);
  // RCL/RCR go to the handler; so do memory operands, 8/16-bit shifts by CL and counts
  // past the operand width (their flags follow special rules).
  if (is_mem(&i) || (ext >= 2 && ext < 4) || (ext < 2 && by_cl)) return false;
  if (by_cl ? (size != 4 && size != 8) : cnt >= bits) return false;
  const bool rotate = ext < 2;
  const int host_ext = ext == 6 ? 4 : int(ext);  // SAL is SHL
  rd(size, rax, i.mo);
  if (!by_cl && cnt == 0) {  // flags unchanged; a 32-bit destination is still written
    wr(size, i.mo, rax);
    return true;
  }
  Asm::Label zero, done;
  if (by_cl) {
    rd(1, rcx, RCX * 8);
    a_.alu_imm(kAluAnd, 4, rcx, int32_t(bits - 1));
    a_.jcc(kE, zero);
  }
  // ROL/ROR write CF and OF and keep the other flags. When the block recorded the last
  // flag writer itself, those others stay where they are (see the end); else the lazy
  // flags are folded into RFLAGS first.
  const FlagState before = fs_;
  const bool keep_lazy = rotate && !dead && before.known &&
                         (before.kind == kLogic || before.kind == kResCO || before.kind == kAdd || before.kind == kSub);
  if (rotate && !dead && !keep_lazy) {
    spill_volatile();
    a_.mov(rdi, rbx);
    a_.mov_imm(rax, uint64_t(reinterpret_cast<uintptr_t>(&jit_materialize)));
    a_.call(rax);
    lf_op_known_ = true;  // materialize_flags leaves kLfNone
    lf_op_val_ = kLfNone;
    rd(size, rax, i.mo);
  }
  a_.mov(rdx, rax);
  if (by_cl) a_.shift_cl(host_ext, size, rdx);
  else a_.shift_imm(host_ext, size, rdx, uint8_t(cnt));
  if (dead && !by_cl) {
    wr(size, i.mo, rdx);
    fs_ = FlagState{};
    return true;
  }
  if (rotate) {
    a_.setcc(kB, r8);  // ROL: CF = bit 0 of the result; ROR: CF = its top bit
    a_.movzx(1, r8, r8);
    a_.mov(r9, rdx);
    if (ext == 0) {  // OF = top bit ^ CF
      a_.shr(8, r9, uint8_t(bits - 1));
      a_.alu(kAluXor, 4, r9, r8);
    } else {  // OF = top bit ^ the bit below it
      a_.shr(8, r9, uint8_t(bits - 2));
      a_.mov(r11, r9);
      a_.shr(8, r11, 1);
      a_.alu(kAluXor, 4, r9, r11);
    }
    a_.alu_imm(kAluAnd, 4, r9, 1);
    a_.shl(4, r9, 11);
    a_.alu(kAluOr, 4, r9, r8);
    wr(size, i.mo, rdx);
    if (keep_lazy) {
      // The last writer's ZF SF PF still come from lf_res at its size; its AF joins the
      // new CF and OF in lf_b (kResCO). A logic operation's AF is 0; kResCO keeps its own;
      // an addition's or subtraction's is bit 4 of a ^ b ^ res (flags.h).
      if (before.kind == kResCO) {
        a_.load(8, rcx, field(L_.lf_b));
        a_.alu_imm(kAluAnd, 4, rcx, int32_t(fl::AF));
        a_.alu(kAluOr, 4, r9, rcx);
      } else if (before.kind != kLogic) {
        a_.load(8, rcx, field(L_.lf_a));
        a_.alu(kAluXor, 8, rcx, field(L_.lf_b));
        a_.alu(kAluXor, 8, rcx, field(L_.lf_res));
        a_.alu_imm(kAluAnd, 4, rcx, int32_t(fl::AF));
        a_.alu(kAluOr, 4, r9, rcx);
      }
      a_.store(8, field(L_.lf_b), r9);
      store_lf_op(lf_op(kResCO, size_idx(before.size)));
      fs_ = FlagState{};
      fs_.known = true;
      fs_.kind = kResCO;
      fs_.size = before.size;
      return true;
    }
    a_.load(8, rcx, field(L_.rfl));
    a_.alu_imm(kAluAnd, 8, rcx, int32_t(~uint32_t(fl::CF | fl::OF)));
    a_.alu(kAluOr, 8, rcx, r9);
    a_.store(8, field(L_.rfl), rcx);
    fs_ = FlagState{};
    return true;
  }
  a_.setcc(kB, r8);  // CF: the last bit shifted out
  a_.movzx(1, r8, r8);
  if (host_ext == 4) {  // OF = top bit of the result ^ CF
    a_.mov(r9, rdx);
    a_.shr(8, r9, uint8_t(bits - 1));
    a_.alu_imm(kAluAnd, 4, r9, 1);
    a_.alu(kAluXor, 4, r9, r8);
  } else if (host_ext == 5) {  // OF = top bit of the operand
    a_.mov(r9, rax);
    a_.shr(8, r9, uint8_t(bits - 1));
    a_.alu_imm(kAluAnd, 4, r9, 1);
  } else {
    a_.mov_imm(r9, 0);
  }
  a_.shl(4, r9, 11);
  a_.alu(kAluOr, 4, r9, r8);
  wr(size, i.mo, rdx);
  record_resco(size, rdx, r9);
  if (by_cl) {
    a_.jmp(done);
    a_.bind(zero);
    wr(size, i.mo, rax);
    a_.bind(done);
    // Which path ran is known only at run time; on the count-0 path lf_op was not stored.
    fs_ = FlagState{};
    lf_op_known_ = false;
  }
  return true;
}

// NOT (no flags) and NEG (flags of 0 - operand) on a register or memory (F6/F7 /2 /3).
bool Compiler::not_neg(unsigned k, bool neg) {
  const Insn& i = in_[k];
  const int size = i.osz;
  Stub* s = nullptr;
  if (is_mem(&i)) {
    s = mem_operand(k, size, true);
    if (s == nullptr) return false;
    a_.mov(r9, rax);
    a_.load(size, rax, mem(r9));
  } else {
    rd(size, rax, i.mo);
  }
  a_.mov(rdx, rax);
  if (neg) a_.neg(size, rdx);
  else a_.not_(size, rdx);
  if (neg && !dead_after_[k]) {
    a_.store(8, field(L_.lf_res), rdx);
    a_.store_imm(8, field(L_.lf_a), 0);
    a_.store(8, field(L_.lf_b), rax);
    store_lf_op(lf_op(kSub, size_idx(size)));
    fs_ = FlagState{};
    fs_.known = fs_.host_live = true;
    fs_.kind = kSub;
    fs_.size = size;
  } else if (neg) {
    fs_ = FlagState{};
  }
  if (s != nullptr) a_.store(size, mem(r9), rdx);
  else wr(size, i.mo, rdx);
  if (s != nullptr) resume_flags(s);
  return true;
}

// MUL / IMUL r/m (F7 /4 /5), 32 and 64 bits: rDX:rAX = rAX * r/m; CF = OF = the high
// half is significant (set_lf_resco with the low half as the result, as the handlers do).
bool Compiler::mul_wide(unsigned k, bool sign) {
  const Insn& i = in_[k];
  const int size = i.osz;
  if (size != 4 && size != 8) return false;
  Stub* s = nullptr;
  if (is_mem(&i)) {
    s = mem_operand(k, size, false);
    if (s == nullptr) return false;
    a_.load(size, rcx, mem(rax));
  } else {
    rd(size, rcx, i.mo);
  }
  rd(size, rax, RAX * 8);
  a_.mul_wide(sign, size, rcx);
  if (dead_after_[k]) {
    fs_ = FlagState{};
  } else {
    overflow_to_r8();
    record_resco(size, rax, r8);
  }
  wr(size, RAX * 8, rax);
  wr(size, RDX * 8, rdx);
  if (s != nullptr) resume(s);
  return true;
}

// IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B): CF = OF = signed overflow.
bool Compiler::imul(unsigned k) {
  const Insn& i = in_[k];
  const int size = i.osz;
  const bool with_imm = (i.op >> 8) == 0;
  if (size == 1) return false;
  Stub* s = nullptr;
  if (is_mem(&i)) {
    s = mem_operand(k, size, false);
    if (s == nullptr) return false;
    a_.load(size, rcx, mem(rax));
  } else {
    rd(size, rcx, i.mo);
  }
  if (with_imm) {
    a_.imul_imm(size, rax, rcx, int32_t(i.imm));
  } else {
    rd(size, rax, i.ro);
    a_.imul(size, rax, rcx);
  }
  if (size == 2) a_.movzx(2, rax, rax);
  if (dead_after_[k]) {
    wr(size, i.ro, rax);
    fs_ = FlagState{};
    if (s != nullptr) resume(s);
    return true;
  }
  overflow_to_r8();
  wr(size, i.ro, rax);
  record_resco(size, rax, r8);
  if (s != nullptr) resume(s);
  return true;
}

// ALU op (x64::Alu numbering; kAluCmp + 1 = TEST) in one of the forms of opcodes 00-3F:
// 0/1 r/m, reg; 2/3 reg, r/m; 4/5 accumulator, imm; 6: r/m, imm (group 1).
bool Compiler::alu(unsigned k, int op, int form) {
  const Insn& i = in_[k];
  const bool carry_in = op == kAluAdc || op == kAluSbb;
  if (carry_in) carry_to_r8();  // first: it may call a helper
  const bool test = op == kAluCmp + 1;
  const int size = i.osz;
  const bool writes = op != kAluCmp && !test;
  const bool imm = form >= 4;
  const bool mem_rm = is_mem(&i) && form != 4 && form != 5;
  const bool mem_dst = mem_rm && (form <= 1 || form == 6);
  const int kind = (op == kAluAdd || op == kAluAdc) ? kAdd : (op == kAluSub || op == kAluCmp || op == kAluSbb) ? kSub : kLogic;
  const uint64_t b_imm = imm ? (i.imm & size_mask(size)) : 0;
  Stub* s = nullptr;
  const bool dead = i.exact != nullptr || dead_after_[k];
  const bool to_reg = form == 2 || form == 3;
  const unsigned dst = to_reg ? i.ro : i.mo;
  if (!carry_in && !mem_dst && (size == 8 || size == 4) && cacheable(dst)) {
    // Register destination: the operation runs on the guest register's own host register
    // (a 32-bit operation zero-extends it, as the guest's does). With flags to record, the
    // old value stays in rax for lf_a; with none, CMP and TEST do nothing at all.
    int src = -1;
    if (mem_rm) {
      s = mem_operand(k, size, false);
      if (s == nullptr) return false;
      a_.load(size, rcx, mem(rax));
      src = rcx;
    } else if (!imm) {
      src = in_reg(size, to_reg ? i.mo : i.ro, rcx);
    }
    const int hd = acquire(dst >> 3, true);
    const Alu host = test ? kAluAnd : op == kAluCmp ? kAluSub : Alu(op);
    int res = hd, a = hd;
    if (!writes && !dead) {
      a_.mov(rdx, hd);
      res = rdx;
    } else if (writes && !dead) {
      a_.mov(rax, hd);
      a = rax;
      if (src == hd) src = rax;  // ADD r, r: b is the old value too
    }
    if (writes || !dead) {
      if (imm) a_.alu_imm(host, size, res, int32_t(i.imm));
      else a_.alu(host, size, res, src);
    }
    if (writes) rc_.dirty[rc_.slot_of[dst >> 3]] = true;
    if (dead) fs_ = FlagState{};
    else record_flags(i, kind, size, imm, b_imm, true, res, a, src < 0 ? rcx : src);
    if (s != nullptr) resume_flags(s);
    return true;
  }
  // a → rax, b → rcx (or immediate); r9 = host pointer of a memory destination.
  if (mem_rm) {
    s = mem_operand(k, size, mem_dst && writes);
    if (s == nullptr) return false;
    if (mem_dst) {
      a_.mov(r9, rax);
      a_.load(size, rax, mem(r9));
      if (!imm) rd(size, rcx, i.ro);
    } else {  // reg, mem
      a_.load(size, rcx, mem(rax));
      rd(size, rax, i.ro);
    }
  } else if (form == 2 || form == 3) {
    rd(size, rax, i.ro);
    rd(size, rcx, i.mo);
  } else {
    rd(size, rax, i.mo);
    if (!imm) rd(size, rcx, i.ro);
  }
  a_.mov(rdx, rax);
  if (carry_in) a_.alu_imm(kAluAdd, 1, r8, -1);  // CF := r8b != 0
  // CMP and TEST run as SUB and AND (same flags) so that rdx holds the recorded result.
  const Alu host = test ? kAluAnd : op == kAluCmp ? kAluSub : Alu(op);
  if (imm) a_.alu_imm(host, size, rdx, int32_t(i.imm));
  else a_.alu(host, size, rdx, rcx);
  if (!dead) record_flags(i, kind, size, imm, b_imm, !carry_in);
  else fs_ = FlagState{};
  if (writes) {
    if (mem_dst) a_.store(size, mem(r9), rdx);
    else wr(size, (form == 2 || form == 3) ? i.ro : i.mo, rdx);
  }
  if (s != nullptr) resume_flags(s);
  return true;
}

bool Compiler::incdec(unsigned k, bool dec) {
  const Insn& i = in_[k];
  const int size = i.osz;
  const FlagVariants* v = i.exact != nullptr ? flag_variants(i.exact) : nullptr;
  const bool no_flags = (v != nullptr && i.fn == v->no_flags) || dead_after_[k];
  const bool cf_zero = v != nullptr && i.fn == v->no_cf;
  // r8 = the CF this INC/DEC carries over.
  if (!no_flags && !cf_zero) carry_to_r8();
  if (no_flags && (size == 8 || size == 4) && cacheable(i.mo)) {
    const int h = acquire(i.mo >> 3, true);
    if (dec) a_.dec(size, h);
    else a_.inc(size, h);
    rc_.dirty[rc_.slot_of[i.mo >> 3]] = true;
    fs_ = FlagState{};
    return true;
  }
  rd(size, rax, i.mo);
  a_.mov(rdx, rax);
  if (dec) a_.dec(size, rdx);
  else a_.inc(size, rdx);
  wr(size, i.mo, rdx);
  if (no_flags) {
    fs_ = FlagState{};
    return true;
  }
  a_.store(8, field(L_.lf_res), rdx);
  a_.store(8, field(L_.lf_a), rax);
  if (cf_zero) a_.store_imm(8, field(L_.lf_b), 0);
  else a_.store(8, field(L_.lf_b), r8);
  store_lf_op(lf_op(dec ? kDec : kInc, size_idx(size)));
  fs_.known = true;
  fs_.host_live = true;
  fs_.kind = dec ? kDec : kInc;
  fs_.size = size;
  return true;
}

bool Compiler::mov(unsigned k) {
  const Insn& i = in_[k];
  const unsigned o = i.op & 0xFF;
  const int size = i.osz;
  if (o >= 0xB0 && o <= 0xBF) {  // MOV reg, imm (imm64 with REX.W)
    if (size == 8 || size == 4) {
      const int h = out_reg(8, i.mo);
      a_.mov_imm(h, size == 4 ? uint32_t(i.imm) : i.imm);
      out_done(8, i.mo, h);
    } else {
      wr_imm(size, i.mo, int32_t(i.imm));
    }
    return true;
  }
  if (o == 0xC6 || o == 0xC7) {
    if ((i.reg & 7) != 0) return false;
    if (!is_mem(&i)) {
      if (size == 4) {
        a_.mov_imm(rax, uint32_t(i.imm));
        wr(8, i.mo, rax);
      } else {
        wr_imm(size, i.mo, int32_t(i.imm));
      }
      return true;
    }
    Stub* s = mem_operand(k, size, true);
    if (s == nullptr) return false;
    a_.store_imm(size, mem(rax), int32_t(i.imm));
    resume(s);
    return true;
  }
  const bool to_rm = o == 0x88 || o == 0x89;
  if (!is_mem(&i)) {
    const unsigned src = to_rm ? i.ro : i.mo, dst = to_rm ? i.mo : i.ro;
    if (size >= 4 && cacheable(src)) {
      const int hs = acquire(src >> 3, true);
      const int hd = out_reg(size, dst);
      if (size == 8) a_.mov(hd, hs);
      else a_.mov32(hd, hs);
      out_done(size, dst, hd);
      return true;
    }
    rd(size, rax, src);
    wr(size, dst, rax);
    return true;
  }
  if (!ea_ok(i)) return false;
  if (to_rm) {
    const int hs = in_reg(size, i.ro, r8);
    Stub* s = mem_operand(k, size, true);
    if (s == nullptr) return false;
    a_.store(size, mem(rax), hs);
    resume(s);
  } else {
    Stub* s = mem_operand(k, size, false);
    if (s == nullptr) return false;
    const int hd = out_reg(size, i.ro);
    a_.load(size, hd, mem(rax));
    out_done(size, i.ro, hd);
    resume(s);
  }
  return true;
}

// MOVZX/MOVSX (0F B6/B7/BE/BF) and MOVSXD (63, REX.W).
bool Compiler::movx(unsigned k, int src_size, bool sign) {
  const Insn& i = in_[k];
  const int size = i.osz;
  Stub* s = nullptr;
  int h = rax;
  if (is_mem(&i)) {
    s = mem_operand(k, src_size, false);
    if (s == nullptr) return false;
    h = out_reg(size, i.ro);
    if (sign) a_.load_sx(src_size, h, mem(rax));
    else a_.load(src_size, h, mem(rax));
  } else if (sign) {
    rd(src_size, rax, i.mo, true);
  } else {
    rd(src_size, rax, i.mo);
  }
  if (size == 4 && sign) a_.mov32(h, h);
  out_done(size, i.ro, h);
  if (s != nullptr) resume(s);
  return true;
}

bool Compiler::lea(unsigned k) {
  const Insn& i = in_[k];
  if (!is_mem(&i) || !ea_ok(i)) return false;
  if (i.base == kRegZero || i.osz == 2) {
    ea_to(i, rax);
    if (i.osz == 4) a_.mov32(rax, rax);
    wr(i.osz, i.ro, rax);
    return true;
  }
  // The address registers are read (acquired) before the destination is taken: it may be
  // one of them.
  if (cacheable(i.base * 8u)) acquire(i.base, true);
  if (i.index != kRegZero && cacheable(i.index * 8u)) acquire(i.index, true);
  const int h = out_reg(i.osz, i.ro);
  ea_to(i, h);
  if (i.osz == 4) a_.mov32(h, h);
  out_done(i.osz, i.ro, h);
  return true;
}

bool Compiler::push_pop(unsigned k, bool pop) {
  const Insn& i = in_[k];
  Stub* s = new_stub(StubKind::kCall, k);
  if (s == nullptr) return false;
  fs_.host_live = false;
  if (!pop) {
    rd(8, r8, i.mo);
    rd(8, rax, RSP * 8);
    a_.lea(rax, mem(rax, -8));
    a_.mov(r9, rax);
    tlb(8, true, s);
    a_.store(8, mem(rax), r8);
    wr(8, RSP * 8, r9);
  } else {
    rd(8, rax, RSP * 8);
    a_.lea(r9, mem(rax, 8));
    tlb(8, false, s);
    a_.load(8, r8, mem(rax));
    wr(8, RSP * 8, r9);
    wr(8, i.mo, r8);
  }
  resume(s);
  return true;
}

// Jcc, JMP rel, CALL rel, RET (all end the block).
bool Compiler::branch(unsigned k, bool* ended) {
  const Insn& i = in_[k];
  const unsigned map = i.op >> 8, o = i.op & 0xFF;
  const int64_t after = int64_t(i.off) + i.len;
  const int64_t target = after + int64_t(i.imm);
  if (i.osz != 8) return false;
  if (map == 0 && o == 0xC3) {
    Stub* s = new_stub(StubKind::kCall, k);
    if (s == nullptr) return false;
    fs_.host_live = false;
    rd(8, rax, RSP * 8);
    a_.lea(r9, mem(rax, 8));
    tlb(8, false, s);
    a_.load(8, r8, mem(rax));
    if (!check_canonical(k, r8)) return false;
    wr(8, RSP * 8, r9);
    a_.store(8, greg(kRegRip * 8), r8);
    exit_chain(0, true);
    resume(s);  // the handler ends the block itself: kept only for safety
    exit();
    *ended = true;
    return true;
  }
  if (!fits32(target)) return false;
  if (map == 0 && o == 0xE8) {  // CALL rel32
    Stub* s = new_stub(StubKind::kCall, k);
    if (s == nullptr) return false;
    fs_.host_live = false;
    a_.load(8, r11, greg(kRegRip * 8));
    a_.lea(r8, mem(r11, int32_t(after) + rip_delta_));
    a_.lea(r11, mem(r11, int32_t(target) + rip_delta_));
    if (!same_page(target) && !check_canonical(k, r11)) return false;
    rd(8, rax, RSP * 8);
    a_.lea(rax, mem(rax, -8));
    a_.mov(r9, rax);
    tlb(8, true, s);
    a_.store(8, mem(rax), r8);
    wr(8, RSP * 8, r9);
    a_.store(8, greg(kRegRip * 8), r11);
    exit_chain(0, !same_page(target));
    resume(s);  // the handler ends the block itself: kept only for safety
    exit();
    *ended = true;
    return true;
  }
  if (map == 0 && (o == 0xEB || o == 0xE9)) {
    *ended = true;
    return take(k);
  }
  // Jcc
  const Cond cc = prepare_cond(i.op & 0xF);
  if (fall_into_next_) {
    // The side that leaves the trace goes out of line; the other goes on with the next
    // segment.
    const bool stay_taken = taken_[seg_];
    Stub* t = new_stub(stay_taken ? StubKind::kNotTaken : StubKind::kTaken, k);
    if (t == nullptr) return false;
    t->at = rc_;
    a_.jcc(stay_taken ? Cond(cc ^ 1) : cc, t->entry);
    *ended = true;
    return true;
  }
  Asm::Label taken;
  a_.jcc(cc, taken);
  a_.alu_imm(kAluAdd, 8, greg(kRegRip * 8), int32_t(after) + rip_delta_);
  exit_chain(1, !same_page(after));
  a_.bind(taken);
  *ended = true;
  return take(k);
}

// The direct branch insns[k] is taken: RIP to its target, then chain. A target in the
// block's own page is canonical: the block's first byte is, and the canonical ranges end
// at page boundaries.
bool Compiler::take(unsigned k) {
  const Insn& i = in_[k];
  const int64_t target = int64_t(i.off) + i.len + int64_t(i.imm);
  if (b_->pa + uint64_t(target) == segs_[0]->pa && same_page(target)) {
    exit_self_loop(target);
    return true;
  }
  a_.load(8, r11, greg(kRegRip * 8));
  a_.lea(r11, mem(r11, int32_t(target) + rip_delta_));
  if (!same_page(target) && !check_canonical(k, r11)) return false;
  a_.store(8, greg(kRegRip * 8), r11);
  exit_chain(0, !same_page(target));
  return true;
}

bool Compiler::cmov(unsigned k) {
  const Insn& i = in_[k];
  const int size = i.osz;
  const unsigned cc = i.op & 0xF;
  if (size == 1) return false;
  if (is_mem(&i)) {
    if (!fs_.known || !fs_.plain || !host_cc_ok(fs_, cc)) return false;
    Stub* s = mem_operand(k, size, false);  // the source is read whatever the condition
    if (s == nullptr) return false;
    a_.load(size, r8, mem(rax));
    remat(fs_);
    fs_.host_live = true;
    cmov_into(Cond(cc), size, i.ro, r8);
    s->remat = true;
    s->fs = fs_;
    resume(s);
    return true;
  }
  const Cond host = prepare_cond(cc);
  cmov_into(host, size, i.ro, in_reg(size, i.mo, r8));
  return true;
}

// Guest register at `dst` = src when host condition cc holds. A 32-bit CMOV zero-extends
// its destination either way, on the guest as on the host. Moves only: the flags stay.
void Compiler::cmov_into(Cond cc, int size, unsigned dst, int src) {
  if ((size == 4 || size == 8) && cacheable(dst)) {
    const int h = acquire(dst >> 3, true);
    a_.cmov(cc, size, h, src);
    rc_.dirty[rc_.slot_of[dst >> 3]] = true;
    return;
  }
  rd(size, rax, dst);
  a_.cmov(cc, size, rax, src);
  wr(size, dst, rax);
}

bool Compiler::setcc(unsigned k) {
  const Insn& i = in_[k];
  if (is_mem(&i)) return false;
  const Cond host = prepare_cond(i.op & 0xF);
  a_.setcc(host, rax);
  wr(1, i.mo, rax);
  return true;
}

}  // namespace

namespace {

bool perf_map_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("TSVIRT_SOFT_JIT_PERFMAP");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

// With TSVIRT_SOFT_JIT_PERFMAP=1, name every compiled block in /tmp/perf-<pid>.map (the
// file `perf report` reads for code without symbols) after the guest RIP it starts at, and
// append its host code and guest bytes to /tmp/perf-<pid>.code for disassembly: records of
// a text line "host-address host-size guest-rip guest-size\n", then both byte strings.
void perf_map(const uint8_t* code, size_t size, uint64_t guest_rip, const uint8_t* guest, size_t gsize) {
  struct Files {
    FILE* map = nullptr;
    FILE* code = nullptr;
  };
  static const Files f = [] () -> Files {
    const char* on = std::getenv("TSVIRT_SOFT_JIT_PERFMAP");
    if (on == nullptr || std::strcmp(on, "1") != 0) return {};
    char path[64];
    std::snprintf(path, sizeof(path), "/tmp/perf-%d.map", int(getpid()));
    Files out;
    out.map = std::fopen(path, "a");
    std::snprintf(path, sizeof(path), "/tmp/perf-%d.code", int(getpid()));
    out.code = std::fopen(path, "a");
    return out;
  }();
  if (f.map == nullptr) return;
  std::fprintf(f.map, "%llx %zx guest_%llx\n", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(code)),
               size, static_cast<unsigned long long>(guest_rip));
  std::fflush(f.map);
  if (f.code == nullptr) return;
  std::fprintf(f.code, "%llx %zx %llx %zx\n", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(code)),
               size, static_cast<unsigned long long>(guest_rip), guest != nullptr ? gsize : 0);
  std::fwrite(code, 1, size, f.code);
  if (guest != nullptr) std::fwrite(guest, 1, gsize, f.code);
  std::fflush(f.code);
}

}  // namespace

namespace {

// Whether the block ends with a Jcc the compiler inlines (64-bit operand size, 32-bit
// displacement from the block's start), so its fall-through can continue a trace.
bool ends_with_inlined_jcc(const Block* b) {
  if (b->ninsn == 0) return false;
  const Insn& i = b->insns[b->ninsn - 1];
  const unsigned map = i.op >> 8, o = i.op & 0xFF;
  const bool jcc = (map == 0 && o >= 0x70 && o <= 0x7F) || (map == 1 && o >= 0x80 && o <= 0x8F);
  if (!jcc || i.osz != 8 || (i.flags & (insnf::kLock | insnf::kRep | insnf::kRepne))) return false;
  return fits32(int64_t(i.off) + i.len + int64_t(i.imm));
}

// Whether `next` may follow `first`'s trace: decoded wholly in first's page from the same
// page generation. Such a block can only go stale together with first (same page), which
// the chained and run-loop entries check.
bool same_code(const Block* first, const Block* next) {
  const uint64_t page = first->pa & kPageMask;
  return next != nullptr && next->ninsn > 0 && next->mode == first->mode && (next->pa & kPageMask) == page &&
         next->pa + next->nbytes <= page + 0x1000 && next->genp[0] == first->genp[0] &&
         next->genp[1] == next->genp[0] && next->gen[0] == first->gen[0];
}

// The blocks a trace from b runs through: b, then while the last one ends with a Jcc, the
// decoded block on the side of it that ran more often so far (Block::hits: runs before
// being compiled), if that block may follow (same_code), is not in the trace yet and keeps
// it within kMaxTraceInsns. taken[s] says which side segment s+1 is.
int trace_of(Core* c, const Block* b, const Block** segs, bool* taken, int max_segs) {
  int n = 1;
  segs[0] = b;
  unsigned total = b->ninsn;
  while (n < max_segs && ends_with_inlined_jcc(segs[n - 1])) {
    const Block* last = segs[n - 1];
    const Insn& jcc = last->insns[last->ninsn - 1];
    const int64_t target = int64_t(jcc.off) + jcc.len + int64_t(jcc.imm);
    const Block* fall = jit_lookup_block(c, last->pa + last->nbytes, b->mode);
    const Block* jump = (int64_t(last->pa & 0xFFF) + target >= 0 && int64_t(last->pa & 0xFFF) + target < 0x1000)
                            ? jit_lookup_block(c, last->pa + uint64_t(target), b->mode)
                            : nullptr;
    if (!same_code(b, fall)) fall = nullptr;
    if (!same_code(b, jump)) jump = nullptr;
    for (int k = 0; k < n; k++) {
      if (segs[k] == fall) fall = nullptr;
      if (segs[k] == jump) jump = nullptr;
    }
    const bool take_jump = jump != nullptr && (fall == nullptr || jump->hits > fall->hits);
    const Block* next = take_jump ? jump : fall;
    if (next == nullptr || total + next->ninsn > unsigned(kMaxTraceInsns)) break;
    taken[n - 1] = take_jump;
    total += next->ninsn;
    segs[n++] = next;
  }
  return n;
}

}  // namespace

JitFn jit_compile(Core* c, const Block* b, JitArena& arena, bool* full, unsigned* span) {
  *full = false;
  *span = b->ninsn;
#if !defined(__x86_64__)
  // The compiler writes x86-64 machine code: on any other host every block is interpreted.
  (void)c;
  (void)b;
  (void)arena;
  return nullptr;
#endif
  if (!arena.usable() || c->code_size != 64 || (b->mode & 0xFF) != 64 || b->ninsn == 0) return nullptr;
  // A block whose page generation has moved since it was decoded is about to be rebuilt.
  if (b->genp[0] == nullptr || b->genp[0]->load(std::memory_order_relaxed) != b->gen[0]) return nullptr;
  constexpr int kMaxSegs = 4;
  const Block* segs[kMaxSegs];
  bool taken[kMaxSegs] = {};
  int nsegs = trace_of(c, b, segs, taken, kMaxSegs);
  // A trace that cannot be compiled (stub or label limits) is retried as the block alone.
  for (;; nsegs = 1) {
    unsigned total = 0;
    for (int k = 0; k < nsegs; k++) total += segs[k]->ninsn;
    // Layout in the arena: the Insn pairs of handler calls (at most two per instruction,
    // one inline and one in a miss stub), then the code.
    const size_t pair_bytes = sizeof(Insn) * 2 * (2 * size_t(total) + 2);
    const size_t need_min = pair_bytes + 4096;
    if (arena.room() < need_min + 64 * 1024) {
      *full = true;
      return nullptr;
    }
    auto* pairs = reinterpret_cast<Insn*>(arena.cursor());
    uint8_t* code = arena.cursor() + pair_bytes;
    const size_t cap = arena.room() - pair_bytes;
    const size_t code_cap = cap < 256 * 1024 ? cap : 256 * 1024;
    // One compile into the arena's cursor; 0 when it failed. (A Compiler is large: one at a
    // time on the stack.)
    RegCache head;
    bool looped = false;
    auto compile_once = [&](const RegCache* h) -> size_t {
      Compiler comp(c, segs, taken, nsegs, code, code_cap, pairs, h);
      if (!comp.compile() || comp.overflow()) return 0;
      if (h == nullptr) looped = comp.loop_state(&head);
      return comp.code_size();
    };
    size_t code_size = compile_once(nullptr);
    if (code_size == 0) {
      if (nsegs == 1) return nullptr;
      continue;
    }
    // A loop: compile again with the registers it carries kept in host registers across
    // the back edge (the cache state the first compile had there). Should that fail, the
    // first version is emitted again.
    if (looped) {
      const size_t with_head = compile_once(&head);
      code_size = with_head != 0 ? with_head : compile_once(nullptr);
      if (code_size == 0) return nullptr;
    }
    arena.commit(pair_bytes + code_size);
    *span = total;
    if (stats_enabled()) g_traces[nsegs]++;
    if (perf_map_enabled()) {
      // Guest bytes of the block (its first page only: enough to read the code).
      const PhysRegion* region = c->mem->find(b->pa);
      const size_t in_page = 0x1000 - (b->pa & 0xFFF);
      perf_map(code, code_size, c->r[kRegRip],
               region != nullptr ? region->host + (b->pa - region->gpa) : nullptr,
               b->nbytes < in_page ? b->nbytes : in_page);
    }
    return reinterpret_cast<JitFn>(code);
  }
}

}  // namespace tsvirt::soft
