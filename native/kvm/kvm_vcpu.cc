// KVM vCPU backend: see kvm_vcpu.h and kvm_vm.h.
#include "kvm/kvm_vcpu.h"

#include "kvm/kvm_abi.h"
#include "kvm/kvm_vm.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace tsvirt::kvm {

using vmm::Error;
using vmm::RunStop;

namespace {

// The signal that kicks a vCPU thread out of KVM_RUN. Real-time signals are unused by
// Node and libuv; the handler does nothing, the interrupted KVM_RUN returns EINTR.
int kick_signal() { return SIGRTMIN + 4; }
void kick_handler(int) {}

std::once_flag g_signal_once;
std::string g_signal_error;

bool install_kick_signal(std::string* error) {
  std::call_once(g_signal_once, [] {
    struct sigaction old;
    std::memset(&old, 0, sizeof old);
    sigaction(kick_signal(), nullptr, &old);
    bool in_use = (old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != nullptr
                                               : (old.sa_handler != SIG_DFL &&
                                                  old.sa_handler != SIG_IGN &&
                                                  old.sa_handler != kick_handler);
    if (in_use) {
      g_signal_error = "signal SIGRTMIN+4, used to kick vCPUs, already has a handler";
      return;
    }
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(kick_signal(), &sa, nullptr) != 0) {
      g_signal_error = std::string("sigaction(SIGRTMIN+4) failed: ") + std::strerror(errno);
    }
  });
  if (!g_signal_error.empty()) {
    *error = g_signal_error;
    return false;
  }
  return true;
}

std::string errno_text(const char* op, int err) {
  return std::string(op) + " failed: " + std::strerror(err);
}

}  // namespace

KvmVcpu::KvmVcpu(int fd, int id, vmm::VcpuHost& host) : fd_(fd), id_(id), host_(host) {}

KvmVcpu::~KvmVcpu() {
  if (run_) munmap(run_, run_size_);
  if (fd_ >= 0) close(fd_);
}

Error KvmVcpu::create(int kvm_fd, int vm_fd, const vmm::VcpuConfig& config,
                      const std::vector<kvm_cpuid_entry2>& supported, vmm::VcpuHost& host,
                      std::unique_ptr<vmm::VcpuBackend>* out) {
  int fd = ioctl(vm_fd, KVM_CREATE_VCPU, config.id);
  if (fd < 0) return Error::host("ioctl(KVM_CREATE_VCPU)", errno);
  std::unique_ptr<KvmVcpu> v(new KvmVcpu(fd, config.id, host));
  int size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < static_cast<int>(sizeof(kvm_run))) {
    return Error::host("ioctl(KVM_GET_VCPU_MMAP_SIZE)", errno ? errno : EINVAL);
  }
  void* p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Error::host("mmap(kvm_run)", errno);
  v->run_ = static_cast<kvm_run*>(p);
  v->run_size_ = static_cast<size_t>(size);
  int sync = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
  if (sync > 0 && (sync & KVM_SYNC_X86_REGS)) v->run_->kvm_valid_regs = KVM_SYNC_X86_REGS;
  if (Error e = v->set_cpuid(default_cpuid(supported, config))) return e;
  int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
  v->tsc_hz_ = khz > 0 ? static_cast<uint64_t>(khz) * 1000 : 1000000000ull;
  // Without an in-kernel APIC KVM still derives CPUID.1:EDX.APIC from its copy of
  // IA32_APIC_BASE; start it enabled at the default base like the vlapic.
  v->write_apic_base(0xFEE00000ull | (1u << 11) | (config.id == 0 ? (1u << 8) : 0));
  *out = std::move(v);
  return Error::ok();
}

// ---- kicking --------------------------------------------------------------------------

void KvmVcpu::kick() {
  if (!run_) return;
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (in_run_.load(std::memory_order_seq_cst) && have_thread_.load(std::memory_order_acquire)) {
    pthread_kill(thread_, kick_signal());
  }
}

void KvmVcpu::kick_interrupt() { kick(); }

void KvmVcpu::kick_stop() {
  kick_stop_.store(true, std::memory_order_seq_cst);
  kick();
}

