// Control-register writes and their side effects (SDM vol. 3, 2.5 and 4.10.4; vol. 2, MOV
// to/from control registers): reserved-bit and consistency checks (#GP(0)), entering and
// leaving IA-32e mode through CR0.PG with EFER.LME, PDPTE loads for PAE paging, and TLB
// flushes (CR3 keeps global pages; changes of PG, WP, PAE, PSE, PGE, SMEP flush all).
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

constexpr uint64_t kPhysLimit = uint64_t{1} << 40;

}  // namespace

void Core::write_cr0(uint64_t v) {
  if (v >> 32) gp(0);
  v |= cr0::ET;
  if ((v & cr0::PG) && !(v & cr0::PE)) gp(0);
  if ((v & cr0::NW) && !(v & cr0::CD)) gp(0);
  const uint64_t old = cr0;
  const bool enabling_pg = (v & cr0::PG) && !(old & cr0::PG);
  const bool disabling_pg = !(v & cr0::PG) && (old & cr0::PG);
  if (enabling_pg && (efer & efer::LME)) {
    if (!(cr4 & cr4::PAE)) gp(0);
    if (seg[CS].ar & x86::kSegL) gp(0);
  }
  if (disabling_pg && (efer & efer::LMA) && code_size == 64) gp(0);
  cr0 = v;
  if (enabling_pg && !(efer & efer::LME) && (cr4 & cr4::PAE)) load_pdptes();
  if (enabling_pg && (efer & efer::LME)) efer |= efer::LMA;
  if (disabling_pg) efer &= ~efer::LMA;
  if ((old ^ v) & (cr0::PG | cr0::WP | cr0::PE)) tlb_flush(true);
  update_mode();
}

void Core::write_cr3(uint64_t v) {
  if (long_mode() && v >= kPhysLimit) gp(0);
  if (!long_mode()) v &= 0xFFFFFFFF;
  cr3 = v;
  if ((cr0 & cr0::PG) && (cr4 & cr4::PAE) && !long_mode()) load_pdptes();
  tlb_flush(false);
}

void Core::write_cr4(uint64_t v) {
  // CR4.MCE is writable whatever CPUID says, as on KVM and every x86-64 processor (no
  // machine check is ever signalled here).
  uint64_t allowed = cr4::TSD | cr4::DE | cr4::PSE | cr4::PAE | cr4::MCE | cr4::PGE | cr4::PCE |
                     cr4::OSFXSR | cr4::OSXMMEXCPT;
  if (feat.l7_ebx & feat::kSmep) allowed |= cr4::SMEP;
  if (feat.l7_ebx & feat::kFsgsbase) allowed |= cr4::FSGSBASE;
  if (feat.l7_ecx & feat::kUmip) allowed |= cr4::UMIP;
  if (v & ~allowed) gp(0);
  if (long_mode() && !(v & cr4::PAE)) gp(0);
  const uint64_t old = cr4;
  cr4 = v;
  if ((old ^ v) & (cr4::PAE | cr4::PSE | cr4::PGE | cr4::SMEP)) tlb_flush(true);
  if (((old ^ v) & (cr4::PAE | cr4::PSE | cr4::SMEP)) && (cr0 & cr0::PG) && (v & cr4::PAE) &&
      !long_mode()) {
    load_pdptes();
  }
}

}  // namespace tsvirt::soft
