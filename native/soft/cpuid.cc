// CPUID: the default leaf table, tables set by the vmm, and lookup.
//
// The default table describes an AMD64 processor in the style of QEMU's "qemu64" model
// (vendor AuthenticAMD, family 15 model 107 stepping 1), because that is the reference CPU
// of the kvm-unit-tests runs this CPU is judged against and a model Linux boots on without
// model-specific quirks. Feature bits come from what the registered instruction families
// implement (OpTables::features) plus the bits describing devices the vmm provides around
// the CPU (local APIC incl. x2APIC and TSC-deadline, the hypervisor bit). A table set through
// set_cpuid() is kept as given except that leaf 1 / 7 / 0x80000001 feature words are masked
// with that same set, so the guest is never told about an instruction this CPU would #UD.
//
// Lookup (SDM vol. 2, CPUID): leaves above the maximum basic/extended leaf answer as the
// highest basic leaf for an Intel vendor and zero for AMD; absent leaves inside the range
// answer zero. Leaf 1 EBX[31:24] carries the vCPU id as initial APIC ID, ECX.OSXSAVE
// follows CR4.OSXSAVE and EDX.APIC is clear while the vmm reports the APIC globally disabled.
#include <cstring>
#include <vector>

#include "soft/insn.h"
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

// Bits that describe the platform around the CPU (provided by the vmm), not instructions.
constexpr uint32_t kPlatformL1Edx = feat::kApic;
constexpr uint32_t kPlatformL1Ecx = feat::kX2apic | feat::kTscDeadline | feat::kHypervisor;

constexpr uint32_t kSignature = 0x000F6B1;  // family 15, model 107 (0x6B), stepping 1

uint32_t str4(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}

std::vector<CpuidEntry> default_table(const CpuFeatures& f) {
  std::vector<CpuidEntry> t;
  auto add = [&](uint32_t leaf, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    CpuidEntry e;
    e.leaf = leaf;
    e.eax = a;
    e.ebx = b;
    e.ecx = c;
    e.edx = d;
    t.push_back(e);
  };
  // Leaf 0: max basic leaf 7, "AuthenticAMD" in EBX, EDX, ECX.
  add(0, 7, str4("Auth"), str4("cAMD"), str4("enti"));
  // Leaf 1: signature; EBX: CLFLUSH line 8*8 bytes, 1 logical processor.
  add(1, kSignature, (8u << 8) | (1u << 16), f.l1_ecx | kPlatformL1Ecx,
      f.l1_edx | kPlatformL1Edx);
  // Leaf 6: ARAT (EAX[2]), the local APIC timer keeps running in every C-state (there are no
  // C-states here; KVM reports it to its guests the same way). Nothing else of power
  // management.
  add(6, 1u << 2, 0, 0, 0);
  CpuidEntry l7;
  l7.leaf = 7;
  l7.has_subleaf = true;
  l7.ebx = f.l7_ebx;
  l7.ecx = f.l7_ecx;
  t.push_back(l7);
  add(0x80000000, 0x80000008, str4("Auth"), str4("cAMD"), str4("enti"));
  add(0x80000001, kSignature, 0, f.x1_ecx, f.x1_edx);
  const char brand[49] = "tsvirt soft x86-64 CPU                          ";
  for (uint32_t k = 0; k < 3; k++) {
    add(0x80000002 + k, str4(brand + 16 * k), str4(brand + 16 * k + 4),
        str4(brand + 16 * k + 8), str4(brand + 16 * k + 12));
  }
  // L1 caches: 64 KiB 2-way data and instruction, 64-byte lines (AMD format).
  add(0x80000005, 0x01FF01FF, 0x01FF01FF, 0x40020140, 0x40020140);
  // L2 512 KiB 16-way, L3 none.
  add(0x80000006, 0, 0x42004200, 0x02008140, 0);
  // Invariant TSC.
  add(0x80000007, 0, 0, 0, 1u << 8);
  // 40 physical, 48 linear address bits.
  add(0x80000008, 0x00003028, 0, 0, 0);
  return t;
}

}  // namespace

uint32_t cpuid_signature(const Core* c) {
  uint32_t out[4];
  c->cpuid(1, 0, out);
  return out[0];
}

void Core::set_cpuid(const CpuidEntry* entries, size_t count) {
  const CpuFeatures& impl = op_tables().features;
  std::vector<CpuidEntry> t;
  if (entries == nullptr) {
    t = default_table(impl);
  } else {
    t.assign(entries, entries + count);
    for (CpuidEntry& e : t) {
      if (e.leaf == 1) {
        e.ecx &= impl.l1_ecx | kPlatformL1Ecx;
        e.edx &= impl.l1_edx | kPlatformL1Edx;
      } else if (e.leaf == 7 && e.subleaf == 0) {
        e.ebx &= impl.l7_ebx;
        e.ecx &= impl.l7_ecx;
        e.edx = 0;
      } else if (e.leaf == 0x80000001) {
        e.ecx &= impl.x1_ecx;
        e.edx &= impl.x1_edx;
      }
    }
  }
  delete[] cpuid_table;
  cpuid_table = new CpuidEntry[t.size()];
  std::copy(t.begin(), t.end(), cpuid_table);
  cpuid_count = t.size();
  feat = CpuFeatures{};
  for (size_t k = 0; k < cpuid_count; k++) {
    const CpuidEntry& e = cpuid_table[k];
    if (e.leaf == 0) vendor_intel = e.ebx == str4("Genu");
    if (e.leaf == 1) {
      feat.l1_ecx = e.ecx;
      feat.l1_edx = e.edx;
    } else if (e.leaf == 7 && e.subleaf == 0) {
      feat.l7_ebx = e.ebx;
      feat.l7_ecx = e.ecx;
    } else if (e.leaf == 0x80000001) {
      feat.x1_ecx = e.ecx;
      feat.x1_edx = e.edx;
    }
  }
}

void Core::get_cpuid(std::vector<CpuidEntry>* entries) const {
  entries->assign(cpuid_table, cpuid_table + cpuid_count);
  for (CpuidEntry& e : *entries) {
    if (e.leaf != 1) continue;
    uint32_t out[4];
    cpuid(1, 0, out);
    e.ebx = out[1];
    e.ecx = out[2];
    e.edx = out[3];
  }
}

void Core::cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) const {
  out[0] = out[1] = out[2] = out[3] = 0;
  uint32_t max_basic = 0, max_ext = 0;
  for (size_t k = 0; k < cpuid_count; k++) {
    if (cpuid_table[k].leaf == 0) max_basic = cpuid_table[k].eax;
    if (cpuid_table[k].leaf == 0x80000000) max_ext = cpuid_table[k].eax;
  }
  const bool ext = leaf >= 0x80000000;
  if ((!ext && leaf > max_basic) || (ext && leaf > max_ext)) {
    if (!vendor_intel) return;
    leaf = max_basic;
  }
  for (size_t k = 0; k < cpuid_count; k++) {
    const CpuidEntry& e = cpuid_table[k];
    if (e.leaf != leaf || (e.has_subleaf && e.subleaf != subleaf)) continue;
    out[0] = e.eax;
    out[1] = e.ebx;
    out[2] = e.ecx;
    out[3] = e.edx;
    break;
  }
  if (leaf == 1) {
    out[1] = (out[1] & 0x00FFFFFF) | (uint32_t(vcpu_id & 0xFF) << 24);
    out[2] &= ~feat::kOsxsave;
    if (cr4 & cr4::OSXSAVE) out[2] |= feat::kOsxsave;
    if (!apic_enabled) out[3] &= ~feat::kApic;
  }
}

}  // namespace tsvirt::soft
