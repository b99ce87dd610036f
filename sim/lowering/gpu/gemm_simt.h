#pragma once
// C[M,N] = A[M,K] x B[K,N] in fp32 on the SIMT FP32 pipes (FFMA), for
// fp32 layers. CTA tile 64 x 64, K stepped 16 at a time through shared
// memory; 256 threads, each owning a 4 x 4 block of C. A is stored to
// shared memory transposed (k-major) so each thread reads its 4 A values and
// its 4 B values for one k with two LDS.128; then 16 FFMAs. Accumulation:
// acc = fma(a[k], b[k], acc), k ascending (tc_reference.h).
// Sizes are padded to the tile with zeros; per-CTA bases as in gemm_tc.h.
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

void lower_gemm_simt(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan);

}  // namespace xpu::lowering::gpu
