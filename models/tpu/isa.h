#pragma once
// The TPU instruction set (after TPU v1's CISC instructions). Programs come
// from lowering or from the text assembly (assembler.h) for hand-written
// tests. Field meanings per opcode:
//
// read_host_memory  host_addr -> ub_addr, `bytes` bytes (DMA in).
// write_host_memory ub_addr -> host_addr, `bytes` bytes (DMA out).
// read_weights      one k x n tile of `dtype`, stored densely row-major at
//                   weight_addr in weight DRAM, appended to the weight FIFO.
// matmul            `rows` input vectors of k elements (`dtype`), vector r at
//                   ub_addr + r * ub_stride, through the array against the
//                   tile in the active weight registers; results to
//                   accumulator rows acc_addr .. acc_addr + rows - 1, columns
//                   0 .. n - 1, added to them (`accumulate`) or replacing them.
//                   `load_weights`: first switch to the next tile from the
//                   weight FIFO (false reuses the current tile).
//                   Output-stationary arrays only, rows <= array rows (one
//                   pass): `keep_psums` leaves the partial sums in the PEs
//                   (no drain, no accumulator access) and `continue_psums`
//                   starts from them, so the K chunks of one output tile
//                   form one dot product over the whole K that drains once
//                   (see mxu_array.h, "Whole-K accumulation"). A keeping
//                   matmul must be followed by a continuing one of the same
//                   rows, n and dtype.
// activate          accumulator rows acc_addr .. + rows - 1, columns 0..n-1,
//                   through `fn`, converted to `out_dtype` (int8 output:
//                   requantized as sat(round_half_even(x * scale))), written
//                   to ub_addr + r * ub_stride.
//                   Optional (additive): `bias` adds a per-column
//                   bias row of n 4-byte values at UB bias_addr (int32 for
//                   int32 accumulators, fp32 for fp32 ones) before `fn`;
//                   `in_scale` multiplies the (fp32) value after the bias
//                   (int8 networks: the dequantization s_x * s_w); fn may be
//                   any function of act_fn.h (clip: bounds [p0, p1]).
//                   This is the fused matmul + bias + activation of the TPU's
//                   Activate step.
// vector            (additive) a UB -> UB vector operation `vop` on
//                   the activation unit: `rows` vectors of n elements;
//                   source A element e of row r at
//                     ub_addr + (r * ub_stride) + e * elem_stride * size(dtype),
//                   source B likewise at ub_addr2 / ub_stride2 / elem_stride2
//                   (dtype2; stride 0 broadcasts one row, elem stride 0 one
//                   element), destination at dst_addr / dst_stride /
//                   dst_elem_stride (out_dtype). Every element is converted
//                   to fp32 (int8: q * in_scale, B: q * in_scale2; float
//                   types exactly), computed in fp32, multiplied by `scale`
//                   and converted to out_dtype (int8: sat(rne(y)); bf16/fp16
//                   RNE). vops: copy (y = a), fill (y = p0, no source),
//                   act (y = fn(a)), add / mul / max (y = fn(a op b)),
//                   scale_shift (y = fn(a * b[0][e] + b[1][e]): B holds a
//                   scale row and, ub_stride2 bytes later, a shift row),
//                   softmax (per row: m = max, e = exp(a - m), s = sum e in
//                   index order, y = e / s), layernorm (per row: mean, then
//                   var = mean((a - mean)^2), y = (a - mean) / sqrt(var + p0)
//                   then * B scale row + B shift row when has B (bias flag)),
//                   transpose (A is rows x n, destination n x rows: element
//                   (r, e) goes to dst_addr + e * dst_stride + r * size),
//                   moments (per row: mean and var as layernorm computes
//                   them; writes two values per row, the mean at dst_addr +
//                   r * dst_stride and 1 / sqrt(var + p0) one dst_elem_stride
//                   later: LayerNormalization's Mean / InvStdDev outputs).
//                   Strides are in bytes for rows and in elements inside a
//                   row. Timing: activation_unit.h.
// sync              waits until every earlier instruction has completed.
// halt              ends the program once everything has completed.
#include <cstdint>
#include <string>
#include <vector>

#include "models/tpu/act_fn.h"
#include "sim/numerics/mac.h"

namespace xpu::tpu {

enum class Opcode { read_host_memory, write_host_memory, read_weights, matmul, activate, sync, halt, vector };
enum class VectorOp { copy, fill, act, add, mul, max, scale_shift, softmax, layernorm, transpose, moments, rmsnorm, rope,
                      argmax };

const char* opcode_name(Opcode op);
const char* vector_op_name(VectorOp op);

struct Instruction {
  Opcode op = Opcode::halt;
  uint64_t host_addr = 0;
  uint64_t ub_addr = 0;
  uint64_t bytes = 0;
  uint64_t weight_addr = 0;
  uint64_t ub_stride = 0;  // bytes between consecutive vectors in the UB
  uint32_t acc_addr = 0;
  uint32_t rows = 0;
  uint32_t k = 0;
  uint32_t n = 0;
  DType dtype = DType::int8;      // matmul inputs / read_weights tile
  bool accumulate = false;
  bool load_weights = true;
  bool keep_psums = false;      // matmul, OS: partial sums stay in the PEs
  bool continue_psums = false;  // matmul, OS: start from the kept partial sums
  ActFn fn = ActFn::none;
  DType out_dtype = DType::int32;  // activate output
  float scale = 1.0f;              // activate int8 requantization scale
  // ---- network extensions (activate bias/in_scale; the vector opcode) ----
  bool bias = false;               // activate: add the bias row; vector layernorm: affine B rows
  uint64_t bias_addr = 0;          // activate: UB address of n 4-byte bias values
  float in_scale = 1.0f;           // activate / vector: source A dequantization
  float in_scale2 = 1.0f;          // vector: source B dequantization
  float p0 = 0.0f, p1 = 0.0f;      // clip bounds (fn clip); fill value; layernorm epsilon
  VectorOp vop = VectorOp::copy;   // vector
  uint64_t ub_addr2 = 0;           // vector source B
  uint64_t ub_stride2 = 0;
  uint32_t elem_stride = 1;        // vector source A element stride (elements)
  uint32_t elem_stride2 = 1;       // vector source B element stride (0: one element broadcast)
  DType dtype2 = DType::fp32;      // vector source B element type
  uint64_t dst_addr = 0;           // vector destination
  uint64_t dst_stride = 0;
  uint32_t dst_elem_stride = 1;
  int source_line = 0;             // assembly line, 0 when generated

  std::string to_string() const;  // one line of assembly
};

// Unified-buffer byte ranges [lo, hi) an instruction reads and writes
// (helpers shared by the controller's scoreboard and the program
// checks). A vector's two sources are covered by one hull (conservative
// ordering); lo == hi when none.
struct UbRange {
  uint64_t lo = 0, hi = 0;
};
bool vector_reads_b(const Instruction& in);
UbRange vector_read_range(const Instruction& in);
UbRange vector_write_range(const Instruction& in);

struct Program {
  std::string name;
  std::vector<Instruction> code;
};

}  // namespace xpu::tpu
