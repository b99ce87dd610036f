#pragma once
// GPU kernels of the decoder-LLM ops that are neither maps nor row
// reductions (nn_kernels.h has rmsnorm and argmax as row kernels).
//   rope  one CTA per (outer, position) row of H heads x d elements; thread
//         e handles the pair (j, j + d/2) of head e / (d/2), j = e % (d/2):
//           y[j]       = fadd(fmul(a, c), fmul(b, -s))
//           y[j + d/2] = fadd(fmul(b, c), fmul(a, s))
//         bit-exact against the reference (llm_ops.h): -s is exact and
//         b (-s) = -(b s) rounds symmetrically.
#include <cstdint>
#include <vector>

#include "sim/lowering/gpu/nn_kernels.h"

namespace xpu::lowering::gpu {

// The two 16-bit elements of register x (fp16 or bf16, low half first)
// widened exactly to fp32 in lo and hi (neither may be x); and one on the host.
void emit_widen_pair(xpu::gpu::KernelBuilder& kb, DType in, uint8_t lo, uint8_t hi, uint8_t x);
float widen_half(DType in, uint16_t h);

struct RopeSpec {
  uint64_t rows = 0;   // outer x positions
  uint64_t heads = 0;  // H
  uint64_t d = 0;      // head dimension (d/2 a power of two)
  std::vector<uint64_t> x, y, cos, sin;  // per row: its H x d block, its position's d/2 table rows
};
void lower_rope(const xpu::gpu::GpuConfig& cfg, const RopeSpec& s, NnPlan& plan);

// rmsnorm of rows whose n elements split into 16-byte loads over 128
// threads (n a multiple of 512, at most 12288): a CTA per row loads its
// whole row and the scale at once (every load in flight, not one 4-byte
// load per loop trip as the generic row kernel), then the same arithmetic:
// acc = ffma(x, x, acc) per thread over its elements, a shared-memory tree
// sum, mean = sum (1/n), inv = rsq(mean + eps), y = x inv scale.
bool rmsnorm_vectorizes(uint64_t n);
void lower_rmsnorm_vec(const xpu::gpu::GpuConfig& cfg, const RowSpec& s, NnPlan& plan);

// Greedy argmax over a row of logits (n a multiple of 4) with every load in
// flight: a CTA of up to 1024 threads per row, thread t holds the 16-byte
// loads t, t + T, ... in registers; the row's maximum by a tree over the CTA
// (fmax ignores NaN), then the largest -index among the thread's elements
// equal to it, a second tree, y = -that: the same result, bit for bit, as
// the generic row kernel (one 4-byte load per loop trip, the row read twice:
// 63 us for a 32000-entry vocabulary on the A100 configuration).
bool argmax_vectorizes(const xpu::gpu::GpuConfig& cfg, uint64_t n);
void lower_argmax_vec(const xpu::gpu::GpuConfig& cfg, const RowSpec& s, NnPlan& plan);

}  // namespace xpu::lowering::gpu
