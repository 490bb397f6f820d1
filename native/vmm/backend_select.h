// Backend choice: vmm.backend = soft | kvm | auto (reference: DESIGN.md "The vmm boundary").
//
// auto takes KVM only where the host has hardware virtualization: a vmx or svm flag in
// /proc/cpuinfo and the kvm_intel or kvm_amd module loaded, and /dev/kvm opening. A /dev/kvm
// backed by an emulating module (the nested kvm_pvm some of our hosts have, a few million
// instructions per second) loses to the soft CPU, so auto picks soft there. When this build
// has no soft CPU compiled in, auto falls back to any KVM that opens, then fails with a
// no-backend error naming what was probed.
#pragma once

#include <memory>
#include <string>

#include "vmm/backend.h"
#include "vmm/error.h"

namespace tsvirt::vmm {

enum class BackendKind { kAuto, kSoft, kKvm };

struct BackendProbe {
  bool soft_built = false;
  bool kvm_opens = false;       // /dev/kvm opened read-write with the API we need
  bool hw_virt = false;         // vmx/svm in /proc/cpuinfo and kvm_intel/kvm_amd loaded
  std::string kvm_detail;       // why KVM does not open, or the module behind it
  BackendKind auto_choice = BackendKind::kAuto;  // what auto resolves to (kAuto: none)
};

BackendProbe probe_backends();
Error create_backend(BackendKind kind, std::unique_ptr<VmBackend>* out);
const char* backend_kind_name(BackendKind kind);

}  // namespace tsvirt::vmm
