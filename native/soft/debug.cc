// Hardware breakpoints: DR0-DR3 as enabled by DR7 (Intel SDM vol. 3, 18.2-18.3; AMD APM
// vol. 2, 13.1).
//
// Instruction breakpoints (R/W = 00) are checked at each instruction boundary against the
// linear address of RIP, unless RFLAGS.RF is set; a match is a fault-like #DB with DR6.Bn.
// Data breakpoints (R/W = 01 write, 11 read or write; LEN 1, 2, 4 or 8 bytes, aligned) are
// matched on the linear addresses of the instruction's data accesses; the #DB is a trap
// after the instruction, merged with a single-step trap (DR6.BS) if TF was set.
// While any breakpoint is enabled the run loop executes one instruction at a time
// (ev::kHwBreak) and pages holding a watched byte are never entered in the data TLB, so
// their accesses take the slow paths, which report to watch_access(). Nothing of this costs
// anything while DR7 enables no breakpoint.
// Not implemented: I/O breakpoints (R/W = 10 with CR4.DE), which are ignored; watchpoints
// on the implicit accesses of exception delivery and descriptor-table loads.
// DR7.GD (general detect) is handled by MOV DR (ops_sysregs.cc).
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

unsigned bp_len(uint64_t dr7, int n) {
  switch ((dr7 >> (18 + 4 * n)) & 3) {
    case 0: return 1;
    case 1: return 2;
    case 2: return 8;
    default: return 4;
  }
}

}  // namespace

void Core::update_breakpoints() {
  const uint64_t dr7 = dr[7];
  uint8_t exec = 0, data = 0;
  for (int n = 0; n < 4; n++) {
    if (!((dr7 >> (2 * n)) & 3)) continue;
    const unsigned rw = unsigned(dr7 >> (16 + 4 * n)) & 3;
    if (rw == 0) exec |= uint8_t(1u << n);
    else if (rw == 1 || rw == 3) data |= uint8_t(1u << n);
  }
  const bool data_changed = data != 0 || bp_data != 0;
  bp_exec = exec;
  bp_data = data;
  bp_hits = 0;
  bp_held = 0;
  if (exec | data) sync_events |= ev::kHwBreak;
  else sync_events &= ~ev::kHwBreak;
  // Pages cached before the watch was set must take the slow path from now on.
  if (data_changed) tlb_flush(true);
}

bool Core::page_watched(uint64_t vpage) const {
  for (int n = 0; n < 4; n++) {
    if (!(bp_data & (1u << n))) continue;
    const unsigned len = bp_len(dr[7], n);
    const uint64_t a = dr[n] & ~uint64_t(len - 1);
    if ((a & kPageMask) == (vpage & kPageMask)) return true;
  }
  return false;
}

void Core::watch_access(uint64_t la, unsigned size, bool write) {
  for (int n = 0; n < 4; n++) {
    if (!(bp_data & (1u << n))) continue;
    const unsigned rw = unsigned(dr[7] >> (16 + 4 * n)) & 3;
    if (rw == 1 && !write) continue;
    const unsigned len = bp_len(dr[7], n);
    const uint64_t a = dr[n] & ~uint64_t(len - 1);
    if (la < a + len && a < la + size) bp_hits |= uint8_t(1u << n);
  }
}

}  // namespace tsvirt::soft
