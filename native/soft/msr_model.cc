// Model-specific MSRs of the processor model the CPUID table presents, answered the way KVM
// answers them for its guests, so a guest sees the same MSRs on the soft and KVM backends.
//
// Both vendors, machine-check globals (SDM vol. 3, 16.3.1): MCG_CAP (0x179) reads 0, no
// banks and no MCG_CTL, read-only; MCG_STATUS (0x17A) reads back what was written;
// MCG_CTL (0x17B) and the bank MSRs (0x400...) do not exist (kUnknown, the host refuses
// them under strictmsr). KVM has MCG_CAP and MCG_STATUS whatever CPUID says, and so do
// all x86-64 processors; CPUID does not advertise MCE/MCA, so Linux never reads them, but
// kvm-unit-tests' msr test reads MCG_CAP unguarded to count the banks.
// Both vendors: 0x8B (AMD PATCH_LEVEL / Intel BIOS_SIGN_ID) reads 0x1_0000_0000 (microcode
// revision 0 in the low half, as KVM's default); guest writes are ignored (Intel's protocol
// writes 0 there before a CPUID).
// AMD vendor only (AMD BKDG for family 0Fh, AMD APM vol. 2 appendix A):
//  - SYSCFG (0xC0010010), INT_PENDING_MSG (0xC0010055), TSEG base/mask (0xC0010112/3): read
//    as 0 (no memory-type extensions, no C1E, no SMM); writes #GP.
//  - HWCR (0xC0010015): reads back McStatusWrEn (bit 18); writes of TLBCACHEDIS (3), FFDIS
//    (6) and IGNNE_EM (8) are accepted and have no effect (an interpreter has no TLB to
//    disable nor flush filter; Linux sets FFDIS for K8 erratum 122); other bits #GP.
//  - NB_CFG (0xC001001F), BU_CFG2 (0xC001102A), DC_CFG (0xC0011022): read 0, writes ignored.
//  - DE_CFG (0xC0011029): bit 1 (LFENCE serialising, which it is here) reads back; other bits
//    #GP.
//  - Legacy performance counters PERFEVTSEL0-3 / PERFCTR0-3 (0xC0010000-0xC0010007): no
//    performance monitoring is implemented or advertised, so (as KVM with its vPMU off)
//    they read 0 and writes are dropped; Linux's check_hw_exists() then reports the PMU as
//    broken and uses software events.
// Everything else is kUnknown: the caller asks msr.cc's architectural set first, then the
// host (the vmm's APIC MSRs and bhyve's strictmsr policy).
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

constexpr uint64_t kHwcrIgnored = (1u << 3) | (1u << 6) | (1u << 8);
constexpr uint64_t kHwcrMcStatusWrEn = uint64_t{1} << 18;
constexpr uint64_t kDeCfgLfenceSerialize = 1u << 1;

}  // namespace

Core::MsrResult Core::model_msr_read(uint32_t index, uint64_t* v) {
  if (index == 0x8B) {
    *v = uint64_t{1} << 32;
    return MsrResult::kOk;
  }
  if (index == 0x179) {
    *v = 0;
    return MsrResult::kOk;
  }
  if (index == 0x17A) {
    *v = msr_mcg_status;
    return MsrResult::kOk;
  }
  if (vendor_intel) return MsrResult::kUnknown;
  switch (index) {
    case 0xC0010010:  // SYSCFG
    case 0xC0010055:  // INT_PENDING_MSG
    case 0xC0010112:  // TSEG_BASE
    case 0xC0010113:  // TSEG_MASK
    case 0xC001001F:  // NB_CFG
    case 0xC0011022:  // DC_CFG
    case 0xC001102A:  // BU_CFG2
      *v = 0;
      return MsrResult::kOk;
    case 0xC0010015: *v = msr_hwcr; return MsrResult::kOk;
    case 0xC0011029: *v = msr_de_cfg; return MsrResult::kOk;
    default: break;
  }
  if (index >= 0xC0010000 && index <= 0xC0010007) {
    *v = 0;
    return MsrResult::kOk;
  }
  return MsrResult::kUnknown;
}

Core::MsrResult Core::model_msr_write(uint32_t index, uint64_t v) {
  if (index == 0x8B) return MsrResult::kOk;
  if (index == 0x179) return MsrResult::kFault;
  if (index == 0x17A) {
    msr_mcg_status = v;
    return MsrResult::kOk;
  }
  if (vendor_intel) return MsrResult::kUnknown;
  switch (index) {
    case 0xC0010010:
    case 0xC0010055:
    case 0xC0010112:
    case 0xC0010113:
      return MsrResult::kFault;
    case 0xC001001F:
    case 0xC0011022:
    case 0xC001102A:
      return MsrResult::kOk;
    case 0xC0010015:
      if (v & ~(kHwcrIgnored | kHwcrMcStatusWrEn)) return MsrResult::kFault;
      msr_hwcr = v & kHwcrMcStatusWrEn;
      return MsrResult::kOk;
    case 0xC0011029:
      if (v & ~kDeCfgLfenceSerialize) return MsrResult::kFault;
      msr_de_cfg = v;
      return MsrResult::kOk;
    default: break;
  }
  if (index >= 0xC0010000 && index <= 0xC0010007) return MsrResult::kOk;
  return MsrResult::kUnknown;
}

}  // namespace tsvirt::soft
