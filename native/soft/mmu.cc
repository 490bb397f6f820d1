// Paging, software TLB and the slow paths of guest memory access.
//
// Implements Intel SDM vol. 3, chapter 4: 32-bit paging (4 KiB / 4 MiB with CR4.PSE),
// PAE paging (PDPTE registers loaded at CR3 load), 4-level paging (4 KiB / 2 MiB / 1 GiB),
// U/S, R/W with CR0.WP, NX with EFER.NXE, SMEP, global pages (CR4.PGE), accessed/dirty bits
// (set atomically, only when the translation succeeds), reserved-bit checks with
// PFEC.RSVD, and the page-fault error code / CR2. Not implemented (and not advertised in
// CPUID): SMAP, PKU, PCID, 5-level paging.
//
// TLB entries are 4 KiB even for large pages; each remembers the size of the page it came
// from so INVLPG drops every piece of it. A write tag is installed only for RAM pages whose
// dirty bit is already set, so the first write to a page always walks and sets D.
#include <cstdio>
#include <mutex>

#include "soft/insn.h"
#include "soft/ops.h"
#include "soft/phys_memory.h"

namespace tsvirt::soft {

namespace {

constexpr int kMaxPhysBits = 40;  // CPUID 0x80000008 EAX[7:0]
constexpr uint64_t kPhysAddrMask = ((uint64_t{1} << kMaxPhysBits) - 1) & kPageMask;
constexpr uint64_t kPteP = 1, kPteRW = 2, kPteUS = 4, kPteA = 0x20, kPteD = 0x40, kPtePS = 0x80,
                   kPteG = 0x100, kPteNX = uint64_t{1} << 63;

// Serialises page-crossing LOCKed accesses and MMIO read-modify-writes between vCPUs.
std::mutex g_split_lock;

}  // namespace

void Core::seg_fault(int s) { raise_fault(s == SS ? vec::SS : vec::GP, 0, true); }

// ---- physical access ----

uint64_t Core::phys_read(uint64_t pa, unsigned size) {
  const PhysRegion* r = mem->find(pa);
  if (r != nullptr && pa - r->gpa + size <= r->size) {
    const uint8_t* p = r->host + (pa - r->gpa);
    // Fixed-size copies compile to one load (page walks and TLB misses come through here).
    switch (size) {
      case 1: return *p;
      case 2: { uint16_t v; std::memcpy(&v, p, 2); return v; }
      case 4: { uint32_t v; std::memcpy(&v, p, 4); return v; }
      case 8: { uint64_t v; std::memcpy(&v, p, 8); return v; }
      default: { uint64_t v = 0; std::memcpy(&v, p, size); return v; }
    }
  }
  if (r == nullptr && size <= 8) return host->mmio_read(pa, int(size));
  uint64_t v = 0;
  for (unsigned k = 0; k < size; k++) v |= phys_read(pa + k, 1) << (8 * k);
  return v;
}

void Core::phys_write(uint64_t pa, unsigned size, uint64_t v) {
  const PhysRegion* r = mem->find(pa);
  if (r != nullptr && pa - r->gpa + size <= r->size) {
    if (!r->writable) return;
    std::memcpy(r->host + (pa - r->gpa), &v, size);
    const uint64_t first = (pa - r->gpa) >> 12, last = (pa - r->gpa + size - 1) >> 12;
    for (uint64_t p = first; p <= last; p++) {
      if (r->code[p].load(std::memory_order_relaxed)) {
        PhysMem::bump_page(r, r->gpa + (p << 12));
        end_block_after_current(r->gpa + (p << 12));
      }
    }
    return;
  }
  if (r == nullptr && size <= 8) {
    host->mmio_write(pa, int(size), v);
    return;
  }
  for (unsigned k = 0; k < size; k++) phys_write(pa + k, 1, (v >> (8 * k)) & 0xFF);
}

// Atomically OR bits into a paging-structure entry (A/D updates race with other vCPUs).
static void set_pte_bits(Core* c, uint64_t pa, uint64_t bits, bool is64) {
  const PhysRegion* r = c->mem->find(pa);
  if (r == nullptr || !r->writable) return;
  uint8_t* p = r->host + (pa - r->gpa);
  if (is64) __atomic_fetch_or(reinterpret_cast<uint64_t*>(p), bits, __ATOMIC_SEQ_CST);
  else __atomic_fetch_or(reinterpret_cast<uint32_t*>(p), uint32_t(bits), __ATOMIC_SEQ_CST);
  const uint64_t page = (pa - r->gpa) >> 12;
  if (r->code[page].load(std::memory_order_relaxed)) PhysMem::bump_page(r, pa);
}

// ---- page walk ----

namespace {

struct Walk {
  uint64_t pa = 0;        // physical address of the byte
  uint64_t entries[5];    // physical addresses of the entries used (for A/D)
  uint64_t values[5];     // their contents as the walk read them
  int nentries = 0;
  bool is64 = true;       // entry width
  bool rw = true, us = true, nx = false, global = false, dirty = false;
  int page_shift = 12;
};

}  // namespace

void Core::load_pdptes() {
  const uint64_t base = cr3 & 0xFFFFFFE0;
  for (int k = 0; k < 4; k++) pdpte[k] = phys_read(base + 8 * k, 8);
}

// Serve a 4-level translation from the large-page walk cache when the cached rights allow
// the access outright (SDM vol. 3, 4.6) and, for a write, D is already set.
bool Core::walk_cache_hit(uint64_t la, int access, bool user, void* walk) {
  if (!(cr0 & cr0::PG)) return false;
  const WalkCacheEntry& wc = wcache[(la >> 21) & (kWalkCacheSize - 1)];
  if (wc.tag != ((la & ~uint64_t{0x1FFFFF}) | 1)) return false;
  if (user && !wc.us) return false;
  if (access == kWrite && (!wc.dirty || (!wc.rw && (user || (cr0 & cr0::WP))))) return false;
  if (access == kExec && (wc.nx || (!user && wc.us && (cr4 & cr4::SMEP)))) return false;
  Walk& w = *static_cast<Walk*>(walk);
  w.pa = wc.pa | (la & 0x1FFFFF);
  w.nentries = 0;
  w.rw = wc.rw;
  w.us = wc.us;
  w.nx = wc.nx;
  w.global = wc.global;
  w.dirty = wc.dirty;
  w.page_shift = wc.shift;
  return true;
}

uint64_t Core::translate(uint64_t la, int access, bool user, bool fill_tlb) {
  Walk w;
  auto fault = [&](uint32_t code) {
    if (access == kWrite) code |= pfec::W;
    if (user) code |= pfec::U;
    if (access == kExec && ((efer & efer::NXE) || (cr4 & cr4::SMEP))) code |= pfec::I;
    cr2 = la;
    raise_fault(vec::PF, code, true);
  };
  const bool nxe = (efer & efer::NXE) != 0;
  const uint64_t rsvd_nx = nxe ? 0 : kPteNX;
  const uint64_t rsvd_high = ~((uint64_t{1} << kMaxPhysBits) - 1) & ~kPteNX & 0x000FFFFFFFFFFFFFull;

  if (!(cr0 & cr0::PG)) {
    w.pa = long_mode() ? la : (la & 0xFFFFFFFF);
    w.nentries = 0;
  } else if ((efer & efer::LMA) && walk_cache_hit(la, access, user, &w)) {
    // A large page walked before (w filled, nothing to set): see WalkCacheEntry.
  } else if (efer & efer::LMA) {
    // 4-level paging (SDM vol. 3, 4.5).
    uint64_t table = cr3 & kPhysAddrMask;
    static const int kShift[4] = {39, 30, 21, 12};
    for (int level = 0; level < 4; level++) {
      const uint64_t ea = table + (((la >> kShift[level]) & 0x1FF) << 3);
      const uint64_t e = phys_read(ea, 8);
      if (!(e & kPteP)) fault(0);
      uint64_t rsvd = rsvd_high | rsvd_nx;
      const bool leaf = level == 3 || (level >= 1 && (e & kPtePS));
      if (level == 0) rsvd |= kPtePS;  // PML4E.PS is reserved
      if (leaf && level == 1) rsvd |= 0x3FFFE000;       // 1 GiB page: bits 29:13
      if (leaf && level == 2) rsvd |= 0x1FE000;         // 2 MiB page: bits 20:13
      if (e & rsvd) fault(pfec::P | pfec::RSVD);
      w.values[w.nentries] = e;
      w.entries[w.nentries++] = ea;
      w.rw = w.rw && (e & kPteRW);
      w.us = w.us && (e & kPteUS);
      w.nx = w.nx || (nxe && (e & kPteNX));
      if (leaf) {
        w.page_shift = kShift[level];
        const uint64_t mask = (uint64_t{1} << w.page_shift) - 1;
        w.pa = ((e & kPhysAddrMask) & ~mask) | (la & mask);
        w.global = (e & kPteG) && (cr4 & cr4::PGE);
        w.dirty = e & kPteD;
        break;
      }
      table = e & kPhysAddrMask;
    }
  } else if (cr4 & cr4::PAE) {
    // PAE paging (SDM vol. 3, 4.4).
    const uint64_t pdpte_v = pdpte[(la >> 30) & 3];
    if (!(pdpte_v & kPteP)) fault(0);
    if (pdpte_v & (rsvd_high | kPteNX | 0x1E6)) fault(pfec::P | pfec::RSVD);
    uint64_t table = pdpte_v & kPhysAddrMask;
    for (int level = 0; level < 2; level++) {
      const int shift = level == 0 ? 21 : 12;
      const uint64_t ea = table + (((la >> shift) & 0x1FF) << 3);
      const uint64_t e = phys_read(ea, 8);
      if (!(e & kPteP)) fault(0);
      const bool leaf = level == 1 || (e & kPtePS);
      uint64_t rsvd = rsvd_high | rsvd_nx;
      if (leaf && level == 0) rsvd |= 0x1FE000;
      if (e & rsvd) fault(pfec::P | pfec::RSVD);
      w.values[w.nentries] = e;
      w.entries[w.nentries++] = ea;
      w.rw = w.rw && (e & kPteRW);
      w.us = w.us && (e & kPteUS);
      w.nx = w.nx || (nxe && (e & kPteNX));
      if (leaf) {
        w.page_shift = shift;
        const uint64_t mask = (uint64_t{1} << shift) - 1;
        w.pa = ((e & kPhysAddrMask) & ~mask) | (la & mask);
        w.global = (e & kPteG) && (cr4 & cr4::PGE);
        w.dirty = e & kPteD;
        break;
      }
      table = e & kPhysAddrMask;
    }
  } else {
    // 32-bit paging (SDM vol. 3, 4.3).
    w.is64 = false;
    const uint64_t la32 = la & 0xFFFFFFFF;
    const uint64_t pde_a = (cr3 & 0xFFFFF000) + ((la32 >> 22) << 2);
    const uint64_t pde = phys_read(pde_a, 4);
    if (!(pde & kPteP)) fault(0);
    w.values[w.nentries] = pde;
    w.entries[w.nentries++] = pde_a;
    w.rw = pde & kPteRW;
    w.us = pde & kPteUS;
    if ((pde & kPtePS) && (cr4 & cr4::PSE)) {
      // 4 MiB page; bits 20:13 of the PDE give physical address bits 39:32 (PSE-36).
      if (pde & (uint64_t{1} << 21)) fault(pfec::P | pfec::RSVD);
      const uint64_t hi = ((pde >> 13) & 0xFF) << 32;
      w.pa = (pde & 0xFFC00000) | hi | (la32 & 0x3FFFFF);
      w.page_shift = 22;
      w.global = (pde & kPteG) && (cr4 & cr4::PGE);
      w.dirty = pde & kPteD;
    } else {
      const uint64_t pte_a = (pde & 0xFFFFF000) + (((la32 >> 12) & 0x3FF) << 2);
      const uint64_t pte = phys_read(pte_a, 4);
      if (!(pte & kPteP)) fault(0);
      w.values[w.nentries] = pte;
      w.entries[w.nentries++] = pte_a;
      w.rw = w.rw && (pte & kPteRW);
      w.us = w.us && (pte & kPteUS);
      w.pa = (pte & 0xFFFFF000) | (la32 & 0xFFF);
      w.global = (pte & kPteG) && (cr4 & cr4::PGE);
      w.dirty = pte & kPteD;
    }
  }

  const bool paging = (cr0 & cr0::PG) != 0;
  if (paging) {
    // Permission checks (SDM vol. 3, 4.6).
    if (user && !w.us) fault(pfec::P);
    if (access == kWrite && !w.rw && (user || (cr0 & cr0::WP))) fault(pfec::P);
    if (access == kExec) {
      if (w.nx) fault(pfec::P);
      if (!user && w.us && (cr4 & cr4::SMEP)) fault(pfec::P);
    }
    // Accessed / dirty bits: set (atomically) where the walk found them clear.
    for (int k = 0; k < w.nentries; k++) {
      const bool leaf = k == w.nentries - 1;
      uint64_t bits = kPteA;
      if (leaf && access == kWrite) bits |= kPteD;
      if ((w.values[k] & bits) != bits) set_pte_bits(this, w.entries[k], bits, w.is64);
    }
    if (access == kWrite) w.dirty = true;
    if (w.nentries == 4 - (w.page_shift - 12) / 9 && w.page_shift >= 21 && (efer & efer::LMA)) {
      // A completed 4-level walk to a large page: every entry has A set now.
      WalkCacheEntry& wc = wcache[(la >> 21) & (kWalkCacheSize - 1)];
      wc.tag = (la & ~uint64_t{0x1FFFFF}) | 1;
      wc.pa = w.pa & ~uint64_t{0x1FFFFF};
      wc.rw = w.rw;
      wc.us = w.us;
      wc.nx = w.nx;
      wc.global = w.global;
      wc.dirty = w.dirty;
      wc.shift = uint8_t(w.page_shift);
    }
  }

  if (fill_tlb) {
    const PhysRegion* r = mem->find(w.pa);
    if (r != nullptr) {
      const uint64_t vpage = la & kPageMask;
      const uint64_t ppage = w.pa & kPageMask;
      const int set = user ? 1 : 0;
      TlbEntry& e = tlbs[set][tlb_index(la)];
      TlbCold& x = tlbx[set][tlb_index(la)];
      if (w.global) {
        if (!(x.listed & 2)) tlb_filled_g[set][tlb_nfilled_g[set]++] = uint16_t(tlb_index(la));
        x.listed |= 2;
      } else {
        if (!(x.listed & 1)) tlb_filled[set][tlb_nfilled[set]++] = uint16_t(tlb_index(la));
        x.listed |= 1;
      }
      e.addend = reinterpret_cast<uintptr_t>(r->host + (ppage - r->gpa)) - vpage;
      e.code = &r->code[(ppage - r->gpa) >> 12];
      x.pa = ppage;
      e.tag_r = vpage;
      const bool can_write = !paging || ((w.rw || (!user && !(cr0 & cr0::WP))) && w.dirty);
      // No write tag for a code page (phys_memory.h): its stores take the slow path.
      const bool code = e.code->load(std::memory_order_acquire) != 0;
      e.tag_w = (can_write && r->writable && !code) ? vpage : 1;
      const bool can_exec = !paging || (!w.nx && (user || !w.us || !(cr4 & cr4::SMEP)));
      x.tag_x = can_exec ? vpage : 1;
      // A page with a data breakpoint is never cached for data: its accesses go slow.
      if (SOFT_UNLIKELY(bp_data != 0) && page_watched(vpage)) e.tag_r = e.tag_w = 1;
      x.global = w.global;
      x.lpshift = uint8_t(w.page_shift);
      if (w.global) tlb_has_global = true;
    }
  }
  return w.pa;
}

void Core::tlb_flush(bool include_global) {
  for (int set = 0; set < 2; set++) {
    // An index listed as non-global may hold a global entry by now: it is then listed as
    // global too, and only a flush of global entries clears it.
    for (uint32_t n = 0; n < tlb_nfilled[set]; n++) {
      const uint16_t k = tlb_filled[set][n];
      TlbCold& x = tlbx[set][k];
      x.listed &= uint8_t(~1u);
      if (x.global && !include_global) continue;
      TlbEntry& e = tlbs[set][k];
      e.tag_r = e.tag_w = 1;
      x.tag_x = 1;
      x.global = 0;
    }
    tlb_nfilled[set] = 0;
    if (!include_global) continue;
    for (uint32_t n = 0; n < tlb_nfilled_g[set]; n++) {
      const uint16_t k = tlb_filled_g[set][n];
      TlbEntry& e = tlbs[set][k];
      TlbCold& x = tlbx[set][k];
      e.tag_r = e.tag_w = 1;
      x.tag_x = 1;
      x.global = 0;
      x.listed = 0;
    }
    tlb_nfilled_g[set] = 0;
  }
  if (include_global) tlb_has_global = false;
  for (WalkCacheEntry& wc : wcache) wc.tag = 0;
}

// Empty entry k of `set` when it maps linear address la (entries cut from large pages
// cover their whole page). It stays listed: a later fill of k needs no new list slot.
void Core::tlb_drop_if_maps(int set, uint16_t k, uint64_t la) {
  TlbEntry& e = tlbs[set][k];
  TlbCold& x = tlbx[set][k];
  // An entry may hold an exec tag only (tag_r cleared for a watched page).
  const uint64_t tag = (e.tag_r & 1) ? x.tag_x : e.tag_r;
  if (tag & 1) return;
  const uint64_t mask = ~((uint64_t{1} << x.lpshift) - 1);
  if ((tag & mask) == (la & mask)) {
    e.tag_r = e.tag_w = 1;
    x.tag_x = 1;
    x.global = 0;
  }
}

bool Core::tlb_unwrite_page(uint64_t ppage) {
  bool had = false;
  auto visit = [&](int set, uint16_t k) {
    TlbEntry& e = tlbs[set][k];
    if (!(e.tag_w & 1) && tlbx[set][k].pa == ppage) {
      e.tag_w = 1;
      had = true;
    }
  };
  for (int set = 0; set < 2; set++) {
    for (uint32_t n = 0; n < tlb_nfilled[set]; n++) visit(set, tlb_filled[set][n]);
    for (uint32_t n = 0; n < tlb_nfilled_g[set]; n++) visit(set, tlb_filled_g[set][n]);
  }
  return had;
}

void Core::tlb_flush_page(uint64_t la) {
  for (WalkCacheEntry& wc : wcache) wc.tag = 0;
  for (int set = 0; set < 2; set++) {
    for (uint32_t n = 0; n < tlb_nfilled[set]; n++) tlb_drop_if_maps(set, tlb_filled[set][n], la);
    for (uint32_t n = 0; n < tlb_nfilled_g[set]; n++) tlb_drop_if_maps(set, tlb_filled_g[set][n], la);
  }
}

// ---- linear access slow paths ----

namespace {

// Non-canonical linear address in 64-bit mode: #SS(0) for stack references, else #GP(0).
inline void check_canonical(Core* c, uint64_t la, unsigned size, int s) {
  if (c->code_size == 64 && (!c->canonical(la) || !c->canonical(la + size - 1))) {
    c->raise_fault(s == SS ? vec::SS : vec::GP, 0, true);
  }
}

}  // namespace

uint64_t Core::read_slow(uint64_t la, unsigned size, int s) {
  check_canonical(this, la, size, s);
  if (SOFT_UNLIKELY(bp_data != 0)) watch_access(la, size, false);
  const bool user = cpl == 3;
  const unsigned first = 0x1000 - unsigned(la & 0xFFF);
  if (size <= first) {
    const uint64_t pa = translate(la, kRead, user, true);
    return phys_read(pa, size);
  }
  // Page-crossing: translate both pages before reading.
  const uint64_t la2 = (la + first) & la_mask;
  const uint64_t pa1 = translate(la, kRead, user, true);
  const uint64_t pa2 = translate(la2, kRead, user, true);
  uint64_t lo = phys_read(pa1, first);
  uint64_t hi = phys_read(pa2, size - first);
  return lo | (hi << (8 * first));
}

void Core::write_slow(uint64_t la, unsigned size, uint64_t v, int s) {
  check_canonical(this, la, size, s);
  if (SOFT_UNLIKELY(bp_data != 0)) watch_access(la, size, true);
  const bool user = cpl == 3;
  const unsigned first = 0x1000 - unsigned(la & 0xFFF);
  if (size <= first) {
    const uint64_t pa = translate(la, kWrite, user, true);
    phys_write(pa, size, v);
    return;
  }
  const uint64_t la2 = (la + first) & la_mask;
  const uint64_t pa1 = translate(la, kWrite, user, true);
  const uint64_t pa2 = translate(la2, kWrite, user, true);
  phys_write(pa1, first, v);
  phys_write(pa2, size - first, v >> (8 * first));
}

uint8_t* Core::rmw_ptr(uint64_t la, unsigned size, int s) {
  check_canonical(this, la, size, s);
  if (SOFT_UNLIKELY(bp_data != 0)) watch_access(la, size, true);
  const bool user = cpl == 3;
  const unsigned first = 0x1000 - unsigned(la & 0xFFF);
  if (size > first) {
    translate(la, kWrite, user, true);
    translate((la + first) & la_mask, kWrite, user, true);
    return nullptr;
  }
  const uint64_t pa = translate(la, kWrite, user, true);
  const PhysRegion* r = mem->find(pa);
  if (r == nullptr || !r->writable || pa - r->gpa + size > r->size) return nullptr;
  const uint64_t page = (pa - r->gpa) >> 12;
  if (r->code[page].load(std::memory_order_relaxed)) {
    PhysMem::bump_page(r, pa);
    end_block_after_current(pa & kPageMask);
  }
  return r->host + (pa - r->gpa);
}

uint64_t Core::read_sys(uint64_t la, unsigned size) {
  const unsigned first = 0x1000 - unsigned(la & 0xFFF);
  if (size <= first) return phys_read(translate(la, kRead, false, true), size);
  const uint64_t pa1 = translate(la, kRead, false, true);
  const uint64_t pa2 = translate((la + first) & la_mask, kRead, false, true);
  return phys_read(pa1, first) | (phys_read(pa2, size - first) << (8 * first));
}

void Core::write_sys(uint64_t la, unsigned size, uint64_t v) {
  const unsigned first = 0x1000 - unsigned(la & 0xFFF);
  if (size <= first) {
    phys_write(translate(la, kWrite, false, true), size, v);
    return;
  }
  const uint64_t pa1 = translate(la, kWrite, false, true);
  const uint64_t pa2 = translate((la + first) & la_mask, kWrite, false, true);
  phys_write(pa1, first, v);
  phys_write(pa2, size - first, v >> (8 * first));
}

std::mutex& split_lock() { return g_split_lock; }

}  // namespace tsvirt::soft
