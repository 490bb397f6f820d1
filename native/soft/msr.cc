// RDMSR/WRMSR for the MSRs the CPU itself keeps; everything else goes to the host.
//
// Kept here (Intel SDM vol. 4; AMD APM vol. 2, appendix A): TSC (0x10), SYSENTER_CS/ESP/EIP
// (0x174-0x176), MISC_ENABLE (0x1A0), MTRRCAP (0xFE, read-only), variable MTRRs
// (0x200-0x20F), fixed MTRRs (0x250, 0x258, 0x259, 0x268-0x26F), MTRR_DEF_TYPE (0x2FF),
// PAT (0x277), EFER, STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE and
// TSC_AUX (0xC0000080-0xC0000103). Writes are checked (reserved bits, canonical bases,
// PAT memory types) and a bad value is #GP(0). Model-specific MSRs of the presented model
// are msr_model.cc's. The APIC base, x2APIC range, TSC deadline and anything unknown return
// kUnknown so the vmm decides (bhyve's strictmsr policy).
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

int fixed_mtrr_index(uint32_t index) {
  if (index == 0x250) return 0;
  if (index == 0x258) return 1;
  if (index == 0x259) return 2;
  if (index >= 0x268 && index <= 0x26F) return 3 + int(index - 0x268);
  return -1;
}

bool valid_mem_type(unsigned t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7; }

constexpr uint64_t kPhysMask = (uint64_t{1} << 40) - 1;

}  // namespace

Core::MsrResult Core::msr_read(uint32_t index, uint64_t* v) {
  using x86::msr::kCstar;
  switch (index) {
    case x86::msr::kTsc: *v = tsc_read(); return MsrResult::kOk;
    case x86::msr::kSysenterCs: *v = msr_sysenter_cs; return MsrResult::kOk;
    case x86::msr::kSysenterEsp: *v = msr_sysenter_esp; return MsrResult::kOk;
    case x86::msr::kSysenterEip: *v = msr_sysenter_eip; return MsrResult::kOk;
    case 0x1A0: *v = msr_misc_enable; return MsrResult::kOk;
    case 0xFE: *v = 0x508; return MsrResult::kOk;  // 8 variable ranges, fixed, WC
    case x86::msr::kPat: *v = msr_pat; return MsrResult::kOk;
    case 0x2FF: *v = msr_mtrr_def; return MsrResult::kOk;
    case x86::msr::kEfer: *v = efer; return MsrResult::kOk;
    case x86::msr::kStar: *v = msr_star; return MsrResult::kOk;
    case x86::msr::kLstar: *v = msr_lstar; return MsrResult::kOk;
    case kCstar: *v = msr_cstar; return MsrResult::kOk;
    case x86::msr::kSfmask: *v = msr_sfmask; return MsrResult::kOk;
    case x86::msr::kFsBase: *v = seg[FS].base; return MsrResult::kOk;
    case x86::msr::kGsBase: *v = seg[GS].base; return MsrResult::kOk;
    case x86::msr::kKernelGsBase: *v = msr_kernel_gs; return MsrResult::kOk;
    case x86::msr::kTscAux:
      if (!(feat.x1_edx & feat::kRdtscp)) return MsrResult::kUnknown;
      *v = msr_tsc_aux;
      return MsrResult::kOk;
    default: break;
  }
  if (index >= 0x200 && index <= 0x20F) {
    *v = msr_mtrr_var[index - 0x200];
    return MsrResult::kOk;
  }
  const int f = fixed_mtrr_index(index);
  if (f >= 0) {
    *v = msr_mtrr_fixed[f];
    return MsrResult::kOk;
  }
  return model_msr_read(index, v);
}

