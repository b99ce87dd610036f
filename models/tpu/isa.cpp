#include "models/tpu/isa.h"

#include <cstdio>
#include <sstream>

namespace xpu::tpu {

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::read_host_memory: return "read_host_memory";
    case Opcode::write_host_memory: return "write_host_memory";
    case Opcode::read_weights: return "read_weights";
    case Opcode::matmul: return "matmul";
    case Opcode::activate: return "activate";
    case Opcode::sync: return "sync";
    case Opcode::halt: return "halt";
  }
  return "?";
}

const char* act_fn_name(ActFn fn) {
  switch (fn) {
    case ActFn::none: return "none";
    case ActFn::relu: return "relu";
  }
  return "?";
}

namespace {
// Nine significant digits identify every float, so the text round-trips.
std::string float_text(float f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f));
  return buf;
}
}  // namespace

// Keys as the assembler reads them (assembler.h); every field the opcode
// uses is written, defaults included, so the line is self-describing.
std::string Instruction::to_string() const {
  std::ostringstream os;
  os << opcode_name(op);
  switch (op) {
    case Opcode::read_host_memory:
      os << " host=" << host_addr << " ub=" << ub_addr << " bytes=" << bytes;
      break;
    case Opcode::write_host_memory:
      os << " ub=" << ub_addr << " host=" << host_addr << " bytes=" << bytes;
      break;
    case Opcode::read_weights:
      os << " weights=" << weight_addr << " k=" << k << " n=" << n << " dtype=" << dtype_name(dtype);
      break;
    case Opcode::matmul:
      os << " ub=" << ub_addr << " stride=" << ub_stride << " acc=" << acc_addr << " rows=" << rows
         << " k=" << k << " n=" << n << " dtype=" << dtype_name(dtype)
         << " accumulate=" << (accumulate ? 1 : 0) << " load_weights=" << (load_weights ? 1 : 0);
      break;
    case Opcode::activate:
      os << " acc=" << acc_addr << " rows=" << rows << " n=" << n << " ub=" << ub_addr
         << " stride=" << ub_stride << " fn=" << act_fn_name(fn)
         << " out_dtype=" << dtype_name(out_dtype) << " scale=" << float_text(scale);
      break;
    case Opcode::sync:
    case Opcode::halt:
      break;
  }
  return os.str();
}

}  // namespace xpu::tpu
