#pragma once
// Weight-only int8 matrix-vector products of a decode step (int8 weights,
// 16-bit activations, fp32 out), y[m, N] = (x[m, K] Q^T) scale, the scheme
// of serving engines' weight-only GEMV kernels (TensorRT-LLM's
// weight-only int8, per output channel): each weight row n holds int8 values
// q[n, k] and one fp32 scale s[n] (symmetric: w = q s). The weights are
// dequantized in the kernel's main loop to exact fp32 integers, the row's
// dot product is accumulated in fp32 and scaled once at the end; the weight
// stream is half the 16-bit one, which is the point for memory-bound decode.
//
// As the 16-bit GEMV (gemv.h): a warp per weight row, 16-byte coalesced
// loads (a lane 16 weights of each 512-byte run), chunks of loads in flight,
// x widened to fp32 once per CTA in shared memory; CTAs of 8 warps, two per
// SM where their shared memory fits, else one (the int8 unpacking costs about 2.5 instructions per weight, more
// conversion work per byte than the 16-bit kernel's, so more warps share each
// SM to keep the loads in flight).
// int8 -> fp32 without a conversion instruction, on the FMA pipe: b = byte
// xor 0x80 (the value + 128, unsigned) read as a float is the denormal
// b 2^-149; ffma(it, 2^126, -128 2^-23) = q 2^-23 exactly. The dot product
// over q 2^-23 is the one over q scaled by 2^-23 exactly (a power of two
// scales every rounding; fp16 x times q 2^-23 and their partial sums are
// multiples of 2^-47, far above fp32 underflow), so the kernel's
// fmul(sum, 2^23) is the reference's sum over q bit for bit. bf16 x (down
// to 2^-133) could underflow there: with bf16 the kernel forms q itself,
// bits(0x4B000000 | b) = 2^23 + b, then fadd(-(2^23 + 128)), on the
// integer and FMA pipes.
//
// Layout: x [m, kp] 16-bit and Q [np, kp] int8 (a weight row contiguous in
// K), zero-padded: kp to 512, np to the CTA's rows; scale [np] fp32; y
// [m, np] fp32. Order (reference_gemv_w8): lane l accumulates
//   acc = ffma(x[k], q[k], acc) from +0, k = 512 c + 16 l + e (c, then e = 0..15),
// the row's sum is acc_0 + acc_1 + ... + acc_31 (fadd, in lane order),
// y = fmul(sum, s[n]), then the fused activation (TcEpilogue without bias).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/nn_kernels.h"

namespace xpu::lowering::gpu {

struct GemvW8Spec {
  uint64_t m = 1, n = 0, k = 0;
  DType in = DType::fp16;  // activations: fp16 or bf16
  TcEpilogue ep;           // activation only
};

struct GemvW8Layout {
  uint64_t kp = 0, np = 0;   // padded K and N
  uint32_t iters = 1;        // rows per warp (a CTA covers 8 iters rows; at most two CTAs per SM)
  uint64_t x = 0, w = 0, scale = 0, y = 0, bytes = 0;
};

// Why the kernel does not take the spec on cfg (empty: it does).
std::string gemv_w8_unsupported(const xpu::gpu::GpuConfig& cfg, const GemvW8Spec& s);
// Throws GpuLoweringError when gemv_w8_unsupported says why.
void lower_gemv_w8(const xpu::gpu::GpuConfig& cfg, const GemvW8Spec& s, GemvW8Layout& layout, NnPlan& plan);
// x [m, k] raw 16-bit elements, q [n, k] int8, scale [n] (unpadded);
// returns y [m, n] bits in the kernel's order.
std::vector<uint32_t> reference_gemv_w8(const GemvW8Spec& s, const uint16_t* x, const int8_t* q, const float* scale);

// Symmetric per-output-channel quantization of w [n, k] (fp32): s[n] =
// max |w[n, :]| / 127 (1 for an all-zero row), q = round-to-nearest-even(w / s)
// clamped to [-127, 127].
void quantize_rows_int8(uint64_t n, uint64_t k, const float* w, int8_t* q, float* scale);

}  // namespace xpu::lowering::gpu
