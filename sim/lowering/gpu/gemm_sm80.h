#pragma once
// C[M,N] = A[M,K] x B[K,N] as CUTLASS's sm80 multistage kernels run it on
// Ampere (tensor_core.mma: ampere_mma_sync), for fp16/bf16 (m16n8k16) and
// int8 -> int32 (m16n8k32):
//
// * CTA tile 128 x 256 (8 warps of 64 x 64) when the grid still gives every
//   SM a CTA, else 128 x 128 (4 warps of 64 x 64) or 64 x 64 (4 warps of
//   32 x 32); K in steps of bk = 32 (16-bit; 64 for 128 x 256 over K >= 256)
//   or 64 (int8: the same 64 bytes).
// * The cp.async multistage ring, ldmatrix fragments and the epilogue are
//   sm80_mainloop.h's; A's chunks are rows of the row-major A.
// * int8 B is K-major in device memory (N x K, "TN" as CUTLASS's int8
//   kernels: ldmatrix cannot transpose bytes): GpuGemmLayout::b_k_major,
//   which stage_inputs / stage_b honour.
// Layout and staging are gemm_tc.h's (GpuGemmLayout, stage_inputs,
// read_output); values follow tc_reference.h with the shape's dot group.
#include <cstdint>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// True when `cfg` runs GEMMs with this kernel: the Ampere shape (cp.async
// capable) and fp16, bf16 or int8 inputs.
bool use_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);
// Builds the kernel and launch into `plan` (as lower_gemm_tc). `stages`: the
// shared-memory pipeline depth, 3..5 (reduced when the K tiles are fewer).
void lower_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan,
                     const TcEpilogue& ep = {}, uint32_t stages = 4);
GemmTiling choose_tiling_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);

}  // namespace xpu::lowering::gpu
