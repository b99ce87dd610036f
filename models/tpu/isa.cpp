#include "models/tpu/isa.h"

#include <algorithm>
#include <cmath>
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
    case Opcode::vector: return "vector";
  }
  return "?";
}

const char* vector_op_name(VectorOp op) {
  switch (op) {
    case VectorOp::copy: return "copy";
    case VectorOp::fill: return "fill";
    case VectorOp::act: return "act";
    case VectorOp::add: return "add";
    case VectorOp::mul: return "mul";
    case VectorOp::max: return "max";
    case VectorOp::scale_shift: return "scale_shift";
    case VectorOp::softmax: return "softmax";
    case VectorOp::layernorm: return "layernorm";
    case VectorOp::transpose: return "transpose";
    case VectorOp::moments: return "moments";
    case VectorOp::rmsnorm: return "rmsnorm";
    case VectorOp::rope: return "rope";
    case VectorOp::argmax: return "argmax";
  }
  return "?";
}

bool vector_reads_b(const Instruction& in) {
  switch (in.vop) {
    case VectorOp::add:
    case VectorOp::mul:
    case VectorOp::max:
    case VectorOp::scale_shift:
    case VectorOp::rmsnorm:
    case VectorOp::rope: return true;
    case VectorOp::layernorm: return in.bias;
    default: return false;
  }
}

namespace {
// Bytes spanned by `count` elements of `size` bytes `estride` elements apart.
uint64_t span(uint64_t count, uint64_t estride, uint64_t size) {
  return count == 0 ? 0 : ((count - 1) * estride + 1) * size;
}
}  // namespace

UbRange vector_read_range(const Instruction& in) {
  UbRange r;
  if (in.op != Opcode::vector || in.rows == 0 || in.n == 0) return r;
  if (in.vop != VectorOp::fill) {
    r.lo = in.ub_addr;
    r.hi = in.ub_addr + uint64_t(in.rows - 1) * in.ub_stride + span(in.n, in.elem_stride, dtype_bytes(in.dtype));
  }
  if (vector_reads_b(in)) {
    const uint64_t eb = dtype_bytes(in.dtype2);
    const bool per_column = in.vop == VectorOp::scale_shift || in.vop == VectorOp::layernorm;
    const uint64_t b_rows = in.vop == VectorOp::rmsnorm ? 1 : per_column ? 2 : in.rows;
    const uint64_t b_n = in.vop == VectorOp::rope ? in.k : in.n;  // rope: one cos/sin row of k values per row
    const uint64_t hi = in.ub_addr2 + (b_rows - 1) * in.ub_stride2 + span(b_n, in.elem_stride2, eb);
    if (r.lo == r.hi) {
      r.lo = in.ub_addr2;
      r.hi = hi;
    } else {
      r.lo = std::min(r.lo, in.ub_addr2);
      r.hi = std::max(r.hi, hi);
    }
  }
  return r;
}

UbRange vector_write_range(const Instruction& in) {
  UbRange r;
  if (in.op != Opcode::vector || in.rows == 0 || in.n == 0) return r;
  const uint64_t ob = dtype_bytes(in.out_dtype);
  r.lo = in.dst_addr;
  if (in.vop == VectorOp::transpose)
    r.hi = in.dst_addr + uint64_t(in.n - 1) * in.dst_stride + span(in.rows, in.dst_elem_stride, ob);
  else if (in.vop == VectorOp::moments)  // two values per row
    r.hi = in.dst_addr + uint64_t(in.rows - 1) * in.dst_stride + span(2, in.dst_elem_stride, ob);
  else if (in.vop == VectorOp::argmax)  // one value per row
    r.hi = in.dst_addr + uint64_t(in.rows - 1) * in.dst_stride + ob;
  else
    r.hi = in.dst_addr + uint64_t(in.rows - 1) * in.dst_stride + span(in.n, in.dst_elem_stride, ob);
  return r;
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
      // Optional fields only when used, so plain programs print without them.
      if (bias) os << " bias=" << bias_addr;
      if (in_scale != 1.0f) os << " in_scale=" << float_text(in_scale);
      if (act_fn_params(fn) > 0) os << " p0=" << float_text(p0) << " p1=" << float_text(p1);
      break;
    case Opcode::vector:
      os << " op=" << vector_op_name(vop) << " rows=" << rows << " n=" << n << " ub=" << ub_addr
         << " stride=" << ub_stride << " estride=" << elem_stride << " dtype=" << dtype_name(dtype)
         << " in_scale=" << float_text(in_scale) << " ub2=" << ub_addr2 << " stride2=" << ub_stride2
         << " estride2=" << elem_stride2 << " dtype2=" << dtype_name(dtype2)
         << " in_scale2=" << float_text(in_scale2) << " dst=" << dst_addr << " dst_stride=" << dst_stride
         << " dst_estride=" << dst_elem_stride << " out_dtype=" << dtype_name(out_dtype)
         << " fn=" << act_fn_name(fn) << " scale=" << float_text(scale) << " p0=" << float_text(p0)
         << " p1=" << float_text(p1) << " affine=" << (bias ? 1 : 0);
      if (vop == VectorOp::rope) os << " k=" << k;
      break;
    case Opcode::sync:
    case Opcode::halt:
      break;
  }
  return os.str();
}

}  // namespace xpu::tpu
