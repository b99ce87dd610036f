#pragma once
// C[M,N] = A[M,K] x B[K,N] on the tensor cores: a CUTLASS-like tiled kernel.
//
// * CTA tile BM x BN, K stepped BK = 32 at a time through shared memory,
//   double-buffered: while the warps compute on one stage, each thread's
//   LDG.128s of the next A and B tiles are in flight in registers, stored to
//   the other stage (STS.128) after the compute; one bar.sync per K step.
// * Warps tile the CTA tile (WM x WN each, 64 x 64: 4 warps per 128 x 128
//   CTA, 2 CTAs per SM by registers) and keep (WM/16) x (WN/16) wmma
//   accumulators; the large warp tile halves shared-memory fragment traffic
//   per HMMA relative to 64 x 32, which the MIO data path needs; per 16-wide k slice a warp loads its B fragments, then
//   each A fragment in turn and issues that row's mmas as one batch
//   (set-major, as the compiler interleaves independent HMMA chains).
// * Shared rows are padded by 16 bytes so fragment loads hit distinct banks;
//   A-tile stores interleave rows so STS.128 phases are conflict-free too.
// * M, N, K are padded up to the tiles with zeros (extra C rows/columns are
//   dropped; zero K padding adds +0 dot products: see tc_reference.h).
// * CTA identity enters only through per-CTA buffer bases (A, B, C, bias),
//   never %ctaid, so every CTA runs the same instruction stream (fast path).
// * Fused epilogue (TcEpilogue, fp32 accumulation only): each lane loads the
//   bias of its accumulator columns (C fragments hold 8 consecutive columns
//   per lane: two LDG.128 per 16-column fragment) during the last K tile's
//   compute, into the then idle prefetch registers; before the store it adds
//   it with one FADD per accumulator (fp32, round to nearest) and
//   applies the activation as the map kernels do (activation.h: relu =
//   FMNMX(y, +0); clip(lo, hi) = -FMNMX(-FMNMX(y, lo), -hi), ...), in place,
//   with the then free address registers as scratch. reference_epilogue
//   (tc_reference.h) computes the same independently.
// The main loop is shared with the implicit-GEMM convolution (tc_mainloop.h,
// conv_implicit.h).
// * 16-bit C (TcEpilogue::out16): after bias, residual and activation each
//   fp32 result is rounded once to `in` (half_io.h: F2F for fp16, integer
//   round-to-nearest-even for bf16), packed in pairs into the f16
//   accumulator layout and stored; a fused residual is then read as 16-bit
//   fragments and widened. Under split-K the reduction does the same.
// Values: A, B row-major in `in` (fp16, bf16 or int8); C row-major fp32,
// fp16 (acc = f16, or out16: `in`) or int32; bias fp32.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/lowering_error.h"
#include "sim/numerics/mac.h"