bool KvmVcpu::thread_setup() {
  if (!install_kick_signal(&error_)) return false;
  // Only the kick signal may interrupt this thread; process-directed signals go to the
  // Node threads that expect them.
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, kick_signal());
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
  thread_ = pthread_self();
  have_thread_.store(true, std::memory_order_release);
  thread_ready_ = true;
  return true;
}

RunStop KvmVcpu::fail(const std::string& message) {
  error_ = "vCPU " + std::to_string(id_) + ": " + message;
  return RunStop::kError;
}

// ---- run ------------------------------------------------------------------------------

void KvmVcpu::inject_pending_interrupt() {
  uint64_t cr8 = host_.read_cr8();
  run_->cr8 = cr8;
  if (run_->ready_for_interrupt_injection) {
    int v = host_.pending_interrupt();
    if (v >= 0) {
      struct kvm_interrupt irq;
      irq.irq = static_cast<uint32_t>(v);
      if (ioctl(fd_, KVM_INTERRUPT, &irq) == 0) host_.ack_interrupt(v);
    }
  }
  // Ask KVM to exit as soon as the guest can take the next one.
  run_->request_interrupt_window = host_.pending_interrupt() >= 0 ? 1 : 0;
}

bool KvmVcpu::handle_io() {
  auto& io = run_->io;
  if (io.size != 1 && io.size != 2 && io.size != 4) return false;
  uint64_t end = io.data_offset + static_cast<uint64_t>(io.count) * io.size;
  if (end > run_size_) return false;
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  bool string = io.count > 1;
  for (uint32_t i = 0; i < io.count; ++i) {
    uint8_t* p = data + static_cast<size_t>(i) * io.size;
    if (io.direction == KVM_EXIT_IO_IN) {
      uint32_t v = host_.pio_in(io.port, io.size, string, string);
      std::memcpy(p, &v, io.size);
    } else {
      uint32_t v = 0;
      std::memcpy(&v, p, io.size);
      host_.pio_out(io.port, io.size, v, string, string);
    }
  }
  return true;
}

bool KvmVcpu::handle_mmio() {
  auto& m = run_->mmio;
  if (m.len == 0 || m.len > 8) return false;
  bool natural = m.len == 1 || m.len == 2 || m.len == 4 || m.len == 8;
  if (m.is_write) {
    if (natural) {
      uint64_t v = 0;
      std::memcpy(&v, m.data, m.len);
      host_.mmio_write(m.phys_addr, m.len, v);
    } else {
      for (uint32_t i = 0; i < m.len; ++i) host_.mmio_write(m.phys_addr + i, 1, m.data[i]);
    }
  } else {
    if (natural) {
      uint64_t v = host_.mmio_read(m.phys_addr, m.len);
      std::memcpy(m.data, &v, m.len);
    } else {
      for (uint32_t i = 0; i < m.len; ++i) {
        m.data[i] = static_cast<uint8_t>(host_.mmio_read(m.phys_addr + i, 1));
      }
    }
  }
  return true;
}

