// CpuState <-> word array: see state_codec.h.
#include "binding/state_codec.h"

namespace tsvirt::binding {

namespace {
x86::Segment x86::CpuState::*const kSegments[8] = {
    &x86::CpuState::cs, &x86::CpuState::ds, &x86::CpuState::es,  &x86::CpuState::fs,
    &x86::CpuState::gs, &x86::CpuState::ss, &x86::CpuState::tr, &x86::CpuState::ldtr};
}  // namespace

void encode_state(const x86::CpuState& s, uint64_t* w) {
  for (int i = 0; i < 16; ++i) w[i] = s.gpr[i];
  w[16] = s.rip;
  w[17] = s.rflags;
  w[18] = s.cr0;
  w[19] = s.cr2;
  w[20] = s.cr3;
  w[21] = s.cr4;
  w[22] = s.cr8;
  w[23] = s.efer;
  for (int i = 0; i < 8; ++i) w[24 + i] = s.dr[i];
  for (int i = 0; i < 8; ++i) {
    const x86::Segment& seg = s.*kSegments[i];
    w[32 + i * 4] = seg.base;
    w[33 + i * 4] = seg.limit;
    w[34 + i * 4] = seg.selector;
    w[35 + i * 4] = seg.access;
  }
  w[64] = s.gdtr.base;
  w[65] = s.gdtr.limit;
  w[66] = s.idtr.base;
  w[67] = s.idtr.limit;
}

void decode_state(const uint64_t* w, x86::CpuState* s) {
  for (int i = 0; i < 16; ++i) s->gpr[i] = w[i];
  s->rip = w[16];
  s->rflags = w[17] | 2;
  s->cr0 = w[18];
  s->cr2 = w[19];
  s->cr3 = w[20];
  s->cr4 = w[21];
  s->cr8 = w[22] & 0xF;
  s->efer = w[23];
  for (int i = 0; i < 8; ++i) s->dr[i] = w[24 + i];
  for (int i = 0; i < 8; ++i) {
    x86::Segment& seg = s->*kSegments[i];
    seg.base = w[32 + i * 4];
    seg.limit = static_cast<uint32_t>(w[33 + i * 4]);
    seg.selector = static_cast<uint16_t>(w[34 + i * 4]);
    seg.access = static_cast<uint32_t>(w[35 + i * 4]);
  }
  s->gdtr.base = w[64];
  s->gdtr.limit = static_cast<uint16_t>(w[65]);
  s->idtr.base = w[66];
  s->idtr.limit = static_cast<uint16_t>(w[67]);
}

}  // namespace tsvirt::binding
