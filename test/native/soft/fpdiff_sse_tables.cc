// Instruction-form tables of the MMX, SSE, SSE2 and SSE3 fpdiff families.
#include "fpdiff_sse.h"

namespace fpdiff {

namespace {

#define N(...) Spec{__VA_ARGS__}

// MMX-register forms (no prefix), including the SSE/SSE2 additions on MMX registers.
const Spec kMmx[] = {
    N("punpcklbw mm", 0, 1, 0x60, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("punpcklwd mm", 0, 1, 0x61, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("punpckldq mm", 0, 1, 0x62, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("packsswb mm", 0, 1, 0x63, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtb mm", 0, 1, 0x64, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtw mm", 0, 1, 0x65, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtd mm", 0, 1, 0x66, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("packuswb mm", 0, 1, 0x67, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("punpckhbw mm", 0, 1, 0x68, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("punpckhwd mm", 0, 1, 0x69, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("punpckhdq mm", 0, 1, 0x6A, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("packssdw mm", 0, 1, 0x6B, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("movd mm, r/m32", 0, 1, 0x6E, kM, kG, kRegOrMem, kBytes, kNoImm),
    N("movq mm, r/m64", 0, 1, 0x6E, kM, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("movq mm, mm/m64", 0, 1, 0x6F, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pshufw", 0, 1, 0x70, kM, kM, kRegOrMem, kBytes, kImm),
    N("psrlw mm, imm", 0, 1, 0x71, kM, kM, kRegOnly, kBytes, kImmSmall, 2),
    N("psraw mm, imm", 0, 1, 0x71, kM, kM, kRegOnly, kBytes, kImmSmall, 4),
    N("psllw mm, imm", 0, 1, 0x71, kM, kM, kRegOnly, kBytes, kImmSmall, 6),
    N("psrld mm, imm", 0, 1, 0x72, kM, kM, kRegOnly, kBytes, kImm, 2),
    N("psrad mm, imm", 0, 1, 0x72, kM, kM, kRegOnly, kBytes, kImm, 4),
    N("pslld mm, imm", 0, 1, 0x72, kM, kM, kRegOnly, kBytes, kImm, 6),
    N("psrlq mm, imm", 0, 1, 0x73, kM, kM, kRegOnly, kBytes, kImm, 2),
    N("psllq mm, imm", 0, 1, 0x73, kM, kM, kRegOnly, kBytes, kImm, 6),
    N("pcmpeqb mm", 0, 1, 0x74, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pcmpeqw mm", 0, 1, 0x75, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pcmpeqd mm", 0, 1, 0x76, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("emms", 0, 1, 0x77, kNone, kNone, kRegOnly, kBytes, kNoImm),
    N("movd r/m32, mm", 0, 1, 0x7E, kM, kG, kRegOrMem, kBytes, kNoImm),
    N("movq r/m64, mm", 0, 1, 0x7E, kM, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("movq mm/m64, mm", 0, 1, 0x7F, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pinsrw mm", 0, 1, 0xC4, kM, kG, kRegOrMem, kBytes, kImm),
    N("pextrw mm", 0, 1, 0xC5, kG, kM, kRegOnly, kBytes, kImm),
    N("psrlw mm", 0, 1, 0xD1, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psrld mm", 0, 1, 0xD2, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psrlq mm", 0, 1, 0xD3, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddq mm", 0, 1, 0xD4, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmullw mm", 0, 1, 0xD5, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmovmskb mm", 0, 1, 0xD7, kG, kM, kRegOnly, kBytes, kNoImm),
    N("psubusb mm", 0, 1, 0xD8, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psubusw mm", 0, 1, 0xD9, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pminub mm", 0, 1, 0xDA, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pand mm", 0, 1, 0xDB, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddusb mm", 0, 1, 0xDC, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddusw mm", 0, 1, 0xDD, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmaxub mm", 0, 1, 0xDE, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pandn mm", 0, 1, 0xDF, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pavgb mm", 0, 1, 0xE0, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psraw mm", 0, 1, 0xE1, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psrad mm", 0, 1, 0xE2, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pavgw mm", 0, 1, 0xE3, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmulhuw mm", 0, 1, 0xE4, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmulhw mm", 0, 1, 0xE5, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("movntq", 0, 1, 0xE7, kM, kM, kMemOnly, kBytes, kNoImm),
    N("psubsb mm", 0, 1, 0xE8, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psubsw mm", 0, 1, 0xE9, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pminsw mm", 0, 1, 0xEA, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("por mm", 0, 1, 0xEB, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddsb mm", 0, 1, 0xEC, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddsw mm", 0, 1, 0xED, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmaxsw mm", 0, 1, 0xEE, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pxor mm", 0, 1, 0xEF, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psllw mm", 0, 1, 0xF1, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pslld mm", 0, 1, 0xF2, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psllq mm", 0, 1, 0xF3, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmuludq mm", 0, 1, 0xF4, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("pmaddwd mm", 0, 1, 0xF5, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psadbw mm", 0, 1, 0xF6, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("maskmovq", 0, 1, 0xF7, kM, kM, kRegOnly, kBytes, kNoImm, 0xFF, false, true),
    N("psubb mm", 0, 1, 0xF8, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psubw mm", 0, 1, 0xF9, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psubd mm", 0, 1, 0xFA, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("psubq mm", 0, 1, 0xFB, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddb mm", 0, 1, 0xFC, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddw mm", 0, 1, 0xFD, kM, kM, kRegOrMem, kBytes, kNoImm),
    N("paddd mm", 0, 1, 0xFE, kM, kM, kRegOrMem, kBytes, kNoImm),
};

// Packed-integer XMM forms (66).
const Spec kSseInt[] = {
    N("punpcklbw", 0x66, 1, 0x60, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpcklwd", 0x66, 1, 0x61, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpckldq", 0x66, 1, 0x62, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("packsswb", 0x66, 1, 0x63, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtb", 0x66, 1, 0x64, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtw", 0x66, 1, 0x65, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pcmpgtd", 0x66, 1, 0x66, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("packuswb", 0x66, 1, 0x67, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpckhbw", 0x66, 1, 0x68, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpckhwd", 0x66, 1, 0x69, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpckhdq", 0x66, 1, 0x6A, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("packssdw", 0x66, 1, 0x6B, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpcklqdq", 0x66, 1, 0x6C, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("punpckhqdq", 0x66, 1, 0x6D, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pshufd", 0x66, 1, 0x70, kX, kX, kRegOrMem, kBytes, kImm),
    N("pshufhw", 0xF3, 1, 0x70, kX, kX, kRegOrMem, kBytes, kImm),
    N("pshuflw", 0xF2, 1, 0x70, kX, kX, kRegOrMem, kBytes, kImm),
    N("psrlw imm", 0x66, 1, 0x71, kX, kX, kRegOnly, kBytes, kImmSmall, 2),
    N("psraw imm", 0x66, 1, 0x71, kX, kX, kRegOnly, kBytes, kImmSmall, 4),
    N("psllw imm", 0x66, 1, 0x71, kX, kX, kRegOnly, kBytes, kImmSmall, 6),
    N("psrld imm", 0x66, 1, 0x72, kX, kX, kRegOnly, kBytes, kImm, 2),
    N("psrad imm", 0x66, 1, 0x72, kX, kX, kRegOnly, kBytes, kImm, 4),
    N("pslld imm", 0x66, 1, 0x72, kX, kX, kRegOnly, kBytes, kImm, 6),
    N("psrlq imm", 0x66, 1, 0x73, kX, kX, kRegOnly, kBytes, kImm, 2),
    N("psrldq imm", 0x66, 1, 0x73, kX, kX, kRegOnly, kBytes, kImmSmall, 3),
    N("psllq imm", 0x66, 1, 0x73, kX, kX, kRegOnly, kBytes, kImm, 6),
    N("pslldq imm", 0x66, 1, 0x73, kX, kX, kRegOnly, kBytes, kImmSmall, 7),
    N("pcmpeqb", 0x66, 1, 0x74, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pcmpeqw", 0x66, 1, 0x75, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pcmpeqd", 0x66, 1, 0x76, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pinsrw", 0x66, 1, 0xC4, kX, kG, kRegOrMem, kBytes, kImm),
    N("pextrw", 0x66, 1, 0xC5, kG, kX, kRegOnly, kBytes, kImm),
    N("psrlw", 0x66, 1, 0xD1, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psrld", 0x66, 1, 0xD2, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psrlq", 0x66, 1, 0xD3, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddq", 0x66, 1, 0xD4, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmullw", 0x66, 1, 0xD5, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmovmskb", 0x66, 1, 0xD7, kG, kX, kRegOnly, kBytes, kNoImm),
    N("psubusb", 0x66, 1, 0xD8, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubusw", 0x66, 1, 0xD9, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pminub", 0x66, 1, 0xDA, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pand", 0x66, 1, 0xDB, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddusb", 0x66, 1, 0xDC, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddusw", 0x66, 1, 0xDD, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmaxub", 0x66, 1, 0xDE, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pandn", 0x66, 1, 0xDF, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pavgb", 0x66, 1, 0xE0, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psraw", 0x66, 1, 0xE1, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psrad", 0x66, 1, 0xE2, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pavgw", 0x66, 1, 0xE3, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmulhuw", 0x66, 1, 0xE4, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmulhw", 0x66, 1, 0xE5, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubsb", 0x66, 1, 0xE8, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubsw", 0x66, 1, 0xE9, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pminsw", 0x66, 1, 0xEA, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("por", 0x66, 1, 0xEB, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddsb", 0x66, 1, 0xEC, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddsw", 0x66, 1, 0xED, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmaxsw", 0x66, 1, 0xEE, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pxor", 0x66, 1, 0xEF, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psllw", 0x66, 1, 0xF1, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pslld", 0x66, 1, 0xF2, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psllq", 0x66, 1, 0xF3, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmuludq", 0x66, 1, 0xF4, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("pmaddwd", 0x66, 1, 0xF5, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psadbw", 0x66, 1, 0xF6, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubb", 0x66, 1, 0xF8, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubw", 0x66, 1, 0xF9, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubd", 0x66, 1, 0xFA, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("psubq", 0x66, 1, 0xFB, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddb", 0x66, 1, 0xFC, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddw", 0x66, 1, 0xFD, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("paddd", 0x66, 1, 0xFE, kX, kX, kRegOrMem, kBytes, kNoImm),
};

const Spec kSseMove[] = {
    N("movups", 0, 1, 0x10, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movupd", 0x66, 1, 0x10, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movss", 0xF3, 1, 0x10, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movsd", 0xF2, 1, 0x10, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movups st", 0, 1, 0x11, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movupd st", 0x66, 1, 0x11, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movss st", 0xF3, 1, 0x11, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movsd st", 0xF2, 1, 0x11, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movlps/movhlps", 0, 1, 0x12, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movlpd", 0x66, 1, 0x12, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movsldup", 0xF3, 1, 0x12, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movddup", 0xF2, 1, 0x12, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movlps st", 0, 1, 0x13, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movlpd st", 0x66, 1, 0x13, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movhps/movlhps", 0, 1, 0x16, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movhpd", 0x66, 1, 0x16, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movshdup", 0xF3, 1, 0x16, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movhps st", 0, 1, 0x17, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movhpd st", 0x66, 1, 0x17, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movaps", 0, 1, 0x28, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movapd", 0x66, 1, 0x28, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movaps st", 0, 1, 0x29, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movapd st", 0x66, 1, 0x29, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movntps", 0, 1, 0x2B, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movntpd", 0x66, 1, 0x2B, kX, kX, kMemOnly, kBytes, kNoImm),
    N("movmskps", 0, 1, 0x50, kG, kX, kRegOnly, kF32, kNoImm),
    N("movmskpd", 0x66, 1, 0x50, kG, kX, kRegOnly, kF64, kNoImm),
    N("movd xmm, r/m32", 0x66, 1, 0x6E, kX, kG, kRegOrMem, kBytes, kNoImm),
    N("movq xmm, r/m64", 0x66, 1, 0x6E, kX, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("movdqa", 0x66, 1, 0x6F, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movdqu", 0xF3, 1, 0x6F, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movd r/m32, xmm", 0x66, 1, 0x7E, kX, kG, kRegOrMem, kBytes, kNoImm),
    N("movq r/m64, xmm", 0x66, 1, 0x7E, kX, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("movq xmm, xmm/m64", 0xF3, 1, 0x7E, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movdqa st", 0x66, 1, 0x7F, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movdqu st", 0xF3, 1, 0x7F, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movnti", 0, 1, 0xC3, kG, kG, kMemOnly, kBytes, kNoImm),
    N("movnti64", 0, 1, 0xC3, kG, kG, kMemOnly, kBytes, kNoImm, 0xFF, true),
    N("movq xmm/m64, xmm", 0x66, 1, 0xD6, kX, kX, kRegOrMem, kBytes, kNoImm),
    N("movq2dq", 0xF3, 1, 0xD6, kX, kM, kRegOnly, kBytes, kNoImm),
    N("movdq2q", 0xF2, 1, 0xD6, kM, kX, kRegOnly, kBytes, kNoImm),
    N("movntdq", 0x66, 1, 0xE7, kX, kX, kMemOnly, kBytes, kNoImm),
    N("lddqu", 0xF2, 1, 0xF0, kX, kX, kMemOnly, kBytes, kNoImm),
    N("maskmovdqu", 0x66, 1, 0xF7, kX, kX, kRegOnly, kBytes, kNoImm, 0xFF, false, true),
};

#define FP4(NAME, OP)                                                      \
  N(NAME "ps", 0, 1, OP, kX, kX, kRegOrMem, kF32, kNoImm),                \
      N(NAME "pd", 0x66, 1, OP, kX, kX, kRegOrMem, kF64, kNoImm),         \
      N(NAME "ss", 0xF3, 1, OP, kX, kX, kRegOrMem, kF32, kNoImm),         \
      N(NAME "sd", 0xF2, 1, OP, kX, kX, kRegOrMem, kF64, kNoImm)

const Spec kSseFp[] = {
    FP4("sqrt", 0x51), FP4("add", 0x58), FP4("mul", 0x59), FP4("sub", 0x5C),
    FP4("min", 0x5D), FP4("div", 0x5E), FP4("max", 0x5F),
    N("rsqrtps", 0, 1, 0x52, kX, kX, kRegOrMem, kF32, kNoImm),
    N("rsqrtss", 0xF3, 1, 0x52, kX, kX, kRegOrMem, kF32, kNoImm),
    N("rcpps", 0, 1, 0x53, kX, kX, kRegOrMem, kF32, kNoImm),
    N("rcpss", 0xF3, 1, 0x53, kX, kX, kRegOrMem, kF32, kNoImm),
    N("andps", 0, 1, 0x54, kX, kX, kRegOrMem, kF32, kNoImm),
    N("andpd", 0x66, 1, 0x54, kX, kX, kRegOrMem, kF64, kNoImm),
    N("andnps", 0, 1, 0x55, kX, kX, kRegOrMem, kF32, kNoImm),
    N("andnpd", 0x66, 1, 0x55, kX, kX, kRegOrMem, kF64, kNoImm),
    N("orps", 0, 1, 0x56, kX, kX, kRegOrMem, kF32, kNoImm),
    N("orpd", 0x66, 1, 0x56, kX, kX, kRegOrMem, kF64, kNoImm),
    N("xorps", 0, 1, 0x57, kX, kX, kRegOrMem, kF32, kNoImm),
    N("xorpd", 0x66, 1, 0x57, kX, kX, kRegOrMem, kF64, kNoImm),
    N("cmpps", 0, 1, 0xC2, kX, kX, kRegOrMem, kF32, kImmSmall),
    N("cmppd", 0x66, 1, 0xC2, kX, kX, kRegOrMem, kF64, kImmSmall),
    N("cmpss", 0xF3, 1, 0xC2, kX, kX, kRegOrMem, kF32, kImmSmall),
    N("cmpsd", 0xF2, 1, 0xC2, kX, kX, kRegOrMem, kF64, kImmSmall),
    N("ucomiss", 0, 1, 0x2E, kX, kX, kRegOrMem, kF32, kNoImm),
    N("ucomisd", 0x66, 1, 0x2E, kX, kX, kRegOrMem, kF64, kNoImm),
    N("comiss", 0, 1, 0x2F, kX, kX, kRegOrMem, kF32, kNoImm),
    N("comisd", 0x66, 1, 0x2F, kX, kX, kRegOrMem, kF64, kNoImm),
    N("addsubpd", 0x66, 1, 0xD0, kX, kX, kRegOrMem, kF64, kNoImm),
    N("addsubps", 0xF2, 1, 0xD0, kX, kX, kRegOrMem, kF32, kNoImm),
    N("haddpd", 0x66, 1, 0x7C, kX, kX, kRegOrMem, kF64, kNoImm),
    N("haddps", 0xF2, 1, 0x7C, kX, kX, kRegOrMem, kF32, kNoImm),
    N("hsubpd", 0x66, 1, 0x7D, kX, kX, kRegOrMem, kF64, kNoImm),
    N("hsubps", 0xF2, 1, 0x7D, kX, kX, kRegOrMem, kF32, kNoImm),
    N("unpcklps", 0, 1, 0x14, kX, kX, kRegOrMem, kF32, kNoImm),
    N("unpcklpd", 0x66, 1, 0x14, kX, kX, kRegOrMem, kF64, kNoImm),
    N("unpckhps", 0, 1, 0x15, kX, kX, kRegOrMem, kF32, kNoImm),
    N("unpckhpd", 0x66, 1, 0x15, kX, kX, kRegOrMem, kF64, kNoImm),
    N("shufps", 0, 1, 0xC6, kX, kX, kRegOrMem, kF32, kImm),
    N("shufpd", 0x66, 1, 0xC6, kX, kX, kRegOrMem, kF64, kImm),
};
#undef FP4

const Spec kSseCvt[] = {
    N("cvtpi2ps", 0, 1, 0x2A, kX, kM, kRegOrMem, kI32, kNoImm),
    N("cvtpi2pd", 0x66, 1, 0x2A, kX, kM, kRegOrMem, kI32, kNoImm),
    N("cvtsi2ss r32", 0xF3, 1, 0x2A, kX, kG, kRegOrMem, kI32, kNoImm),
    N("cvtsi2ss r64", 0xF3, 1, 0x2A, kX, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("cvtsi2sd r32", 0xF2, 1, 0x2A, kX, kG, kRegOrMem, kI32, kNoImm),
    N("cvtsi2sd r64", 0xF2, 1, 0x2A, kX, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("cvttps2pi", 0, 1, 0x2C, kM, kX, kRegOrMem, kF32, kNoImm),
    N("cvttpd2pi", 0x66, 1, 0x2C, kM, kX, kRegOrMem, kF64, kNoImm),
    N("cvttss2si r32", 0xF3, 1, 0x2C, kG, kX, kRegOrMem, kF32, kNoImm),
    N("cvttss2si r64", 0xF3, 1, 0x2C, kG, kX, kRegOrMem, kF32, kNoImm, 0xFF, true),
    N("cvttsd2si r32", 0xF2, 1, 0x2C, kG, kX, kRegOrMem, kF64, kNoImm),
    N("cvttsd2si r64", 0xF2, 1, 0x2C, kG, kX, kRegOrMem, kF64, kNoImm, 0xFF, true),
    N("cvtps2pi", 0, 1, 0x2D, kM, kX, kRegOrMem, kF32, kNoImm),
    N("cvtpd2pi", 0x66, 1, 0x2D, kM, kX, kRegOrMem, kF64, kNoImm),
    N("cvtss2si r32", 0xF3, 1, 0x2D, kG, kX, kRegOrMem, kF32, kNoImm),
    N("cvtss2si r64", 0xF3, 1, 0x2D, kG, kX, kRegOrMem, kF32, kNoImm, 0xFF, true),
    N("cvtsd2si r32", 0xF2, 1, 0x2D, kG, kX, kRegOrMem, kF64, kNoImm),
    N("cvtsd2si r64", 0xF2, 1, 0x2D, kG, kX, kRegOrMem, kF64, kNoImm, 0xFF, true),
    N("cvtps2pd", 0, 1, 0x5A, kX, kX, kRegOrMem, kF32, kNoImm),
    N("cvtpd2ps", 0x66, 1, 0x5A, kX, kX, kRegOrMem, kF64, kNoImm),
    N("cvtss2sd", 0xF3, 1, 0x5A, kX, kX, kRegOrMem, kF32, kNoImm),
    N("cvtsd2ss", 0xF2, 1, 0x5A, kX, kX, kRegOrMem, kF64, kNoImm),
    N("cvtdq2ps", 0, 1, 0x5B, kX, kX, kRegOrMem, kI32, kNoImm),
    N("cvtps2dq", 0x66, 1, 0x5B, kX, kX, kRegOrMem, kF32, kNoImm),
    N("cvttps2dq", 0xF3, 1, 0x5B, kX, kX, kRegOrMem, kF32, kNoImm),
    N("cvttpd2dq", 0x66, 1, 0xE6, kX, kX, kRegOrMem, kF64, kNoImm),
    N("cvtdq2pd", 0xF3, 1, 0xE6, kX, kX, kRegOrMem, kI32, kNoImm),
    N("cvtpd2dq", 0xF2, 1, 0xE6, kX, kX, kRegOrMem, kF64, kNoImm),
};


#define SSSE3(NAME, OP)                                                    \
  N(NAME " mm", 0, 2, OP, kM, kM, kRegOrMem, kBytes, kNoImm),             \
      N(NAME, 0x66, 2, OP, kX, kX, kRegOrMem, kBytes, kNoImm)

const Spec kSsse3[] = {
    SSSE3("pshufb", 0x00),    SSSE3("phaddw", 0x01),   SSSE3("phaddd", 0x02),
    SSSE3("phaddsw", 0x03),   SSSE3("pmaddubsw", 0x04), SSSE3("phsubw", 0x05),
    SSSE3("phsubd", 0x06),    SSSE3("phsubsw", 0x07),  SSSE3("psignb", 0x08),
    SSSE3("psignw", 0x09),    SSSE3("psignd", 0x0A),   SSSE3("pmulhrsw", 0x0B),
    SSSE3("pabsb", 0x1C),     SSSE3("pabsw", 0x1D),    SSSE3("pabsd", 0x1E),
    N("palignr mm", 0, 3, 0x0F, kM, kM, kRegOrMem, kBytes, kImmSmall),
    N("palignr", 0x66, 3, 0x0F, kX, kX, kRegOrMem, kBytes, kImm),
};
#undef SSSE3

#define X38(NAME, OP, LANES) N(NAME, 0x66, 2, OP, kX, kX, kRegOrMem, LANES, kNoImm)
#define X3A(NAME, OP, LANES, IMM) N(NAME, 0x66, 3, OP, kX, kX, kRegOrMem, LANES, IMM)

const Spec kSse41[] = {
    X38("pblendvb", 0x10, kBytes),   X38("blendvps", 0x14, kF32),   X38("blendvpd", 0x15, kF64),
    X38("ptest", 0x17, kBytes),      X38("pmovsxbw", 0x20, kBytes), X38("pmovsxbd", 0x21, kBytes),
    X38("pmovsxbq", 0x22, kBytes),   X38("pmovsxwd", 0x23, kBytes), X38("pmovsxwq", 0x24, kBytes),
    X38("pmovsxdq", 0x25, kBytes),   X38("pmuldq", 0x28, kBytes),   X38("pcmpeqq", 0x29, kBytes),
    N("movntdqa", 0x66, 2, 0x2A, kX, kX, kMemOnly, kBytes, kNoImm),
    X38("packusdw", 0x2B, kI32),     X38("pmovzxbw", 0x30, kBytes), X38("pmovzxbd", 0x31, kBytes),
    X38("pmovzxbq", 0x32, kBytes),   X38("pmovzxwd", 0x33, kBytes), X38("pmovzxwq", 0x34, kBytes),
    X38("pmovzxdq", 0x35, kBytes),   X38("pminsb", 0x38, kBytes),   X38("pminsd", 0x39, kI32),
    X38("pminuw", 0x3A, kBytes),     X38("pminud", 0x3B, kI32),     X38("pmaxsb", 0x3C, kBytes),
    X38("pmaxsd", 0x3D, kI32),       X38("pmaxuw", 0x3E, kBytes),   X38("pmaxud", 0x3F, kI32),
    X38("pmulld", 0x40, kI32),       X38("phminposuw", 0x41, kBytes),
    X3A("roundps", 0x08, kF32, kImmSmall), X3A("roundpd", 0x09, kF64, kImmSmall),
    X3A("roundss", 0x0A, kF32, kImmSmall), X3A("roundsd", 0x0B, kF64, kImmSmall),
    X3A("blendps", 0x0C, kF32, kImm), X3A("blendpd", 0x0D, kF64, kImm), X3A("pblendw", 0x0E, kBytes, kImm),
    N("pextrb", 0x66, 3, 0x14, kX, kG, kRegOrMem, kBytes, kImm),
    N("pextrw r/m16", 0x66, 3, 0x15, kX, kG, kRegOrMem, kBytes, kImm),
    N("pextrd", 0x66, 3, 0x16, kX, kG, kRegOrMem, kBytes, kImm),
    N("pextrq", 0x66, 3, 0x16, kX, kG, kRegOrMem, kBytes, kImm, 0xFF, true),
    N("extractps", 0x66, 3, 0x17, kX, kG, kRegOrMem, kF32, kImm),
    N("pinsrb", 0x66, 3, 0x20, kX, kG, kRegOrMem, kBytes, kImm),
    X3A("insertps", 0x21, kF32, kImm),
    N("pinsrd", 0x66, 3, 0x22, kX, kG, kRegOrMem, kBytes, kImm),
    N("pinsrq", 0x66, 3, 0x22, kX, kG, kRegOrMem, kBytes, kImm, 0xFF, true),
    X3A("dpps", 0x40, kF32, kImm),   X3A("dppd", 0x41, kF64, kImm),
    X3A("mpsadbw", 0x42, kBytes, kImm),
};

const Spec kSse42[] = {
    X38("pcmpgtq", 0x37, kBytes),
    X3A("pcmpestrm", 0x60, kBytes, kImm), X3A("pcmpestri", 0x61, kBytes, kImm),
    X3A("pcmpistrm", 0x62, kBytes, kImm), X3A("pcmpistri", 0x63, kBytes, kImm),
    N("pcmpestri64", 0x66, 3, 0x61, kX, kX, kRegOrMem, kBytes, kImm, 0xFF, true),
    N("crc32 r32, r/m8", 0xF2, 2, 0xF0, kG, kG, kRegOrMem, kBytes, kNoImm),
    N("crc32 r64, r/m8", 0xF2, 2, 0xF0, kG, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
    N("crc32 r32, r/m16", 0xF2, 2, 0xF1, kG, kG, kRegOrMem, kBytes, kNoImm, 0xFF, false, false, true),
    N("crc32 r32, r/m32", 0xF2, 2, 0xF1, kG, kG, kRegOrMem, kBytes, kNoImm),
    N("crc32 r64, r/m64", 0xF2, 2, 0xF1, kG, kG, kRegOrMem, kBytes, kNoImm, 0xFF, true),
};
#undef X38
#undef X3A

#define GEN(FN, FAMILY, TABLE)                                                  \
  void FN(Rng& rng, unsigned count, std::vector<Case>& out) {                   \
    gen_sse_specs(rng, count, out, FAMILY, TABLE, sizeof(TABLE) / sizeof(TABLE[0])); \
  }
GEN(gen_mmx, "mmx", kMmx)
GEN(gen_sse_int, "sse-int", kSseInt)
GEN(gen_sse_move, "sse-move", kSseMove)
GEN(gen_sse_fp, "sse-fp", kSseFp)
GEN(gen_sse_cvt, "sse-cvt", kSseCvt)
GEN(gen_ssse3, "ssse3", kSsse3)
GEN(gen_sse41, "sse41", kSse41)
GEN(gen_sse42, "sse42", kSse42)
#undef GEN

}  // namespace

const Family kSseFamilies[] = {
    {"mmx", gen_mmx},         {"sse-int", gen_sse_int}, {"sse-move", gen_sse_move},
    {"sse-fp", gen_sse_fp},   {"sse-cvt", gen_sse_cvt},  {"ssse3", gen_ssse3},
    {"sse41", gen_sse41},     {"sse42", gen_sse42},
};
const unsigned kSseFamilyCount = sizeof(kSseFamilies) / sizeof(kSseFamilies[0]);

}  // namespace fpdiff
