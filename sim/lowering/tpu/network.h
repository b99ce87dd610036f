#pragma once
// Lowering of a whole workload graph to TPU programs, one program (or two,
// see weight-path operands) per layer group, with tensors flowing from layer
// to layer in the unified buffer.
//
// How a network becomes programs:
// - Layers are grouped: a conv2d / gemm / matmul absorbs a following
//   batchnorm (folded into its weights and bias: w' = w g / sqrt(v + eps),
//   b' = (b - mean) g / sqrt(v + eps) + beta) and a following elementwise
//   function (relu, relu6, clip, sigmoid, tanh, gelu) when each is the only
//   reader of the previous output: matmul + bias + activation run in the
//   Activate step. An add followed by such a function fuses the function
//   into the vector add (ResNet's residual add + relu).
// - Matrix ops: conv2d through im2col (Toeplitz) materialized in the UB by
//   vector copies (row m = (n, oh, ow), column (c * Kh + kh) * Kw + kw, the
//   order of sim/workload/im2col.h; 1x1 stride-1 unpadded convs read their
//   input directly), then per group one GEMM (network_gemm.cpp). Depthwise
//   (one input channel per group) is what the array really does with it:
//   per channel a GEMM with K = Kh * Kw rows and N = 1 column of the array.
//   A matmul whose B is an activation (attention) writes B to host memory
//   tile by tile (write_host_memory, program 1), the host copies it into
//   weight DRAM (ProgramStep::copies_before), and program 2 reads it as
//   weights (read_weights) -- the honest weight path of a weight-stationary
//   array; the bytes are reported (LayerPlan::weight_path_bytes).
// - Vector ops run on the activation unit (vector opcode, activation_unit.h)
//   UB to UB: elementwise functions and add/mul (scalar, per-column or
//   same-shape operands), batchnorm as scale_shift, softmax and layernorm
//   along the last axis, max/avg pooling as max/add chains over the window
//   taps into an fp32 scratch, global average pooling, transposes,
//   concatenation; reshape/flatten are views.
// - Tensors live in the UB (first-fit allocation, 64-byte aligned, freed
//   after their last reader). When a layer's working set does not fit, the
//   live tensors the layer does not read are spilled to host memory
//   (write_host_memory), farthest next use first, and read back
//   (read_host_memory) by their next reader; LayerPlan::io says what moved.
//   Graph inputs are staged in host memory and read in by an "input" step;
//   graph outputs are written back by an "output" step.
// - Layout: image tensors (rank 4, NCHW in the IR) are NHWC in the UB
//   (rows = pixels, columns = channels: what the MXU consumes); other
//   tensors are row-major in their logical order.
// - Precision: int8 networks hold activations as int8 with a per-tensor
//   symmetric scale (x ~= q * s; NetworkOptions::scales, calibrated by the
//   caller, default 1), weights as int8 with a per-tensor scale max|w| / 127,
//   biases as int32 in units of s_x * s_w; the Activate step dequantizes
//   (in_scale = s_x s_w), applies the function in fp32 and requantizes
//   (scale = 1 / s_y). Views keep their input's scale. bf16/fp16 networks
//   hold activations and weights in that type, biases and vector constants in
//   fp32; scratch (pool sums) is fp32.
// Errors (LoweringError naming the layer, before anything runs): operators
// or attributes the TPU lowering does not support (e.g. softmax over a
// non-last axis), a layer whose operands cannot fit the unified buffer even
// with everything else spilled, dtypes the MXU lacks.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/tpu/isa.h"
#include "models/tpu/tpu_config.h"
#include "sim/lowering/lowering_error.h"
#include "sim/numerics/mac.h"
#include "sim/workload/reference_executor.h"
#include "sim/workload/workload.h"

namespace xpu::lowering {

struct NetworkOptions {
  DType dtype = DType::int8;  // MXU input precision: int8, bf16 or fp16
  // int8: activation scale per tensor name (x ~= q * scale); missing: 1.
  std::map<std::string, float> scales;
  // Constant values (weights, biases, BN statistics) by tensor name, for
  // constants whose Tensor::values are empty; nullptr and no values: zeros
  // (timing runs).
  const workload::TensorValues* constants = nullptr;
};

// Where a tensor's bytes are.
struct TensorPlace {
  std::string tensor;
  workload::Shape shape;  // logical
  DType dtype = DType::int8;
  float scale = 1.0f;     // int8 only
  bool nhwc = false;      // image tensor stored NHWC
  uint64_t ub = 0;        // byte address in the unified buffer
  uint64_t bytes = 0;
};

// Bytes the runner writes to host memory before a program: a graph input,
// converted to the tensor's place (dtype, scale, layout).
struct HostInput {
  uint64_t host_addr = 0;
  TensorPlace place;
};
// Constant bytes (bias rows, BN/LN rows, operands of add/mul) staged in host
// memory and read into the UB by the program.
struct HostConstant {
  uint64_t host_addr = 0;
  std::vector<uint8_t> bytes;
};
// Weight-path operand: host memory -> weight DRAM between two programs.
struct WeightCopy {
  uint64_t host_addr = 0, weight_addr = 0, bytes = 0;
};

struct ProgramStep {
  tpu::Program program;
  std::vector<uint8_t> weight_image;  // written to weight DRAM at 0 before the program
  std::vector<HostInput> host_inputs;
  std::vector<HostConstant> host_constants;
  std::vector<WeightCopy> copies_before;
};

// One GEMM of a layer, for the bit-exact check in hardware order: A rows in
// the UB (a_ub, a_stride), B (K x N, dtype) in the weight image of
// `step`, output rows in the UB; the activate parameters to replay.
struct GemmCheck {
  size_t step = 0;
  uint64_t m = 0, n = 0, k = 0;
  uint64_t a_ub = 0, a_stride = 0;
  std::vector<uint8_t> b;  // K x N row-major, dtype
  uint64_t c_ub = 0, c_stride = 0;
  bool bias = false;
  std::vector<uint32_t> bias_bits;  // n values (int32 or fp32 bits)
  tpu::ActFn fn = tpu::ActFn::none;
  float p0 = 0, p1 = 0, in_scale = 1, scale = 1;
  DType out_dtype = DType::int8;
};

struct LayerPlan {
  std::string name;                 // first IR layer of the group ("input", "output" for staging)
  std::vector<std::string> layers;  // the IR layers it runs
  std::string op;                   // "conv2d+batchnorm+relu"
  std::string shape;                // GEMM view or output shape
  uint64_t macs = 0;
  std::string io = "resident";      // resident, or what was spilled / read back
  std::vector<ProgramStep> steps;
  TensorPlace output;               // where its result is right after it ran
  bool has_output = false;
  std::vector<GemmCheck> gemms;
  uint64_t weight_path_bytes = 0;   // activation operands sent to weight DRAM
  uint64_t im2col_bytes = 0;        // Toeplitz matrix bytes written in the UB
  uint64_t spill_bytes = 0;         // written to / read from host for capacity
  uint64_t array_cols_used = 0;     // N of its GEMMs (depthwise: 1), 0 for vector layers
  uint64_t array_rows_used = 0;     // K per pass (<= mxu.rows)
};

struct NetworkPlan {
  std::vector<LayerPlan> layers;
  std::map<std::string, TensorPlace> outputs;  // graph outputs, in host memory (ub = host address)
  uint64_t host_bytes = 0;
};

// Checks and lowers every layer; throws LoweringError naming the layer.
NetworkPlan lower_network(const tpu::TpuConfig& cfg, const workload::Workload& w, const NetworkOptions& opts);

}  // namespace xpu::lowering
