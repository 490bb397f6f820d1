// Guest memory of one VM: system memory split as bhyve lays it out and the extra device
// memory segments (boot ROM, framebuffer, PCI ROM), with their guest-physical mappings.
// (reference/bhyve-userland.md 4.2 "Memory" and 5.1.)
//
// System memory is one host mapping of memory.size bytes: [0, lowmem) is guest-physical
// 0.., [lowmem, size) is guest-physical 4 GiB.., lowmem = min(size, 3 GiB). Keeping the
// host copy compact (no hole) lets TypeScript see all of it as one ArrayBuffer.
// Segments are separate host mappings created by alloc_segment(); map() places a page-
// aligned window of a segment at a guest-physical address. Every range is checked for
// alignment, overflow, and overlap with other mappings; translate() refuses anything not
// entirely inside one mapping.
//
// Not thread-safe by itself: the Vm serialises mapping changes and allows them only while
// no vCPU runs (or, for KVM, whenever the backend accepts them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/error.h"
#include "vmm/layout.h"

namespace tsvirt::vmm {

class VmBackend;

class GuestMemory {
 public:
  struct Segment {
    int id = -1;
    std::string name;
    uint8_t* host = nullptr;
    uint64_t size = 0;
  };
  struct Mapping {
    uint64_t gpa = 0;
    uint64_t len = 0;
    int segid = 0;
    uint64_t offset = 0;  // into the segment's host memory
    bool writable = true;
    int slot = 0;
  };

  GuestMemory() = default;
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // vm_setup_memory: allocates system memory and maps it through the backend.
  Error setup(uint64_t size, VmBackend& backend);

  uint8_t* sysmem() const { return sysmem_.host; }
  uint64_t size() const { return sysmem_.size; }
  uint64_t lowmem() const { return lowmem_; }
  uint64_t highmem() const { return sysmem_.size - lowmem_; }

  // vm_alloc_memseg for device memory (id 1..kMaxSegments-1).
  Error alloc_segment(int id, const std::string& name, uint64_t size);
  const Segment* segment(int id) const;
  // vm_mmap_memseg / vm_munmap_memseg.
  Error map(uint64_t gpa, int segid, uint64_t offset, uint64_t len, bool writable,
            VmBackend& backend);
  Error unmap(uint64_t gpa, uint64_t len, VmBackend& backend);
  const std::vector<Mapping>& mappings() const { return mappings_; }

  // Host pointer for [gpa, gpa+len) if entirely inside one mapping, else nullptr.
  uint8_t* translate(uint64_t gpa, uint64_t len, bool* writable = nullptr) const;

 private:
  Error add_mapping(const Mapping& m, VmBackend& backend);
  Segment* find_segment(int id);

  Segment sysmem_;
  uint64_t lowmem_ = 0;
  std::vector<Segment> segments_;
  std::vector<Mapping> mappings_;
  int next_slot_ = 0;
};

}  // namespace tsvirt::vmm
