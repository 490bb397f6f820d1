// PostedRing: the bounded single-producer single-consumer ring one vCPU fills with its
// posted writes (native/vmm/posted_writes.h) and the JavaScript thread drains.
//
// Producer: the vCPU's thread only (push never blocks and never allocates; false when the
// ring is full, and the caller then takes the normal synchronous exit). Consumer: the JS
// thread only (pop). Capacity is a power of two fixed at construction; head and tail are
// free-running 32-bit counters on their own cache lines, published with release/acquire, so
// an entry is fully written before the consumer can see it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace tsvirt::binding {

struct PostedEntry {
  uint32_t range_id;
  uint32_t offset;
  uint64_t value;
};

class PostedRing {
 public:
  // capacity: a power of two in 1..65536 (the binding checks the user's value).
  explicit PostedRing(uint32_t capacity)
      : mask_(capacity - 1), entries_(new PostedEntry[capacity]) {}

  uint32_t capacity() const { return mask_ + 1; }

  // Producer side.
  bool push(const PostedEntry& e) {
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    uint32_t head = head_.load(std::memory_order_acquire);
    if (tail - head > mask_) return false;  // full
    entries_[tail & mask_] = e;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer side.
  bool pop(PostedEntry* out) {
    uint32_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    *out = entries_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: entries queued now (a lower bound while the producer runs).
  uint32_t available() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_relaxed);
  }

  bool empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

  // Consumer side, when no producer runs (between runs): forget what is queued.
  void clear() { head_.store(tail_.load(std::memory_order_acquire), std::memory_order_release); }

 private:
  const uint32_t mask_;
  std::unique_ptr<PostedEntry[]> entries_;
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
};

}  // namespace tsvirt::binding
