// System instructions, part 2: descriptor tables and system registers.
//   0F 00: SLDT STR LLDT LTR VERR VERW      0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG
//   SWAPGS RDTSCP                           0F 02/03: LAR LSL   0F 06: CLTS
//   0F 08/09: INVD WBINVD (no-ops)          0F 0D: PREFETCHW (no-op)
//   0F 20-23: MOV from/to CR and DR          0F 30/32: WRMSR RDMSR   0F 33: RDPMC (#GP)
//   0F 05/07: SYSCALL SYSRET                0F 34/35: SYSENTER SYSEXIT
//   0F AE: LFENCE MFENCE SFENCE CLFLUSH RDFSBASE RDGSBASE WRFSBASE WRGSBASE (FXSAVE and
//   friends are handed to the x87/SSE families through OpTables::group_0fae_mem).
//
// Intel SDM vol. 2 per instruction, vol. 3 chapter 5 for the privilege rules; AMD APM
// vol. 2, 6.1 for SYSCALL/SYSRET, whose vendor differences follow the CPUID vendor: with
// an AMD vendor SYSCALL works in compatibility mode and SYSENTER/SYSEXIT are #UD in long
// mode; with an Intel vendor the reverse. Debug registers are stored and read back;
// hardware breakpoints they describe are debug.cc's; DR7.GD makes MOV DR a #DB.
#include "soft/ops.h"
#include "soft/seg.h"
#include "soft/sys.h"

