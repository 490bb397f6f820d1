// Compare-and-exchange and exchange-and-add: CMPXCHG (0F B0/B1), XADD (0F C0/C1),
// CMPXCHG8B/CMPXCHG16B (0F C7 /1).
//
// Intel SDM vol. 2 per instruction. With LOCK (or always, for the memory forms, when the
// operand is RAM) the update is a host atomic operation, so spinlocks and lock-free code
// work across vCPU threads. A memory CMPXCHG writes its destination even when the
// comparison fails (it writes back the old value), as the SDM describes. CMPXCHG16B needs a
// 16-byte aligned operand (#GP(0) otherwise).
#include <mutex>

#include "soft/ops.h"

namespace tsvirt::soft {

std::mutex& split_lock();  // mmu.cc

namespace {

template <class T, bool M> const Insn* cmpxchg(Core* c, const Insn* i) {
  const T src = get_reg<T>(c, i->ro);
  const T acc = reg_n<T>(c, RAX);
  T old;
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    if (m.p != nullptr) {
      old = acc;
      __atomic_compare_exchange_n(reinterpret_cast<T*>(m.p), &old, src, false, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST);
    } else {
      old = m.load();
      m.store(old == acc ? src : old);
    }
  } else {
    // A register destination is written only on success (AMD behaviour, the vendor this
    // CPU reports; Intel's pseudocode also writes it back on failure, which would
    // zero-extend a 32-bit register).
    old = get_reg<T>(c, i->mo);
    if (old == acc) set_reg<T>(c, i->mo, src);
  }
  set_lf<T>(c, kSub, T(acc - old), acc, old);
  if (old != acc) set_reg_n<T>(c, RAX, old);
  return next(c, i);
}

template <class T, bool M> const Insn* xadd(Core* c, const Insn* i) {
  const T src = get_reg<T>(c, i->ro);
  T old;
  if constexpr (M) {
    Rmw<T> m(c, i->seg, ea(c, i));
    if (m.p != nullptr) {
      old = __atomic_fetch_add(reinterpret_cast<T*>(m.p), src, __ATOMIC_SEQ_CST);
    } else {
      old = m.load();
      m.store(T(old + src));
    }
    set_reg<T>(c, i->ro, old);
  } else {
    old = get_reg<T>(c, i->mo);
    set_reg<T>(c, i->ro, old);
    set_reg<T>(c, i->mo, T(old + src));
  }
  set_lf<T>(c, kAdd, T(old + src), old, src);
  return next(c, i);
}

inline void set_zf_only(Core* c, bool zf) {
  materialize_flags(c);
  c->rfl = (c->rfl & ~fl::ZF) | (zf ? fl::ZF : 0);
}

const Insn* cmpxchg8b(Core* c, const Insn* i) {
  const uint64_t e = ea(c, i);
  const uint64_t expect = (uint64_t(uint32_t(c->r[RDX])) << 32) | uint32_t(c->r[RAX]);
  const uint64_t desired = (uint64_t(uint32_t(c->r[RCX])) << 32) | uint32_t(c->r[RBX]);
  Rmw<uint64_t> m(c, i->seg, e);
  uint64_t old;
  if (m.p != nullptr) {
    old = expect;
    __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(m.p), &old, desired, false,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  } else {
    std::lock_guard<std::mutex> g(split_lock());
    old = m.load();
    m.store(old == expect ? desired : old);
  }
  const bool eq = old == expect;
  set_zf_only(c, eq);
  if (!eq) {
    c->r[RAX] = uint32_t(old);
    c->r[RDX] = old >> 32;
  }
  return next(c, i);
}

const Insn* cmpxchg16b(Core* c, const Insn* i) {
  const uint64_t e = ea(c, i);
  const uint64_t la = c->lin(i->seg, e, 16, true);
  if (la & 15) c->gp(0);
  const uint8_t* fast = c->rmw_ptr(la, 16, i->seg);
  uint64_t lo = c->r[RAX], hi = c->r[RDX];
  const uint64_t want_lo = lo, want_hi = hi;
  bool eq;
  if (fast != nullptr) {
    uint64_t* p = const_cast<uint64_t*>(reinterpret_cast<const uint64_t*>(fast));
    __asm__ volatile("lock cmpxchg16b %[m]\n\tsetz %[eq]"
                     : [m] "+m"(*reinterpret_cast<unsigned __int128*>(p)), "+a"(lo), "+d"(hi), [eq] "=q"(eq)
                     : "b"(c->r[RBX]), "c"(c->r[RCX])
                     : "memory", "cc");
  } else {
    std::lock_guard<std::mutex> g(split_lock());
    const uint64_t cur_lo = c->read_slow(la, 8, i->seg);
    const uint64_t cur_hi = c->read_slow(la + 8, 8, i->seg);
    eq = cur_lo == want_lo && cur_hi == want_hi;
    c->write_slow(la, 8, eq ? c->r[RBX] : cur_lo, i->seg);
    c->write_slow(la + 8, 8, eq ? c->r[RCX] : cur_hi, i->seg);
    lo = cur_lo;
    hi = cur_hi;
  }
  set_zf_only(c, eq);
  if (!eq) {
    c->r[RAX] = lo;
    c->r[RDX] = hi;
  }
  return next(c, i);
}

bool dec_cmpxchg(DecodeCtx& d, Insn* i) {
  const bool mem = is_mem(i);
  if (d.opcode == 0xB0 || d.opcode == 0xB1) {
    i->fn = mem ? SOFT_PICK(d.osz, cmpxchg, true) : SOFT_PICK(d.osz, cmpxchg, false);
  } else {
    i->fn = mem ? SOFT_PICK(d.osz, xadd, true) : SOFT_PICK(d.osz, xadd, false);
  }
  return true;
}

bool dec_0fc7(DecodeCtx& d, Insn* i) {
  if ((d.reg & 7) != 1 || !is_mem(i)) return false;
  if (d.rex_w) {
    if (!(d.c->feat.l1_ecx & feat::kCx16)) return false;
    i->fn = cmpxchg16b;
  } else {
    i->fn = cmpxchg8b;
  }
  return true;
}

}  // namespace

void register_atomic(OpTables& t) {
  const char* fam = "atomic";
  register_op(t, 1, 0xB0, dec_cmpxchg, opf::kModrm | opf::kByteOp | opf::kLockable, fam);
  register_op(t, 1, 0xB1, dec_cmpxchg, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xC0, dec_cmpxchg, opf::kModrm | opf::kByteOp | opf::kLockable, fam);
  register_op(t, 1, 0xC1, dec_cmpxchg, opf::kModrm | opf::kLockable, fam);
  register_op(t, 1, 0xC7, dec_0fc7, opf::kModrm | opf::kLockable, fam);
  t.features.l1_edx |= feat::kCx8;
  t.features.l1_ecx |= feat::kCx16;
}

}  // namespace tsvirt::soft