namespace xpu::lowering::gpu {

// The one lowering error of every machine (lowering_error.h), under the
// name the GPU lowering has always thrown.
using GpuLoweringError = lowering::LoweringError;

// Applied to the fp32 accumulators before the store: y = act(acc + bias[col]).
// With `residual`: y = act((acc + bias[col]) + res[row][col]), each add an
// fp32 round to nearest (a residual add fused as inference stacks fuse it;
// res in C's type, layout and pitch; the implicit-GEMM convolution, the
// GEMM kernels and the split-K reduction; not the 2:4 sparse kernels).
struct TcEpilogue {
  bool bias = false;
  Activation act = Activation::none;
  float p0 = 0, p1 = 6;  // the activation's parameters (clip: lo, hi)
  bool residual = false;
  // C in the input's 16-bit type (fp16/bf16, fp32 accumulation): the fp32
  // result of bias, residual and activation rounded once to 16 bits
  // (half_io.h) as the last step; a fused residual is then read in that
  // type too (the producer's 16-bit output). False: raw fp32 C.
  bool out16 = false;
  // int8 C (int8 inputs, int32 accumulation): the requantizing epilogue of
  // int8_epilogue.h, y = act((float(acc) dq + bias) + res) requantized with
  // qs to int8 (round to nearest even, saturated), stored as int8; a fused
  // residual is then int8 too, read as q rs. False: raw int32 C.
  bool out8 = false;
  float dq = 1, qs = 1, rs = 1;
  bool active() const { return bias || residual || act != Activation::none; }
};

// One tensor-core GEMM kernel configuration (gemm_select.h chooses it).
struct GemmTiling {
  uint32_t bm = 128, bn = 128, bk = 32;
  uint32_t wm = 64, wn = 64;  // warp tile
  uint32_t stages = 2;        // shared-memory stages (the main loop double-buffers)
  uint32_t split_k = 1;       // K split over this many CTAs per tile, summed by a second kernel
  uint32_t group_m = 1;       // CTA raster: groups of group_m tile rows, column by column inside
  // "128x128x32_w64x64_s2" (+ "_splitk4"): the kernel's name in reports.
  std::string name() const;
};

struct GpuGemmSpec {
  std::string name = "gemm";
  uint64_t m = 0, n = 0, k = 0;
  DType in = DType::fp16;  // fp16, bf16, int8 (tensor cores) or fp32 (SIMT FFMA, gemm_simt.h)
  xpu::gpu::AccType acc = xpu::gpu::AccType::f32;
  // Set: this kernel instead of the heuristic's choice (tests, benchmarks).
  std::optional<GemmTiling> tiling = std::nullopt;
  // B is weights pruned to 2:4 along K, run on sparse tensor cores (gemm_sm80_sparse.h).
  bool sparse = false;
  // Leading dimensions of A, B and C in elements, as a library call gets
  // them (lda, ldb, ldc of row-major matrices); 0: the kernel's own layout
  // (rows padded to the tile, 16-byte aligned). The tensor-core kernel
  // loads an operand (stores C) with the widest access its rows' alignment
  // allows: 16 bytes, or 8, 4, 2 where ld x element bytes is not a multiple
  // of 16, as a library's narrow-load kernel must. The simulated rows stay
  // padded to the tile (zeros, so no predication), at a pitch with the same
  // alignment: padded row bytes + (ld bytes mod 16).
  uint64_t lda = 0, ldb = 0, ldc = 0;
};

// Device memory layout of one GEMM.
struct GpuGemmLayout {
  uint64_t mp = 0, np = 0, kp = 0;  // padded sizes
  uint64_t a = 0, b = 0, c = 0;     // byte addresses
  uint64_t bias = 0;                // np fp32 values (zero padded), when the epilogue adds a bias
  uint64_t res = 0;                 // a fused residual (ep.residual): mp x np in C's type and pitch
  uint64_t lda = 0, ldb = 0, ldc = 0;  // row pitches in bytes
  uint32_t a_width = 16, b_width = 16, c_width = 16;  // widest global access their alignment allows
  uint64_t bytes = 0;               // device memory used
  uint32_t in_bytes = 2, out_bytes = 4;
  // Split-K: split_k partial products of kslice K each, fp32, mp x np apiece
  // from `work` (split s at work + s x mp x np x 4).
  uint64_t kslice = 0, work = 0;
  uint32_t dot_group = 4;           // the tensor-core shape's products per accumulator add (tc_reference.h)
  bool b_k_major = false;           // B stored N x K (np rows of ldb bytes), as int8 on mma.sync wants
  // 2:4 sparse weights (gemm_sm80_sparse.h): B holds np rows of the kept
  // kp / 2 values (ldb bytes apart), `meta` their metadata for CTA columns
  // of meta_bn channels and mma k steps of meta_k.
  bool sparse = false;
  DType sparse_in = DType::fp16;
  uint64_t meta = 0;
  uint32_t meta_bn = 0, meta_k = 0;
};

struct GpuGemmPlan {
  xpu::gpu::Kernel kernel;
  xpu::gpu::Launch launch;  // launch.kernel points into this plan: do not copy the plan after lowering
  GpuGemmLayout layout;
  GemmTiling tiling;
  // Split-K: the second kernel (splitk_reduce.h), launched after `launch`.
  xpu::gpu::Kernel reduce_kernel;
  xpu::gpu::Launch reduce;
  bool split() const { return tiling.split_k > 1; }
  // The plan's launches in stream order.
  std::vector<const xpu::gpu::Launch*> launches() const {
    if (split()) return {&launch, &reduce};
    return {&launch};
  }
};

// Chooses the kernel (gemm_select.h: tile, warp tile, stages, split-K,
// raster; spec.tiling when set) and builds it and its launch(es). Throws
// GpuLoweringError when the config lacks the input type's tensor path or the
// kernel cannot fit an SM. `ep`: the fused epilogue (fp32 accumulation only;
// a bias adds buffer 3, a residual buffer 4 (layout.res); under split-K the
// reduction applies it).
void lower_gemm_tc(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan,
                   const TcEpilogue& ep = {});
// The tile of the implicit-GEMM convolution, whose CTAs find their rows from
// %ctaid in row-major raster order (no split-K, no swizzle): 128x128 when
// both M and N reach it and its grid gives more than half the SMs a CTA,
// else 64x64.
GemmTiling choose_tiling(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);
// Throws GpuLoweringError unless cfg has the tensor-core path of `in` and acc fits it.
void check_tc_path(const xpu::gpu::GpuConfig& cfg, DType in, xpu::gpu::AccType acc, const std::string& name);

// Host-side staging: A (m x k) and B (k x n) row-major of the spec's input
// type, written into the padded device layout; C read back as m x n
// row-major raw results (4-byte fp32/int32, 2-byte fp16).
// The device memory is resized to the layout and zeroed (the padding).
void stage_inputs(const GpuGemmLayout& l, const GpuGemmSpec& spec, const uint8_t* a, const uint8_t* b,
                  xpu::gpu::GlobalMemory& mem);
std::vector<uint8_t> read_output(const GpuGemmLayout& l, const GpuGemmSpec& spec, const xpu::gpu::GlobalMemory& mem);
// B (k x n row-major) into the layout at byte offset `off` (a batch's
// copy), transposed when the layout is K-major.
void stage_b(const GpuGemmLayout& l, uint64_t k, uint64_t n, const uint8_t* b, xpu::gpu::GlobalMemory& mem,
             uint64_t off = 0);
// n fp32 bias values (after stage_inputs, which zeroes the padding).
void stage_bias(const GpuGemmLayout& l, uint64_t n, const float* bias, xpu::gpu::GlobalMemory& mem);
// Bytes per element of C.
uint32_t out_bytes(const GpuGemmSpec& spec, const TcEpilogue& ep = {});

}  // namespace xpu::lowering::gpu
