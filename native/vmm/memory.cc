// GuestMemory: see memory.h.
#include "vmm/memory.h"

#include <sys/mman.h>

#include <cerrno>

#include "vmm/backend.h"

namespace tsvirt::vmm {

namespace {

bool page_aligned(uint64_t v) { return (v & (layout::kPageSize - 1)) == 0; }

Error host_alloc(uint64_t size, uint8_t** out) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return Error::host("mmap(2)", errno, "allocating guest memory");
  // Transparent huge pages cut TLB misses for both backends; failure is harmless.
  madvise(p, size, MADV_HUGEPAGE);
  *out = static_cast<uint8_t*>(p);
  return Error::ok();
}

}  // namespace

GuestMemory::~GuestMemory() {
  if (sysmem_.host) munmap(sysmem_.host, sysmem_.size);
  for (auto& s : segments_) munmap(s.host, s.size);
}

Error GuestMemory::setup(uint64_t size, VmBackend& backend) {
  if (sysmem_.host) return Error::state("guest memory is already set up");
  if (size == 0 || !page_aligned(size)) {
    return Error::invalid("memory size " + std::to_string(size) +
                          " must be a non-zero multiple of 4096 bytes");
  }
  if (size > layout::kMaxMemory) {
    return Error::invalid("memory size " + std::to_string(size) + " exceeds the maximum of " +
                          std::to_string(layout::kMaxMemory) + " bytes");
  }
  uint8_t* host = nullptr;
  if (Error e = host_alloc(size, &host)) return e;
  sysmem_ = Segment{layout::kSegSysmem, "sysmem", host, size};
  lowmem_ = size < layout::kLowmemLimit ? size : layout::kLowmemLimit;
  Mapping low{0, lowmem_, layout::kSegSysmem, 0, true, 0};
  if (Error e = add_mapping(low, backend)) return e;
  if (size > lowmem_) {
    Mapping high{layout::kHighmemBase, size - lowmem_, layout::kSegSysmem, lowmem_, true, 0};
    if (Error e = add_mapping(high, backend)) return e;
  }
  return Error::ok();
}

GuestMemory::Segment* GuestMemory::find_segment(int id) {
  if (id == layout::kSegSysmem) return sysmem_.host ? &sysmem_ : nullptr;
  for (auto& s : segments_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const GuestMemory::Segment* GuestMemory::segment(int id) const {
  return const_cast<GuestMemory*>(this)->find_segment(id);
}

Error GuestMemory::alloc_segment(int id, const std::string& name, uint64_t size) {
  if (id <= layout::kSegSysmem || id >= layout::kMaxSegments) {
    return Error::invalid("segment id " + std::to_string(id) + " is outside 1.." +
                          std::to_string(layout::kMaxSegments - 1));
  }
  if (find_segment(id)) return Error::state("segment " + std::to_string(id) + " already exists");
  if (size == 0 || !page_aligned(size) || size > layout::kMaxMemory) {
    return Error::invalid("segment size " + std::to_string(size) +
                          " must be a non-zero multiple of 4096 bytes");
  }
  uint8_t* host = nullptr;
  if (Error e = host_alloc(size, &host)) return e;
  segments_.push_back(Segment{id, name, host, size});
  return Error::ok();
}

Error GuestMemory::add_mapping(const Mapping& m, VmBackend& backend) {
  for (const auto& o : mappings_) {
    if (m.gpa < o.gpa + o.len && o.gpa < m.gpa + m.len) {
      return Error::invalid("guest-physical range overlaps an existing mapping");
    }
  }
  const Segment* seg = segment(m.segid);
  Mapping mm = m;
  mm.slot = next_slot_++;
  if (Error e = backend.map_memory(mm.slot, mm.gpa, mm.len, seg->host + mm.offset, mm.writable)) {
    return e;
  }
  mappings_.push_back(mm);
  return Error::ok();
}

Error GuestMemory::map(uint64_t gpa, int segid, uint64_t offset, uint64_t len, bool writable,
                       VmBackend& backend) {
  const Segment* seg = segment(segid);
  if (!seg) return Error::invalid("segment " + std::to_string(segid) + " does not exist");
  if (segid == layout::kSegSysmem) return Error::invalid("system memory is mapped by setup");
  if (len == 0 || !page_aligned(gpa) || !page_aligned(offset) || !page_aligned(len)) {
    return Error::invalid("segment mappings must be non-empty and page-aligned");
  }
  if (offset > seg->size || len > seg->size - offset) {
    return Error::invalid("mapping exceeds segment '" + seg->name + "'");
  }
  if (gpa + len < gpa || gpa + len > (1ull << 52)) {
    return Error::invalid("mapping exceeds the guest-physical address space");
  }
  // Identical existing mapping: idempotent like vm_mmap_memseg.
  for (const auto& o : mappings_) {
    if (o.gpa == gpa && o.len == len && o.segid == segid && o.offset == offset &&
        o.writable == writable) {
      return Error::ok();
    }
  }
  return add_mapping(Mapping{gpa, len, segid, offset, writable, 0}, backend);
}

Error GuestMemory::unmap(uint64_t gpa, uint64_t len, VmBackend& backend) {
  for (size_t i = 0; i < mappings_.size(); ++i) {
    const Mapping& m = mappings_[i];
    if (m.gpa != gpa || m.len != len) continue;
    if (m.segid == layout::kSegSysmem) return Error::invalid("system memory cannot be unmapped");
    if (Error e = backend.unmap_memory(m.slot)) return e;
    mappings_.erase(mappings_.begin() + static_cast<long>(i));
    return Error::ok();
  }
  return Error::invalid("no mapping starts at that guest-physical address with that length");
}

uint8_t* GuestMemory::translate(uint64_t gpa, uint64_t len, bool* writable) const {
  for (const auto& m : mappings_) {
    if (gpa >= m.gpa && gpa - m.gpa < m.len && len <= m.len - (gpa - m.gpa)) {
      if (writable) *writable = m.writable;
      const Segment* seg = segment(m.segid);
      return seg->host + m.offset + (gpa - m.gpa);
    }
  }
  return nullptr;
}

}  // namespace tsvirt::vmm
