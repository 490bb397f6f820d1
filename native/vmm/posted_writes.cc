// PostedWriteTable: see posted_writes.h.
#include "vmm/posted_writes.h"

#include <string>

namespace tsvirt::vmm {

namespace {
uint64_t width_mask(int width) { return width >= 8 ? ~0ull : (1ull << (width * 8)) - 1; }

std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 15]);
    v >>= 4;
  } while (v);
  return "0x" + s;
}
}  // namespace

Error PostedWriteTable::add(PostedSpace space, uint64_t base, uint64_t length, int width,
                            bool has_datamatch, uint64_t datamatch, uint32_t* id) {
  if (space != PostedSpace::kPort && space != PostedSpace::kMmio) {
    return Error::invalid("posted write range: space must be port (0) or mmio (1)");
  }
  if (width != 1 && width != 2 && width != 4 && width != 8) {
    return Error::invalid("posted write range: width must be 1, 2, 4 or 8, not " + std::to_string(width));
  }
  if (space == PostedSpace::kPort && width == 8) {
    return Error::invalid("posted write range: port I/O has no 8-byte accesses");
  }
  uint64_t limit = space == PostedSpace::kPort ? 0x10000ull : (1ull << 52);
  if (length < static_cast<uint64_t>(width) || length > 0xFFFFFFFFull || base >= limit ||
      length > limit - base) {
    return Error::invalid("posted write range " + hex(base) + "+" + hex(length) +
                          " is empty, shorter than its width, longer than 4 GiB or outside the " +
                          (space == PostedSpace::kPort ? "port" : "MMIO") + " space");
  }
  if (has_datamatch && (datamatch & ~width_mask(width)) != 0) {
    return Error::invalid("posted write range: datamatch " + hex(datamatch) + " does not fit " +
                          std::to_string(width) + " byte(s)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (ranges_.size() >= kMaxRanges) {
    return Error::invalid("posted write ranges: at most " + std::to_string(kMaxRanges));
  }
  for (const PostedRange& r : ranges_) {
    // Two ranges may share addresses only when both match distinct data values.
    bool overlap = r.space == space && r.base < base + length && base < r.base + r.length;
    bool distinct = r.has_datamatch && has_datamatch && r.datamatch != datamatch;
    if (overlap && !distinct) {
      return Error::invalid("posted write range " + hex(base) + "+" + hex(length) +
                            " overlaps range " + std::to_string(r.id) + " at " + hex(r.base));
    }
  }
  PostedRange r;
  r.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  r.space = space;
  r.base = base;
  r.length = length;
  r.width = static_cast<uint8_t>(width);
  r.has_datamatch = has_datamatch;
  r.datamatch = datamatch;
  ranges_.push_back(r);
  count_.store(ranges_.size(), std::memory_order_release);
  *id = r.id;
  return Error::ok();
}

Error PostedWriteTable::remove(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (ranges_[i].id == id) {
      ranges_.erase(ranges_.begin() + static_cast<std::ptrdiff_t>(i));
      count_.store(ranges_.size(), std::memory_order_release);
      return Error::ok();
    }
  }
  return Error::invalid("no posted write range " + std::to_string(id));
}

bool PostedWriteTable::post(int vcpu, PostedSpace space, uint64_t addr, int width,
                            uint64_t value, ExitHandler& handler, bool* matched) {
  *matched = false;
  if (count_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const PostedRange& r : ranges_) {
    if (r.space != space || r.width != width) continue;
    uint64_t off = addr - r.base;  // wraps (huge) below the base
    if (off >= r.length || r.length - off < static_cast<uint64_t>(width)) continue;
    if (off % static_cast<uint64_t>(width) != 0) continue;
    if (r.has_datamatch && (value & width_mask(width)) != r.datamatch) continue;
    *matched = true;
    return handler.post_write(vcpu, r.id, static_cast<uint32_t>(off), value & width_mask(width));
  }
  return false;
}

}  // namespace tsvirt::vmm
