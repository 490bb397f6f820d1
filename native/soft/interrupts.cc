// Exception and interrupt delivery through the IVT/IDT.
//
// Implements Intel SDM vol. 3, chapter 6: real-mode IVT delivery; protected-mode interrupt
// and trap gates (16- and 32-bit) with privilege checks, stack switch through the TSS and
// the virtual-8086 exit frame; long-mode 64-bit gates with IST, RSP0-2, 16-byte aligned
// frames; error codes with the EXT bit; fault vs trap RIP; RF set in the saved RFLAGS of
// fault-class exceptions; the double-fault rules of table 6-5 and triple fault (shutdown).
// Not implemented: task gates (delivery through one stops the vCPU with an internal error
// naming the vector: never a silent mis-delivery).
#include <initializer_list>

#include "soft/ops.h"
#include "soft/seg.h"

namespace tsvirt::soft {

namespace {

enum Class { kBenign = 1, kContributory = 2, kPageFault = 3, kDoubleFault = 4 };

int exception_class(int v) {
  switch (v) {
    case vec::DE: case vec::TS: case vec::NP: case vec::SS: case vec::GP: return kContributory;
    case vec::PF: return kPageFault;
    case vec::DF: return kDoubleFault;
    default: return kBenign;
  }
}

bool is_fault_class(int v) {
  return v != vec::DB && v != vec::BP && v != vec::OF && v != vec::NMI && v < 32 &&
         v != vec::DF && v != vec::MC;
}

// Writes of the interrupt frame go to a stack whose segment is already validated; the
// privilege of the access is that of the handler (new CPL).
struct FrameWriter {
  Core* c;
  uint64_t ss_base;
  uint64_t sp;
  uint64_t sp_mask;
  bool user;
  void push(unsigned size, uint64_t v) {
    sp = (sp - size) & sp_mask;
    const uint64_t la = (ss_base + sp) & (c->long_mode() && sp_mask == ~uint64_t{0} ? ~uint64_t{0} : 0xFFFFFFFFull);
    if (sp_mask == ~uint64_t{0} && !c->canonical(la)) c->raise_fault(vec::SS, 0, true);
    write(la, size, v);
  }
  void write(uint64_t la, unsigned size, uint64_t v) {
    const unsigned first = 0x1000 - unsigned(la & 0xFFF);
    if (size <= first) {
      c->phys_write(c->translate(la, Core::kWrite, user, true), size, v);
    } else {
      const uint64_t p1 = c->translate(la, Core::kWrite, user, true);
      const uint64_t p2 = c->translate(la + first, Core::kWrite, user, true);
      c->phys_write(p1, first, v);
      c->phys_write(p2, size - first, v >> (8 * first));
    }
  }
};

void deliver_real(Core* c, int vector, uint64_t return_rip) {
  const uint64_t off = uint64_t(vector) * 4;
  if (off + 3 > c->idt_limit) c->gp(uint32_t(vector) * 8 + 2);
  const uint32_t ent = uint32_t(c->read_sys(c->idt_base + off, 4));
  const uint16_t flags = uint16_t(c->get_rflags());
  // All three pushes are checked before SP changes.
  const uint64_t mask = c->rsp_mask();
  const uint64_t sp = c->r[RSP];
  c->wr<uint16_t>(SS, (sp - 2) & mask, flags);
  c->wr<uint16_t>(SS, (sp - 4) & mask, c->seg[CS].sel);
  c->wr<uint16_t>(SS, (sp - 6) & mask, uint16_t(return_rip));
  set_sp(c, (sp - 6) & mask);
  c->set_rflags(c->rfl & ~(fl::IF | fl::TF | fl::AC | fl::RF), fl::kValid);
  set_seg_real(c, CS, uint16_t(ent >> 16));
  c->r[kRegRip] = ent & 0xFFFF;
}

}  // namespace

void deliver_event(Core* c, int vector, EventKind kind, bool has_error, uint32_t error,
                   uint64_t return_rip) {
  const bool soft = kind == EventKind::kSoftInt || kind == EventKind::kSoftException;
  const uint32_t ext = (kind == EventKind::kSoftInt || kind == EventKind::kSoftException) ? 0 : 1;
  c->delivering = kind == EventKind::kException ? exception_class(vector) : kBenign;
  // INT n, INT3, INTO and ICEBP end in their own event: no single-step trap follows them
  // (the handler starts with TF clear; IRET brings the stepping back).
  if (soft || kind == EventKind::kIcebp) c->step_tf = false;
  // Data breakpoints held by a MOV SS shadow: ICEBP's own #DB reports them (one #DB); an
  // exception raised by the shadowed instruction discards them; INT n / INT3 / INTO keep
  // them for the #DB that follows at the handler's first instruction.
  if (kind == EventKind::kIcebp) {
    if (c->bp_held) c->dr[6] = (c->dr[6] & ~uint64_t{0xF}) | c->bp_held;
    c->bp_held = 0;
  } else if (kind == EventKind::kException && vector != vec::DB) {
    c->bp_held = 0;
  }
  c->halted = false;
  c->sync_events &= ~ev::kHalted;
  if (c->real_mode()) {
    deliver_real(c, vector, return_rip);
    c->delivering = -1;
    return;
  }
  uint64_t rflags = c->get_rflags();
  if (kind == EventKind::kException && is_fault_class(vector)) rflags |= fl::RF;

  const bool lm = c->long_mode();
  const unsigned esize = lm ? 16 : 8;
  const uint32_t idt_err = uint32_t(vector) * 8 + 2 + ext;
  if (uint64_t(vector) * esize + esize - 1 > c->idt_limit) c->gp(idt_err);
  const uint64_t g = c->read_sys(c->idt_base + uint64_t(vector) * esize, 8);
  const uint32_t glo = uint32_t(g), ghi = uint32_t(g >> 32);
  const unsigned gtype = (ghi >> 8) & 0x1F;  // includes S
  const unsigned gdpl = (ghi >> 13) & 3;
  const bool gp_present = ghi & (1u << 15);
  bool trap_gate;
  unsigned gate_size;
  if (lm) {
    if (gtype != 0xE && gtype != 0xF) c->gp(idt_err);
    trap_gate = gtype == 0xF;
    gate_size = 8;
  } else {
    if (gtype == 0x5) {
      c->internal_error("interrupt through a task gate (task switching is not implemented)");
    }
    if (gtype != 0x6 && gtype != 0x7 && gtype != 0xE && gtype != 0xF) c->gp(idt_err);
    trap_gate = gtype & 1;
    gate_size = (gtype & 8) ? 4 : 2;
  }
  if (soft && int(gdpl) < c->cpl) c->gp(idt_err);
  if (!gp_present) c->raise_fault(vec::NP, idt_err, true);
  const uint16_t sel = uint16_t(glo >> 16);
  uint64_t offset = (glo & 0xFFFF) | (gate_size == 2 ? 0 : (ghi & 0xFFFF0000));
  unsigned ist = 0;
  if (lm) {
    const uint64_t g2 = c->read_sys(c->idt_base + uint64_t(vector) * 16 + 8, 8);
    offset |= (g2 & 0xFFFFFFFF) << 32;
    ist = ghi & 7;
  }
  if ((sel & 0xFFFC) == 0) c->gp(ext);
  Desc cs = read_desc(c, sel);
  const uint32_t sel_err = (sel & 0xFFFC) + ext;
  if (!cs.is_code() || int(cs.dpl()) > c->cpl) c->gp(sel_err);
  if (!cs.present()) c->raise_fault(vec::NP, sel_err, true);
  if (lm && (!cs.l() || cs.db())) c->gp(sel_err);
  const int new_cpl = cs.conforming() ? c->cpl : int(cs.dpl());
  const bool v86 = c->v86();
  if (v86 && new_cpl != 0) c->gp(sel_err);

  const uint64_t old_ss_sel = c->seg[SS].sel;
  const uint64_t old_rsp = c->r[RSP];
  const uint64_t old_cs = c->seg[CS].sel;
  FrameWriter w{c, 0, 0, 0, new_cpl == 3};

  if (lm) {
    uint64_t rsp = old_rsp;
    const bool stack_switch = new_cpl < c->cpl;
    if (stack_switch || ist != 0) {
      const unsigned toff = ist != 0 ? 36 + 8 * (ist - 1) : 4 + 8 * unsigned(new_cpl);
      if (toff + 7 > c->tr.limit) c->raise_fault(vec::TS, (c->tr.sel & 0xFFFC) + ext, true);
      rsp = c->read_sys(c->tr.base + toff, 8);
    }
    rsp &= ~uint64_t{0xF};
    if (!c->canonical(rsp)) c->raise_fault(vec::SS, ext, true);
    w.ss_base = 0;
    w.sp = rsp;
    w.sp_mask = ~uint64_t{0};
    if (!c->canonical(offset)) c->gp(ext);
    w.push(8, old_ss_sel);
    w.push(8, old_rsp);
    w.push(8, rflags);
    w.push(8, old_cs);
    w.push(8, return_rip);
    if (has_error) w.push(8, error);
    // Commit.
    set_desc_accessed(c, sel, &cs);
    load_cs(c, sel, cs, new_cpl);
    if (stack_switch) set_seg_null(c, SS, uint16_t(new_cpl));
    c->r[RSP] = w.sp;
  } else {
    const bool stack_switch = new_cpl < c->cpl;
    uint16_t new_ss_sel = c->seg[SS].sel;
    Desc ss;
    uint64_t new_sp = old_rsp;
    if (stack_switch) {
      // Inner stack from the TSS (SDM vol. 3, 7.2.1).
      const bool tss32 = (c->tr.ar & 8) != 0;
      uint64_t esp;
      if (tss32) {
        const unsigned o = 4 + 8 * unsigned(new_cpl);
        if (o + 5 > c->tr.limit) c->raise_fault(vec::TS, (c->tr.sel & 0xFFFC) + ext, true);
        esp = c->read_sys(c->tr.base + o, 4);
        new_ss_sel = uint16_t(c->read_sys(c->tr.base + o + 4, 2));
      } else {
        const unsigned o = 2 + 4 * unsigned(new_cpl);
        if (o + 3 > c->tr.limit) c->raise_fault(vec::TS, (c->tr.sel & 0xFFFC) + ext, true);
        esp = c->read_sys(c->tr.base + o, 2);
        new_ss_sel = uint16_t(c->read_sys(c->tr.base + o + 2, 2));
      }
      const uint32_t ss_err = (new_ss_sel & 0xFFFC) + ext;
      if ((new_ss_sel & 0xFFFC) == 0) c->raise_fault(vec::TS, ext, true);
      ss = read_desc(c, new_ss_sel, vec::TS);
      if ((new_ss_sel & 3) != unsigned(new_cpl) || int(ss.dpl()) != new_cpl ||
          !ss.writable_data()) {
        c->raise_fault(vec::TS, ss_err, true);
      }
      if (!ss.present()) c->raise_fault(vec::SS, ss_err, true);
      new_sp = esp;
      w.ss_base = ss.base();
      w.sp_mask = ss.db() ? 0xFFFFFFFF : 0xFFFF;
      w.sp = new_sp & w.sp_mask;
    } else {
      w.ss_base = c->seg[SS].base;
      w.sp_mask = c->rsp_mask();
      w.sp = old_rsp & w.sp_mask;
    }
    if (offset > cs.limit()) c->gp(ext);
    if (stack_switch) {
      if (v86) {
        w.push(gate_size, c->seg[GS].sel);
        w.push(gate_size, c->seg[FS].sel);
        w.push(gate_size, c->seg[DS].sel);
        w.push(gate_size, c->seg[ES].sel);
      }
      w.push(gate_size, old_ss_sel);
      w.push(gate_size, old_rsp);
    }
    w.push(gate_size, rflags);
    w.push(gate_size, old_cs);
    w.push(gate_size, return_rip);
    if (has_error) w.push(gate_size, error);
    // Commit.
    set_desc_accessed(c, sel, &cs);
    if (stack_switch) {
      set_desc_accessed(c, new_ss_sel, &ss);
      if (v86) {
        c->rfl &= ~fl::VM;
        for (int s : {ES, DS, FS, GS}) set_seg_null(c, s, 0);
      }
      load_cs(c, sel, cs, new_cpl);
      set_seg_cache(c, SS, new_ss_sel, ss);
    } else {
      load_cs(c, sel, cs, new_cpl);
    }
    if (w.sp_mask == 0xFFFF) c->r[RSP] = (c->r[RSP] & ~uint64_t{0xFFFF}) | w.sp;
    else c->r[RSP] = w.sp;
  }
  uint64_t clear = fl::TF | fl::NT | fl::RF | fl::VM;
  if (!trap_gate) clear |= fl::IF;
  c->set_rflags(c->rfl & ~clear, fl::kValid);
  c->r[kRegRip] = offset;
  c->update_mode();
  c->delivering = -1;
}

void deliver_fault(Core* c) {
  Fault f = c->fault;
  const int prev = c->delivering;
  c->delivering = -1;
  if (prev > 0) {
    if (prev == kDoubleFault) {
      c->shutdown = true;
      c->sync_events |= ev::kShutdown;
      return;
    }
    const int cur = exception_class(f.vector);
    if ((prev == kContributory && cur == kContributory) ||
        (prev == kPageFault && (cur == kContributory || cur == kPageFault))) {
      f.vector = vec::DF;
      f.has_error = true;
      f.error = 0;
    }
  }
  // Real mode pushes no error codes.
  if (c->real_mode()) f.has_error = false;
  deliver_event(c, f.vector, EventKind::kException, f.has_error, f.error, c->r[kRegRip]);
}

}  // namespace tsvirt::soft
