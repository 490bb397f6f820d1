// Helpers shared by the system-level families (I/O permission, far transfers, events).
#pragma once

#include "soft/core.h"

namespace tsvirt::soft {

// I/O permission for IN/OUT/INS/OUTS (SDM vol. 1, 19.5): allowed when CPL <= IOPL outside
// virtual-8086 mode, else by the TSS I/O permission bitmap; raises #GP(0) otherwise.
void check_io(Core* c, uint16_t port, unsigned size);

// interrupts.cc
void deliver_event(Core* c, int vector, EventKind kind, bool has_error, uint32_t error,
                   uint64_t return_rip);

}  // namespace tsvirt::soft