RunStop KvmVcpu::run() {
  if (!thread_ready_ && !thread_setup()) return RunStop::kError;
  for (;;) {
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    in_run_.store(true, std::memory_order_seq_cst);
    if (kick_stop_.exchange(false, std::memory_order_seq_cst)) {
      if (io_pending_) {
        // Complete the pending I/O so the register state is final while we are out.
        __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
        ioctl(fd_, KVM_RUN, 0);
        io_pending_ = false;
      }
      in_run_.store(false, std::memory_order_seq_cst);
      return RunStop::kKicked;
    }
    if (apic_dirty_) {
      if (io_pending_) {
        __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
        ioctl(fd_, KVM_RUN, 0);
        io_pending_ = false;
        // immediate_exit stays set: the next KVM_RUN returns at once and the loop
        // re-examines everything (a kick may have arrived meanwhile).
      }
      apic_dirty_ = false;
      write_apic_base(apic_base_);
    }
    inject_pending_interrupt();
    uint64_t cr8_in = run_->cr8;
    int rc = ioctl(fd_, KVM_RUN, 0);
    int err = errno;
    in_run_.store(false, std::memory_order_seq_cst);
    io_pending_ = false;
    if ((run_->cr8 & 0xF) != (cr8_in & 0xF)) host_.write_cr8(run_->cr8 & 0xF);
    if (rc < 0) {
      if (err == EINTR || err == EAGAIN) continue;  // kick: the loop top decides
      return fail(errno_text("ioctl(KVM_RUN)", err));
    }
    switch (run_->exit_reason) {
      case KVM_EXIT_IO:
        io_pending_ = true;
        if (!handle_io()) return fail("malformed KVM_EXIT_IO record");
        continue;
      case KVM_EXIT_MMIO:
        io_pending_ = true;
        if (!handle_mmio()) return fail("malformed KVM_EXIT_MMIO record");
        continue;
      case KVM_EXIT_X86_RDMSR: {
        io_pending_ = true;
        uint64_t v = 0;
        bool ok = host_.rdmsr(run_->msr.index, &v);
        run_->msr.error = ok ? 0 : 1;
        run_->msr.data = ok ? v : 0;
        continue;
      }
      case KVM_EXIT_X86_WRMSR:
        io_pending_ = true;
        run_->msr.error = host_.wrmsr(run_->msr.index, run_->msr.data) ? 0 : 1;
        continue;
      case KVM_EXIT_HLT:
        return RunStop::kHlt;
      case KVM_EXIT_IRQ_WINDOW_OPEN:
      case KVM_EXIT_SET_TPR:
      case KVM_EXIT_INTR:
        continue;
      case KVM_EXIT_SHUTDOWN:
        return RunStop::kShutdown;
      case KVM_EXIT_DEBUG:
        // KVM_SET_GUEST_DEBUG's stops: #DB from SINGLESTEP (mtrap_exit), #BP from USE_SW_BP.
        if (run_->debug.arch.exception == 3 && bpt_exit_) return RunStop::kBreakpoint;
        if (run_->debug.arch.exception == 1 && mtrap_exit_) return RunStop::kMtrap;
        return RunStop::kDebug;
      case KVM_EXIT_FAIL_ENTRY: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "0x%llx",
                      static_cast<unsigned long long>(
                          run_->fail_entry.hardware_entry_failure_reason));
        return fail(std::string("KVM could not enter the guest (hardware entry failure reason ") +
                    buf + ")");
      }
      case KVM_EXIT_INTERNAL_ERROR:
        return fail("KVM internal error, suberror " +
                    std::to_string(run_->internal.suberror) +
                    (run_->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                         ? " (instruction emulation failed)"
                         : ""));
      case KVM_EXIT_SYSTEM_EVENT:
        if (run_->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
            run_->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
          return RunStop::kShutdown;
        }
        return fail("unexpected KVM system event " + std::to_string(run_->system_event.type));
      default:
        return fail("unexpected KVM exit reason " + std::to_string(run_->exit_reason));
    }
  }
}

// ---- state ----------------------------------------------------------------------------

Error KvmVcpu::get_state(x86::CpuState* out) {
  struct kvm_regs r;
  struct kvm_sregs s;
  struct kvm_debugregs d;
  if (ioctl(fd_, KVM_GET_REGS, &r) < 0) return Error::host("ioctl(KVM_GET_REGS)", errno);
  if (ioctl(fd_, KVM_GET_SREGS, &s) < 0) return Error::host("ioctl(KVM_GET_SREGS)", errno);
  if (ioctl(fd_, KVM_GET_DEBUGREGS, &d) < 0) return Error::host("ioctl(KVM_GET_DEBUGREGS)", errno);
  using namespace x86;
  out->gpr[RAX] = r.rax; out->gpr[RCX] = r.rcx; out->gpr[RDX] = r.rdx; out->gpr[RBX] = r.rbx;
  out->gpr[RSP] = r.rsp; out->gpr[RBP] = r.rbp; out->gpr[RSI] = r.rsi; out->gpr[RDI] = r.rdi;
  out->gpr[R8] = r.r8; out->gpr[R9] = r.r9; out->gpr[R10] = r.r10; out->gpr[R11] = r.r11;
  out->gpr[R12] = r.r12; out->gpr[R13] = r.r13; out->gpr[R14] = r.r14; out->gpr[R15] = r.r15;
  out->rip = r.rip;
  out->rflags = r.rflags;
  segment_from_kvm(s.cs, &out->cs);
  segment_from_kvm(s.ds, &out->ds);
  segment_from_kvm(s.es, &out->es);
  segment_from_kvm(s.fs, &out->fs);
  segment_from_kvm(s.gs, &out->gs);
  segment_from_kvm(s.ss, &out->ss);
  segment_from_kvm(s.tr, &out->tr);
  segment_from_kvm(s.ldt, &out->ldtr);
  out->gdtr = DescriptorTable{s.gdt.base, s.gdt.limit};
  out->idtr = DescriptorTable{s.idt.base, s.idt.limit};
  out->cr0 = s.cr0; out->cr2 = s.cr2; out->cr3 = s.cr3; out->cr4 = s.cr4; out->cr8 = s.cr8;
  out->efer = s.efer;
  for (int i = 0; i < 4; ++i) out->dr[i] = d.db[i];
  out->dr[4] = out->dr[5] = 0;
  out->dr[6] = d.dr6;
  out->dr[7] = d.dr7;
  return Error::ok();
}

