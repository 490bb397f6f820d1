// Guest-physical memory map shared by the vCPUs of one VM (implements cpu.h's PhysMemory).
//
// Holds the RAM/ROM regions the vmm registers, and for every 4 KiB page of them two words
// the decoded-code caches of all vCPUs rely on:
//  - code[p]: set when some vCPU decoded instructions from page p; a store that finds it set
//    takes the slow path, clears it and bumps gen[p];
//  - gen[p]: generation of page p; a decoded block remembers the generation of the page(s)
//    it came from and is re-decoded when it changed (so a store by any vCPU, or a DMA write
//    reported through invalidate_code, reaches every vCPU's cache without cross-thread
//    messages).
// A vCPU's TLB never holds a usable write tag for a page whose code flag is set, so the
// compiled stores need not look at the flag: when a page's flag goes from 0 to 1 the vCPU
// that decoded it drops its own write tags for the page and queues the page to every other
// vCPU (Core::queue_code_page), which drops theirs before its next block.
// The vCPUs attached to the map are listed here for that.
// Regions are added and removed while no vCPU runs (the vmm changes the map with its vCPUs
// stopped); lookups are lock-free reads of a sorted vector that does not change while any
// vCPU runs. A change bumps the map generation, which makes every vCPU drop its TLB and
// decoded blocks at its next run().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "soft/cpu.h"

namespace tsvirt::soft {

struct Core;

struct PhysRegion {
  uint64_t gpa = 0, size = 0;
  uint8_t* host = nullptr;
  bool writable = true;
  std::unique_ptr<std::atomic<uint8_t>[]> code;
  std::unique_ptr<std::atomic<uint32_t>[]> gen;
  std::atomic<uint64_t>* epoch = nullptr;  // the map's code epoch (PhysMem::code_epoch)
};

class PhysMem final : public PhysMemory {
 public:
  PhysMem();
  bool add_region(const RamRegion& region) override;
  bool remove_region(uint64_t gpa, uint64_t size) override;
  void invalidate_code(uint64_t gpa, uint64_t length) override;

  // The region containing gpa, or nullptr (MMIO).
  const PhysRegion* find(uint64_t gpa) const {
    const PhysRegion* last = last_hit_.load(std::memory_order_relaxed);
    if (last != nullptr && gpa - last->gpa < last->size) return last;
    return find_slow(gpa);
  }
  // Mark page of gpa as modified (called after a store hit a code page). The map-wide
  // epoch moves too: a vCPU re-checks a block's page generations only when the epoch it
  // last checked the block at differs, so the common case costs one load per block.
  static void bump_page(const PhysRegion* r, uint64_t gpa) {
    const uint64_t p = (gpa - r->gpa) >> 12;
    r->code[p].store(0, std::memory_order_relaxed);
    r->gen[p].fetch_add(1, std::memory_order_release);
    r->epoch->fetch_add(1, std::memory_order_release);
  }
  const std::atomic<uint64_t>* epoch() const { return &code_epoch_; }
  // The vCPUs of the map (Core's constructor and destructor), for code-page announcements.
  void attach(Core* c) {
    std::lock_guard<std::mutex> g(cores_mu_);
    cores_.push_back(c);
  }
  void detach(Core* c) {
    std::lock_guard<std::mutex> g(cores_mu_);
    for (size_t k = 0; k < cores_.size(); k++) {
      if (cores_[k] == c) {
        cores_.erase(cores_.begin() + long(k));
        break;
      }
    }
  }
  // Call f(core) for every attached vCPU but `self`, under the list's lock.
  template <class F> void for_other_cores(const Core* self, F f) {
    std::lock_guard<std::mutex> g(cores_mu_);
    for (Core* c : cores_) {
      if (c != self) f(c);
    }
  }
  // Host TSC when the map was created: every vCPU's TSC counts from it, so the vCPUs of one
  // VM read the same TSC (Linux checks they are synchronised) until the guest writes one.
  uint64_t tsc_base() const { return tsc_base_; }
  // Changes whenever a region is added or removed; each vCPU compares it at run() entry
  // and drops its TLB and decoded blocks when it moved.
  uint64_t map_gen() const { return map_gen_.load(std::memory_order_acquire); }

 private:
  const PhysRegion* find_slow(uint64_t gpa) const;
  std::vector<std::unique_ptr<PhysRegion>> regions_;  // sorted by gpa
  mutable std::atomic<const PhysRegion*> last_hit_{nullptr};
  std::atomic<uint64_t> code_epoch_{1};
  uint64_t tsc_base_ = 0;
  std::atomic<uint64_t> map_gen_{1};
  std::vector<std::unique_ptr<PhysRegion>> retired_;  // removed regions (see remove_region)
  std::mutex cores_mu_;
  std::vector<Core*> cores_;
};

}  // namespace tsvirt::soft
