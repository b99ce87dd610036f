#pragma once
// conv2d (groups = 1) as an implicit GEMM on the tensor cores: the GEMM of
// gemm_tc.h (same tiles, double-buffered shared memory, warp tiles, fused
// epilogue: tc_mainloop.h) whose A tile is gathered from the input tensor
// on the fly instead of an im2col matrix in memory.
//
// GEMM view (as cuDNN/CUTLASS with NHWC): m = (n, oh, ow) row-major over
// batch x OH x OW, N = output channels, K in the order (kh, kw, c), channel
// innermost, every tap's channels zero-padded to cp:
//   * cp = C rounded up to the K tile (bk = 32) when C >= 32: each K tile is
//     one tap's block of 32 channels;
//   * else cp = the smallest power of two >= C of at least 4 bytes: a K
//     tile holds bk / cp whole taps; a 16-byte chunk of A is a part of one
//     tap (cp e >= 16) or 16 / (cp e) whole taps, each its own predicated
//     LDG.64/LDG.32 (CUTLASS's "few channels" case: the 7x7 stem with C = 3
//     pads to 4 channels, K = 196 instead of 49 x 32);
//   K = R S cp, padded with zero taps to the K tile.
// Device layouts: input NHWC with cp channels (padding channels zero);
// weights as the GEMM's B, kp x np row-major with row k = (kh S + kw) cp + c;
// output C row-major mp x np fp32 (int32 for int8; with ep.out16 the input's
// 16-bit type, rounded once after the epilogue), i.e. NHWC; bias np fp32.
//
// Address generation, all as timed integer instructions:
//   * once per thread (outside the K loop), for each of its A chunks (row m
//     of the CTA tile): (n, oh, ow) from m by multiply-shift division (exact
//     magic constants, checked on the host for every m < M), the chunk's
//     pixel base ((n H + oh sh - pt) W + ow sw - pl) cp e bytes, and two
//     validity masks: bit r of hmask is 0 <= oh sh - pt + r dh < H, bit s of
//     wmask likewise for columns (rows m >= M get hmask 0). Needs R, S <= 16.
//   * per K tile: the filter position advances by a few uniform predicated
//     instructions on (hbit = 1 << r, wbit = 1 << s, channel block) with an
//     incremental byte offset koff (deltas precomputed on the host, CUTLASS's
//     inc_next); per chunk: (hmask & hbit) and (wmask & wbit) -> predicate,
//     address = base + koff, @!p MOV 0 to the staging registers and
//     @p LDG (out-of-image taps and padding read as zeros).
// The CTA's tile row block comes from %ctaid (m -> (n, oh, ow) is not a
// translation of a per-CTA base, and the padding predicates depend on it),
// so this kernel does not qualify for the fast path (fast_path.h): it is
// always simulated in full. B, C and bias still come through per-CTA bases.
//
// On Ampere (use_conv_sm80) the same A gather feeds the cp.async
// multistage main loop (sm80_mainloop.h: 3-5 stages, ldmatrix, mma.sync)
// instead: each chunk piece is a predicated cp.async, zero-filled in shared
// memory where the tap is outside the image; K tiles are 64 bytes (32
// channels of fp16/bf16, 64 of int8), and int8 weights are K-major (np rows
// of kp: KRSC with every tap's channels padded to cp), as CUTLASS's sm80
// int8 convolutions read them.
//
// Values: bit-identical to reference_gemm_tc over the im2col matrix in this K
// order (reference_conv_tc), then reference_epilogue.
#include <cstdint>
#include <string>
#include <vector>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// floor(x / d) == (x mul) >> shift, without 32-bit overflow, for every
// x < limit (checked on the host): division by a constant as IMUL + SHR.
struct Magic {
  uint32_t mul = 1, shift = 0;
};
bool find_magic(uint64_t d, uint64_t limit, Magic& out);

struct ConvSpec {
  std::string name = "conv";
  uint64_t batch = 1, c = 0, h = 0, w = 0;  // input, NHWC
  uint64_t k = 0;                           // output channels
  uint32_t r = 1, s = 1;                    // filter height and width
  uint32_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  uint32_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  DType in = DType::fp16;                          // fp16, bf16 or int8
  xpu::gpu::AccType acc = xpu::gpu::AccType::f32;  // s32 for int8
  TcEpilogue ep;                                   // fp32 accumulation only
  bool sparse = false;  // weights pruned 2:4 along K, on mma.sp (gemm_sm80_sparse.h)
  uint64_t oh() const { return (h + pad_t + pad_b - uint64_t(dil_h) * (r - 1) - 1) / stride_h + 1; }
  uint64_t ow() const { return (w + pad_l + pad_r - uint64_t(dil_w) * (s - 1) - 1) / stride_w + 1; }
};

struct ConvLayout {
  uint64_t cp = 0;               // channels per tap in K and in the device input
  uint64_t m = 0, n = 0, k = 0;  // GEMM view: batch OH OW, output channels, R S cp (unpadded)
  uint64_t x = 0;                // input address (NHWC, cp channels)
  GpuGemmLayout g;               // B, C, bias and the padded sizes; g.a == x
  uint64_t res = 0;              // fused residual (ep.residual): m x n fp32 in C's layout and pitch
};

struct ConvPlan {
  xpu::gpu::Kernel kernel;
  xpu::gpu::Launch launch;  // launch.kernel points into this plan: do not copy after lowering
  ConvLayout layout;
  GemmTiling tiling;
};

// Tiling as choose_tiling for the GEMM view. Throws GpuLoweringError when the
// tensor path is missing, the shape is out of range (R, S > 16, empty output,
// offsets beyond 2^31 bytes, no exact 32-bit division constants) or the
// kernel does not fit.
// (S + taps per K tile must stay <= 30 for the tap masks.)
void lower_conv_implicit(const xpu::gpu::GpuConfig& cfg, const ConvSpec& spec, ConvPlan& plan);
// True when the convolution runs on the sm80 cp.async kernel (the Ampere shape, fp16/bf16/int8).
bool use_conv_sm80(const xpu::gpu::GpuConfig& cfg, DType in);

// x: batch x h x w x c (NHWC), w: k x r x s x c (KRSC), raw values of spec.in;
// bias: k fp32 values (spec.ep.bias). Resizes and zeroes the device memory.
void stage_conv_inputs(const ConvLayout& l, const ConvSpec& spec, const uint8_t* x, const uint8_t* w,
                       const float* bias, xpu::gpu::GlobalMemory& mem);
// ep.residual: m x n fp32 values (NHWC) into the residual buffer (after
// stage_conv_inputs); with ep.out16 as their 16-bit rounding (half_io.h).
void stage_conv_residual(const ConvLayout& l, const ConvSpec& spec, const float* res, xpu::gpu::GlobalMemory& mem);
// m x k raw results (NHWC): 32-bit words, or with ep.out16 the 16-bit bits zero-extended.
std::vector<uint32_t> read_conv_output(const ConvLayout& l, const ConvSpec& spec, const xpu::gpu::GlobalMemory& mem);
// The reference: im2col in the kernel's K order, reference_gemm_tc,
// reference_epilogue (res: m x n, with ep.residual).
std::vector<uint32_t> reference_conv_tc(const ConvLayout& l, const ConvSpec& spec, const uint8_t* x, const uint8_t* w,
                                        const float* bias, const float* res = nullptr);

}  // namespace xpu::lowering::gpu
