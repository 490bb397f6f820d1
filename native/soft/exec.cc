// The run loop: decoded-block cache, block chaining, instruction budget, events.
//
// Blocks are keyed by (guest-physical address, decode mode) and built once; executing one
// is a loop over pre-resolved handlers (`i = i->fn(c, i)` until nullptr). After a block,
// the loop follows a cached link to its successor when the branch stayed inside the same
// physical page (then the virtual→physical mapping cannot have changed under it), else it
// translates RIP through the execution TLB and looks the block up in a hash table.
// Every block entry compares the generation of its page(s) with PhysMem (a store to a
// code page by any vCPU or a DMA write bumps it): stale blocks are rebuilt.
//
// Events (stop requests, interrupts, NMI, HLT, single-step, interrupt shadows) are looked
// at only between blocks, through two words: sync_events (this thread) and async_events
// (other threads). Faults raised inside a handler longjmp back to run(), which counts the
// instructions of the interrupted block that retired and delivers the exception.
//
// Allocation: the block and instruction arenas are allocated once per vCPU; when either
// is full the whole cache is dropped (no allocation while running).
#include <cstdio>
#include <cstdlib>
#include <new>

#include "soft/flagopt.h"
#include "soft/insn.h"
#include "soft/jit.h"
#include "soft/ops.h"
#include "soft/phys_memory.h"

namespace tsvirt::soft {

void deliver_event(Core* c, int vector, EventKind kind, bool has_error, uint32_t error,
                   uint64_t return_rip);  // interrupts.cc
void deliver_fault(Core* c);              // interrupts.cc

struct BlockCache {
  static constexpr size_t kHashBits = 16;
  static constexpr size_t kHashSize = size_t{1} << kHashBits;
  static constexpr size_t kMaxBlocks = 1u << 16;
  static constexpr size_t kMaxInsns = 1u << 20;
  // Direct-mapped front of the hash table (small enough to stay in cache): the last block
  // found for each slot of physical addresses.
  static constexpr size_t kJumpBits = 10;

  Block* hash[kHashSize];
  Block* jump[size_t{1} << kJumpBits];
  Block* blocks;
  size_t nblocks = 0;
  Insn* insns;
  size_t ninsns = 0;
  // Scratch for code that is not in RAM (MMIO/ROM fetch): decoded per execution.
  Block scratch;
  Insn scratch_insns[2];
  // One instruction copied out of a block plus a stop marker, for stepping (budget, TF):
  // handlers chain into their successor, so a block cannot be stopped in the middle.
  Block step;
  Insn step_insns[2];
  // Compiled code of blocks (jit.h): dropped with them.
  JitArena jit;

