// System instructions, part 1: HLT, CLI/STI (interrupt shadow), IN/OUT, INT n/INT3/INTO/
// INT1, and the I/O permission check.
//
// Intel SDM vol. 2 per instruction; vol. 3, 6.8.3 (STI shadow) and vol. 1, 19.5 (I/O
// permission bitmap). Port I/O goes synchronously to CpuHost::pio_in/pio_out.
#include "soft/ops.h"
#include "soft/sys.h"

namespace tsvirt::soft {

void check_io(Core* c, uint16_t port, unsigned size) {
  if (!c->protected_mode() && !c->v86()) return;
  if (!c->v86() && c->cpl <= c->iopl()) return;
  // TSS I/O permission bitmap: needs a 32/64-bit TSS whose bitmap covers the bits.
  if ((c->tr.ar & 0xF) != 0x9 && (c->tr.ar & 0xF) != 0xB) c->gp(0);
  if (c->tr.limit < 0x67) c->gp(0);
  const uint64_t bitmap = c->read_sys(c->tr.base + 0x66, 2);
  const uint64_t off = bitmap + port / 8;
  if (off + 1 > c->tr.limit) c->gp(0);
  const uint64_t bits = c->read_sys(c->tr.base + off, 2);
  const uint64_t mask = ((uint64_t{1} << size) - 1) << (port & 7);
  if (bits & mask) c->gp(0);
}

namespace {

const Insn* hlt(Core* c, const Insn* i) {
  if (c->cpl != 0) c->gp(0);
  c->halted = true;
  c->sync_events |= ev::kHalted;
  return end_after(c, i);
}

const Insn* cli(Core* c, const Insn* i) {
  if (c->protected_mode() ? c->cpl > c->iopl() : (c->v86() && c->iopl() < 3)) c->gp(0);
  c->rfl &= ~fl::IF;
  return next(c, i);
}

const Insn* sti(Core* c, const Insn* i) {
  if (c->protected_mode() ? c->cpl > c->iopl() : (c->v86() && c->iopl() < 3)) c->gp(0);
  const bool was_set = c->rfl & fl::IF;
  c->rfl |= fl::IF;
  if (!was_set) {
    // Interrupts stay blocked until after the next instruction (SDM vol. 3, 6.8.3).
    c->sync_events |= ev::kShadow;
    if (c->irq_wanted) c->sync_events |= ev::kIrqCheck;
  }
  return end_after(c, i);
}

template <class T, bool IMM> const Insn* in(Core* c, const Insn* i) {
  const uint16_t port = IMM ? uint16_t(i->imm & 0xFF) : uint16_t(c->r[RDX]);
  check_io(c, port, sizeof(T));
  const uint32_t v = c->host->pio_in(port, int(sizeof(T)));
  set_reg_n<T>(c, RAX, T(v));
  return next(c, i);
}

template <class T, bool IMM> const Insn* out(Core* c, const Insn* i) {
  const uint16_t port = IMM ? uint16_t(i->imm & 0xFF) : uint16_t(c->r[RDX]);
  check_io(c, port, sizeof(T));
  c->host->pio_out(port, int(sizeof(T)), uint32_t(reg_n<T>(c, RAX)));
  // The host may have raised an interrupt or asked to stop: end the block.
  return end_after(c, i);
}

// INT n (CD), INT3 (CC), INTO (CE), INT1/ICEBP (F1).
const Insn* int_n(Core* c, const Insn* i) {
  const int v = int(i->imm & 0xFF);
  if (c->v86() && c->iopl() < 3) c->gp(0);
  deliver_event(c, v, EventKind::kSoftInt, false, 0, next_rip(c, i));
  return nullptr;
}

const Insn* int3(Core* c, const Insn* i) {
  if (SOFT_UNLIKELY(c->exit_controls & exit_ctl::kExitInt3)) {
    // VM_CAP_BPT_EXIT: the host sees the INT3 instead of the guest; it has not retired.
    uint64_t rip = c->r[kRegRip] + i->off;
    c->r[kRegRip] = c->code_size == 64 ? rip : c->code_size == 32 ? uint32_t(rip) : uint16_t(rip);
    c->block_break = true;
    c->exit_stop = StopReason::kBreakpoint;
    c->sync_events |= ev::kExitStop;
    return nullptr;
  }
  deliver_event(c, vec::BP, EventKind::kSoftException, false, 0, next_rip(c, i));
  return nullptr;
}

const Insn* into(Core* c, const Insn* i) {
  if (!get_of(c)) return end_after(c, i);
  deliver_event(c, vec::OF, EventKind::kSoftException, false, 0, next_rip(c, i));
  return nullptr;
}

const Insn* int1(Core* c, const Insn* i) {
  deliver_event(c, vec::DB, EventKind::kIcebp, false, 0, next_rip(c, i));
  return nullptr;
}

bool dec_sys1(DecodeCtx& d, Insn* i) {
  switch (d.opcode) {
    case 0xF4: i->fn = hlt; return true;
    case 0xFA: i->fn = cli; return true;
    case 0xFB: i->fn = sti; return true;
    case 0xCD: i->fn = int_n; return true;
    case 0xCC: i->fn = int3; return true;
    case 0xCE: i->fn = into; return true;
    case 0xF1: i->fn = int1; return true;
    default: return false;
  }
}

bool dec_io(DecodeCtx& d, Insn* i) {
  const bool wide = d.opcode & 1;
  const bool imm = d.opcode < 0xE8;
  const bool is_out = d.opcode & 2;
  const int osz = wide ? (d.osz == 2 ? 2 : 4) : 1;
  i->osz = uint8_t(osz);
#define SOFT_IO(FN, IM) (osz == 1 ? &FN<uint8_t, IM> : osz == 2 ? &FN<uint16_t, IM> : &FN<uint32_t, IM>)
  if (is_out) i->fn = imm ? SOFT_IO(out, true) : SOFT_IO(out, false);
  else i->fn = imm ? SOFT_IO(in, true) : SOFT_IO(in, false);
#undef SOFT_IO
  return true;
}

}  // namespace

void register_system(OpTables& t) {
  const char* fam = "system";
  const uint32_t e = opf::kEndsBlock;
  register_op(t, 0, 0xF4, dec_sys1, e, fam);
  register_op(t, 0, 0xFA, dec_sys1, 0, fam);
  register_op(t, 0, 0xFB, dec_sys1, e, fam);
  register_op(t, 0, 0xCD, dec_sys1, opf::kImm8 | e, fam);
  register_op(t, 0, 0xCC, dec_sys1, e, fam);
  register_op(t, 0, 0xCE, dec_sys1, opf::kInvalid64 | e, fam);
  register_op(t, 0, 0xF1, dec_sys1, e, fam);
  register_op(t, 0, 0xE4, dec_io, opf::kImm8, fam);
  register_op(t, 0, 0xE5, dec_io, opf::kImm8, fam);
  register_op(t, 0, 0xE6, dec_io, opf::kImm8 | e, fam);
  register_op(t, 0, 0xE7, dec_io, opf::kImm8 | e, fam);
  register_op(t, 0, 0xEC, dec_io, 0, fam);
  register_op(t, 0, 0xED, dec_io, 0, fam);
  register_op(t, 0, 0xEE, dec_io, e, fam);
  register_op(t, 0, 0xEF, dec_io, e, fam);
}

}  // namespace tsvirt::soft
