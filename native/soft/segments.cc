// Segment descriptor access and segment-register loading (see seg.h).
#include "soft/seg.h"

#include "soft/ops.h"

namespace tsvirt::soft {

bool desc_addr(Core* c, uint16_t sel, uint64_t* la) {
  const uint32_t index = sel & ~7u;
  if (sel & 4) {
    if ((c->ldtr.ar & x86::kSegUnusable) || index + 7 > c->ldtr.limit) return false;
    *la = c->ldtr.base + index;
  } else {
    if (index + 7 > c->gdt_limit) return false;
    *la = c->gdt_base + index;
  }
  return true;
}

Desc read_desc(Core* c, uint16_t sel, int vector) {
  uint64_t la;
  if (!desc_addr(c, sel, &la)) c->raise_fault(vector, sel & 0xFFFC, true);
  const uint64_t v = c->read_sys(la, 8);
  Desc d;
  d.lo = uint32_t(v);
  d.hi = uint32_t(v >> 32);
  return d;
}

uint32_t read_desc_high(Core* c, uint16_t sel, int vector) {
  uint64_t la;
  if (!desc_addr(c, sel, &la)) c->raise_fault(vector, sel & 0xFFFC, true);
  const uint32_t index = sel & ~7u;
  const uint32_t limit = (sel & 4) ? c->ldtr.limit : c->gdt_limit;
  if (index + 15 > limit) c->raise_fault(vector, sel & 0xFFFC, true);
  return uint32_t(c->read_sys(la + 8, 4));
}

void set_desc_accessed(Core* c, uint16_t sel, Desc* d) {
  if (d->type() & 1) return;
  uint64_t la;
  if (!desc_addr(c, sel, &la)) return;
  d->hi |= 1u << 8;
  c->write_sys(la + 5, 1, (d->hi >> 8) & 0xFF);
}

void set_seg_cache(Core* c, int s, uint16_t sel, const Desc& d) {
  SegReg& r = c->seg[s];
  r.sel = sel;
  r.base = d.base();
  r.limit = d.limit();
  r.ar = d.ar();
  if (s == CS || s == SS) c->update_mode();
  else c->update_seg_checks(s);
}

void set_seg_null(Core* c, int s, uint16_t sel) {
  SegReg& r = c->seg[s];
  r.sel = sel;
  r.base = 0;
  r.limit = 0;
  r.ar = x86::kSegUnusable;
  if (s == SS) {
    // 64-bit mode null SS: keep a usable-looking cache whose DPL is the CPL.
    r.ar = x86::kSegUnusable | 0x93 | (uint32_t(c->cpl) << 5);
    c->update_mode();
  } else {
    c->update_seg_checks(s);
  }
}

void set_seg_real(Core* c, int s, uint16_t sel) {
  SegReg& r = c->seg[s];
  r.sel = sel;
  r.base = uint64_t(sel) << 4;
  if (c->v86()) {
    r.limit = 0xFFFF;
    r.ar = 0xF3;
  } else if (r.ar & x86::kSegUnusable) {
    r.ar = 0x93;
    r.limit = 0xFFFF;
  }
  if (s == CS || s == SS) c->update_mode();
  else c->update_seg_checks(s);
}

void load_seg(Core* c, int s, uint16_t sel) {
  if (!c->protected_mode()) {
    set_seg_real(c, s, sel);
    return;
  }
  const int rpl = sel & 3;
  if ((sel & 0xFFFC) == 0) {
    if (s == SS) {
      // Null SS is allowed only in 64-bit mode at CPL < 3 with RPL == CPL.
      if (!(c->code_size == 64 && c->cpl < 3 && rpl == c->cpl)) c->gp(0);
    }
    set_seg_null(c, s, sel);
    return;
  }
  Desc d = read_desc(c, sel);
  if (s == SS) {
    if (rpl != c->cpl || !d.writable_data() || int(d.dpl()) != c->cpl) c->gp(sel & 0xFFFC);
    if (!d.present()) c->raise_fault(vec::SS, sel & 0xFFFC, true);
  } else {
    if (!(d.is_data() || d.readable_code())) c->gp(sel & 0xFFFC);
    if (d.is_data() || !d.conforming()) {
      if (int(d.dpl()) < c->cpl || int(d.dpl()) < rpl) c->gp(sel & 0xFFFC);
    }
    if (!d.present()) c->raise_fault(vec::NP, sel & 0xFFFC, true);
  }
  set_desc_accessed(c, sel, &d);
  set_seg_cache(c, s, sel, d);
}

void load_cs(Core* c, uint16_t sel, const Desc& d, int new_cpl) {
  SegReg& r = c->seg[CS];
  r.sel = uint16_t((sel & 0xFFFC) | new_cpl);
  r.base = d.base();
  r.limit = d.limit();
  r.ar = d.ar();
  c->set_cpl(new_cpl);
  c->update_mode();
}

void invalidate_segs_for_cpl(Core* c) {
  static const int kSegs[4] = {ES, DS, FS, GS};
  for (int s : kSegs) {
    const SegReg& r = c->seg[s];
    if (r.ar & x86::kSegUnusable) continue;
    const bool data_or_nc_code = !(r.ar & 8) || !(r.ar & 4);
    if (data_or_nc_code && int((r.ar >> 5) & 3) < c->cpl) {
      // Only the selector is nulled ("SegmentSelector <- 0" in the RET/IRET operation);
      // the hidden base is kept, which is visible for FS/GS in 64-bit mode (a user-mode
      // GS access after IRET to CPL 3 still uses IA32_GS_BASE on hardware).
      const uint64_t base = r.base;
      set_seg_null(c, s, 0);
      c->seg[s].base = base;
      c->update_seg_checks(s);
    }
  }
}

}  // namespace tsvirt::soft
