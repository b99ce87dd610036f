#pragma once
// fp32 reference executor: the functional definition of every IR op, as
// direct loops in a documented accumulation order. It is not the simulator:
// models are checked against it. Arithmetic is IEEE fp32 with every product
// and sum rounded separately (the build forbids FMA contraction), in this
// order:
//   gemm    acc = 0; for p in 0..K-1: acc += A'[i,p] * B'[p,j];
//           y = acc; if alpha != 1: y = alpha * y; if C: y += beta * C[i,j]
//           (beta * C computed first; beta == 1 multiplies exactly)
//   matmul  the same per batch index, then + bias[j]
//   conv2d  acc = 0; for c in group, kh, kw (row-major, input positions in
//           the padding skipped): acc += x * w; then acc + bias
//   max_pool  max over the window's in-input positions (pads never win)
//   avg_pool  sum over the window's in-input positions in row-major order,
//           divided by their count, or with count_include_pad by the window
//           positions inside the padded input
//   global_avg_pool  sum over H x W row-major, divided by H*W
//   activations: the `ref` of their rows in op_table.cpp, e.g.
//     relu max(x, 0); relu6 min(max(x, 0), 6); clip min(max(x, lo), hi)
//     sigmoid 1 / (1 + expf(-x)); tanh tanhf(x)
//     gelu  0.5x(1 + erff(x / sqrt2)), or with tanh: 0.5x(1 + tanhf(
//           sqrt(2/pi) (x + 0.044715 x^3)))
//   add/mul broadcast elementwise
//   softmax m = max; e_i = expf(x_i - m); s = sum e_i in index order; e_i / s
//   layernorm  mean = (sum x) / n; d = x - mean; var = (sum d*d) / n;
//           inv = 1 / sqrtf(var + eps); y = d * inv * scale + bias
//           (outputs Mean and InvStdDev when asked)
//   batchnorm  y = (x - mean) / sqrtf(var + eps) * scale + bias
//   reshape/flatten copy; transpose permutes; concat copies along the axis
//   rmsnorm, rope, gather, argmax: llm_ops.h
#include <map>
#include <string>
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload {

using TensorValues = std::map<std::string, std::vector<float>>;

// Runs every layer in order. `feeds` holds the graph inputs' values (and
// values for constants that have none, e.g. YAML weights). Returns every
// tensor's values. Throws std::invalid_argument for a missing or mis-sized
// value, config::ConfigError past kMaxValueTensorBytes (check_values_fit).
TensorValues execute(const Workload& w, const TensorValues& feeds);

}  // namespace xpu::workload
