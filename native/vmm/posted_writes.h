// Posted ("notify") write ranges: guest writes the vCPU does not wait for, KVM_IOEVENTFD's
// idea done in the vmm so that it works the same on both backends.
//
// A device model registers a write-only range (port or MMIO space, base, length, access
// width, optionally a datamatch value as KVM_IOEVENTFD_FLAG_DATAMATCH). A guest write that
// falls entirely inside a range, has exactly the range's width, is aligned to it (offset %
// width == 0), is not string I/O and matches the datamatch if one is set, is handed to
// ExitHandler::post_write(vcpu, id, offset, value) instead of a synchronous exit; when that
// answers false (the handler's ring is full, or nobody consumes posted writes) the write
// takes the normal exit path, so a write is never dropped. Reads, other widths, unaligned
// and string accesses always take the normal path.
//
// What it does not do: decide anything about the value (devices re-validate it: the guest
// is hostile), or use the kernel's KVM_IOEVENTFD. On KVM the vCPU thread still takes the
// KVM_EXIT_IO/KVM_EXIT_MMIO exit (microseconds on a nested kvm_pvm host) but no longer waits
// for JavaScript: it posts the write here and re-enters the guest. A kernel eventfd would
// save that exit too, but carries no value and no ordering with the vCPU's later exits, and
// needs one eventfd per queue (datamatch); it is not used.
//
// Threading: add()/remove() run on any thread (the JavaScript thread); lookup and post run
// on vCPU threads under the same mutex, so once remove(id) returns no vCPU can post another
// write for id (entries posted before stay in the handler's ring and are delivered; see
// native/binding/exit_bridge.h for the ordering rule). The mutex is taken only for writes
// that would otherwise exit to the handler (already the slow path), and only when at least
// one range exists. Lock order: this mutex, then whatever post_write takes.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "vmm/error.h"
#include "vmm/exit.h"

namespace tsvirt::vmm {

enum class PostedSpace : uint8_t { kPort = 0, kMmio = 1 };

struct PostedRange {
  uint32_t id = 0;
  PostedSpace space = PostedSpace::kPort;
  uint64_t base = 0;
  uint64_t length = 0;
  uint8_t width = 0;  // 1, 2, 4 or 8 (8: MMIO only)
  bool has_datamatch = false;
  uint64_t datamatch = 0;
};

class PostedWriteTable {
 public:
  // At most this many ranges (a guest moving BARs cannot grow the table: devices remove
  // before they add).
  static constexpr size_t kMaxRanges = 256;

  // Validates and adds a range; *id receives its id (never 0, never reused).
  Error add(PostedSpace space, uint64_t base, uint64_t length, int width, bool has_datamatch,
            uint64_t datamatch, uint32_t* id);
  // Removes range id; invalid-argument when there is none.
  Error remove(uint32_t id);
  size_t size() const { return count_.load(std::memory_order_acquire); }

  // vCPU thread: if the write matches a range, offers it to handler.post_write and returns
  // what it answered; *matched says whether a range matched at all.
  bool post(int vcpu, PostedSpace space, uint64_t addr, int width, uint64_t value,
            ExitHandler& handler, bool* matched);

 private:
  std::mutex mu_;
  std::vector<PostedRange> ranges_;
  std::atomic<size_t> count_{0};
  uint32_t next_id_ = 1;
};

}  // namespace tsvirt::vmm
