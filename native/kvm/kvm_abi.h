// C-layout views of the KVM structures that end in a flexible array.
//
// linux/kvm.h declares them with __DECLARE_FLEX_ARRAY, which in C++ puts a one-byte empty
// struct before the array: sizeof and the entries' offset then differ from the kernel's
// C layout, and the ioctl numbers (which encode sizeof) change with them. These headers
// are what the kernel expects; the ioctl numbers are spelled with the C sizes.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace tsvirt::kvm::abi {

static_assert(sizeof(kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2 layout");
static_assert(sizeof(kvm_msr_entry) == 16, "kvm_msr_entry layout");

// struct kvm_cpuid2 { __u32 nent; __u32 padding; struct kvm_cpuid_entry2 entries[]; }
// struct kvm_msrs   { __u32 nmsrs; __u32 pad;    struct kvm_msr_entry entries[]; }
struct FlexHeader {
  uint32_t count;
  uint32_t pad;
};
static_assert(sizeof(FlexHeader) == 8, "flexible-array header layout");

constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
constexpr unsigned long kGetCpuid2 = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x91, 8);
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);

// A header followed by n entries of T, laid out as the kernel expects.
template <typename T>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t n) : bytes_(sizeof(FlexHeader) + n * sizeof(T)) {
    header()->count = static_cast<uint32_t>(n);
  }
  FlexHeader* header() { return reinterpret_cast<FlexHeader*>(bytes_.data()); }
  T* entries() { return reinterpret_cast<T*>(bytes_.data() + sizeof(FlexHeader)); }
  void* data() { return bytes_.data(); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace tsvirt::kvm::abi
