#pragma once
// C[M,N] = A[M,K] x B[K,N] as CUTLASS's sm80 multistage kernels run it on
// Ampere (tensor_core.mma: ampere_mma_sync), for fp16/bf16 (m16n8k16) and
// int8 -> int32 (m16n8k32):
//
// * The cp.async multistage ring, ldmatrix fragments and the epilogue are
//   sm80_mainloop.h's; A's chunks are rows of the row-major A.
// * The kernel is chosen as on Volta (gemm_select.h: the analytic model with
//   the config's rates, split-K 1..16 with the split-order reduction of
//   splitk_reduce.h, the grouped CTA raster) from this table of CTA tile,
//   K step (16-bit elements; int8 takes twice the elements, the same 64 or
//   128 bytes), warp tile and ring depth, largest first:
//     128 x 256 x 64   64 x 64   3 stages   large GEMMs (CUTLASS's 128x256x64_3)
//     256 x 128 x 64   64 x 64   3          large M
//     128 x 128 x 32   64 x 64   4
//     128 x 128 x 64   64 x 64   3
//     128 x 64 x 32    64 x 32   4          medium
//     64 x 128 x 32    32 x 64   4
//     64 x 64 x 32     32 x 32   5          small grids
//     64 x 64 x 64     32 x 32   4
//     32 x 64 x 64     32 x 32   5          M <= 32 (2 warps)
//     16 x 256 x 64    16 x 64   4          M <= 16: skinny GEMMs (decode
//     16 x 128 x 64    16 x 64   5            projections), M padded to one
//     16 x 64 x 64     16 x 32   5            m16 row tile; only the real
//                                             rows of C (or partials) are stored
//   GEMMs of M <= 16 choose among the 32- and 16-row tiles only.
//   The large tiles are CUTLASS's sm80 tensor-op tiles; the 32- and 16-row
//   ones are ours (CUTLASS's sm80 table stops at 64 rows; cuBLAS runs
//   skinny GEMMs with split-K GEMV-like kernels), with deep rings and long
//   K steps so that a CTA keeps several K tiles of B in flight.
// * int8 B is K-major in device memory (N x K, "TN" as CUTLASS's int8
//   kernels: ldmatrix cannot transpose bytes): GpuGemmLayout::b_k_major,
//   which stage_inputs / stage_b honour. int8 never splits K (int32
//   accumulators; the reduction adds fp32).
// Layout, launches and staging are gemm_grid.h's and gemm_tc.h's; values
// follow tc_reference.h with the shape's dot group (split-K:
// reference_gemm_tc_split).
#include <cstdint>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// True when `cfg` runs GEMMs with this kernel: the Ampere shape (cp.async
// capable) and fp16, bf16 or int8 inputs.
bool use_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);
// The table above for input type `in` (int8: K steps doubled).
std::vector<GemmTiling> sm80_candidates(DType in);
// Builds the kernel(s) and launch(es) into `plan` (as lower_gemm_tc); the
// chosen tiling, or spec.tiling (its stages: the asked ring depth, 3..5,
// reduced where shared memory or the split's K tiles are fewer).
void lower_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan,
                     const TcEpilogue& ep = {});

}  // namespace xpu::lowering::gpu
