#pragma once
// The main loop of CUTLASS's sm80 multistage kernels, shared by the GEMM
// (gemm_sm80.h) and the implicit-GEMM convolution (conv_implicit.h) on the
// Ampere shape (tensor_core.mma: ampere_mma_sync):
//
// * a `stages`-deep (3-5) shared-memory ring filled by cp.async (global ->
//   shared without registers): the prologue issues stages - 1 K tiles, one
//   commit group each; iteration t waits until tile t has landed
//   (cp.async.wait_group stages - 2), passes a barrier (which also retires
//   the stage read in iteration t - 1), computes on tile t while issuing
//   tile t + stages - 1 into that stage (the copies spread between the mma
//   batches), and commits. The last stages - 1 iterations commit empty
//   groups so the wait count stays the same.
// * Where the A tile's 16-byte chunks come from is the ATileSource's
//   (tc_mainloop.h): rows of a row-major matrix, or the implicit im2col
//   gather whose out-of-image taps are predicated off and zero-filled.
// * B: a row-major K x N tile (16-bit types: ldmatrix.x2.trans), or for
//   int8 a K-major N x K tile (mma.b_k_major: ldmatrix.x2 moves 16-bit
//   elements and cannot transpose bytes, so int8 kernels read B "TN" as
//   CUTLASS's int8 kernels do).
// * Fragments from shared memory by ldmatrix (A: .x4), loaded one mma
//   batch ahead; rows padded by 16 bytes so every 8-row ldmatrix phase
//   touches 32 distinct banks.
// * The fused epilogue and the store of C are the double-buffered kernel's
//   (tc_mainloop.h).
#include <cstdint>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

// Bytes of one ring stage (A tile + B tile, padded rows).
uint32_t sm80_stage_bytes(const GemmTiling& t, DType in, bool b_k_major);
// The ring depth: `asked` (3..5) reduced while it exceeds the config's
// shared-memory carve-out (not below 3), then to the K tiles + 1 (not below 2).
uint32_t sm80_stages(const xpu::gpu::GpuConfig& cfg, const GemmTiling& t, DType in, bool b_k_major, uint64_t ktiles,
                     uint32_t asked);
// The kernel: d.ldb is B's row pitch in bytes (K-major B: one row per
// output column), d.kp / t.bk K tiles, `stages` from sm80_stages.
xpu::gpu::Kernel build_sm80_kernel(const TcKernelDesc& d, uint32_t stages, ATileSource& a);

}  // namespace xpu::lowering::gpu
