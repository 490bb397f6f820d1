// Guest-physical layout constants of a bhyve-style amd64 machine
// (reference/bhyve-userland.md 5.1 and 4.7): memory split, hole, device windows.
#pragma once

#include <cstdint>

namespace tsvirt::vmm::layout {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kLowmemLimit = 3 * kGiB;  // VM_LOWMEM_LIMIT
constexpr uint64_t kHighmemBase = 4 * kGiB;
// Largest memory.size accepted: keeps 4 GiB + highmem within a 46-bit physical space
// and every gpa exactly representable as a JavaScript number.
constexpr uint64_t kMaxMemory = 1ull << 45;

constexpr uint64_t kIoapicBase = 0xFEC00000;  // VIOAPIC_BASE
constexpr uint64_t kIoapicSize = 0x1000;      // VIOAPIC_SIZE
constexpr uint64_t kHpetBase = 0xFED00000;    // VHPET_BASE
constexpr uint64_t kHpetSize = 0x400;         // VHPET_SIZE
constexpr uint64_t kLapicBase = 0xFEE00000;   // DEFAULT_APIC_BASE
constexpr uint64_t kLapicSize = 0x1000;
constexpr uint64_t kBootromTop = 4 * kGiB;    // bootrom is mapped ending at 4 GiB
constexpr uint64_t kBootromMax = 16 * kMiB;

// KVM needs three pages for the real-mode TSS and one for the identity map on Intel;
// they sit just below the bootrom window where nothing else is decoded.
constexpr uint64_t kKvmTssAddr = 0xFEFFD000;
constexpr uint64_t kKvmIdentityMapAddr = 0xFEFFC000;

// Segment ids (vm_alloc_memseg).
constexpr int kSegSysmem = 0;      // VM_SYSMEM
constexpr int kSegBootrom = 1;     // VM_BOOTROM
constexpr int kSegFramebuffer = 2; // VM_FRAMEBUFFER
constexpr int kSegPcirom = 3;      // VM_PCIROM
constexpr int kMaxSegments = 8;

}  // namespace tsvirt::vmm::layout
