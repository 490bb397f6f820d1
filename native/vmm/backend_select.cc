// Backend selection: see backend_select.h.
#include "vmm/backend_select.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "kvm/kvm_vm.h"

#if TSVIRT_HAVE_SOFT_CPU
#include "vmm/soft_backend.h"
#endif

namespace tsvirt::vmm {

namespace {

bool cpuinfo_has_hw_virt() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 5, "flags") != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w) {
      if (w == "vmx" || w == "svm") return true;
    }
    return false;
  }
  return false;
}

bool module_loaded(const char* name) {
  std::string path = std::string("/sys/module/") + name;
  return access(path.c_str(), F_OK) == 0;
}

}  // namespace

const char* backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto: return "auto";
    case BackendKind::kSoft: return "soft";
    case BackendKind::kKvm: return "kvm";
  }
  return "unknown";
}

BackendProbe probe_backends() {
  BackendProbe p;
#if TSVIRT_HAVE_SOFT_CPU
  p.soft_built = true;
#endif
  p.kvm_opens = kvm::kvm_available(&p.kvm_detail);
  p.hw_virt = cpuinfo_has_hw_virt() && (module_loaded("kvm_intel") || module_loaded("kvm_amd"));
  if (p.kvm_opens && p.hw_virt) {
    p.auto_choice = BackendKind::kKvm;
  } else if (p.soft_built) {
    p.auto_choice = BackendKind::kSoft;
  } else if (p.kvm_opens) {
    p.auto_choice = BackendKind::kKvm;
  }
  return p;
}

Error create_backend(BackendKind kind, std::unique_ptr<VmBackend>* out) {
  if (kind == BackendKind::kAuto) {
    BackendProbe p = probe_backends();
    if (p.auto_choice == BackendKind::kAuto) {
      return Error::make(ErrorKind::kNoBackend,
                         "no vmm backend is available: the soft CPU is not built into this "
                         "addon and KVM does not open (" + p.kvm_detail + ")");
    }
    kind = p.auto_choice;
  }
  if (kind == BackendKind::kKvm) return kvm::create_kvm_backend(out);
#if TSVIRT_HAVE_SOFT_CPU
  return create_soft_backend(out);
#else
  return Error::make(ErrorKind::kNoBackend,
                     "the soft CPU backend is not built into this addon yet");
#endif
}

}  // namespace tsvirt::vmm