Core::MsrResult Core::msr_write(uint32_t index, uint64_t v) {
  switch (index) {
    case x86::msr::kTsc: tsc_write(v); return MsrResult::kOk;
    case x86::msr::kSysenterCs: msr_sysenter_cs = v & 0xFFFF; return MsrResult::kOk;
    case x86::msr::kSysenterEsp:
      if (!canonical(v)) return MsrResult::kFault;
      msr_sysenter_esp = v;
      return MsrResult::kOk;
    case x86::msr::kSysenterEip:
      if (!canonical(v)) return MsrResult::kFault;
      msr_sysenter_eip = v;
      return MsrResult::kOk;
    case 0x1A0: msr_misc_enable = v; return MsrResult::kOk;
    case 0xFE: return MsrResult::kFault;
    case x86::msr::kPat:
      for (int k = 0; k < 8; k++) {
        const unsigned t = unsigned(v >> (8 * k)) & 0xFF;
        if (!valid_mem_type(t)) return MsrResult::kFault;
      }
      msr_pat = v;
      return MsrResult::kOk;
    case 0x2FF:
      if ((v & ~uint64_t{0xCFF}) || !valid_mem_type(unsigned(v & 0xFF)) || (v & 0xFF) == 7) {
        return MsrResult::kFault;
      }
      msr_mtrr_def = v;
      return MsrResult::kOk;
    case x86::msr::kEfer: return write_efer(v) ? MsrResult::kOk : MsrResult::kFault;
    case x86::msr::kStar: msr_star = v; return MsrResult::kOk;
    case x86::msr::kLstar:
      if (!canonical(v)) return MsrResult::kFault;
      msr_lstar = v;
      return MsrResult::kOk;
    case x86::msr::kCstar:
      if (!canonical(v)) return MsrResult::kFault;
      msr_cstar = v;
      return MsrResult::kOk;
    case x86::msr::kSfmask: msr_sfmask = v & 0xFFFFFFFF; return MsrResult::kOk;
    case x86::msr::kFsBase:
      if (!canonical(v)) return MsrResult::kFault;
      seg[FS].base = v;
      update_seg_checks(FS);
      return MsrResult::kOk;
    case x86::msr::kGsBase:
      if (!canonical(v)) return MsrResult::kFault;
      seg[GS].base = v;
      update_seg_checks(GS);
      return MsrResult::kOk;
    case x86::msr::kKernelGsBase:
      if (!canonical(v)) return MsrResult::kFault;
      msr_kernel_gs = v;
      return MsrResult::kOk;
    case x86::msr::kTscAux:
      if (!(feat.x1_edx & feat::kRdtscp)) return MsrResult::kUnknown;
      if (v >> 32) return MsrResult::kFault;
      msr_tsc_aux = v;
      return MsrResult::kOk;
    default: break;
  }
  if (index >= 0x200 && index <= 0x20F) {
    const bool mask_reg = index & 1;
    const uint64_t allowed = mask_reg ? ((kPhysMask & kPageMask) | 0x800) : ((kPhysMask & kPageMask) | 0xFF);
    if (v & ~allowed) return MsrResult::kFault;
    if (!mask_reg && !valid_mem_type(unsigned(v & 0xFF))) return MsrResult::kFault;
    msr_mtrr_var[index - 0x200] = v;
    return MsrResult::kOk;
  }
  const int f = fixed_mtrr_index(index);
  if (f >= 0) {
    for (int k = 0; k < 8; k++) {
      if (!valid_mem_type(unsigned(v >> (8 * k)) & 0xFF)) return MsrResult::kFault;
    }
    msr_mtrr_fixed[f] = v;
    return MsrResult::kOk;
  }
  return model_msr_write(index, v);
}

bool Core::write_efer(uint64_t v) {
  uint64_t allowed = efer::LME | efer::LMA;
  if (feat.x1_edx & feat::kSyscall) allowed |= efer::SCE;
  if (feat.x1_edx & feat::kNx) allowed |= efer::NXE;
  if (v & ~allowed) return false;
  if (!(feat.x1_edx & feat::kLm) && (v & efer::LME)) return false;
  // LME may not change while paging is on; LMA is read-only.
  if ((cr0 & cr0::PG) && ((v ^ efer) & efer::LME)) return false;
  const uint64_t n = (v & ~efer::LMA) | (efer & efer::LMA);
  if ((n ^ efer) & efer::NXE) tlb_flush(true);
  efer = n;
  update_mode();
  return true;
}

bool Core::get_msr(uint32_t index, uint64_t* value) {
  if (index == x86::msr::kEfer) {
    *value = efer;
    return true;
  }
  const MsrResult r = msr_read(index, value);
  if (r == MsrResult::kOk) return true;
  if (r == MsrResult::kFault) return false;
  return host->rdmsr(index, value);
}

bool Core::set_msr(uint32_t index, uint64_t value) {
  if (index == x86::msr::kEfer) {
    // The vmm sets EFER as part of a whole state (LMA included), unlike WRMSR.
    efer = value;
    tlb_flush(true);
    update_mode();
    return true;
  }
  const MsrResult r = msr_write(index, value);
  if (r == MsrResult::kOk) return true;
  if (r == MsrResult::kFault) return false;
  return host->wrmsr(index, value);
}

}  // namespace tsvirt::soft
