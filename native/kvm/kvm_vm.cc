// KVM VM-level backend: see kvm_vm.h.
#include "kvm/kvm_vm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "kvm/kvm_abi.h"
#include "kvm/kvm_vcpu.h"
#include "vmm/layout.h"

namespace tsvirt::kvm {

using vmm::Error;
using vmm::ErrorKind;

namespace {

struct RequiredCap {
  int cap;
  const char* name;
};
constexpr RequiredCap kRequired[] = {
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM"},
    {KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR"},
    {KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER"},
};

// Opens /dev/kvm and checks the API; returns -1 with detail set on failure.
int open_kvm(std::string* detail, int* err) {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    *detail = std::string("/dev/kvm: ") + std::strerror(errno);
    return -1;
  }
  int api = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    *err = ENOTSUP;
    *detail = "/dev/kvm: API version " + std::to_string(api) + ", need " +
              std::to_string(KVM_API_VERSION);
    close(fd);
    return -1;
  }
  for (const auto& c : kRequired) {
    if (ioctl(fd, KVM_CHECK_EXTENSION, c.cap) <= 0) {
      *err = ENOTSUP;
      *detail = std::string("/dev/kvm lacks ") + c.name;
      close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace

std::string kvm_module_name() {
  for (const char* m : {"kvm_intel", "kvm_amd", "kvm_pvm"}) {
    if (access((std::string("/sys/module/") + m).c_str(), F_OK) == 0) return m;
  }
  return "kvm";
}

namespace {

class KvmVm final : public vmm::VmBackend {
 public:
  ~KvmVm() override {
    if (vm_fd_ >= 0) close(vm_fd_);
    if (kvm_fd_ >= 0) close(kvm_fd_);
  }

  Error init() {
    std::string detail;
    int err = 0;
    kvm_fd_ = open_kvm(&detail, &err);
    if (kvm_fd_ < 0) {
      if (err == ENOTSUP) return Error::make(ErrorKind::kNoBackend, detail);
      return Error::host("open(/dev/kvm)", err, "KVM backend");
    }
    vm_fd_ = ioctl(kvm_fd_, KVM_CREATE_VM, 0);
    if (vm_fd_ < 0) return Error::host("ioctl(KVM_CREATE_VM)", errno);
    if (ioctl(vm_fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(vmm::layout::kKvmTssAddr)) < 0) {
      return Error::host("ioctl(KVM_SET_TSS_ADDR)", errno);
    }
    uint64_t ident = vmm::layout::kKvmIdentityMapAddr;
    ioctl(vm_fd_, KVM_SET_IDENTITY_MAP_ADDR, &ident);  // Intel only; harmless elsewhere
    struct kvm_enable_cap cap;
    std::memset(&cap, 0, sizeof cap);
    cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
    cap.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
                  KVM_MSR_EXIT_REASON_FILTER;
    if (ioctl(vm_fd_, KVM_ENABLE_CAP, &cap) < 0) {
      return Error::host("ioctl(KVM_ENABLE_CAP, KVM_CAP_X86_USER_SPACE_MSR)", errno);
    }
    if (Error e = install_msr_filter()) return e;
    return load_supported_cpuid();
  }

  const char* name() const override { return "kvm"; }

  Error map_memory(int slot, uint64_t gpa, uint64_t size, uint8_t* host, bool writable) override {
    struct kvm_userspace_memory_region r;
    std::memset(&r, 0, sizeof r);
    r.slot = static_cast<uint32_t>(slot);
    r.flags = writable ? 0 : KVM_MEM_READONLY;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
      return Error::host("ioctl(KVM_SET_USER_MEMORY_REGION)", errno);
    }
    return Error::ok();
  }

  Error unmap_memory(int slot) override {
    struct kvm_userspace_memory_region r;
    std::memset(&r, 0, sizeof r);
    r.slot = static_cast<uint32_t>(slot);
    if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
      return Error::host("ioctl(KVM_SET_USER_MEMORY_REGION)", errno, "unmapping a segment");
    }
    return Error::ok();
  }

  Error create_vcpu(const vmm::VcpuConfig& config, vmm::VcpuHost& host,
                    std::unique_ptr<vmm::VcpuBackend>* out) override {
    return KvmVcpu::create(kvm_fd_, vm_fd_, config, supported_cpuid_, host, out);
  }

  void invalidate_code(uint64_t, uint64_t) override {}  // hardware sees memory directly

 private:
  Error install_msr_filter() {
    // Deny (bitmap bit 0) the local APIC's MSRs so they exit to the vlapic.
    static uint8_t deny_one[1] = {0};
    static uint8_t deny_x2apic[256 / 8] = {};
    struct kvm_msr_filter f;
    std::memset(&f, 0, sizeof f);
    f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
    f.ranges[0] = {KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 1, 0x1B, deny_one};
    f.ranges[1] = {KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 1, 0x6E0, deny_one};
    f.ranges[2] = {KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 256, 0x800, deny_x2apic};
    if (ioctl(vm_fd_, KVM_X86_SET_MSR_FILTER, &f) < 0) {
      return Error::host("ioctl(KVM_X86_SET_MSR_FILTER)", errno);
    }
    return Error::ok();
  }

  Error load_supported_cpuid() {
    for (int n = 64; n <= 4096; n *= 2) {
      abi::FlexBuffer<kvm_cpuid_entry2> buf(static_cast<size_t>(n));
      if (ioctl(kvm_fd_, abi::kGetSupportedCpuid, buf.data()) == 0) {
        supported_cpuid_.assign(buf.entries(), buf.entries() + buf.header()->count);
        return Error::ok();
      }
      if (errno != E2BIG) return Error::host("ioctl(KVM_GET_SUPPORTED_CPUID)", errno);
    }
    return Error::host("ioctl(KVM_GET_SUPPORTED_CPUID)", E2BIG);
  }

  int kvm_fd_ = -1;
  int vm_fd_ = -1;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
};

}  // namespace

bool kvm_available(std::string* detail) {
  int err = 0;
  int fd = open_kvm(detail, &err);
  if (fd < 0) return false;
  close(fd);
  *detail = "/dev/kvm opens (" + kvm_module_name() + ")";
  return true;
}

Error create_kvm_backend(std::unique_ptr<vmm::VmBackend>* out) {
  auto vm = std::make_unique<KvmVm>();
  if (Error e = vm->init()) return e;
  *out = std::move(vm);
  return Error::ok();
}

}  // namespace tsvirt::kvm