Error KvmVcpu::set_state(const x86::CpuState& in) {
  struct kvm_sregs s;
  if (ioctl(fd_, KVM_GET_SREGS, &s) < 0) return Error::host("ioctl(KVM_GET_SREGS)", errno);
  segment_to_kvm(in.cs, &s.cs);
  segment_to_kvm(in.ds, &s.ds);
  segment_to_kvm(in.es, &s.es);
  segment_to_kvm(in.fs, &s.fs);
  segment_to_kvm(in.gs, &s.gs);
  segment_to_kvm(in.ss, &s.ss);
  segment_to_kvm(in.tr, &s.tr);
  segment_to_kvm(in.ldtr, &s.ldt);
  s.gdt.base = in.gdtr.base;
  s.gdt.limit = in.gdtr.limit;
  s.idt.base = in.idtr.base;
  s.idt.limit = in.idtr.limit;
  s.cr0 = in.cr0; s.cr2 = in.cr2; s.cr3 = in.cr3; s.cr4 = in.cr4; s.cr8 = in.cr8;
  s.efer = in.efer;
  if (ioctl(fd_, KVM_SET_SREGS, &s) < 0) {
    return Error::host("ioctl(KVM_SET_SREGS)", errno, "control/segment registers refused");
  }
  using namespace x86;
  struct kvm_regs r;
  std::memset(&r, 0, sizeof r);
  r.rax = in.gpr[RAX]; r.rcx = in.gpr[RCX]; r.rdx = in.gpr[RDX]; r.rbx = in.gpr[RBX];
  r.rsp = in.gpr[RSP]; r.rbp = in.gpr[RBP]; r.rsi = in.gpr[RSI]; r.rdi = in.gpr[RDI];
  r.r8 = in.gpr[R8]; r.r9 = in.gpr[R9]; r.r10 = in.gpr[R10]; r.r11 = in.gpr[R11];
  r.r12 = in.gpr[R12]; r.r13 = in.gpr[R13]; r.r14 = in.gpr[R14]; r.r15 = in.gpr[R15];
  r.rip = in.rip;
  r.rflags = in.rflags | 2;
  if (ioctl(fd_, KVM_SET_REGS, &r) < 0) return Error::host("ioctl(KVM_SET_REGS)", errno);
  struct kvm_debugregs d;
  std::memset(&d, 0, sizeof d);
  for (int i = 0; i < 4; ++i) d.db[i] = in.dr[i];
  d.dr6 = in.dr[6];
  d.dr7 = in.dr[7];
  if (ioctl(fd_, KVM_SET_DEBUGREGS, &d) < 0) return Error::host("ioctl(KVM_SET_DEBUGREGS)", errno);
  return Error::ok();
}

namespace {
// kvm_msrs with one entry, in the kernel's layout (see kvm_abi.h).
struct OneMsr {
  abi::FlexHeader hdr{1, 0};
  kvm_msr_entry entry{};
};
static_assert(sizeof(OneMsr) == 24, "kvm_msrs with one entry");
}  // namespace