  BlockCache() {
    // Cache-line aligned: an Insn is one line, so no handler touches two lines for it.
    blocks = static_cast<Block*>(::operator new(sizeof(Block) * kMaxBlocks, std::align_val_t{64}));
    insns = static_cast<Insn*>(::operator new(sizeof(Insn) * kMaxInsns, std::align_val_t{64}));
    clear();
  }
  ~BlockCache() {
    ::operator delete(blocks, std::align_val_t{64});
    ::operator delete(insns, std::align_val_t{64});
  }
  void clear() {
    std::memset(hash, 0, sizeof(hash));
    std::memset(jump, 0, sizeof(jump));
    nblocks = 0;
    ninsns = 0;
    jit.reset();
  }
  static size_t jump_slot(uint64_t pa) {
    return size_t((pa ^ (pa >> kJumpBits)) & ((size_t{1} << kJumpBits) - 1));
  }
  static size_t slot(uint64_t pa, uint32_t mode) {
    const uint64_t h = (pa ^ (pa >> 13) ^ (uint64_t(mode) << 7)) * 0x9E3779B97F4A7C15ull;
    return size_t(h >> (64 - kHashBits));
  }
};

Core::Core(PhysMem& m, CpuHost& h, int id)
    : mem(&m), host(&h), code_epoch(m.epoch()), vcpu_id(id) {
  blocks = new BlockCache();
  m.attach(this);
  set_cpuid(nullptr, 0);
  tsc_offset = -int64_t(m.tsc_base());  // TSC 0 when the VM's memory map was made (all vCPUs)
  // Power-on values of what INIT keeps.
  msr_mtrr_def = 0;
  std::memset(msr_mtrr_fixed, 0, sizeof(msr_mtrr_fixed));
  std::memset(msr_mtrr_var, 0, sizeof(msr_mtrr_var));
  reset();
}

Core::~Core() {
  mem->detach(this);
  delete blocks;
  delete[] cpuid_table;
}

std::unique_ptr<Cpu> Cpu::create(PhysMemory& memory, CpuHost& host, int vcpu_id) {
  return std::make_unique<Core>(static_cast<PhysMem&>(memory), host, vcpu_id);
}

void Core::flush_blocks() { blocks->clear(); }

[[noreturn]] void Core::raise_fault(int vector, uint32_t error, bool has_error) {
  fault.vector = vector;
  fault.error = error;
  fault.has_error = has_error;
  std::longjmp(jb, 1);
}

[[noreturn]] void Core::internal_error(const char* msg) {
  std::snprintf(errbuf, sizeof(errbuf), "%s (rip=%#llx)", msg,
                static_cast<unsigned long long>(r[kRegRip]));
  sync_events |= ev::kError;
  fault.vector = -1;
  std::longjmp(jb, 1);
}

// ---- block building ----

void Core::end_block_after_current(uint64_t pa_page) {
  const Block* b = cur_block;
  if (b == nullptr || cur == nullptr) return;
  const uint64_t first = b->pa & kPageMask;
  const uint64_t last = (b->pa + (b->nbytes ? b->nbytes - 1 : 0)) & kPageMask;
  if (pa_page != first && pa_page != last) return;
  // The block is stale now (its page generation moved): patching it is safe. Compiled
  // code is not patched (cur_block may even be a block only compiled into another one's
  // trace): it looks at jit_smc after every store that can reach here.
  if (jit_active) {
    jit_smc = true;
    return;
  }
  const size_t k = size_t(cur - b->insns);
  if (k < b->ninsn) {
    b->insns[k + 1].fn = op_smc_break;
    b->insns[k + 1].exact = nullptr;
  }
}

// Physical page `ppage` just became a code page (phys_memory.h): no TLB may keep a write
// tag for it.
static void new_code_page(Core* c, uint64_t ppage) {
  c->tlb_unwrite_page(ppage);
  c->mem->for_other_cores(c, [ppage](Core* other) { other->queue_code_page(ppage); });
}

// Build the block at physical `pa` (host bytes `hp`, valid to the end of the page) for
// linear RIP `la` in the current mode.
static Block* build_block(Core* c, Block* blk, uint64_t pa, const PhysRegion* region,
                          uint64_t la) {
  BlockCache& bc = *c->blocks;
  Insn* out = bc.insns + bc.ninsns;
  const uint64_t page_off = pa & 0xFFF;
  const uint64_t rpage = (pa - region->gpa) >> 12;
  std::atomic<uint8_t>& code = region->code[rpage];
  blk->checked_epoch = region->epoch->load(std::memory_order_acquire);
  if (code.exchange(1, std::memory_order_seq_cst) == 0) new_code_page(c, pa & kPageMask);
  blk->pa = pa;
  blk->mode = c->mode_key;
  blk->genp[0] = &region->gen[rpage];
  blk->gen[0] = blk->genp[0]->load(std::memory_order_acquire);
  blk->genp[1] = blk->genp[0];
  blk->gen[1] = blk->gen[0];
  blk->link[0] = blk->link[1] = nullptr;
  blk->hits = 0;
  blk->jit = nullptr;
  // A rebuilt block may end differently: its chain slots name the old successors.
  blk->chain[0] = blk->chain[1] = nullptr;
  blk->insns = out;
  const uint8_t* hp = region->host + (pa - region->gpa);
  unsigned n = 0;
  unsigned off = 0;
  const unsigned in_page = unsigned(0x1000 - page_off);
  while (n < kMaxBlockInsns) {
    uint32_t flags = 0;
    unsigned len = decode_insn(c, hp + off, in_page - off, &out[n], &flags);
    out[n].off = uint16_t(off);
    if (out[n].base == kRegRip) out[n].disp += off;
    if (len == 0) {
      // The instruction continues on the next page.
      if (n > 0) break;
      uint8_t buf[16];
      const unsigned have = in_page - off;
      std::memcpy(buf, hp + off, have);
      const uint64_t la2 = (la + have) & c->la_mask;
      const uint64_t pa2 = c->translate(la2, Core::kExec, c->cpl == 3, true);
      for (unsigned k = have; k < 16; k++) buf[k] = uint8_t(c->phys_read(pa2 + (k - have), 1));
      len = decode_insn(c, buf, 16, &out[n], &flags);
      out[n].off = uint16_t(off);
      if (out[n].base == kRegRip) out[n].disp += off;
      const PhysRegion* r2 = c->mem->find(pa2);
      if (r2 != nullptr) {
        const uint64_t p2 = (pa2 - r2->gpa) >> 12;
        if (r2->code[p2].exchange(1, std::memory_order_seq_cst) == 0) new_code_page(c, pa2 & kPageMask);
        blk->genp[1] = &r2->gen[p2];
        blk->gen[1] = blk->genp[1]->load(std::memory_order_acquire);
      }
      off += len;
      n++;
      break;
    }
    off += len;
    n++;
    if (flags & opf::kEndsBlock) break;
    if (off >= in_page) break;
  }
  optimize_flags(out, n);
  out[n] = Insn{};
  out[n].fn = op_block_end;
  out[n].off = uint16_t(off);
  blk->ninsn = uint16_t(n);
  blk->nbytes = uint16_t(off);
  bc.ninsns += n + 1;
  return blk;
}

// Decode a single instruction from memory that is not RAM (MMIO or unmapped): never cached.
static Block* build_uncached(Core* c, uint64_t la, uint64_t pa) {
  BlockCache& bc = *c->blocks;
  uint8_t buf[16];
  const unsigned in_page = unsigned(0x1000 - (pa & 0xFFF));
  for (unsigned k = 0; k < 16; k++) {
    if (k < in_page) {
      buf[k] = uint8_t(c->phys_read(pa + k, 1));
    } else {
      const uint64_t pa2 = c->translate((la + k) & c->la_mask, Core::kExec, c->cpl == 3, true);
      buf[k] = uint8_t(c->phys_read(pa2, 1));
    }
  }
  Block* b = &bc.scratch;
  uint32_t flags = 0;
  const unsigned len = decode_insn(c, buf, 16, &bc.scratch_insns[0], &flags);
  b->pa = pa;
  b->mode = ~0u;
  b->jit = nullptr;
  b->ninsn = 1;
  b->nbytes = uint16_t(len);
  b->insns = bc.scratch_insns;
  b->genp[0] = b->genp[1] = nullptr;
  b->link[0] = b->link[1] = nullptr;
  bc.scratch_insns[1] = Insn{};
  bc.scratch_insns[1].fn = op_block_end;
  bc.scratch_insns[1].off = uint16_t(len);
  return b;
}

// Translate RIP for execution and find (or build) its block.
static Block* find_block(Core* c, bool* cleared) {
  const uint64_t rip = c->r[kRegRip];
  if (c->segcheck && rip > c->seg[CS].limit) c->gp(0);
  const uint64_t la = (c->seg_base[CS] + rip) & c->la_mask;
  if (c->code_size == 64 && !c->canonical(la)) c->gp(0);
  const TlbCold& e = c->tlb_cold(la);
  uint64_t pa;
  if (SOFT_LIKELY(e.tag_x == (la & kPageMask))) {
    pa = e.pa | (la & 0xFFF);
  } else {
    pa = c->translate(la, Core::kExec, c->cpl == 3, true);
  }
  BlockCache& bc = *c->blocks;
  Block*& jump = bc.jump[BlockCache::jump_slot(pa)];
  if (jump != nullptr && jump->pa == pa && jump->mode == c->mode_key) return jump;
  const size_t h = BlockCache::slot(pa, c->mode_key);
  for (Block* b = bc.hash[h]; b != nullptr; b = b->hash_next) {
    if (b->pa == pa && b->mode == c->mode_key) {
      jump = b;
      return b;
    }
  }
  const PhysRegion* region = c->mem->find(pa);
  if (region == nullptr) return build_uncached(c, la, pa);
  if (bc.nblocks >= BlockCache::kMaxBlocks ||
      bc.ninsns + kMaxBlockInsns + 1 >= BlockCache::kMaxInsns) {
    bc.clear();
    *cleared = true;
  }
  Block* b = &bc.blocks[bc.nblocks++];
  *b = Block{};
  build_block(c, b, pa, region, la);
  b->hash_next = bc.hash[h];
  bc.hash[h] = b;
  jump = b;
  return b;
}

static bool block_stale(const Block* b) {
  return b->genp[0] != nullptr &&
         (b->genp[0]->load(std::memory_order_relaxed) != b->gen[0] ||
          b->genp[1]->load(std::memory_order_relaxed) != b->gen[1]);
}

// Re-decode a stale block in place (its identity, and links to it, stay valid).
static void rebuild_block(Core* c, Block* b, uint64_t la) {
  BlockCache& bc = *c->blocks;
  if (bc.ninsns + kMaxBlockInsns + 1 >= BlockCache::kMaxInsns) {
    bc.clear();
    c->sync_events |= ev::kFlushBlocks;
    return;
  }
  const PhysRegion* region = c->mem->find(b->pa);
  Block* keep_next = b->hash_next;
  build_block(c, b, b->pa, region, la);
  b->hash_next = keep_next;
}

// ---- the loop ----

namespace {

enum class Service { kRun, kStepOne, kStop };

}  // namespace

static Service service_events(Core* c, StopReason* why);

// Compile b once it has run `threshold` times (jit.h); a full arena drops the whole cache
// before the next block.
static void maybe_compile(Core* c, Block* b, uint32_t threshold) {
  if (threshold == 0 || ++b->hits != threshold) return;
  bool full = false;
  unsigned span = 0;
  b->jit = jit_compile(c, b, c->blocks->jit, &full, &span);
  b->jit_span = uint16_t(span);
  if (full) c->sync_events |= ev::kFlushBlocks;
}

const Block* jit_lookup_block(Core* c, uint64_t pa, uint32_t mode) {
  const BlockCache& bc = *c->blocks;
  for (const Block* b = bc.hash[BlockCache::slot(pa, mode)]; b != nullptr; b = b->hash_next) {
    if (b->pa == pa && b->mode == mode) return b;
  }
  return nullptr;
}

// Run block b to its end. Returns the block that ran last: compiled code may have chained
// into successors (jit.h), which count their own instructions.
static inline Block* exec_block_full(Core* c, Block* b, uint32_t jit_threshold) {
  c->cur_block = b;
  c->cur_entry_rip = c->r[kRegRip];
  if (b->jit == nullptr) maybe_compile(c, b, jit_threshold);
  // Compiled code may run a trace of several blocks (jit_span instructions) before it
  // looks at the budget.
  if (b->jit != nullptr && c->budget_end - c->retired >= b->jit_span) {
    c->cur = b->insns;
    c->jit_active = true;
    b->jit(c);
    c->jit_active = false;
    if (SOFT_UNLIKELY(c->block_break)) {
      c->block_break = false;
      c->retired += size_t(c->cur - c->cur_block->insns);
    }
  } else {
    const Insn* i = b->insns;
    do {
      c->cur = i;
      i = i->fn(c, i);
    } while (i != nullptr);
    if (SOFT_UNLIKELY(c->block_break)) {
      // Cut short (REP slice, SMC): c->cur is the instruction that did not complete.
      c->block_break = false;
      c->retired += size_t(c->cur - b->insns);
    } else {
      c->retired += b->ninsn;
    }
  }
  Block* last = const_cast<Block*>(c->cur_block);
  c->cur_block = nullptr;
  c->cur = nullptr;
  return last;
}

// Marker after a stepped instruction: returning non-null means "it completed, go on".
static const Insn* op_step_stop(Core*, const Insn* i) { return i; }

// Execute at most n instructions of b, one at a time through BlockCache::step.
static void exec_block_partial(Core* c, const Block* b, unsigned n) {
  BlockCache& bc = *c->blocks;
  const uint64_t base = c->r[kRegRip];
  unsigned done = 0;
  for (unsigned j = 0; j < n && j < b->ninsn; j++) {
    bc.step = *b;
    bc.step.jit = nullptr;
    bc.step.insns = bc.step_insns;
    bc.step.ninsn = 1;
    bc.step_insns[0] = b->insns[j];
    // Alone, an instruction's flags are observable: run the exact handler (flagopt.h).
    if (bc.step_insns[0].exact != nullptr) bc.step_insns[0].fn = bc.step_insns[0].exact;
    bc.step_insns[1] = Insn{};
    bc.step_insns[1].fn = op_step_stop;
    bc.step_insns[1].off = uint16_t(b->insns[j].off + b->insns[j].len);
    c->cur_block = &bc.step;
    c->cur_entry_rip = base;
    c->cur = bc.step_insns;
    const Insn* r = bc.step_insns[0].fn(c, bc.step_insns);
    c->cur_block = nullptr;
    c->cur = nullptr;
    if (c->block_break) {  // REP slice or SMC cut: the instruction did not complete
      c->block_break = false;
      if (c->r[kRegRip] != base + b->insns[j].off) done++;  // SMC: it completed
      c->retired += done;
      return;
    }
    done++;
    if (r == nullptr) {  // control transfer: RIP is set
      c->retired += done;
      return;
    }
  }
  c->r[kRegRip] = base + (done < b->ninsn ? b->insns[done].off : b->nbytes);
  if (c->code_size != 64) c->r[kRegRip] &= c->code_size == 32 ? 0xFFFFFFFFull : 0xFFFFull;
  c->retired += done;
}

static StopReason run_loop(Core* c) {
  static const uint32_t jit_threshold = tsvirt::soft::jit_threshold();
  Block* prev = nullptr;
  // A compiled block's empty chain slot to fill with the next block (jit.h), the block it
  // belongs to and that block's entry RIP.
  // A slot tagged with bit 0 is checked by the compiled code against the execution TLB,
  // so any block of the owner's mode may fill it; an untagged one only a block in the
  // linear page the owner started in.
  uintptr_t chain_slot = 0;
  const Block* chain_owner = nullptr;
  uint64_t chain_rip = 0;
  const std::atomic<uint64_t>* const code_epoch = c->code_epoch;  // fixed for the Core's life
  for (;;) {
    bool step_one = false;
    if (SOFT_UNLIKELY((c->sync_events | c->async_events.load(std::memory_order_relaxed)) != 0 ||
                      c->retired >= c->budget_end)) {
      prev = nullptr;
      chain_slot = 0;
      StopReason why = StopReason::kBudget;
      const Service s = service_events(c, &why);
      if (s == Service::kStop) return why;
      step_one = s == Service::kStepOne;
      if (c->sync_events & ev::kFlushBlocks) {
        c->sync_events &= ~ev::kFlushBlocks;
        c->flush_blocks();
      }
    }
    Block* b = nullptr;
    const uint64_t rip = c->r[kRegRip];
    int64_t delta = 0;
    if (prev != nullptr) {
      delta = int64_t(rip - c->cur_entry_rip);
      if (prev->link[0] != nullptr && delta == prev->link_delta[0]) b = prev->link[0];
      else if (prev->link[1] != nullptr && delta == prev->link_delta[1]) b = prev->link[1];
      if (b != nullptr && b->mode != c->mode_key) b = nullptr;
    }
    if (b == nullptr) {
      bool cleared = false;
      b = find_block(c, &cleared);
      if (cleared) {
        prev = nullptr;
        chain_slot = 0;
      }
      // Link prev → b when b starts in prev's physical page.
      if (prev != nullptr && b->mode == prev->mode && b != &c->blocks->scratch &&
          ((prev->pa + uint64_t(delta)) & ~uint64_t{0}) == b->pa &&
          (b->pa & kPageMask) == (prev->pa & kPageMask)) {
        const int slot = prev->link[0] == nullptr ? 0 : 1;
        prev->link[slot] = b;
        prev->link_delta[slot] = delta;
      }
    }
    if (chain_slot != 0) {
      const bool checked = (chain_slot & 1) != 0;
      if (b != &c->blocks->scratch && b->mode == chain_owner->mode &&
          (checked || (((rip ^ chain_rip) >> 12) == 0 && (b->pa >> 12) == (chain_owner->pa >> 12)))) {
        *reinterpret_cast<Block**>(chain_slot & ~uintptr_t{1}) = b;
      }
      chain_slot = 0;
    }
    const uint64_t epoch = code_epoch->load(std::memory_order_relaxed);
    if (SOFT_UNLIKELY(b->checked_epoch != epoch)) {
      if (block_stale(b)) {
        const uint64_t la = (c->seg_base[CS] + rip) & c->la_mask;
        rebuild_block(c, b, la);
        if (c->sync_events & ev::kFlushBlocks) {
          prev = nullptr;
          continue;
        }
      } else {
        b->checked_epoch = epoch;
      }
    }
    const uint64_t left = c->budget_end - c->retired;
    if (SOFT_UNLIKELY(step_one || left < b->ninsn || b == &c->blocks->scratch)) {
      exec_block_partial(c, b, step_one ? 1u : unsigned(left < b->ninsn ? left : b->ninsn));
      prev = nullptr;
      if (step_one) c->sync_events |= ev::kStepDone;
      continue;
    }
    c->chain_slot = 0;
    prev = exec_block_full(c, b, jit_threshold);
    if (c->chain_slot != 0) {
      chain_slot = c->chain_slot;
      chain_owner = prev;
      chain_rip = c->cur_entry_rip;
    }
    if (prev->ninsn == 0) prev = nullptr;
  }
}

// Deliver what is pending at an instruction boundary. Returns kStop with *why set when
// run() must return, kStepOne when exactly one instruction must run before the next look.
static Service service_events(Core* c, StopReason* why) {
  // Completion of a single-stepped instruction (TF trap). After MOV SS / POP SS the trap is
  // held until the next instruction completes (SDM vol. 3, 6.8.3).
  // Data breakpoints hit by it are reported in the same #DB (debug.cc).
  if (c->sync_events & ev::kStepDone) {
    c->sync_events &= ~ev::kStepDone;
    // RF suppressed instruction breakpoints for the instruction; it is cleared once that
    // instruction completes (SDM vol. 3, 18.3.1.1).
    if (c->rf_step) {
      c->rf_step = false;
      c->rfl &= ~fl::RF;
    }
    const bool held = (c->sync_events & ev::kShadowSs) != 0;
    const bool bs = c->step_tf && !held;
    // Data breakpoints hit by MOV SS / POP SS are held with the shadow, then reported with
    // those of the next instruction (or at the entry of the handler INT n / INT3 reach).
    if (held) c->bp_held |= c->bp_hits;
    const uint8_t hits = held ? 0 : uint8_t(c->bp_hits | c->bp_held);
    if (!held) c->bp_held = 0;
    c->step_tf = false;
    c->bp_hits = 0;
    if (bs || hits) {
      if (bs) c->dr[6] |= 1u << 14;  // BS
      if (hits) c->dr[6] = (c->dr[6] & ~uint64_t{0xF}) | hits;
      deliver_event(c, vec::DB, EventKind::kException, false, 0, c->r[kRegRip]);
    }
  }
  const uint32_t a = c->async_events.load(std::memory_order_acquire);
  if (a != 0) {
    if (a & aev::kCodePages) {
      c->async_events.fetch_and(~aev::kCodePages, std::memory_order_acq_rel);
      c->take_code_pages();
    }
    if (a & aev::kIrq) {
      c->async_events.fetch_and(~aev::kIrq, std::memory_order_acq_rel);
      c->irq_wanted = true;
    }
    if (a & aev::kNmi) {
      c->async_events.fetch_and(~aev::kNmi, std::memory_order_acq_rel);
      c->nmi_pending = true;
    }
    if (a & aev::kStop) {
      c->async_events.fetch_and(~aev::kStop, std::memory_order_acq_rel);
      *why = StopReason::kStopRequested;
      return Service::kStop;
    }
  }
  if (c->sync_events & ev::kShutdown) {
    *why = StopReason::kShutdown;
    return Service::kStop;
  }
  if (c->sync_events & ev::kError) {
    *why = StopReason::kError;
    return Service::kStop;
  }
  if (c->sync_events & ev::kExitStop) {  // INT3 / PAUSE exit control (cpu.h)
    c->sync_events &= ~ev::kExitStop;
    *why = c->exit_stop;
    return Service::kStop;
  }
  c->sync_events &= ~ev::kInjected;
  if (c->injected.vector >= 0) {
    const Fault f = c->injected;
    c->injected.vector = -1;
    c->halted = false;
    c->sync_events &= ~ev::kHalted;
    deliver_event(c, f.vector, EventKind::kException, f.has_error, f.error, c->r[kRegRip]);
  }
  const bool shadow = (c->sync_events & ev::kShadow) != 0;
  c->sync_events &= ~(ev::kShadow | ev::kShadowSs);
  if (!shadow) {
    if (c->nmi_pending && !c->nmi_blocked) {
      c->nmi_pending = false;
      c->nmi_blocked = true;
      c->halted = false;
      c->sync_events &= ~ev::kHalted;
      deliver_event(c, vec::NMI, EventKind::kNmi, false, 0, c->r[kRegRip]);
    } else if (c->irq_wanted && (c->rfl & fl::IF)) {
      const int v = c->host->pending_interrupt();
      if (v >= 0 && v < 256) {
        c->host->ack_interrupt(v);
        c->halted = false;
        c->sync_events &= ~ev::kHalted;
        deliver_event(c, v, EventKind::kExternal, false, 0, c->r[kRegRip]);
      } else {
        c->irq_wanted = false;
      }
    }
  }
  c->sync_events &= ~ev::kIrqCheck;
  if (c->halted) {
    *why = StopReason::kHlt;
    return Service::kStop;
  }
  if (c->retired >= c->budget_end) {
    *why = StopReason::kBudget;
    return Service::kStop;
  }
  if (SOFT_UNLIKELY(c->sync_events & ev::kHwBreak)) {
    // Instruction breakpoints, a fault before the instruction (no RF in the pushed image:
    // the handler sets it to go on). RF set means this instruction is exempt.
    c->bp_hits = 0;
    if (c->rfl & fl::RF) {
      c->rf_step = true;
    } else if (c->bp_exec != 0) {
      const uint64_t la = (c->seg_base[CS] + c->r[kRegRip]) & c->la_mask;
      uint8_t hits = 0;
      for (int n = 0; n < 4; n++) {
        if ((c->bp_exec & (1u << n)) && c->dr[n] == la) hits |= uint8_t(1u << n);
      }
      if (hits) {
        c->dr[6] = (c->dr[6] & ~uint64_t{0xF}) | hits;
        deliver_event(c, vec::DB, EventKind::kException, false, 0, c->r[kRegRip]);
      }
    }
    c->step_tf = (c->rfl & fl::TF) != 0;
    return Service::kStepOne;
  }
  if (c->rfl & (fl::TF | fl::RF)) {
    // TF: trap after the instruction. RF (loaded by IRET): it exempts only the next
    // instruction and is cleared when that one completes, breakpoints enabled or not, so
    // it cannot linger until DR7 enables one (SDM vol. 3, 18.3.1.1).
    c->step_tf = (c->rfl & fl::TF) != 0;
    c->rf_step = (c->rfl & fl::RF) != 0;
    return Service::kStepOne;
  }
  c->sync_events &= ~ev::kTrap;
  return shadow ? Service::kStepOne : Service::kRun;
}

StopReason Core::run(uint64_t max_instructions) {
  const uint64_t gen = mem->map_gen();
  if (gen != map_gen_seen) {
    // The memory map changed while this vCPU was stopped: host pointers in the TLB and
    // decoded blocks may name removed memory.
    map_gen_seen = gen;
    tlb_flush(true);
    flush_blocks();
  }
  budget_end = retired + max_instructions;
  if (budget_end < retired) budget_end = ~uint64_t{0};
  for (;;) {
    if (setjmp(jb) == 0) return run_loop(this);
    // A fault was raised (or an internal error) by instruction `cur` of `cur_block`: it did
    // not retire; the ones before it did. RIP becomes the faulting instruction's.
    if (cur_block != nullptr && cur != nullptr) {
      retired += size_t(cur - cur_block->insns);
      r[kRegRip] = cur_entry_rip + cur->off;
      if (code_size != 64) r[kRegRip] &= code_size == 32 ? 0xFFFFFFFFull : 0xFFFFull;
    }
    cur_block = nullptr;
    cur = nullptr;
    block_break = false;
    jit_active = false;
    step_tf = false;
    rf_step = false;
    bp_hits = 0;
    sync_events &= ~ev::kStepDone;
    if (sync_events & ev::kError) return StopReason::kError;
    // Each delivered exception consumes one unit of the budget, so a guest that faults in a
    // loop without retiring instructions still returns to the host.
    if (budget_end > retired) budget_end--;
    deliver_fault(this);
    if (sync_events & ev::kShutdown) return StopReason::kShutdown;
  }
}

void Core::request_stop() { async_events.fetch_or(aev::kStop, std::memory_order_release); }

void Core::notify_interrupt() { async_events.fetch_or(aev::kIrq, std::memory_order_release); }

void Core::inject_nmi() { async_events.fetch_or(aev::kNmi, std::memory_order_release); }

void Core::queue_code_page(uint64_t ppage) {
  {
    std::lock_guard<std::mutex> g(code_pages_mu);
    code_pages_queued.push_back(ppage);
  }
  async_events.fetch_or(aev::kCodePages, std::memory_order_release);
}

void Core::take_code_pages() {
  std::vector<uint64_t> pages;
  {
    std::lock_guard<std::mutex> g(code_pages_mu);
    pages.swap(code_pages_queued);
  }
  for (uint64_t ppage : pages) {
    if (!tlb_unwrite_page(ppage)) continue;
    const PhysRegion* r = mem->find(ppage);
    if (r != nullptr) PhysMem::bump_page(r, ppage);
  }
}

void Core::inject_exception(int vector, bool has_error_code, uint32_t error_code) {
  if (vector < 0 || vector > 31) return;
  injected.vector = vector;
  injected.has_error = has_error_code;
  injected.error = error_code;
  sync_events |= ev::kInjected;
}

void Core::invalidate_code(uint64_t gpa, uint64_t length) { mem->invalidate_code(gpa, length); }

}  // namespace tsvirt::soft
