// KVM backend of the vmm (Linux KVM API, Documentation/virt/kvm/api.rst).
//
// Decision: KVM runs WITHOUT its in-kernel irqchip and PIT. The local APICs, I/O APIC,
// 8259s, 8254, RTC, PM timer and HPET the guest sees are the vmm's own C++ models
// (native/vmm/devices), exactly the ones the soft CPU uses, so a guest observes the same
// platform on both backends (32-pin I/O APIC with HPET routes 24-31, LAPIC bus at
// 128 MiHz, bhyve's PIT/RTC behaviour) and KVM serves as an oracle for the CPU alone. The
// cost is that LAPIC MMIO (EOI, ICR, timer) exits to the vmm, a few microseconds per
// interrupt on hardware KVM; it never reaches JavaScript.
//
// How that works: interrupts are injected with KVM_INTERRUPT when kvm_run says the vCPU
// is ready (request_interrupt_window otherwise), NMIs with KVM_NMI, exceptions with
// KVM_SET_VCPU_EVENTS; CR8 is synchronised through kvm_run.cr8; HLT exits to us
// (KVM_EXIT_HLT) and the vmm sleeps; IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC
// MSRs are denied by an MSR filter so they exit (KVM_CAP_X86_USER_SPACE_MSR) to the vlapic,
// as do MSRs KVM does not know, which then reach the ExitHandler. A vCPU is kicked out of
// KVM_RUN with immediate_exit plus a real-time signal, and pending I/O is completed with
// an immediate_exit KVM_RUN before the vCPU parks. The hypervisor CPUID leaves
// (0x40000000+) and the PMU leaf are hidden so guests do not use KVM paravirtual features
// that need the in-kernel APIC.
//
// Requirements checked at creation: API 12, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_USER_MEMORY,
// KVM_CAP_READONLY_MEM, KVM_CAP_X86_USER_SPACE_MSR, KVM_CAP_X86_MSR_FILTER (Linux 5.10+).
#pragma once

#include <memory>
#include <string>

#include "vmm/backend.h"
#include "vmm/error.h"

namespace tsvirt::kvm {

// True when /dev/kvm opens with everything the backend needs; detail says why not, or
// names the module providing KVM.
bool kvm_available(std::string* detail);
// "kvm_intel", "kvm_amd", "kvm_pvm" (the emulating nested module) or "kvm".
std::string kvm_module_name();
vmm::Error create_kvm_backend(std::unique_ptr<vmm::VmBackend>* out);

}  // namespace tsvirt::kvm
