// x87 instructions executed on the host FPU with the guest register stack mirrored into it
// (the general path of the x87 family; see x87.h for why and when).
//
// A table of small host code thunks, one per x87 encoding (8 opcode bytes × 64 register
// ModRM values + 8 memory forms), each doing
//     popfq (guest arithmetic flags)  frstor (%rdi)  <the instruction>  fnsave (%rdi)
//     pushfq → rax  ret
// where the memory forms address (%rsi), a host buffer holding the guest operand. FRSTOR
// loads a 108-byte protected-mode image (SDM vol. 1, 8.1.10 figure 8-10) built from the
// guest state with the exception flags cleared, so nothing is pending on the host; FNSAVE
// (a no-wait instruction) stores the result and reinitialises the host FPU to its ABI state
// whatever the instruction raised. The guest's FCW is loaded unchanged, so masked and
// unmasked exception responses (no store, no pop, bias-adjusted results) are the host's.
// Only encodings the decoder has validated are ever run.
#include "soft/x87.h"

namespace tsvirt::soft {

extern "C" {
__attribute__((visibility("hidden"))) extern const unsigned char tsvirt_soft_x87_thunks[];
}

// 72 thunks of 32 bytes per opcode byte D8..DF: ModRM C0..FF, then the memory form of each
// ModRM.reg value (mod 00, rm 110 = [rsi]).
asm(R"(
    .pushsection .text.tsvirt_soft_x87, "ax", @progbits
    .p2align 6
    .globl tsvirt_soft_x87_thunks
    .hidden tsvirt_soft_x87_thunks
tsvirt_soft_x87_thunks:
    .set tsvirt_x87_op, 0xd8
    .rept 8
      .set tsvirt_x87_m, 0
      .rept 72
        .p2align 5
        endbr64
        push %rdx
        popfq
        frstor (%rdi)
        .if tsvirt_x87_m < 64
          .byte tsvirt_x87_op, 0xc0 + tsvirt_x87_m
        .else
          .byte tsvirt_x87_op, ((tsvirt_x87_m - 64) << 3) | 6
        .endif
        fnsave (%rdi)
        pushfq
        pop %rax
        ret
        .set tsvirt_x87_m, tsvirt_x87_m + 1
      .endr
      .set tsvirt_x87_op, tsvirt_x87_op + 1
    .endr
    .popsection
)");

namespace {

constexpr unsigned kThunkSize = 32;
constexpr unsigned kThunksPerOp = 72;

using ThunkFn = uint64_t (*)(void* image, void* mem, uint64_t rflags);

struct __attribute__((packed)) SaveImage {
  uint16_t fcw, r0, fsw, r1, ftw, r2;
  uint32_t fip;
  uint16_t fcs, fop;
  uint32_t fdp;
  uint16_t fds, r3;
  uint8_t st[8][10];
};
static_assert(sizeof(SaveImage) == 108, "FSAVE image is 108 bytes");
static_assert(sizeof(X87Host::img) >= sizeof(SaveImage), "host image buffer");

// Tag word with every non-empty register marked valid (00): only emptiness is state.
uint16_t host_tags(uint16_t ftw) {
  uint16_t t = 0;
  for (unsigned p = 0; p < 8; p++) {
    if (((ftw >> (2 * p)) & 3) == 3) t = uint16_t(t | (3u << (2 * p)));
  }
  return t;
}

}  // namespace

thread_local uint16_t t_x87_host_exc = fsw::kExc;

void x87_host_run(Core* c, unsigned op, unsigned modrm, void* buf, X87Host* h) {
  const FpuState& f = c->fpu;
  SaveImage img;
  std::memset(&img, 0, sizeof(img));
  img.fcw = f.fcw;
  img.fsw = uint16_t(f.fsw & (fsw::kCond | fsw::kTopMask));
  img.ftw = host_tags(f.ftw);
  const unsigned top = x87_top(f);
  for (unsigned k = 0; k < 8; k++) r80_to_bytes(img.st[k], f.st[(top + k) & 7]);
  const unsigned index = (op - 0xD8) * kThunksPerOp +
                         (modrm >= 0xC0 ? modrm - 0xC0 : 64 + ((modrm >> 3) & 7));
  const auto fn = reinterpret_cast<ThunkFn>(
      reinterpret_cast<uintptr_t>(tsvirt_soft_x87_thunks + index * kThunkSize));
  materialize_flags(c);
  h->rflags = fn(&img, buf, (c->rfl & fl::kArith) | 0x202);
  t_x87_host_exc = 0;  // FNSAVE reinitialised the host FPU
  h->sw = img.fsw;
  std::memcpy(h->img, &img, sizeof(img));
}

void x87_host_commit(Core* c, const X87Host& h) {
  FpuState& f = c->fpu;
  SaveImage img;
  std::memcpy(&img, h.img, sizeof(img));
  const unsigned top = (img.fsw >> 11) & 7;
  for (unsigned k = 0; k < 8; k++) r80_from_bytes(f.st[(top + k) & 7], img.st[k]);
  f.ftw = host_tags(img.ftw);
  f.fsw = uint16_t((img.fsw & (fsw::kCond | fsw::kTopMask)) | ((f.fsw | img.fsw) & 0x7F));
  x87_sync_es(f);
}

[[noreturn]] void x87_raise_mf(Core* c) { c->raise_fault(vec::MF); }

}  // namespace tsvirt::soft
