// The soft-CPU backend of the vmm: native/soft's interpreter behind VmBackend/VcpuBackend.
//
// All vCPUs of a VM share one soft::PhysMemory built from the vmm's memory mappings
// (system memory, segments; read-only mappings become ROM regions). The CPU calls back
// synchronously for port I/O, MMIO, MSRs it does not keep (the APIC base, x2APIC and
// TSC-deadline MSRs among them), interrupt acknowledge and CR8; the adapter forwards to
// the vmm's VcpuHost. kick_interrupt() is Cpu::notify_interrupt(), kick_stop() is
// Cpu::request_stop(). The guest TSC is the host TSC plus an offset (native/soft/state.cc),
// so its rate is the host TSC rate, calibrated once against CLOCK_MONOTONIC.
//
// Limits of the current cpu.h contract, reported as errors rather than worked around:
// memory mappings cannot be removed once added (unmap -> unsupported), the CPU's default
// CPUID table cannot be read back (get_cpuid returns the last table set, else
// unsupported), and PAUSE does not stop the CPU (pause_exit -> unsupported).
#pragma once

#include <memory>

#include "vmm/backend.h"

namespace tsvirt::vmm {

Error create_soft_backend(std::unique_ptr<VmBackend>* out);

}  // namespace tsvirt::vmm