namespace tsvirt::soft {

namespace {

inline void need_cpl0(Core* c) {
  if (c->cpl != 0) c->gp(0);
}

inline void need_protected(Core* c) {
  if (!c->protected_mode()) c->ud();
}

// The operand of SLDT/STR/SMSW: 16 bits to memory, zero-extended to a register.
inline void store_sel(Core* c, const Insn* i, uint16_t v) {
  if (is_mem(i)) c->wr<uint16_t>(i->seg, ea(c, i), v);
  else if (i->osz == 2) set_reg<uint16_t>(c, i->mo, v);
  else c->r[i->rm] = v;
}

inline void check_umip(Core* c) {
  if ((c->cr4 & cr4::UMIP) && c->cpl > 0) c->gp(0);
}

const Insn* sldt(Core* c, const Insn* i) {
  need_protected(c);
  check_umip(c);
  store_sel(c, i, c->ldtr.sel);
  return next(c, i);
}

const Insn* str(Core* c, const Insn* i) {
  need_protected(c);
  check_umip(c);
  store_sel(c, i, c->tr.sel);
  return next(c, i);
}

inline uint16_t read_sel_operand(Core* c, const Insn* i) {
  return is_mem(i) ? c->rd<uint16_t>(i->seg, ea(c, i)) : get_reg<uint16_t>(c, i->mo);
}

// Base of a 16-byte LDT/TSS descriptor in long mode: the upper 8 bytes give base[63:32], and
// a non-canonical base raises #GP(selector) (SDM vol. 2, LLDT and LTR operation: "IF
// IA32_EFER.LMA = 1 and the base is not canonical THEN #GP(selector)").
inline uint64_t long_mode_system_base(Core* c, uint16_t sel, uint64_t low_base) {
  const uint64_t base = low_base | (uint64_t(read_desc_high(c, sel)) << 32);
  if (!c->canonical(base)) c->gp(sel & 0xFFFC);
  return base;
}

const Insn* lldt(Core* c, const Insn* i) {
  need_protected(c);
  need_cpl0(c);
  const uint16_t sel = read_sel_operand(c, i);
  if ((sel & 0xFFFC) == 0) {
    c->ldtr = SegReg{0, 0, sel, x86::kSegUnusable};
    return next(c, i);
  }
  if (sel & 4) c->gp(sel & 0xFFFC);
  const Desc d = read_desc(c, sel);
  if (d.s() || d.type() != 2) c->gp(sel & 0xFFFC);
  if (!d.present()) c->raise_fault(vec::NP, sel & 0xFFFC, true);
  uint64_t base = d.base();
  if (c->long_mode()) base = long_mode_system_base(c, sel, base);
  c->ldtr = SegReg{base, d.limit(), sel, d.ar()};
  return next(c, i);
}

const Insn* ltr(Core* c, const Insn* i) {
  need_protected(c);
  need_cpl0(c);
  const uint16_t sel = read_sel_operand(c, i);
  if ((sel & 0xFFFC) == 0 || (sel & 4)) c->gp(sel & 0xFFFC);
  Desc d = read_desc(c, sel);
  const unsigned type = d.type();
  const bool ok = !d.s() && (c->long_mode() ? type == 9 : (type == 1 || type == 9));
  if (!ok) c->gp(sel & 0xFFFC);
  if (!d.present()) c->raise_fault(vec::NP, sel & 0xFFFC, true);
  uint64_t base = d.base();
  if (c->long_mode()) base = long_mode_system_base(c, sel, base);
  // Mark busy.
  uint64_t la;
  desc_addr(c, sel, &la);
  d.hi |= 2u << 8;
  c->write_sys(la + 4, 4, d.hi);
  c->tr = SegReg{base, d.limit(), sel, d.ar()};
  return next(c, i);
}

// VERR (WRITE=false) / VERW (WRITE=true): ZF=1 when the segment is accessible.
template <bool WRITE> const Insn* verrw(Core* c, const Insn* i) {
  need_protected(c);
  const uint16_t sel = read_sel_operand(c, i);
  bool ok = false;
  uint64_t la;
  if ((sel & 0xFFFC) != 0 && desc_addr(c, sel, &la)) {
    Desc d;
    const uint64_t v = c->read_sys(la, 8);
    d.lo = uint32_t(v);
    d.hi = uint32_t(v >> 32);
    if (d.s()) {
      const bool priv_ok = d.conforming() ||
                           (int(d.dpl()) >= c->cpl && int(d.dpl()) >= int(sel & 3));
      ok = priv_ok && (WRITE ? d.writable_data() : (d.is_data() || d.readable_code()));
    }
  }
  materialize_flags(c);
  c->rfl = ok ? (c->rfl | fl::ZF) : (c->rfl & ~fl::ZF);
  return next(c, i);
}

// LAR (LSL=false) / LSL (LSL=true).
template <bool LSL> const Insn* lar_lsl(Core* c, const Insn* i) {
  need_protected(c);
  const uint16_t sel = read_sel_operand(c, i);
  bool ok = false;
  uint64_t result = 0;
  uint64_t la;
  if ((sel & 0xFFFC) != 0 && desc_addr(c, sel, &la)) {
    Desc d;
    const uint64_t v = c->read_sys(la, 8);
    d.lo = uint32_t(v);
    d.hi = uint32_t(v >> 32);
    bool type_ok;
    if (d.s()) {
      type_ok = true;
    } else {
      const unsigned t = d.type();
      if (c->long_mode()) type_ok = t == 2 || t == 9 || t == 0xB || (!LSL && t == 0xC);
      else type_ok = t == 1 || t == 2 || t == 3 || t == 9 || t == 0xB ||
                     (!LSL && (t == 4 || t == 5 || t == 0xC));
    }
    const bool priv_ok = (d.s() && d.conforming()) ||
                         (int(d.dpl()) >= c->cpl && int(d.dpl()) >= int(sel & 3));
    ok = type_ok && priv_ok;
    result = LSL ? d.limit() : (d.hi & 0x00FFFF00);
  }
  materialize_flags(c);
  if (ok) {
    c->rfl |= fl::ZF;
    if (i->osz == 2) set_reg<uint16_t>(c, i->ro, uint16_t(result));
    else c->r[i->reg] = uint32_t(result);
  } else {
    c->rfl &= ~fl::ZF;
  }
  return next(c, i);
}

// SGDT (IDT=false) / SIDT (IDT=true).
template <bool IDT> const Insn* sgdt(Core* c, const Insn* i) {
  check_umip(c);
  const uint64_t e = ea(c, i);
  const uint64_t base = IDT ? c->idt_base : c->gdt_base;
  const uint16_t limit = uint16_t(IDT ? c->idt_limit : c->gdt_limit);
  c->wr<uint16_t>(i->seg, e, limit);
  if (c->code_size == 64) c->wr<uint64_t>(i->seg, (e + 2) & i->amask, base);
  else c->wr<uint32_t>(i->seg, (e + 2) & i->amask, uint32_t(base));
  return next(c, i);
}

template <bool IDT> const Insn* lgdt(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint64_t e = ea(c, i);
  const uint16_t limit = c->rd<uint16_t>(i->seg, e);
  uint64_t base;
  if (c->code_size == 64) {
    base = c->rd<uint64_t>(i->seg, (e + 2) & i->amask);
    if (!c->canonical(base)) c->gp(0);
  } else {
    base = c->rd<uint32_t>(i->seg, (e + 2) & i->amask);
    if (i->osz == 2) base &= 0xFFFFFF;
  }
  if (IDT) {
    c->idt_base = base;
    c->idt_limit = limit;
  } else {
    c->gdt_base = base;
    c->gdt_limit = limit;
  }
  return next(c, i);
}

const Insn* smsw(Core* c, const Insn* i) {
  check_umip(c);
  if (is_mem(i)) c->wr<uint16_t>(i->seg, ea(c, i), uint16_t(c->cr0));
  else if (i->osz == 2) set_reg<uint16_t>(c, i->mo, uint16_t(c->cr0));
  else if (i->osz == 4) c->r[i->rm] = uint32_t(c->cr0);
  else c->r[i->rm] = c->cr0;
  return next(c, i);
}

const Insn* lmsw(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint16_t v = read_sel_operand(c, i);
  // LMSW changes PE (set only), MP, EM, TS.
  uint64_t n = (c->cr0 & ~uint64_t{0xE}) | (v & 0xE) | (v & 1) | (c->cr0 & 1);
  c->write_cr0(n);
  return end_after(c, i);
}

const Insn* invlpg(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint64_t la = (c->seg_base[i->seg] + ea(c, i)) & c->la_mask;
  c->tlb_flush_page(la);
  return end_after(c, i);
}

const Insn* swapgs(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint64_t t = c->seg[GS].base;
  c->seg[GS].base = c->msr_kernel_gs;
  c->msr_kernel_gs = t;
  c->update_seg_checks(GS);
  return next(c, i);
}

const Insn* rdtscp(Core* c, const Insn* i) {
  if ((c->cr4 & cr4::TSD) && c->cpl != 0 && c->protected_mode()) c->gp(0);
  const uint64_t t = c->tsc_read();
  c->r[RAX] = uint32_t(t);
  c->r[RDX] = t >> 32;
  c->r[RCX] = uint32_t(c->msr_tsc_aux);
  return next(c, i);
}

const Insn* clts(Core* c, const Insn* i) {
  need_cpl0(c);
  c->cr0 &= ~cr0::TS;
  return next(c, i);
}

const Insn* cache_nop(Core* c, const Insn* i) {
  need_cpl0(c);
  return next(c, i);
}

const Insn* nop_hint(Core* c, const Insn* i) { return next(c, i); }

// MOV r, CRn (0F 20) and MOV CRn, r (0F 22).
const Insn* mov_from_cr(Core* c, const Insn* i) {
  need_cpl0(c);
  uint64_t v;
  switch (i->reg) {
    case 0: v = c->cr0; break;
    case 2: v = c->cr2; break;
    case 3: v = c->cr3; break;
    case 4: v = c->cr4; break;
    case 8: v = c->host->read_cr8() & 0xF; break;
    default: c->ud();
  }
  c->r[i->rm] = c->code_size == 64 ? v : uint32_t(v);
  return next(c, i);
}

const Insn* mov_to_cr(Core* c, const Insn* i) {
  need_cpl0(c);
  uint64_t v = c->r[i->rm];
  if (c->code_size != 64) v = uint32_t(v);
  switch (i->reg) {
    case 0: c->write_cr0(v); break;
    case 2: c->cr2 = v; break;
    case 3: c->write_cr3(v); break;
    case 4: c->write_cr4(v); break;
    case 8:
      if (v >> 4) c->gp(0);
      c->host->write_cr8(v);
      break;
    default: c->ud();
  }
  return end_after(c, i);  // paging or mode may have changed
}

// DR7.GD: any MOV DR is a fault-like #DB with DR6.BD; GD is cleared so the handler can
// use the debug registers (SDM vol. 3, 18.2.4).
void general_detect(Core* c) {
  if (!(c->dr[7] & (1u << 13))) return;
  c->dr[7] &= ~uint64_t{1u << 13};
  c->dr[6] |= 1u << 13;
  c->raise_fault(vec::DB);
}

const Insn* mov_from_dr(Core* c, const Insn* i) {
  unsigned n = i->reg;
  if (n > 7) c->ud();
  if ((n == 4 || n == 5) && (c->cr4 & cr4::DE)) c->ud();
  need_cpl0(c);
  general_detect(c);
  if (n == 4 || n == 5) n += 2;
  const uint64_t v = c->dr[n];
  c->r[i->rm] = c->code_size == 64 ? v : uint32_t(v);
  return next(c, i);
}

const Insn* mov_to_dr(Core* c, const Insn* i) {
  unsigned n = i->reg;
  if (n > 7) c->ud();
  if ((n == 4 || n == 5) && (c->cr4 & cr4::DE)) c->ud();
  need_cpl0(c);
  general_detect(c);
  if (n == 4 || n == 5) n += 2;
  uint64_t v = c->r[i->rm];
  if (c->code_size != 64) v = uint32_t(v);
  if ((n == 6 || n == 7) && (v >> 32)) c->gp(0);
  if (n < 4 && c->code_size == 64 && !c->canonical(v)) c->gp(0);
  if (n == 6) v = (v & 0xE00F) | 0xFFFF0FF0;
  if (n == 7) v = (v & 0xFFFF2FFF) | 0x400;
  c->dr[n] = v;
  if (n != 6) {
    c->update_breakpoints();
    return end_after(c, i);  // breakpoints are checked from the next instruction on
  }
  return next(c, i);
}

const Insn* rdmsr(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint32_t index = uint32_t(c->r[RCX]);
  uint64_t v = 0;
  const Core::MsrResult r = c->msr_read(index, &v);
  if (r == Core::MsrResult::kFault) c->gp(0);
  if (r == Core::MsrResult::kUnknown && !c->host->rdmsr(index, &v)) c->gp(0);
  c->r[RAX] = uint32_t(v);
  c->r[RDX] = v >> 32;
  return next(c, i);
}

const Insn* wrmsr(Core* c, const Insn* i) {
  need_cpl0(c);
  const uint32_t index = uint32_t(c->r[RCX]);
  const uint64_t v = (c->r[RDX] << 32) | uint32_t(c->r[RAX]);
  const Core::MsrResult r = c->msr_write(index, v);
  if (r == Core::MsrResult::kFault) c->gp(0);
  if (r == Core::MsrResult::kUnknown && !c->host->wrmsr(index, v)) c->gp(0);
  return end_after(c, i);  // EFER, APIC base... may change mode or interrupts
}

const Insn* rdpmc(Core* c, const Insn*) { c->gp(0); }

// Flat code/data descriptor caches used by SYSCALL/SYSRET/SYSENTER/SYSEXIT, which load
// fixed values instead of reading the GDT (SDM vol. 2, SYSCALL "Operation").
void set_flat(Core* c, int s, uint16_t sel, bool code, bool l64, int dpl) {
  SegReg& r = c->seg[s];
  r.sel = sel;
  r.base = 0;
  r.limit = 0xFFFFFFFF;
  uint32_t ar = (code ? 0x9B : 0x93) | (uint32_t(dpl) << 5) | x86::kSegG;
  if (code && l64) ar |= x86::kSegL;
  else ar |= x86::kSegDB;
  r.ar = ar;
}

// SYSCALL and SYSRET single-step on the TF they leave, not the one they started with: a
// SYSCALL whose SFMASK clears TF does not trap in the kernel, and a SYSRET that loads TF=1
// from R11 traps right after itself, in user mode (as the hardware does; kvm-unit-tests'
// syscall test checks it).
void step_on_result_tf(Core* c) {
  c->step_tf = (c->rfl & fl::TF) != 0;
  if (c->step_tf) c->sync_events |= ev::kStepDone;
}

const Insn* syscall(Core* c, const Insn* i) {
  if (!(c->efer & efer::SCE)) c->ud();
  if (c->long_mode() && c->vendor_intel && c->code_size != 64) c->ud();
  const uint64_t ret = next_rip(c, i);
  const uint16_t sel = uint16_t((c->msr_star >> 32) & 0xFFFC);
  const uint64_t flags = c->get_rflags();
  if (c->long_mode()) {
    c->r[RCX] = ret;
    c->r[11] = flags & ~fl::RF;
    const uint64_t target = c->code_size == 64 ? c->msr_lstar : c->msr_cstar;
    set_flat(c, CS, sel, true, true, 0);
    set_flat(c, SS, uint16_t(sel + 8), false, false, 0);
    c->set_cpl(0);
    c->update_mode();
    c->set_rflags(flags & ~(c->msr_sfmask | fl::RF), fl::kValid);
    c->r[kRegRip] = target;
  } else {
    if (!c->protected_mode()) c->ud();
    c->r[RCX] = uint32_t(ret);
    set_flat(c, CS, sel, true, false, 0);
    set_flat(c, SS, uint16_t(sel + 8), false, false, 0);
    c->set_cpl(0);
    c->update_mode();
    c->set_rflags(flags & ~(fl::VM | fl::IF | fl::RF), fl::kValid);
    c->r[kRegRip] = uint32_t(c->msr_star);
  }
  step_on_result_tf(c);
  return nullptr;
}

const Insn* sysret(Core* c, const Insn* i) {
  if (!(c->efer & efer::SCE)) c->ud();
  if (!c->protected_mode() || c->cpl != 0) c->gp(0);
  const uint16_t base = uint16_t((c->msr_star >> 48) & 0xFFFC);
  if (c->long_mode()) {
    const bool to64 = i->osz == 8;
    const uint64_t target = to64 ? c->r[RCX] : uint32_t(c->r[RCX]);
    if (to64 && !c->canonical(target)) c->gp(0);
    if (to64) set_flat(c, CS, uint16_t((base + 16) | 3), true, true, 3);
    else set_flat(c, CS, uint16_t(base | 3), true, false, 3);
    set_flat(c, SS, uint16_t((base + 8) | 3), false, false, 3);
    c->set_cpl(3);
    c->update_mode();
    c->set_rflags((c->r[11] & ~(fl::RF | fl::VM)) | fl::kFixed1, fl::kValid);
    c->r[kRegRip] = target;
  } else {
    set_flat(c, CS, uint16_t(base | 3), true, false, 3);
    set_flat(c, SS, uint16_t((base + 8) | 3), false, false, 3);
    c->set_cpl(3);
    c->update_mode();
    c->set_rflags(c->rfl | fl::IF, fl::IF);
    c->r[kRegRip] = uint32_t(c->r[RCX]);
  }
  step_on_result_tf(c);
  return nullptr;
}

const Insn* sysenter(Core* c, const Insn*) {
  if (c->long_mode() && !c->vendor_intel) c->ud();
  if (!c->protected_mode()) c->gp(0);
  const uint16_t cs = uint16_t(c->msr_sysenter_cs & 0xFFFC);
  if (cs == 0) c->gp(0);
  const bool lm = c->long_mode();
  set_flat(c, CS, cs, true, lm, 0);
  set_flat(c, SS, uint16_t(cs + 8), false, false, 0);
  c->set_cpl(0);
  c->update_mode();
  c->set_rflags(c->get_rflags() & ~(fl::VM | fl::IF | fl::RF), fl::kValid);
  c->r[RSP] = lm ? c->msr_sysenter_esp : uint32_t(c->msr_sysenter_esp);
  c->r[kRegRip] = lm ? c->msr_sysenter_eip : uint32_t(c->msr_sysenter_eip);
  return nullptr;
}

const Insn* sysexit(Core* c, const Insn* i) {
  if (c->long_mode() && !c->vendor_intel) c->ud();
  if (!c->protected_mode() || c->cpl != 0) c->gp(0);
  const uint16_t cs = uint16_t(c->msr_sysenter_cs & 0xFFFC);
  if (cs == 0) c->gp(0);
  const bool to64 = i->osz == 8;
  if (to64) {
    set_flat(c, CS, uint16_t((cs + 32) | 3), true, true, 3);
    set_flat(c, SS, uint16_t((cs + 40) | 3), false, false, 3);
  } else {
    set_flat(c, CS, uint16_t((cs + 16) | 3), true, false, 3);
    set_flat(c, SS, uint16_t((cs + 24) | 3), false, false, 3);
  }
  c->set_cpl(3);
  c->update_mode();
  c->r[RSP] = to64 ? c->r[RCX] : uint32_t(c->r[RCX]);
  c->r[kRegRip] = to64 ? c->r[RDX] : uint32_t(c->r[RDX]);
  return nullptr;
}

const Insn* fence(Core* c, const Insn* i) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return next(c, i);
}

const Insn* clflush(Core* c, const Insn* i) {
  // Checks the access like a byte load (SDM vol. 2, CLFLUSH), then does nothing.
  c->rd<uint8_t>(i->seg, ea(c, i));
  return next(c, i);
}

// RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (F3 0F AE /0-/3, register operand).
const Insn* fsgsbase(Core* c, const Insn* i) {
  if (!(c->cr4 & cr4::FSGSBASE)) c->ud();
  const int s = (i->reg & 1) ? GS : FS;
  if ((i->reg & 7) < 2) {
    const uint64_t v = c->seg[s].base;
    c->r[i->rm] = i->osz == 8 ? v : uint32_t(v);
  } else {
    const uint64_t v = i->osz == 8 ? c->r[i->rm] : uint32_t(c->r[i->rm]);
    if (!c->canonical(v)) c->gp(0);
    c->seg[s].base = v;
    c->update_seg_checks(s);
  }
  return next(c, i);
}

// ---- decoders ----

bool dec_0f00(DecodeCtx& d, Insn* i) {
  switch (d.reg & 7) {
    case 0: i->fn = sldt; return true;
    case 1: i->fn = str; return true;
    case 2: i->fn = lldt; return true;
    case 3: i->fn = ltr; return true;
    case 4: i->fn = &verrw<false>; return true;
    case 5: i->fn = &verrw<true>; return true;
    default: return false;
  }
}

bool dec_0f01(DecodeCtx& d, Insn* i) {
  const unsigned reg = d.reg & 7;
  if (d.mod != 3) {
    switch (reg) {
      case 0: i->fn = &sgdt<false>; return true;
      case 1: i->fn = &sgdt<true>; return true;
      case 2: i->fn = &lgdt<false>; d.ends_block = true; return true;
      case 3: i->fn = &lgdt<true>; d.ends_block = true; return true;
      case 4: i->fn = smsw; return true;
      case 6: i->fn = lmsw; d.ends_block = true; return true;
      case 7: i->fn = invlpg; d.ends_block = true; return true;
      default: return false;
    }
  }
  switch (d.modrm) {
    case 0xF8:  // SWAPGS
      if (d.code_size != 64) return false;
      i->fn = swapgs;
      return true;
    case 0xF9:  // RDTSCP
      if (!(d.c->feat.x1_edx & feat::kRdtscp)) return false;
      i->fn = rdtscp;
      return true;
    default: break;
  }
  if (reg == 4) {
    i->fn = smsw;
    return true;
  }
  if (reg == 6) {
    i->fn = lmsw;
    d.ends_block = true;
    return true;
  }
  return false;
}

bool dec_lar_lsl(DecodeCtx& d, Insn* i) {
  i->fn = d.opcode == 0x02 ? &lar_lsl<false> : &lar_lsl<true>;
  return true;
}

bool dec_misc_sys(DecodeCtx& d, Insn* i) {
  switch (d.opcode) {
    case 0x06: i->fn = clts; return true;
    case 0x08: case 0x09: i->fn = cache_nop; return true;
    case 0x0D: i->fn = nop_hint; return true;
    case 0x20: i->fn = mov_from_cr; return true;
    case 0x22: i->fn = mov_to_cr; return true;
    case 0x21: i->fn = mov_from_dr; return true;
    case 0x23: i->fn = mov_to_dr; return true;
    case 0x30: i->fn = wrmsr; return true;
    case 0x32: i->fn = rdmsr; return true;
    case 0x33: i->fn = rdpmc; return true;
    case 0x05: i->fn = syscall; return true;
    case 0x07: i->fn = sysret; return true;
    case 0x34: i->fn = sysenter; return true;
    case 0x35: i->fn = sysexit; return true;
    default: return false;
  }
}

// MOV CR/DR ignore ModRM.mod and use 32/64-bit operands by mode (SDM vol. 2, MOV CR).
bool dec_mov_crdr(DecodeCtx& d, Insn* i) {
  i->flags &= uint8_t(~insnf::kMem);
  i->rm = d.rm;
  if (d.opcode == 0x20 || d.opcode == 0x22) {
    // LOCK MOV CR0 is AMD's alternative encoding of CR8 when CR8_LEGACY is advertised; not here.
    if (d.lock) return false;
  }
  return dec_misc_sys(d, i);
}

bool dec_0fae(DecodeCtx& d, Insn* i) {
  const unsigned reg = d.reg & 7;
  if (d.mod != 3) {
    if (reg == 7 && d.rep == 0 && !d.opsize_prefix) {
      i->fn = clflush;
      return true;
    }
    const DecodeFn ext = op_tables().group_0fae_mem[reg];
    return ext != nullptr && ext(d, i);
  }
  if (d.rep == 0xF3 && reg < 4) {
    if (d.code_size != 64 || !(d.c->feat.l7_ebx & feat::kFsgsbase)) return false;
    i->fn = fsgsbase;
    return true;
  }
  if (d.rep == 0 && reg >= 5) {
    i->fn = fence;
    return true;
  }
  return false;
}

}  // namespace

