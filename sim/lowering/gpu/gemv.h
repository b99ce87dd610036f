#pragma once
// Matrix-vector products of a decode step, y[m, N] = x[m, K] W^T (m <= 4
// rows, 16-bit x and W, fp32 out), on the SIMT pipes as serving engines'
// batch-1 GEMV kernels run them: a warp per weight row streams the row
// with 16-byte loads (a lane 8 elements of each 512-byte run), x widened
// to fp32 once per CTA in shared memory, the bias added in the epilogue. Tensor-core tiles of 16+ rows
// waste 15/16 of their math and need split-K to get enough loads in
// flight; a GEMV keeps every SM's loads coalesced and in flight instead.
//
// Layout: x [m, kp] and W [np, kp] (a weight row contiguous in K, as a
// Linear layer's [out, in] weight is stored), zero-padded: kp to 256, np to
// the CTA's rows; y [m, np] fp32; bias [np] fp32. CTA of 4 warps; warp w
// computes rows w, w + 4, ... of its CTA's block with up to 23 of its
// 16-byte loads in flight (all of them when its rows are that few). Order (reference_gemv): lane l accumulates
//   acc = ffma(x[k], w[k], acc) from +0, k = 256 c + 8 l + e (c, then e = 0..7),
// the row's value is acc_0 + acc_1 + ... + acc_31 (fadd, in lane order),
// then + bias[n] (fadd), + the residual (fadd; a 16-bit tensor res [m, np]
// of the run's type, widened exactly, as a following residual add reads it:
// the o- and down-projections' skip connections, as TensorRT-LLM and
// FasterTransformer fuse them) and the fused activation.
//
// Gated (a SwiGLU MLP's gate and up projections merged, as vLLM's
// MergedColumnParallelLinear, with the SiLU-and-mul in the epilogue as
// TensorRT-LLM's fused gated MLP does it): W's rows are the gate's n/2 then
// the up projection's n/2; each CTA's block holds half gate rows and the
// same up rows (row f of the gate at block row f mod (2 iters), its up row
// 2 iters further), so one thread has both sums: y[i][f] = act(gate sum) x
// up sum (fmul), n/2 outputs per x row. No bias or residual.
//
// RMSNorm folded in (norm: as FlashNorm and MLC-LLM fold a decoder's norm
// into the next matmul; the norm's launch and its output's round trip go):
// x is the norm's input and every CTA normalizes it while staging it, kp a
// multiple of 1024 so thread t's 8-element chunks of row i are the steps
// s = 0 .. kp/1024 - 1 at elements 8 (128 s + t) + e. Order
// (reference_gemv with gamma): thread t accumulates
//   q_t = ffma(x[k], x[k], q_t) from +0 over its chunks (s, then e = 0..7),
// then a shared-memory tree over the 128 threads (q_t += q_{t + st} for
// t < st, st = 64, 32, .., 1), mean = q_0 x fp32(1 / k) (fmul),
// inv = rsq(mean + eps) (fadd; rsq as 1 / sqrtf), x'[k] = x[k] inv gamma[k]
// (two fmul, fp32 gamma), rounded once to the 16-bit type (the norm's
// output as a 16-bit GEMV reads it); then the GEMV on x'.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/nn_kernels.h"

namespace xpu::lowering::gpu {

struct GemvSpec {
  uint64_t m = 1, n = 0, k = 0;
  DType in = DType::fp16;  // fp16 or bf16
  TcEpilogue ep;           // bias, residual and activation (out16 ignored: y is fp32)
  bool gated = false;      // rows [0, n/2) gate, [n/2, n) up: y = act(gate) x up
  bool norm = false;       // x is an RMSNorm's input, normalized in the kernel (gamma [kp] fp32)
  float eps = 1e-5f;       // the norm's epsilon
  uint64_t outputs() const { return gated ? n / 2 : n; }  // per x row
};

struct GemvLayout {
  uint64_t kp = 0, np = 0;   // padded K and N
  uint32_t iters = 1;        // rows per warp (a CTA covers 4 iters rows)
  uint64_t x = 0, w = 0, y = 0, bytes = 0;
  uint64_t bias = 0;         // np fp32 values, when the epilogue adds a bias
  uint64_t res = 0;          // m x np 16-bit values, when the epilogue adds a residual
  uint64_t gamma = 0;        // kp fp32 values (zero-padded), when the norm is folded in
  uint64_t ldy = 0;          // y's row pitch in elements (np; gated: np / 2)
  uint64_t half = 0, gate_rows = 0;  // gated: gate rows per CTA block, and n / 2 (0: not gated)
  // W's row (in [0, np)) holding logical weight row j (in [0, n)).
  uint64_t row(uint64_t j) const {
    if (half == 0) return j;
    const bool up = j >= gate_rows;
    const uint64_t f = up ? j - gate_rows : j;
    return f / half * 2 * half + (up ? half : 0) + f % half;
  }
};

// Why the kernel does not take the spec on cfg (empty: it does).
std::string gemv_unsupported(const xpu::gpu::GpuConfig& cfg, const GemvSpec& s);
// Throws GpuLoweringError when gemv_unsupported says why.
void lower_gemv(const xpu::gpu::GpuConfig& cfg, const GemvSpec& s, GemvLayout& layout, NnPlan& plan);
// A warp parks its 32 lane sums of a row at words row x kLaneSumStride +
// lane: the stride of 33 puts lane l of 32 consecutive rows in 32 distinct
// banks, so the epilogue's threads (a row each) read without conflicts (a
// stride of 32 put all 32 in one bank: 32 wavefronts per read).
constexpr uint32_t kLaneSumStride = 33;
// acc = the 32 lanes' partial sums at shared [tmp + blk], added in lane
// order (lane 0 first), loaded 8 at a time into xv..xv+7: the order
// reference_gemv and the weight-only int8 GEMV's reference follow.
void emit_lane_order_sum(xpu::gpu::KernelBuilder& kb, uint8_t acc, uint8_t tmp, int32_t blk, uint8_t xv);
// K padded as the kernel pads it (256; 1024 with the norm folded in).
uint64_t gemv_kp(const GemvSpec& s);
// x [m, k] and w [n, k] raw 16-bit elements (unpadded, logical row order),
// bias [n] (needed when s.ep.bias), res [m, n] the residual's widened
// values (when s.ep.residual), gamma [k] (when s.norm: x is the norm's
// input); returns y [m, s.outputs()] bits.
std::vector<uint32_t> reference_gemv(const GemvSpec& s, const uint16_t* x, const uint16_t* w,
                                     const float* bias = nullptr, const float* res = nullptr,
                                     const float* gamma = nullptr);
// The folded norm's output in the kernel's order (gemv.h): x [m, k] 16-bit
// bits in, the normalized row's 16-bit bits out.
std::vector<uint16_t> reference_gemv_norm(const GemvSpec& s, const uint16_t* x, const float* gamma);

}  // namespace xpu::lowering::gpu
