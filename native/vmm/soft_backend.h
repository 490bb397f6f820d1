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
// get_cpuid reads the table in effect back from the CPU (Cpu::get_cpuid: the default one or
// the last set, masked to what the CPU implements). Unmapping a slot removes its region
// from PhysMemory; like every mapping change it is accepted only while no vCPU runs
// (live_memory_changes() is false), and the range becomes MMIO.
//
// Debug capabilities (bhyve's VM_CAP_*, used by the GDB stub): mtrap_exit runs the CPU one
// instruction per run() (Cpu::run(1)) and reports kMtrap; bpt_exit and pause_exit are the
// CPU's exit controls (INT3 stops with RIP at it; PAUSE stops after it). pass_breakpoint()
// re-runs the INT3 once with its exit control off, so the guest gets its #BP as it would
// have without a debugger.
#pragma once

#include <memory>

#include "vmm/backend.h"

namespace tsvirt::vmm {

Error create_soft_backend(std::unique_ptr<VmBackend>* out);

}  // namespace tsvirt::vmm