Error KvmVcpu::get_msr(uint32_t index, uint64_t* value) {
  OneMsr m;
  m.entry.index = index;
  int rc = ioctl(fd_, abi::kGetMsrs, &m);
  if (rc < 0) return Error::host("ioctl(KVM_GET_MSRS)", errno);
  if (rc != 1) return Error::invalid("MSR " + std::to_string(index) + " is not known to KVM");
  *value = m.entry.data;
  return Error::ok();
}

Error KvmVcpu::set_msr(uint32_t index, uint64_t value) {
  OneMsr m;
  m.entry.index = index;
  m.entry.data = value;
  int rc = ioctl(fd_, abi::kSetMsrs, &m);
  if (rc < 0) return Error::host("ioctl(KVM_SET_MSRS)", errno);
  if (rc != 1) {
    return Error::invalid("MSR " + std::to_string(index) + " refused the value (KVM)");
  }
  return Error::ok();
}

Error KvmVcpu::set_cpuid(const std::vector<vmm::CpuidEntry>& entries) {
  abi::FlexBuffer<kvm_cpuid_entry2> buf(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    kvm_cpuid_entry2& k = buf.entries()[i];
    std::memset(&k, 0, sizeof k);
    k.function = entries[i].leaf;
    k.index = entries[i].subleaf;
    k.flags = entries[i].has_subleaf ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    k.eax = entries[i].eax;
    k.ebx = entries[i].ebx;
    k.ecx = entries[i].ecx;
    k.edx = entries[i].edx;
  }
  if (ioctl(fd_, abi::kSetCpuid2, buf.data()) < 0) {
    return Error::host("ioctl(KVM_SET_CPUID2)", errno,
                       "CPUID table refused (KVM accepts it only before the vCPU first runs)");
  }
  return Error::ok();
}

