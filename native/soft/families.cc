// The list of instruction families and the opcode tables they fill.
//
// Adding a family: write ops_<name>.cc with a register_<name>(OpTables&) that calls
// register_op() for its opcodes and ORs the CPUID feature bits it implements into
// t.features, declare it in ops.h, and add one line below (README.md has the details).
// Order does not matter: two families claiming one opcode abort at startup.
#include "soft/insn.h"
#include "soft/ops.h"

namespace tsvirt::soft {

namespace {

OpTables* build_tables() {
  auto* t = new OpTables();
  register_alu(*t);
  register_mov(*t);
  register_branch(*t);
  register_string(*t);
  register_shift(*t);
  register_muldiv(*t);
  register_bit(*t);
  register_atomic(*t);
  register_misc(*t);
  register_system(*t);
  register_segment_ops(*t);
  register_sysregs(*t);
  register_x87(*t);
  register_fxsave(*t);
  register_sse(*t);
  return t;
}

}  // namespace

const OpTables& op_tables() {
  static const OpTables* tables = build_tables();
  return *tables;
}

}  // namespace tsvirt::soft