void register_sysregs(OpTables& t) {
  const char* fam = "sysregs";
  const uint32_t e = opf::kEndsBlock;
  register_op(t, 1, 0x00, dec_0f00, opf::kModrm, fam);
  register_op(t, 1, 0x01, dec_0f01, opf::kModrm, fam);
  register_op(t, 1, 0x02, dec_lar_lsl, opf::kModrm, fam);
  register_op(t, 1, 0x03, dec_lar_lsl, opf::kModrm, fam);
  register_op(t, 1, 0x06, dec_misc_sys, 0, fam);
  register_op(t, 1, 0x08, dec_misc_sys, 0, fam);
  register_op(t, 1, 0x09, dec_misc_sys, 0, fam);
  register_op(t, 1, 0x0D, dec_misc_sys, opf::kModrm | opf::kMemOnly, fam);
  for (unsigned op = 0x20; op < 0x24; op++) {
    register_op(t, 1, op, dec_mov_crdr, opf::kModrm | opf::kRegOnly | opf::kForce64 | ((op & 2) ? e : 0), fam);
  }
  register_op(t, 1, 0x30, dec_misc_sys, e, fam);
  register_op(t, 1, 0x32, dec_misc_sys, 0, fam);
  register_op(t, 1, 0x33, dec_misc_sys, 0, fam);
  register_op(t, 1, 0x05, dec_misc_sys, e, fam);
  register_op(t, 1, 0x07, dec_misc_sys, e, fam);
  register_op(t, 1, 0x34, dec_misc_sys, e, fam);
  register_op(t, 1, 0x35, dec_misc_sys, e, fam);
  register_op(t, 1, 0xAE, dec_0fae, opf::kModrm, fam);
  t.features.l1_edx |= feat::kDe | feat::kPse | feat::kMsr | feat::kPae | feat::kSep |
                       feat::kMtrr | feat::kPge | feat::kPat | feat::kPse36 | feat::kClfsh;
  t.features.l7_ebx |= feat::kFsgsbase | feat::kSmep;
  t.features.l7_ecx |= feat::kUmip;
  t.features.x1_edx |= feat::kSyscall | feat::kNx | feat::kPage1g | feat::kRdtscp | feat::kLm;
}

}  // namespace tsvirt::soft