Error KvmVcpu::get_cpuid(std::vector<vmm::CpuidEntry>* entries) {
  for (int n = 64; n <= 4096; n *= 2) {
    abi::FlexBuffer<kvm_cpuid_entry2> buf(static_cast<size_t>(n));
    if (ioctl(fd_, abi::kGetCpuid2, buf.data()) == 0) {
      entries->clear();
      for (uint32_t i = 0; i < buf.header()->count; ++i) {
        const kvm_cpuid_entry2& k = buf.entries()[i];
        vmm::CpuidEntry e;
        e.leaf = k.function;
        e.subleaf = k.index;
        e.has_subleaf = (k.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0;
        e.eax = k.eax;
        e.ebx = k.ebx;
        e.ecx = k.ecx;
        e.edx = k.edx;
        entries->push_back(e);
      }
      return Error::ok();
    }
    if (errno != E2BIG) return Error::host("ioctl(KVM_GET_CPUID2)", errno);
  }
  return Error::host("ioctl(KVM_GET_CPUID2)", E2BIG);
}

Error KvmVcpu::reset() {
  struct kvm_fpu f;
  std::memset(&f, 0, sizeof f);
  f.fcw = 0x37F;
  f.mxcsr = 0x1F80;
  if (ioctl(fd_, KVM_SET_FPU, &f) < 0) return Error::host("ioctl(KVM_SET_FPU)", errno);
  struct kvm_vcpu_events ev;
  std::memset(&ev, 0, sizeof ev);
  if (ioctl(fd_, KVM_SET_VCPU_EVENTS, &ev) < 0) {
    return Error::host("ioctl(KVM_SET_VCPU_EVENTS)", errno);
  }
  return Error::ok();
}

Error KvmVcpu::inject_exception(int vector, bool has_error_code, uint32_t error_code) {
  struct kvm_vcpu_events ev;
  if (ioctl(fd_, KVM_GET_VCPU_EVENTS, &ev) < 0) {
    return Error::host("ioctl(KVM_GET_VCPU_EVENTS)", errno);
  }
  ev.exception.injected = 1;
  ev.exception.nr = static_cast<uint8_t>(vector);
  ev.exception.has_error_code = has_error_code ? 1 : 0;
  ev.exception.error_code = error_code;
  ev.flags = 0;
  if (ioctl(fd_, KVM_SET_VCPU_EVENTS, &ev) < 0) {
    return Error::host("ioctl(KVM_SET_VCPU_EVENTS)", errno);
  }
  return Error::ok();
}

Error KvmVcpu::inject_nmi() {
  if (ioctl(fd_, KVM_NMI, 0) < 0) return Error::host("ioctl(KVM_NMI)", errno);
  return Error::ok();
}

bool KvmVcpu::interrupts_enabled() { return run_->if_flag != 0; }

uint64_t KvmVcpu::guest_tsc() {
  uint64_t v = 0;
  if (get_msr(x86::msr::kTsc, &v)) return 0;
  return v;
}

uint64_t KvmVcpu::exit_rip() {
  if (run_->kvm_valid_regs & KVM_SYNC_X86_REGS) return run_->s.regs.regs.rip;
  return 0;
}

Error KvmVcpu::set_guest_debug(bool mtrap, bool bpt, bool inject_bp) {
  struct kvm_guest_debug dbg;
  std::memset(&dbg, 0, sizeof dbg);
  if (mtrap || bpt || inject_bp) dbg.control = KVM_GUESTDBG_ENABLE;
  if (mtrap) dbg.control |= KVM_GUESTDBG_SINGLESTEP;
  if (bpt) dbg.control |= KVM_GUESTDBG_USE_SW_BP;
  if (inject_bp) dbg.control |= KVM_GUESTDBG_INJECT_BP;
  if (ioctl(fd_, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
    int err = errno;
    return Error::unsupported(errno_text("ioctl(KVM_SET_GUEST_DEBUG)", err) +
                              ": this KVM cannot single-step or trap INT3 for the host");
  }
  return Error::ok();
}

Error KvmVcpu::set_capability(vmm::Capability cap, bool on) {
  switch (cap) {
    case vmm::Capability::kPauseExit:
      if (on) return Error::unsupported("pause_exit is not available with the KVM backend");
      return Error::ok();
    case vmm::Capability::kMtrapExit:
    case vmm::Capability::kBptExit: {
      // Measured (test/emulator/vmm/debug-caps.test.ts): kvm_pvm accepts USE_SW_BP but still
      // delivers INT3 to the guest, so a debugger's breakpoints would be lost there.
      if (cap == vmm::Capability::kBptExit && on && kvm_module_name() == "kvm_pvm") {
        return Error::unsupported(
            "bpt_exit is not available with this KVM (kvm_pvm delivers INT3 to the guest "
            "despite KVM_GUESTDBG_USE_SW_BP); use vmm.backend=soft to debug");
      }
      bool mtrap = cap == vmm::Capability::kMtrapExit ? on : mtrap_exit_;
      bool bpt = cap == vmm::Capability::kBptExit ? on : bpt_exit_;
      if (Error e = set_guest_debug(mtrap, bpt, false)) return e;
      mtrap_exit_ = mtrap;
      bpt_exit_ = bpt;
      return Error::ok();
    }
    case vmm::Capability::kHaltExit:
      return Error::ok();
  }
  return Error::unsupported("capability " + std::to_string(static_cast<int>(cap)) +
                            " is not known to the KVM backend");
}

Error KvmVcpu::pass_breakpoint() {
  // KVM queues #BP for the INT3 at RIP (a software exception: the guest sees RIP after it);
  // the flag is one-shot, so the normal debug flags are set again right away.
  if (Error e = set_guest_debug(mtrap_exit_, bpt_exit_, true)) return e;
  return set_guest_debug(mtrap_exit_, bpt_exit_, false);
}

void KvmVcpu::apic_base_changed(uint64_t value) {
  // Called from an MSR exit, whose completion is still pending: applied before the next
  // entry, after completing it (run()).
  apic_base_ = value;
  apic_dirty_ = true;
}

void KvmVcpu::write_apic_base(uint64_t value) {
  struct kvm_sregs s;
  if (ioctl(fd_, KVM_GET_SREGS, &s) < 0) return;
  s.apic_base = value;
  ioctl(fd_, KVM_SET_SREGS, &s);
}

}  // namespace tsvirt::kvm
