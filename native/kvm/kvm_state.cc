// Register-state and CPUID conversions for the KVM backend (kvm_regs/kvm_sregs/
// kvm_debugregs <-> x86::CpuState; KVM_GET_SUPPORTED_CPUID -> the default CPUID table).
#include <cstring>

#include "kvm/kvm_vcpu.h"

namespace tsvirt::kvm {

void segment_from_kvm(const kvm_segment& k, x86::Segment* s) {
  s->base = k.base;
  s->limit = k.limit;
  s->selector = k.selector;
  s->access = (k.type & 0xF) | (k.s ? x86::kSegS : 0) | ((k.dpl & 3u) << x86::kSegDplShift) |
              (k.present ? x86::kSegP : 0) | (k.avl ? x86::kSegAvl : 0) |
              (k.l ? x86::kSegL : 0) | (k.db ? x86::kSegDB : 0) | (k.g ? x86::kSegG : 0) |
              (k.unusable ? x86::kSegUnusable : 0);
}

void segment_to_kvm(const x86::Segment& s, kvm_segment* k) {
  std::memset(k, 0, sizeof *k);
  k->base = s.base;
  k->limit = s.limit;
  k->selector = s.selector;
  k->type = s.access & x86::kSegTypeMask;
  k->s = (s.access & x86::kSegS) != 0;
  k->dpl = (s.access >> x86::kSegDplShift) & 3;
  k->present = (s.access & x86::kSegP) != 0;
  k->avl = (s.access & x86::kSegAvl) != 0;
  k->l = (s.access & x86::kSegL) != 0;
  k->db = (s.access & x86::kSegDB) != 0;
  k->g = (s.access & x86::kSegG) != 0;
  k->unusable = (s.access & x86::kSegUnusable) != 0;
}

std::vector<vmm::CpuidEntry> default_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                           const vmm::VcpuConfig& config) {
  const uint32_t vcpu_id = static_cast<uint32_t>(config.id);
  std::vector<vmm::CpuidEntry> out;
  for (const auto& k : supported) {
    // Hypervisor leaves advertise KVM paravirtual features that assume the in-kernel
    // APIC; the PMU leaf promises PMIs we do not deliver. Hide both.
    if (k.function >= 0x40000000u && k.function < 0x50000000u) continue;
    vmm::CpuidEntry e;
    e.leaf = k.function;
    e.subleaf = k.index;
    e.has_subleaf = (k.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0;
    e.eax = k.eax;
    e.ebx = k.ebx;
    e.ecx = k.ecx;
    e.edx = k.edx;
    switch (k.function) {
      case 0x1:
        e.ebx = (e.ebx & 0x00FFFFFFu) | (vcpu_id << 24);
        e.ecx |= (1u << 31) | (1u << 24);  // hypervisor present, TSC-deadline timer
        if (config.x2apic) e.ecx |= 1u << 21; else e.ecx &= ~(1u << 21);
        e.edx |= 1u << 9;                  // APIC
        break;
      case 0xA:
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case 0xB:
      case 0x1F:
        e.edx = vcpu_id;
        break;
      default:
        break;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace tsvirt::kvm
