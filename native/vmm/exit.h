// The vCPU exit record of the backend-neutral vmm API, modelled on bhyve's struct vm_exit
// (reference/bhyve-userland.md 4.5), and the handler interface that consumes it.
//
// Only exits the vmm cannot handle itself reach an ExitHandler: port I/O and MMIO that no
// in-vmm device claims, MSRs neither the CPU nor the vlapic implement, HLT/PAUSE when the
// capability asks for them, suspension, debug stops and errors. Unlike bhyve, MMIO arrives
// already decoded (gpa, size, value): both backends (KVM and the soft CPU) decode the
// instruction themselves, so there is no VM_EXITCODE_INST_EMUL instruction buffer; string
// port I/O (INS/OUTS) arrives one element per exit with `string`/`rep` set, the backend
// keeping RSI/RDI/RCX.
//
// The handler runs synchronously on the vCPU's thread and answers in place: an IN writes
// inout.eax, an MMIO read writes mmio.value, RDMSR writes msr.value; msr.ok=false raises
// #GP(0) in the guest. The record is reused for every exit of one vCPU (no allocation).
#pragma once

#include <cstdint>

namespace tsvirt::vmm {

// Values of bhyve's enum vm_exitcode where one exists.
enum class ExitCode : uint32_t {
  kInout = 0,       // VM_EXITCODE_INOUT (and INOUT_STR, with inout.string set)
  kRdmsr = 3,       // VM_EXITCODE_RDMSR
  kWrmsr = 4,       // VM_EXITCODE_WRMSR
  kHlt = 5,         // VM_EXITCODE_HLT (only with the hlt_exit capability)
  kMtrap = 6,       // VM_EXITCODE_MTRAP (only with mtrap_exit): one instruction retired
  kPause = 7,       // VM_EXITCODE_PAUSE (only with pause_exit, soft backend)
  kMmio = 9,        // VM_EXITCODE_INST_EMUL, decoded
  kSuspended = 14,  // VM_EXITCODE_SUSPENDED
  kDebug = 21,      // VM_EXITCODE_DEBUG
  kBpt = 23,        // VM_EXITCODE_BPT (only with bpt_exit): INT3 at rip, not yet executed
  kError = 100,     // backend failure (no bhyve equivalent; bhyve aborts with status 4)
};

// enum vm_suspend_how
enum class SuspendHow : uint32_t {
  kNone = 0,
  kReset = 1,
  kPoweroff = 2,
  kHalt = 3,
  kTripleFault = 4,
};

struct InoutExit {
  uint16_t port;
  uint8_t bytes;   // 1, 2 or 4
  bool in;
  bool string;     // INS/OUTS element
  bool rep;        // with a REP prefix
  uint32_t eax;    // OUT: value written; IN: handler stores the value read
};

struct MmioExit {
  uint64_t gpa;
  uint8_t bytes;   // 1, 2, 4 or 8
  bool write;
  uint64_t value;  // write: value written; read: handler stores the value read
};

struct MsrExit {
  uint32_t index;  // ECX
  uint64_t value;  // WRMSR: value written; RDMSR: handler stores the value read
  bool ok;         // handler: false raises #GP(0) (bhyve x86.strictmsr)
};

struct HltExit {
  uint64_t rflags;
};

struct SuspendedExit {
  SuspendHow how;
};

// VM_EXITCODE_BPT. bhyve's userspace injects #BP itself for an INT3 it does not own; here
// the handler sets `pass` and the vmm delivers the INT3 to the guest exactly as it would
// have run (bhyve's vm_inject_exception with VM_REG_GUEST_ENTRY_INST_LENGTH).
struct BptExit {
  uint8_t inst_length;  // 1 (INT3 is CC)
  bool pass;            // handler: deliver #BP to the guest instead of stopping here
};

struct VmExit {
  ExitCode code = ExitCode::kError;
  int vcpu = 0;
  uint64_t rip = 0;  // RIP of the exiting instruction when the backend knows it, else 0
  union {
    InoutExit inout;
    MmioExit mmio;
    MsrExit msr;
    HltExit hlt;
    SuspendedExit suspended;
    BptExit bpt;
  } u{};
  const char* error = nullptr;  // kError / kDebug: static or backend-owned text
};

// What the handler wants after an exit.
enum class ExitAction { kContinue, kStop };

// Consumer of exits. on_exit is called on the vCPU thread, possibly from several vCPU
// threads at once (one exit per vCPU at a time).
class ExitHandler {
 public:
  virtual ~ExitHandler() = default;
  virtual ExitAction on_exit(VmExit& exit) = 0;
  // Called once per vCPU thread when its run loop ends (after a suspended exit, a stop or
  // an error). Optional.
  virtual void on_vcpu_done(int /*vcpu*/) {}
  // Called once, on the last vCPU thread to park, when Vm::pause() has parked them all.
  virtual void on_paused() {}
  // A guest write matched posted write range `range_id` (posted_writes.h) at `offset` from
  // its base. Called on the vCPU thread, which must not block here: true means the write is
  // queued and the vCPU continues; false sends it down the normal on_exit path. Optional.
  virtual bool post_write(int /*vcpu*/, uint32_t /*range_id*/, uint32_t /*offset*/,
                          uint64_t /*value*/) {
    return false;
  }
};

}  // namespace tsvirt::vmm
