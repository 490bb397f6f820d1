// vCPU state: power-on/INIT reset, conversion to and from x86::CpuState, RFLAGS writes,
// and the derived mode bookkeeping (code size, stack size, segment check bounds, TLB set).
//
// Reset values follow Intel SDM vol. 3, 10.1.1, table 10-1. The mode is derived, never
// stored twice: update_mode() recomputes everything the hot path caches from CR0, EFER,
// RFLAGS.VM and the CS/SS descriptor caches, and must run after any change to them.
#include <x86intrin.h>

#include "soft/insn.h"
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {
struct ParityTable {
  uint8_t v[256];
  constexpr ParityTable() : v() {
    for (int k = 0; k < 256; k++) v[k] = uint8_t((__builtin_popcount(unsigned(k)) & 1) == 0);
  }
};
constexpr ParityTable kParityTable;
}  // namespace

const uint8_t kParity[256] = {
#define E(k) kParityTable.v[k]
#define E8(k) E(k), E(k + 1), E(k + 2), E(k + 3), E(k + 4), E(k + 5), E(k + 6), E(k + 7)
#define E64(k) E8(k), E8(k + 8), E8(k + 16), E8(k + 24), E8(k + 32), E8(k + 40), E8(k + 48), E8(k + 56)
    E64(0), E64(64), E64(128), E64(192)
#undef E
#undef E8
#undef E64
};

uint32_t cpuid_signature(const Core* c);  // cpuid.cc

void Core::reset() {
  std::memset(r, 0, sizeof(r));
  lf_op = kLfNone;
  lf_res = lf_a = lf_b = 0;
  rfl = fl::kFixed1;
  for (int s = 0; s < kSegCount; s++) {
    seg[s] = SegReg{0, 0xFFFF, 0, 0x93};
  }
  seg[CS] = SegReg{0xFFFF0000, 0xFFFF, 0xF000, 0x9B};
  ldtr = SegReg{0, 0xFFFF, 0, 0x82};
  tr = SegReg{0, 0xFFFF, 0, 0x8B};
  gdt_base = idt_base = 0;
  gdt_limit = idt_limit = 0xFFFF;
  cr0 = 0x60000010;
  cr2 = cr3 = cr4 = 0;
  efer = 0;
  std::memset(dr, 0, sizeof(dr));
  dr[6] = 0xFFFF0FF0;
  dr[7] = 0x400;
  std::memset(pdpte, 0, sizeof(pdpte));
  msr_star = msr_lstar = msr_cstar = msr_sfmask = msr_kernel_gs = msr_tsc_aux = 0;
  msr_sysenter_cs = msr_sysenter_esp = msr_sysenter_eip = 0;
  msr_pat = 0x0007040600070406ull;
  msr_misc_enable = 1;
  msr_hwcr = msr_de_cfg = msr_mcg_status = 0;
  xcr0 = 1;
  // INIT leaves the TSC and the MTRRs unchanged (SDM vol. 3, table 10-1); their power-on
  // values are set once, when the vCPU is created (Core::Core).
  r[kRegRip] = 0xFFF0;
  r[RDX] = cpuid_signature(this);
  fpu.reset();
  fpu.fcw = 0x0040;  // power-on value (SDM vol. 3, table 10-1)
  fpu.ftw = 0x5555;
  halted = false;
  irq_wanted = false;
  nmi_pending = nmi_blocked = false;
  injected = Fault{};
  delivering = -1;
  shutdown = false;
  sync_events = 0;
  step_tf = false;
  rf_step = false;
  update_breakpoints();
  cpl = 0;
  tlb_flush(true);
  update_mode();
}

namespace {

x86::Segment to_seg(const SegReg& s) { return x86::Segment{s.base, s.limit, s.sel, s.ar}; }
SegReg from_seg(const x86::Segment& s) { return SegReg{s.base, s.limit, s.selector, s.access}; }

}  // namespace

void Core::get_state(x86::CpuState* out) const {
  Core* self = const_cast<Core*>(this);  // materializing lazy flags changes no value
  for (int k = 0; k < x86::kGprCount; k++) out->gpr[k] = r[k];
  // Inside a host callback the current instruction has not completed: report its RIP.
  out->rip = (cur_block != nullptr && cur != nullptr) ? cur_entry_rip + cur->off : r[kRegRip];
  out->rflags = self->get_rflags();
  out->es = to_seg(seg[ES]);
  out->cs = to_seg(seg[CS]);
  out->ss = to_seg(seg[SS]);
  out->ds = to_seg(seg[DS]);
  out->fs = to_seg(seg[FS]);
  out->gs = to_seg(seg[GS]);
  out->tr = to_seg(tr);
  out->ldtr = to_seg(ldtr);
  out->gdtr = x86::DescriptorTable{gdt_base, uint16_t(gdt_limit)};
  out->idtr = x86::DescriptorTable{idt_base, uint16_t(idt_limit)};
  out->cr0 = cr0;
  out->cr2 = cr2;
  out->cr3 = cr3;
  out->cr4 = cr4;
  out->cr8 = host->read_cr8();
  out->efer = efer;
  for (int k = 0; k < 8; k++) out->dr[k] = dr[k];
}

