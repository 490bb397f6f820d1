// String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE,
// segment overrides on the source (DS:rSI default, ES:rDI fixed), DF direction and the
// address size choosing SI/ESI/RSI (SDM vol. 2, "REP/REPE/REPZ/REPNE/REPNZ" and each
// instruction; vol. 1, 7.3.9).
//
// A REP instruction runs at most kRepSlice iterations per execution; when iterations remain
// it leaves RIP on itself and ends the block, so interrupts, stop requests and the budget
// are honoured between slices exactly as hardware allows between iterations. REP MOVS/STOS
// with DF=0 copy/fill whole page-bounded chunks through the TLB fast path (memmove when the
// ranges cannot overlap in a way that forward element order would observe); any fault is
// raised on the element that causes it, with rSI/rDI/rCX describing the completed ones.
#include <cstring>

#include "soft/ops.h"
#include "soft/sys.h"

namespace tsvirt::soft {

namespace {

constexpr uint64_t kRepSlice = 1u << 16;

enum Kind { kMovs, kCmps, kStos, kLods, kScas, kIns, kOuts };

// Write an address-size register (16: merge, 32: zero-extend, 64: full).
inline void set_areg(Core* c, int reg, uint64_t v, unsigned asz) {
  if (asz == 2) c->r[reg] = (c->r[reg] & ~uint64_t{0xFFFF}) | (v & 0xFFFF);
  else if (asz == 4) c->r[reg] = uint32_t(v);
  else c->r[reg] = v;
}

template <class T> inline bool cmp_flags(Core* c, T a, T b) {
  set_lf<T>(c, kSub, T(a - b), a, b);
  return a == b;
}

// Host pointer for `bytes` at linear la if the whole range is on one RAM page in the TLB
// with the requested permission (and, for writes, not a code page).
inline uint8_t* fast_ptr(Core* c, uint64_t la, uint64_t bytes, bool write) {
  if (((la & 0xFFF) + bytes) > 0x1000) return nullptr;
  const TlbEntry& e = c->tlb[tlb_index(la)];
  const uint64_t tag = write ? e.tag_w : e.tag_r;
  if (tag != (la & kPageMask)) return nullptr;
  if (write && e.code->load(std::memory_order_relaxed)) return nullptr;
  return reinterpret_cast<uint8_t*>(la + e.addend);
}

// Bulk REP MOVS/STOS forward chunk: returns elements done (0 = take the slow path).
template <class T, int K> uint64_t bulk_chunk(Core* c, const Insn* i, uint64_t count) {
  const uint64_t amask = i->amask;
  const uint64_t di = c->r[RDI] & amask;
  uint64_t n = count;
  const uint64_t dst_room = (0x1000 - ((c->seg_base[ES] + di) & 0xFFF)) / sizeof(T);
  if (n > dst_room) n = dst_room;
  if (amask != ~uint64_t{0} && n > (amask - di) / sizeof(T) + 1) n = (amask - di) / sizeof(T) + 1;
  uint64_t si = 0;
  if (K == kMovs) {
    si = c->r[RSI] & amask;
    const uint64_t src_room = (0x1000 - ((c->seg_base[i->seg] + si) & 0xFFF)) / sizeof(T);
    if (n > src_room) n = src_room;
    if (amask != ~uint64_t{0} && n > (amask - si) / sizeof(T) + 1) n = (amask - si) / sizeof(T) + 1;
  }
  if (n == 0) return 0;
  const uint64_t bytes = n * sizeof(T);
  // Limit checks on the first and last element (expand-up segments; others go slow).
  const uint64_t dla = c->lin(ES, di, sizeof(T), true);
  c->lin(ES, di + bytes - sizeof(T), sizeof(T), true);
  uint8_t* d = fast_ptr(c, dla, bytes, true);
  if (d == nullptr) return 0;
  if (K == kStos) {
    const T v = T(c->r[RAX]);
    if (sizeof(T) == 1) {
      std::memset(d, int(v), bytes);
    } else {
      for (uint64_t k = 0; k < n; k++) std::memcpy(d + k * sizeof(T), &v, sizeof(T));
    }
  } else {
    const uint64_t sla = c->lin(i->seg, si, sizeof(T), false);
    c->lin(i->seg, si + bytes - sizeof(T), sizeof(T), false);
    const uint8_t* s = fast_ptr(c, sla, bytes, false);
    if (s == nullptr) return 0;
    if (d > s && d < s + bytes) {
      // Overlap where forward element order is observable: copy element by element.
      for (uint64_t k = 0; k < n; k++) {
        T v;
        std::memcpy(&v, s + k * sizeof(T), sizeof(T));
        std::memcpy(d + k * sizeof(T), &v, sizeof(T));
      }
    } else {
      std::memmove(d, s, bytes);
    }
    set_areg(c, RSI, si + bytes, i->asz);
  }
  set_areg(c, RDI, di + bytes, i->asz);
  return n;
}

// One element of string operation K. Returns false when a REPE/REPNE condition ends.
template <class T, int K> inline bool string_step(Core* c, const Insn* i, int64_t delta) {
  const uint64_t amask = i->amask;
  const unsigned asz = i->asz;
  switch (K) {
    case kMovs: {
      const T v = c->rd<T>(i->seg, c->r[RSI] & amask);
      c->wr<T>(ES, c->r[RDI] & amask, v);
      set_areg(c, RSI, c->r[RSI] + delta, asz);
      set_areg(c, RDI, c->r[RDI] + delta, asz);
      return true;
    }
    case kStos:
      c->wr<T>(ES, c->r[RDI] & amask, T(c->r[RAX]));
      set_areg(c, RDI, c->r[RDI] + delta, asz);
      return true;
    case kLods: {
      const T v = c->rd<T>(i->seg, c->r[RSI] & amask);
      set_reg_n<T>(c, RAX, v);
      set_areg(c, RSI, c->r[RSI] + delta, asz);
      return true;
    }
    case kCmps: {
      const T a = c->rd<T>(i->seg, c->r[RSI] & amask);
      const T b = c->rd<T>(ES, c->r[RDI] & amask);
      set_areg(c, RSI, c->r[RSI] + delta, asz);
      set_areg(c, RDI, c->r[RDI] + delta, asz);
      return cmp_flags<T>(c, a, b);
    }
    case kScas: {
      const T b = c->rd<T>(ES, c->r[RDI] & amask);
      set_areg(c, RDI, c->r[RDI] + delta, asz);
      return cmp_flags<T>(c, T(c->r[RAX]), b);
    }
    case kIns: {
      const uint16_t port = uint16_t(c->r[RDX]);
      check_io(c, port, sizeof(T));
      // Probe the destination before the port is read (the read may have side effects).
      const uint64_t di = c->r[RDI] & amask;
      Rmw<T> probe(c, ES, di);
      const T v = T(c->host->pio_in(port, int(sizeof(T))));
      probe.store(v);
      set_areg(c, RDI, c->r[RDI] + delta, asz);
      return true;
    }
    default: {  // kOuts
      const uint16_t port = uint16_t(c->r[RDX]);
      check_io(c, port, sizeof(T));
      const T v = c->rd<T>(i->seg, c->r[RSI] & amask);
      c->host->pio_out(port, int(sizeof(T)), uint32_t(v));
      set_areg(c, RSI, c->r[RSI] + delta, asz);
      return true;
    }
  }
}

template <class T, int K> const Insn* str_once(Core* c, const Insn* i) {
  const int64_t delta = (c->rfl & fl::DF) ? -int64_t(sizeof(T)) : int64_t(sizeof(T));
  string_step<T, K>(c, i, delta);
  return next(c, i);
}

// REP (REPE for CMPS/SCAS when NE is false), REPNE when NE is true.
template <class T, int K, bool NE> const Insn* str_rep(Core* c, const Insn* i) {
  const uint64_t amask = i->amask;
  uint64_t count = c->r[RCX] & amask;
  if (count == 0) return next(c, i);
  const bool df = (c->rfl & fl::DF) != 0;
  const int64_t delta = df ? -int64_t(sizeof(T)) : int64_t(sizeof(T));
  uint64_t slice = kRepSlice;
  while (count != 0 && slice != 0) {
    if ((K == kMovs || K == kStos) && !df && count > 1) {
      const uint64_t n = bulk_chunk<T, K>(c, i, count < slice ? count : slice);
      if (n != 0) {
        count -= n;
        slice = slice > n ? slice - n : 0;
        set_areg(c, RCX, count, i->asz);
        continue;
      }
    }
    const bool go_on = string_step<T, K>(c, i, delta);
    count--;
    slice--;
    set_areg(c, RCX, count, i->asz);
    if (K == kCmps || K == kScas) {
      if (NE ? go_on : !go_on) break;
    }
  }
  if (count == 0 || ((K == kCmps || K == kScas) && (NE ? get_zf(c) : !get_zf(c)))) {
    return next(c, i);
  }
  // Iterations remain: stay on this instruction and let the run loop look at events.
  c->r[kRegRip] = insn_rip(c, i);
  c->block_break = true;
  return nullptr;
}

template <class T> Handler pick_kind(int kind, int rep) {
#define SOFT_STR(K)                                                                       \
  case K:                                                                                 \
    return rep == 0 ? &str_once<T, K> : rep == 1 ? &str_rep<T, K, false> : &str_rep<T, K, true>;
  switch (kind) {
    SOFT_STR(kMovs)
    SOFT_STR(kCmps)
    SOFT_STR(kStos)
    SOFT_STR(kLods)
    SOFT_STR(kScas)
    SOFT_STR(kIns)
    default:
      return rep == 0 ? &str_once<T, kOuts> : rep == 1 ? &str_rep<T, kOuts, false>
                                                       : &str_rep<T, kOuts, true>;
  }
#undef SOFT_STR
}

bool dec_string(DecodeCtx& d, Insn* i) {
  int kind;
  switch (d.opcode & 0xFE) {
    case 0xA4: kind = kMovs; break;
    case 0xA6: kind = kCmps; break;
    case 0xAA: kind = kStos; break;
    case 0xAC: kind = kLods; break;
    case 0xAE: kind = kScas; break;
    case 0x6C: kind = kIns; break;
    default: kind = kOuts; break;
  }
  int osz = d.osz;
  if (kind == kIns || kind == kOuts) osz = (d.opcode & 1) ? (d.osz == 2 ? 2 : 4) : 1;
  i->osz = uint8_t(osz);
  // REPNE is REP for the non-comparing string instructions.
  int rep = d.rep == 0xF3 ? 1 : d.rep == 0xF2 ? 2 : 0;
  if (rep == 2 && kind != kCmps && kind != kScas) rep = 1;
  switch (osz) {
    case 1: i->fn = pick_kind<uint8_t>(kind, rep); break;
    case 2: i->fn = pick_kind<uint16_t>(kind, rep); break;
    case 4: i->fn = pick_kind<uint32_t>(kind, rep); break;
    default: i->fn = pick_kind<uint64_t>(kind, rep); break;
  }
  // A REP instruction may stop in the middle: it must be the last of its block so the
  // instructions after it are not counted as retired.
  if (rep != 0) d.ends_block = true;
  return true;
}

}  // namespace

void register_string(OpTables& t) {
  const char* fam = "string";
  for (unsigned op : {0xA4u, 0xA6u, 0xAAu, 0xACu, 0xAEu, 0x6Cu, 0x6Eu}) {
    register_op(t, 0, op, dec_string, opf::kByteOp, fam);
    register_op(t, 0, op + 1, dec_string, 0, fam);
  }
  t.features.l7_ebx |= feat::kErms;
}

}  // namespace tsvirt::soft
