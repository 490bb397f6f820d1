// Guest-physical memory map: region registration, lookup, code-page invalidation.
// See phys_memory.h for the invariants the decoded-code caches rely on.
#include "soft/phys_memory.h"

#include <x86intrin.h>

#include <algorithm>

namespace tsvirt::soft {

std::unique_ptr<PhysMemory> PhysMemory::create() { return std::make_unique<PhysMem>(); }

PhysMem::PhysMem() : tsc_base_(__rdtsc()) {}

bool PhysMem::add_region(const RamRegion& region) {
  if (region.host == nullptr || region.size == 0 || (region.size & 0xFFF) != 0 ||
      (region.gpa & 0xFFF) != 0 || region.gpa + region.size < region.gpa) {
    return false;
  }
  for (const auto& r : regions_) {
    if (region.gpa < r->gpa + r->size && r->gpa < region.gpa + region.size) return false;
  }
  auto r = std::make_unique<PhysRegion>();
  r->gpa = region.gpa;
  r->size = region.size;
  r->host = region.host;
  r->writable = region.writable;
  r->epoch = &code_epoch_;
  const uint64_t pages = region.size >> 12;
  r->code.reset(new std::atomic<uint8_t>[pages]);
  r->gen.reset(new std::atomic<uint32_t>[pages]);
  for (uint64_t p = 0; p < pages; p++) {
    r->code[p].store(0, std::memory_order_relaxed);
    r->gen[p].store(0, std::memory_order_relaxed);
  }
  regions_.push_back(std::move(r));
  std::sort(regions_.begin(), regions_.end(),
            [](const auto& a, const auto& b) { return a->gpa < b->gpa; });
  last_hit_.store(nullptr);
  map_gen_.fetch_add(1, std::memory_order_release);  // MMIO translations cached before
  return true;
}

bool PhysMem::remove_region(uint64_t gpa, uint64_t size) {
  for (size_t k = 0; k < regions_.size(); k++) {
    if (regions_[k]->gpa != gpa || regions_[k]->size != size) continue;
    // Kept alive: blocks and TLB entries of the vCPUs may still point at it until each
    // vCPU sees the new map generation at its next run() and drops them.
    retired_.push_back(std::move(regions_[k]));
    regions_.erase(regions_.begin() + std::ptrdiff_t(k));
    last_hit_.store(nullptr);
    map_gen_.fetch_add(1, std::memory_order_release);
    return true;
  }
  return false;
}

const PhysRegion* PhysMem::find_slow(uint64_t gpa) const {
  size_t lo = 0, hi = regions_.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const PhysRegion* r = regions_[mid].get();
    if (gpa < r->gpa) hi = mid;
    else if (gpa - r->gpa >= r->size) lo = mid + 1;
    else {
      last_hit_.store(r, std::memory_order_relaxed);
      return r;
    }
  }
  return nullptr;
}

void PhysMem::invalidate_code(uint64_t gpa, uint64_t length) {
  if (length == 0) return;
  const uint64_t end = gpa + length;  // exclusive; clamp on overflow
  const uint64_t last = end < gpa ? ~uint64_t{0} : end - 1;
  for (const auto& r : regions_) {
    if (last < r->gpa || gpa >= r->gpa + r->size) continue;
    const uint64_t from = std::max(gpa, r->gpa);
    const uint64_t to = std::min(last, r->gpa + r->size - 1);
    for (uint64_t p = (from - r->gpa) >> 12; p <= (to - r->gpa) >> 12; p++) {
      if (r->code[p].load(std::memory_order_relaxed)) PhysMem::bump_page(r.get(), r->gpa + (p << 12));
    }
  }
}

}  // namespace tsvirt::soft