void Core::set_state(const x86::CpuState& in) {
  for (int k = 0; k < x86::kGprCount; k++) r[k] = in.gpr[k];
  r[kRegZero] = 0;
  r[kRegRip] = in.rip;
  lf_op = kLfNone;
  rfl = (in.rflags & fl::kValid) | fl::kFixed1;
  seg[ES] = from_seg(in.es);
  seg[CS] = from_seg(in.cs);
  seg[SS] = from_seg(in.ss);
  seg[DS] = from_seg(in.ds);
  seg[FS] = from_seg(in.fs);
  seg[GS] = from_seg(in.gs);
  tr = from_seg(in.tr);
  ldtr = from_seg(in.ldtr);
  gdt_base = in.gdtr.base;
  gdt_limit = in.gdtr.limit;
  idt_base = in.idtr.base;
  idt_limit = in.idtr.limit;
  cr0 = in.cr0 | cr0::ET;
  cr2 = in.cr2;
  cr3 = in.cr3;
  cr4 = in.cr4;
  efer = in.efer;
  for (int k = 0; k < 8; k++) dr[k] = in.dr[k];
  update_breakpoints();
  // CPL: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL (the VMX convention, which
  // equals CS.RPL in every state a guest can reach).
  if (!(cr0 & cr0::PE)) cpl = 0;
  else if (rfl & fl::VM) cpl = 3;
  else cpl = int((seg[SS].ar >> 5) & 3);
  // A new register state ends a shutdown or error stop (the vmm restarts the vCPU).
  halted = false;
  shutdown = false;
  delivering = -1;
  sync_events &= ~(ev::kHalted | ev::kShadow | ev::kShutdown | ev::kError);
  if (rfl & fl::TF) sync_events |= ev::kTrap;
  if ((cr0 & cr0::PG) && (cr4 & cr4::PAE) && !(efer & efer::LMA)) load_pdptes();
  tlb_flush(true);
  update_mode();
}

void Core::set_rflags(uint64_t v, uint64_t mask) {
  const uint64_t old = get_rflags();
  const uint64_t n = ((old & ~mask) | (v & mask) | fl::kFixed1) & (fl::kValid | fl::kFixed1);
  rfl = n;
  if ((n & fl::IF) && !(old & fl::IF) && irq_wanted) sync_events |= ev::kIrqCheck;
  if (n & (fl::TF | fl::RF)) sync_events |= ev::kTrap;
  // An instruction that loads RF (IRET) keeps the value it loaded: the clearing of RF after
  // a stepped instruction (exec.cc) applies to the RF that instruction ran with.
  if (mask & fl::RF) rf_step = false;
  if ((n ^ old) & fl::VM) {
    if (n & fl::VM) set_cpl(3);
    update_mode();
  }
}

void Core::set_cpl(int new_cpl) {
  cpl = new_cpl;
  tlb = tlbs[new_cpl == 3 ? 1 : 0];
  tlbx_cur = tlbx[new_cpl == 3 ? 1 : 0];
}

void Core::update_seg_checks(int s) {
  const SegReg& g = seg[s];
  seg_base[s] = (code_size == 64 && s < FS) ? 0 : g.base;
  if (code_size == 64) {
    rd_lo[s] = wr_lo[s] = 0;
    rd_hi[s] = wr_hi[s] = ~uint64_t{0};
    return;
  }
  uint64_t lo = 0, hi = g.limit;
  bool can_read = true, can_write = true;
  if ((cr0 & cr0::PE) && !(rfl & fl::VM)) {
    if ((g.ar & x86::kSegUnusable) || !(g.ar & x86::kSegS)) {
      can_read = can_write = false;
    } else if (g.ar & 8) {  // code
      can_read = (g.ar & 2) != 0;
      can_write = false;
    } else {
      can_write = (g.ar & 2) != 0;
      if (g.ar & 4) {  // expand-down
        lo = uint64_t(g.limit) + 1;
        hi = (g.ar & x86::kSegDB) ? 0xFFFFFFFF : 0xFFFF;
      }
    }
  }
  rd_lo[s] = can_read ? lo : 1;
  rd_hi[s] = can_read ? hi : 0;
  wr_lo[s] = can_write ? lo : 1;
  wr_hi[s] = can_write ? hi : 0;
}

void Core::update_mode() {
  const bool pe = cr0 & cr0::PE;
  const bool vm = pe && (rfl & fl::VM);
  const bool lma = efer & efer::LMA;
  if (vm) code_size = 16;
  else if (pe && lma && (seg[CS].ar & x86::kSegL)) code_size = 64;
  else code_size = (seg[CS].ar & x86::kSegDB) ? 32 : 16;
  if (code_size == 64) stack_size = 64;
  else stack_size = (!vm && (seg[SS].ar & x86::kSegDB)) ? 32 : 16;
  segcheck = code_size != 64;
  la_mask = code_size == 64 ? ~uint64_t{0} : 0xFFFFFFFFull;
  mode_key = uint32_t(code_size) | (pe ? 0x100u : 0) | (vm ? 0x200u : 0);
  if (!pe) cpl = 0;
  tlb = tlbs[cpl == 3 ? 1 : 0];
  tlbx_cur = tlbx[cpl == 3 ? 1 : 0];
  for (int s = 0; s < kSegCount; s++) update_seg_checks(s);
}

uint64_t Core::tsc_read() const { return __rdtsc() + uint64_t(tsc_offset); }

void Core::tsc_write(uint64_t v) { tsc_offset = int64_t(v - __rdtsc()); }

}  // namespace tsvirt::soft
