#include "models/tpu/program_check.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/common/errors.h"

namespace xpu::tpu {

namespace {

using u128 = unsigned __int128;

struct Checker {
  const std::string& prog;
  const TpuConfig& cfg;
  size_t index;
  const Instruction& in;

  [[noreturn]] void fail(const std::string& what) const {
    std::string where = "program '" + prog + "', instruction " + std::to_string(index) + " (";
    if (in.source_line > 0) where += "line " + std::to_string(in.source_line) + ": ";
    where += in.to_string() + "): ";
    throw xpu::InternalError(where + what);
  }

  void check_ub(uint64_t addr, uint32_t rows, uint64_t stride, uint64_t row_bytes) const {
    const u128 end = u128(addr) + u128(rows - 1) * stride + row_bytes;
    if (end > cfg.unified_buffer.capacity_bytes) {
      fail("unified-buffer range [" + std::to_string(addr) + ", " +
           (end > u128(UINT64_MAX) ? std::string("overflow") : std::to_string(uint64_t(end))) +
           ") exceeds unified_buffer.capacity_bytes = " + std::to_string(cfg.unified_buffer.capacity_bytes));
    }
  }
  void check_acc(uint32_t addr, uint32_t rows) const {
    if (uint64_t(addr) + rows > cfg.accumulators.entries) {
      fail("accumulator rows [" + std::to_string(addr) + ", " + std::to_string(uint64_t(addr) + rows) +
           ") exceed accumulators.entries = " + std::to_string(cfg.accumulators.entries));
    }
  }
  void check_array_dtype(DType t) const {
    const bool array_type = t == DType::int8 || t == DType::bf16 || t == DType::fp16;
    if (!array_type) fail("dtype " + std::string(dtype_name(t)) + " is not an MXU input type (int8, bf16, fp16)");
    const bool ok = t == DType::int8 ? cfg.mxu.supports_int8
                    : t == DType::bf16 ? cfg.mxu.supports_bf16
                                       : cfg.mxu.supports_fp16;
    if (!ok) fail("dtype " + std::string(dtype_name(t)) + " is not supported by this MXU (mxu.supports_" +
                  std::string(dtype_name(t)) + ": false)");
  }
  void check_kn(uint32_t k, uint32_t n) const {
    if (k == 0) fail("k must be >= 1");
    if (k > cfg.mxu.rows) fail("k = " + std::to_string(k) + " exceeds mxu.rows = " + std::to_string(cfg.mxu.rows));
    if (n == 0) fail("n must be >= 1");
    if (n > cfg.mxu.cols) fail("n = " + std::to_string(n) + " exceeds mxu.cols = " + std::to_string(cfg.mxu.cols));
  }
};

struct TileShape {
  Instruction fetch;  // the read_weights (its message if never used)
  size_t index;
};

}  // namespace

struct ProgramChecker::State {
  // Fetched, not yet loaded by a matmul: fifo[head..], a reused vector (a
  // deque of these allocated a block every two tiles).
  std::vector<TileShape> fifo;
  size_t head = 0;
  bool have_tile = false;
  TileShape current{};
  bool halted = false;
};

ProgramChecker::ProgramChecker(std::string program, const TpuConfig& cfg)
    : name_(std::move(program)), cfg_(cfg), st_(std::make_unique<State>()) {}
ProgramChecker::~ProgramChecker() = default;

void ProgramChecker::check(const Instruction& in) {
  const TpuConfig& cfg = cfg_;
  const Checker c{name_, cfg, index_++, in};
  auto& [fifo, head, have_tile, current, halted] = *st_;
  if (halted) c.fail("instruction after halt");
  switch (in.op) {
    case Opcode::read_host_memory:
    case Opcode::write_host_memory:
      if (in.bytes == 0) c.fail("bytes must be >= 1");
      c.check_ub(in.ub_addr, 1, 0, in.bytes);
      break;
    case Opcode::read_weights:
      c.check_array_dtype(in.dtype);
      c.check_kn(in.k, in.n);
      fifo.push_back(TileShape{in, c.index});
      break;
    case Opcode::matmul: {
      c.check_array_dtype(in.dtype);
      c.check_kn(in.k, in.n);
      if (in.rows == 0) c.fail("rows must be >= 1");
      const uint64_t row_bytes = uint64_t(in.k) * dtype_bytes(in.dtype);
      if (in.rows > 1 && in.ub_stride < row_bytes) {
        c.fail("stride " + std::to_string(in.ub_stride) + " is smaller than one input vector (" +
               std::to_string(row_bytes) + " bytes)");
      }
      c.check_ub(in.ub_addr, in.rows, in.ub_stride, row_bytes);
      c.check_acc(in.acc_addr, in.rows);
      if (in.load_weights) {
        if (head == fifo.size()) c.fail("load_weights=1 but no read_weights precedes it with a tile left in the FIFO");
        current = fifo[head++];
        if (head == fifo.size()) {
          fifo.clear();
          head = 0;
        } else if (head >= 64 && 2 * head >= fifo.size()) {  // a FIFO that never drains stays bounded
          fifo.erase(fifo.begin(), fifo.begin() + std::ptrdiff_t(head));
          head = 0;
        }
        have_tile = true;
      } else if (!have_tile) {
        c.fail("load_weights=0 but no earlier matmul of this program loaded a tile");
      }
      const Instruction& t = current.fetch;
      if (t.k != in.k || t.n != in.n || t.dtype != in.dtype) {
        c.fail("k, n, dtype = " + std::to_string(in.k) + ", " + std::to_string(in.n) + ", " +
               std::string(dtype_name(in.dtype)) + " do not match the weight tile (" + std::to_string(t.k) +
               ", " + std::to_string(t.n) + ", " + std::string(dtype_name(t.dtype)) +
               ") fetched by instruction " + std::to_string(current.index));
      }
      break;
    }
    case Opcode::activate: {
      if (in.rows == 0) c.fail("rows must be >= 1");
      if (in.n == 0) c.fail("n must be >= 1");
      if (in.n > cfg.mxu.cols) c.fail("n = " + std::to_string(in.n) + " exceeds mxu.cols = " + std::to_string(cfg.mxu.cols));
      const uint64_t row_bytes = uint64_t(in.n) * dtype_bytes(in.out_dtype);
      if (in.rows > 1 && in.ub_stride < row_bytes) {
        c.fail("stride " + std::to_string(in.ub_stride) + " is smaller than one output row (" +
               std::to_string(row_bytes) + " bytes)");
      }
      c.check_ub(in.ub_addr, in.rows, in.ub_stride, row_bytes);
      c.check_acc(in.acc_addr, in.rows);
      if (in.out_dtype == DType::int8 && !std::isfinite(in.scale)) c.fail("scale must be finite for int8 output");
      const bool raw = in.out_dtype == DType::int32 || in.out_dtype == DType::fp32;
      const bool extended = in.bias || in.in_scale != 1.0f || (in.fn != ActFn::none && in.fn != ActFn::relu);
      if (raw && in.out_dtype == DType::int32 && extended)
        c.fail("int32 output keeps the raw accumulators: no bias, in_scale or fn beyond relu");
      if (!std::isfinite(in.in_scale)) c.fail("in_scale must be finite");
      if (in.bias) c.check_ub(in.bias_addr, 1, 0, uint64_t(in.n) * 4);
      break;
    }
    case Opcode::vector: {
      if (in.rows == 0) c.fail("rows must be >= 1");
      if (in.n == 0) c.fail("n must be >= 1");
      if (in.out_dtype == DType::int32) c.fail("a vector's destination must be int8, bf16, fp16 or fp32");
      if (!std::isfinite(in.scale) || !std::isfinite(in.in_scale) || !std::isfinite(in.in_scale2))
        c.fail("scale, in_scale and in_scale2 must be finite");
      if ((in.vop == VectorOp::layernorm || in.vop == VectorOp::softmax) && in.n < 1) c.fail("empty row");
      if (in.vop == VectorOp::rope && (in.k < 2 || in.k % 2 != 0 || in.n % in.k != 0))
        c.fail("rope: k (the head dimension) must be even and divide n");
      const UbRange rd = vector_read_range(in), wr = vector_write_range(in);
      if (rd.hi > cfg.unified_buffer.capacity_bytes || wr.hi > cfg.unified_buffer.capacity_bytes)
        c.fail("unified-buffer range [" + std::to_string(std::min(rd.lo, wr.lo)) + ", " +
               std::to_string(std::max(rd.hi, wr.hi)) + ") exceeds unified_buffer.capacity_bytes = " +
               std::to_string(cfg.unified_buffer.capacity_bytes));
      // Sources and destination may not overlap unless the op is elementwise
      // in place (same address, strides): rows are processed one at a time.
      const bool in_place = in.vop != VectorOp::transpose && in.dst_addr == in.ub_addr &&
                            in.dst_stride == in.ub_stride && in.dst_elem_stride == in.elem_stride &&
                            dtype_bytes(in.dtype) == dtype_bytes(in.out_dtype);
      if (!in_place && in.vop != VectorOp::fill) {
        const uint64_t a_hi = in.ub_addr + uint64_t(in.rows - 1) * in.ub_stride +
                              (uint64_t(in.n - 1) * in.elem_stride + 1) * dtype_bytes(in.dtype);
        if (in.ub_addr < wr.hi && wr.lo < a_hi) c.fail("source A overlaps the destination (not in place)");
      }
      break;
    }
    case Opcode::sync:
      break;
    case Opcode::halt:
      halted = true;
      break;
  }
}

void ProgramChecker::finish() const {
  if (st_->head == st_->fifo.size()) return;
  const TileShape& t = st_->fifo[st_->head];
  Checker{name_, cfg_, t.index, t.fetch}.fail(
      "the tile it fetches is never used by a matmul with load_weights=1 (weights do not carry over between programs)");
}

void validate_program(const Program& prog, const TpuConfig& cfg) {
  ProgramChecker c(prog.name, cfg);
  for (const Instruction& in : prog.code) c.check(in);
  c.finish();
}

}  // namespace xpu::tpu
