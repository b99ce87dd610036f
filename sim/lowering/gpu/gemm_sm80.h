#pragma once
// C[M,N] = A[M,K] x B[K,N] as CUTLASS's sm80 multistage kernels run it on
// Ampere (tensor_core.mma: ampere_mma_sync):
//
// * CTA tile 128 x 256 (8 warps of 64 x 64) when the grid still gives every
//   SM a CTA, else 128 x 128 (4 warps of 64 x 64) or 64 x 64 (4 warps of
//   32 x 32); K in steps of bk = 32.
// * A `stages`-deep (3-5) shared-memory ring filled by cp.async (global ->
//   shared without registers): the prologue issues stages - 1 K tiles, one
//   commit group each; iteration t waits until tile t has landed
//   (cp.async.wait_group stages - 2), passes a barrier (which also retires
//   the stage read in iteration t - 1), computes on tile t while issuing
//   tile t + stages - 1 into that stage (the copies spread between the mma
//   batches), and commits. The last stages - 1 iterations commit empty
//   groups so the wait count stays the same.
// * Fragments come from shared memory by ldmatrix (A: .x4, B: .x2.trans) and
//   feed mma.sync m16n8k16; rows are padded by 16 bytes so every 8-row
//   ldmatrix phase touches 32 distinct banks.
// * The fused epilogue (bias + activation) and the store of C are the
//   double-buffered kernel's (tc_mainloop.h); the bias is loaded after the
//   main loop.
// Layout and staging are gemm_tc.h's (GpuGemmLayout, stage_inputs,
// read_output); values follow tc_reference.h with the shape's dot group.
#include <cstdint>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// True when `cfg` runs GEMMs with this kernel: the Ampere shape, cp.async
// capable (Ampere) and an input type whose B is row-major (not int8).
bool use_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);
// Builds the kernel and launch into `plan` (as lower_gemm_tc). `stages`: the
// shared-memory pipeline depth, 3..5 (reduced when the K tiles are fewer).
void lower_gemm_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan,
                     const TcEpilogue& ep = {}, uint32_t stages = 4);
GemmTiling choose_tiling_sm80(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec);

}  // namespace xpu::lowering::gpu
