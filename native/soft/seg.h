// Segment descriptors: reading them from the GDT/LDT, loading segment registers with the
// protection checks of MOV/POP Sreg, and the descriptor-cache conversions.
//
// Implements Intel SDM vol. 3, 3.4-3.5 (descriptors), 5.5-5.10 (privilege checks) and the
// operation sections of MOV/POP (Sreg), LDS/LES/LFS/LGS/LSS in vol. 2. Far control
// transfers (JMP/CALL/RET/IRET, interrupt gates) use these helpers from their families.
#pragma once

#include <cstdint>

#include "soft/core.h"

namespace tsvirt::soft {

// A raw 8-byte descriptor.
struct Desc {
  uint32_t lo = 0, hi = 0;
  uint32_t ar() const { return ((hi >> 8) & 0xFF) | ((hi >> 8) & 0xF000); }
  uint64_t base() const { return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000); }
  uint32_t limit() const {
    uint32_t l = (lo & 0xFFFF) | (hi & 0xF0000);
    return (hi & (1u << 23)) ? (l << 12) | 0xFFF : l;
  }
  unsigned type() const { return (hi >> 8) & 0xF; }
  bool s() const { return hi & (1u << 12); }
  unsigned dpl() const { return (hi >> 13) & 3; }
  bool present() const { return hi & (1u << 15); }
  bool is_code() const { return s() && (type() & 8); }
  bool is_data() const { return s() && !(type() & 8); }
  bool conforming() const { return is_code() && (type() & 4); }
  bool readable_code() const { return is_code() && (type() & 2); }
  bool writable_data() const { return is_data() && (type() & 2); }
  bool l() const { return hi & (1u << 21); }
  bool db() const { return hi & (1u << 22); }
};

// Descriptor-table address of a selector, or false when it is beyond the table limit.
bool desc_addr(Core* c, uint16_t sel, uint64_t* la);
// Read the descriptor of `sel`; raises #GP(sel) (or `vector`) when beyond the limit.
Desc read_desc(Core* c, uint16_t sel, int vector = vec::GP);
// Read the upper 8 bytes of a 16-byte system descriptor (long mode).
uint32_t read_desc_high(Core* c, uint16_t sel, int vector = vec::GP);
// Set the accessed bit of a code/data descriptor if it is clear.
void set_desc_accessed(Core* c, uint16_t sel, Desc* d);

// Fill a segment register's cache from a descriptor (no checks).
void set_seg_cache(Core* c, int s, uint16_t sel, const Desc& d);
// Null selector into a data segment register (unusable).
void set_seg_null(Core* c, int s, uint16_t sel);
// Real mode / virtual-8086 load: base = sel << 4.
void set_seg_real(Core* c, int s, uint16_t sel);

// MOV/POP/LxS semantics for DS, ES, FS, GS, SS in the current mode, with all checks.
void load_seg(Core* c, int s, uint16_t sel);

// Load CS for a far transfer to a code segment of privilege `new_cpl` (checks done by the
// caller); updates CPL and mode.
void load_cs(Core* c, uint16_t sel, const Desc& d, int new_cpl);

// After a privilege-lowering return: data segment registers whose DPL is below the new
// CPL become null (SDM vol. 2, RET/IRET operation "for each of ES, FS, GS, DS"): the
// selector only, the hidden base is kept.
void invalidate_segs_for_cpl(Core* c);

}  // namespace tsvirt::soft
